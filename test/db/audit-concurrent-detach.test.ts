// migrations/0023: DETACH PARTITION ... CONCURRENTLY commits its first step before ddl_command_end, where 0020's
// month guard runs; a ddl_command_start guard refuses it on the audit trail, however it is written. As the
// schema owner (appi_owner, so migrator after SET ROLE), the way test/db/audit-guard.test.ts attacks 0018 / 0020.
import assert from "node:assert/strict";
import pg from "pg";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { connect, INSUFFICIENT_PRIVILEGE, rejection } from "./helpers";

describe("db: audit trail guard against DETACH PARTITION CONCURRENTLY (0023)", function () {
    this.timeout(60_000);
    let db: TestDatabase;
    let owner: pg.Client;
    let month: string;

    async function ownerSession(): Promise<pg.Client> {
        const client = await connect(db.url);
        await client.query("SET ROLE appi_owner"); // what migrator is after SET ROLE
        return client;
    }

    before(async function () {
        db = await migratedDatabase("audit_concurrent_detach");
        owner = await ownerSession();
        month = (await owner.query("SELECT 'audit_log_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY\"m\"MM') AS m")).rows[0].m;
    });
    after(async function () {
        await owner?.end();
        await db?.drop();
    });

    async function stillAttached(): Promise<void> {
        const { rows } = await owner.query(
            "SELECT count(*)::int AS n, bool_or(inhdetachpending) AS pending FROM pg_inherits WHERE inhparent = 'audit_log'::regclass AND inhrelid = $1::regclass",
            [month],
        );
        assert.deepEqual(rows[0], { n: 1, pending: false }, `${month} is still attached to audit_log, not pending detach`);
    }

    it("refuses ALTER TABLE audit_log DETACH PARTITION <month> CONCURRENTLY, telling to detach without it; the month stays attached and guarded", async function () {
        const err = await rejection(owner.query(`ALTER TABLE audit_log DETACH PARTITION ${month} CONCURRENTLY`));
        assert.equal(err.code, INSUFFICIENT_PRIVILEGE, err.message);
        assert.match(err.message, /DETACH PARTITION \.\.\. CONCURRENTLY is not allowed on the audit trail \(audit_log\).*Detach without CONCURRENTLY/);
        await stillAttached();
        // Without CONCURRENTLY, 0020 still refuses a month within retention.
        const plain = await rejection(owner.query(`ALTER TABLE audit_log DETACH PARTITION ${month}`));
        assert.match(plain.message, /within its retention and may not be detached/);
        await stillAttached();
    });

    it("refuses every spelling: case, comments inside, schema paths, quoted names, a partition named by schema, trailing text", async function () {
        const variants = [
            `alter table audit_log detach partition ${month} concurrently`,
            `ALTER TABLE audit_log DETACH PARTITION ${month} CoNcUrReNtLy`,
            `ALTER/* a */TABLE/* b /* nested */ still b */audit_log -- a line comment\nDETACH PARTITION ${month}\n\tCONCURRENTLY  ;  -- after`,
            `ALTER TABLE public.audit_log DETACH PARTITION public.${month} CONCURRENTLY`,
            `ALTER TABLE "public"."audit_log" DETACH PARTITION "public"."${month}" CONCURRENTLY;`,
            `ALTER TABLE IF EXISTS ONLY public . audit_log DETACH PARTITION ${month} CONCURRENTLY`,
            `ALTER TABLE U&"\\0061udit_log" DETACH PARTITION ${month} CONCURRENTLY`,
            `ALTER TABLE audit_log DETACH PARTITION U&"${month}" CONCURRENTLY`,
            // Several statements in one string (PostgreSQL would refuse CONCURRENTLY there too; the guard speaks first).
            `SELECT 'it''s; not -- a comment'; ALTER TABLE audit_log DETACH PARTITION ${month} CONCURRENTLY`,
            `SELECT $q$ ; $q$; ALTER TABLE audit_log DETACH PARTITION ${month} CONCURRENTLY`,
        ];
        for (const sql of variants) {
            const err = await rejection(owner.query(sql));
            assert.equal(err.code, INSUFFICIENT_PRIVILEGE, `${sql}: ${err.message}`);
            assert.match(err.message, /CONCURRENTLY is not allowed on the audit trail/, sql);
            await stillAttached();
        }
        // Another search_path changes nothing: the schema-qualified and the found-by-path names are both refused.
        const other = await ownerSession();
        try {
            await other.query("SET search_path = pg_catalog, public");
            for (const sql of [`ALTER TABLE audit_log DETACH PARTITION ${month} CONCURRENTLY`, `ALTER TABLE public.audit_log DETACH PARTITION ${month} CONCURRENTLY`]) {
                assert.equal((await rejection(other.query(sql))).code, INSUFFICIENT_PRIVILEGE, sql);
            }
        } finally {
            await other.end();
        }
        await stillAttached();
    });

    it("a function, DO block or procedure wrapper cannot run it at all (PostgreSQL), and the month stays", async function () {
        const err = await rejection(owner.query(`DO $$ BEGIN EXECUTE 'ALTER TABLE audit_log DETACH PARTITION ${month} CONCURRENTLY'; END $$`));
        assert.match(err.message, /cannot be executed from a function|CONCURRENTLY/);
        await owner.query(`CREATE PROCEDURE scratch_detach() LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'ALTER TABLE audit_log DETACH PARTITION ${month} CONCURRENTLY'; END $$`);
        try {
            const viaCall = await rejection(owner.query("CALL scratch_detach()"));
            assert.match(viaCall.message, /cannot be executed from a function|cannot run inside a transaction block|CONCURRENTLY/);
        } finally {
            await owner.query("DROP PROCEDURE scratch_detach()");
        }
        await stillAttached();
    });

    it("turning standard_conforming_strings off in a fresh session does not blind the month guards (0018 / 0020 / 0023)", async function () {
        const session = await ownerSession();
        try {
            await session.query("SET standard_conforming_strings = off");
            for (const sql of [`ALTER TABLE audit_log DETACH PARTITION ${month}`, `ALTER TABLE audit_log DETACH PARTITION ${month} CONCURRENTLY`, `DROP TABLE ${month}`]) {
                const err = await rejection(session.query(sql));
                assert.equal(err.code, INSUFFICIENT_PRIVILEGE, `${sql}: ${err.message}`);
            }
        } finally {
            await session.end();
        }
        await stillAttached();
    });

    it("leaves the word alone where it is no keyword, and still detaches another partitioned table concurrently", async function () {
        await owner.query("CREATE TABLE scratch_parts (id int) PARTITION BY RANGE (id)");
        await owner.query("CREATE TABLE scratch_parts_1 PARTITION OF scratch_parts FOR VALUES FROM (0) TO (10)");
        try {
            await owner.query(`ALTER TABLE scratch_parts /* concurrently */ ADD COLUMN "concurrently" int -- CONCURRENTLY`);
            await owner.query("ALTER TABLE users DISABLE TRIGGER users_touch_updated_at; -- detach concurrently");
            await owner.query("ALTER TABLE users ENABLE TRIGGER users_touch_updated_at");
            await owner.query("ALTER TABLE scratch_parts DETACH PARTITION scratch_parts_1 CONCURRENTLY");
            const { rows } = await owner.query("SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'scratch_parts'::regclass");
            assert.equal(rows[0].n, 0, "the unrelated partition was detached");
        } finally {
            await owner.query("DROP TABLE IF EXISTS scratch_parts_1, scratch_parts");
        }
    });

    it("the retention function still detaches and drops a month past retention", async function () {
        const old = await owner.query("SELECT to_char((now() AT TIME ZONE 'UTC') - interval '9 years', 'YYYY\"m\"MM') AS suffix, date_trunc('month', now() - interval '9 years') AS from_, date_trunc('month', now() - interval '9 years') + interval '1 month' AS to_");
        const name = `audit_log_${old.rows[0].suffix}`;
        await owner.query(`CREATE TABLE ${name} PARTITION OF audit_log FOR VALUES FROM ('${old.rows[0].from_.toISOString()}') TO ('${old.rows[0].to_.toISOString()}')`);
        await owner.query("SELECT audit_log_drop_expired_partitions()");
        assert.equal((await owner.query("SELECT to_regclass($1) AS t", [name])).rows[0].t, null, `${name} dropped by the retention function`);
        await stillAttached();
    });

    it("the owner cannot switch the new guard off or replace its functions", async function () {
        for (const sql of [
            "ALTER EVENT TRIGGER appi_audit_concurrent_detach_guard DISABLE",
            "DROP EVENT TRIGGER appi_audit_concurrent_detach_guard",
            "CREATE OR REPLACE FUNCTION appi_guard.refuse_concurrent_detach() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$",
            "ALTER FUNCTION appi_guard.protect_audit_months() RESET ALL",
        ]) {
            assert.equal((await rejection(owner.query(sql))).code, INSUFFICIENT_PRIVILEGE, sql);
        }
    });
    // Last: it leaves months half detached. Only a superuser can get there (the owner cannot switch 0023 off, above):
    // DETACH ... CONCURRENTLY with the guard disabled, interrupted after its first transaction committed.
    it("a month left half detached by an interrupted concurrent detach: FINALIZE only past retention; a superuser can re-attach", async function () {
        const admin = await connect(db.url);
        const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
        const pending = async (name: string) =>
            (await admin.query("SELECT bool_or(inhdetachpending) AS p FROM pg_inherits WHERE inhparent = 'audit_log'::regclass AND inhrelid = $1::regclass", [name])).rows[0].p as boolean | null;
        async function leaveHalfDetached(name: string): Promise<void> {
            const holder = await connect(db.url);
            const detacher = await ownerSession();
            try {
                await admin.query("ALTER EVENT TRIGGER appi_audit_concurrent_detach_guard DISABLE");
                // An older snapshot that reads the trail: the detach's second transaction waits for it.
                await holder.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
                await holder.query("SELECT count(*) FROM audit_log");
                const pid = (await detacher.query("SELECT pg_backend_pid() AS p")).rows[0].p;
                const detach = detacher.query(`ALTER TABLE audit_log DETACH PARTITION ${name} CONCURRENTLY`).then(() => undefined, (err: Error & { code?: string }) => err);
                for (let waited = 0; !(await pending(name)) && waited < 10_000; waited += 50) await sleep(50);
                assert.equal(await pending(name), true, `${name}: the first transaction of the detach committed`);
                await admin.query("SELECT pg_cancel_backend($1)", [pid]);
                const err = await detach;
                assert.equal(err?.code, "57014", `the detach was interrupted: ${err?.message}`);
            } finally {
                await holder.query("ROLLBACK");
                await admin.query("ALTER EVENT TRIGGER appi_audit_concurrent_detach_guard ENABLE");
                await Promise.all([holder.end(), detacher.end()]);
            }
            assert.equal(await pending(name), true, `${name} is left pending detach`);
        }
        try {
            // A month past retention: the owner may finish the detach (as the retention function would drop it).
            const old = await owner.query("SELECT to_char((now() AT TIME ZONE 'UTC') - interval '9 years', 'YYYY\"m\"MM') AS suffix, date_trunc('month', now() - interval '9 years') AS from_, date_trunc('month', now() - interval '9 years') + interval '1 month' AS to_");
            const expired = `audit_log_${old.rows[0].suffix}`;
            await owner.query(`CREATE TABLE ${expired} PARTITION OF audit_log FOR VALUES FROM ('${old.rows[0].from_.toISOString()}') TO ('${old.rows[0].to_.toISOString()}')`);
            await leaveHalfDetached(expired);
            await owner.query(`ALTER TABLE audit_log DETACH PARTITION ${expired} FINALIZE`);
            assert.equal(await pending(expired), null, `${expired} finished detaching`);
            await owner.query(`DROP TABLE ${expired}`);

            // This month, within retention: FINALIZE is refused and the month stays where it was.
            await owner.query("INSERT INTO audit_log (user_id, table_name, operation, db_role) VALUES (gen_random_uuid(), 'users', 'UPDATE', 'test')");
            const rowsBefore = (await admin.query(`SELECT count(*)::int AS n FROM ${month}`)).rows[0].n as number;
            await leaveHalfDetached(month);
            const err = await rejection(owner.query(`ALTER TABLE audit_log DETACH PARTITION ${month} FINALIZE`));
            assert.equal(err.code, INSUFFICIENT_PRIVILEGE, err.message);
            assert.match(err.message, /within its retention and may not be detached/);
            assert.equal(await pending(month), true, "still pending, not detached");

            // The repair (db/README.md): a superuser, in one transaction, finishes the detach and attaches the month again.
            const bounds = await admin.query("SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AS from_, date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month' AS to_");
            await admin.query("BEGIN");
            await admin.query("ALTER EVENT TRIGGER appi_audit_month_guard DISABLE");
            await admin.query(`ALTER TABLE audit_log DETACH PARTITION ${month} FINALIZE`);
            await admin.query(`ALTER TABLE audit_log ATTACH PARTITION ${month} FOR VALUES FROM ('${bounds.rows[0].from_.toISOString().replace("Z", "")}') TO ('${bounds.rows[0].to_.toISOString().replace("Z", "")}')`);
            await admin.query("ALTER EVENT TRIGGER appi_audit_month_guard ENABLE");
            await admin.query("COMMIT");
            await stillAttached();
            assert.equal((await admin.query(`SELECT count(*)::int AS n FROM ${month}`)).rows[0].n, rowsBefore, "no audit row lost");
            assert.equal((await admin.query("SELECT count(*)::int AS n FROM pg_event_trigger WHERE evtname LIKE 'appi_audit%' AND evtenabled = 'D'")).rows[0].n, 0, "every guard enabled again");
        } finally {
            await admin.query("ROLLBACK").catch(() => undefined);
            await admin.end();
        }
    });
});
