// The partitioned audit trail (migrations/0007): append-only for every role including the owner, on the
// table and on each month; purged only by dropping whole expired months, and every drop recorded.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { runRetention } from "../../db/retention";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { connect, INSUFFICIENT_PRIVILEGE, rejection } from "./helpers";

describe("db: audit_log partitioned by month (attacks that must fail)", function () {
    let db: TestDatabase;
    let admin: pg.Client;
    let auditor: pg.Client;
    let writer: pg.Client;

    before(async function () {
        db = await migratedDatabase("audit_partitions");
        admin = await connect(db.url);
        auditor = await connect(await db.loginUrl("pii_audit"));
        writer = await connect(await db.loginUrl("pii_write"));
    });
    after(async function () {
        await Promise.all([admin, auditor, writer].map((c) => c?.end()));
        await db?.drop();
    });

    const partitions = async () =>
        (await admin.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_log'::regclass ORDER BY 1")).rows.map((r) => r.relname as string);

    it("is range-partitioned by month, this month through three ahead, each month with its own user index", async function () {
        const { rows } = await admin.query("SELECT relkind FROM pg_class WHERE oid = 'audit_log'::regclass");
        assert.equal(rows[0].relkind, "p");
        const months = await partitions();
        const now = new Date();
        for (let k = 0; k <= 3; k++) {
            const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + k, 1));
            assert.ok(months.includes(`audit_log_${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, "0")}`), `month +${k} missing: ${months}`);
        }
        const indexed = await admin.query(
            "SELECT count(DISTINCT tablename)::int AS n FROM pg_indexes WHERE tablename = ANY($1) AND indexdef LIKE '%(user_id, occurred_at DESC, id DESC)%'",
            [months],
        );
        assert.equal(indexed.rows[0].n, months.length);
    });

    it("refuses UPDATE, DELETE and TRUNCATE to the owner, on the table and on a month, whatever the session says", async function () {
        await admin.query("INSERT INTO audit_log (user_id, table_name, operation) VALUES ($1, 'users', 'UPDATE')", [randomUUID()]);
        const month = (await admin.query("SELECT tableoid::regclass::text AS p FROM audit_log ORDER BY id DESC LIMIT 1")).rows[0].p;
        await admin.query("SELECT set_config('appi.audit_purge', 'on', false)");
        try {
            for (const target of ["audit_log", month]) {
                for (const sql of [`UPDATE ${target} SET table_name = 'x'`, `DELETE FROM ${target}`, `TRUNCATE ${target}`]) {
                    const err = await rejection(admin.query(sql));
                    assert.match(err.message, /append-only/, sql);
                }
            }
        } finally {
            await admin.query("RESET appi.audit_purge");
        }
    });

    it("application roles can neither read a month directly nor create or drop months", async function () {
        const month = (await partitions())[0];
        for (const [client, sql] of [
            [auditor, `SELECT * FROM ${month}`],
            [writer, `SELECT * FROM ${month}`],
            [auditor, "SELECT audit_log_create_partitions(now(), now())"],
            [writer, "SELECT audit_log_drop_expired_partitions(now() + interval '10 years')"],
            [auditor, "SELECT audit_log_drop_expired_partitions(now() + interval '10 years')"],
            [auditor, `DROP TABLE ${month}`],
        ] as const) {
            const err = await rejection(client.query(sql));
            assert.ok(err.code === INSUFFICIENT_PRIVILEGE || /must be owner/.test(err.message), `${sql}: ${err.message}`);
        }
    });

    it("a change whose month has no partition fails rather than going unaudited", async function () {
        const err = await rejection(admin.query("INSERT INTO audit_log (table_name, operation, occurred_at) VALUES ('users', 'UPDATE', now() - interval '40 years')"));
        assert.match(err.message, /no partition/);
    });

    it("retention drops whole months past the retention period, records each drop, keeps the rest", async function () {
        await admin.query("SELECT audit_log_create_partitions(now() - interval '4 years', now() - interval '4 years')");
        await admin.query(
            "INSERT INTO audit_log (user_id, table_name, operation, occurred_at) SELECT $1, 'users', 'UPDATE', date_trunc('month', now() - interval '4 years') + g * interval '1 hour' FROM generate_series(1, 5) g",
            [randomUUID()],
        );
        const recentBefore = (await admin.query("SELECT count(*)::int AS n FROM audit_log WHERE occurred_at > now() - interval '1 year'")).rows[0].n;
        const summary = await runRetention(admin);
        assert.ok(summary.auditRowsPurged >= 5);
        const drops = await admin.query("SELECT partition_name, rows_dropped, retention, dropped_by = session_user AS by_me FROM audit_partition_drops ORDER BY id");
        assert.ok(drops.rows.some((r) => r.rows_dropped === "5" && r.by_me), JSON.stringify(drops.rows));
        assert.equal((await admin.query("SELECT count(*)::int AS n FROM audit_log WHERE occurred_at < now() - interval '3 years'")).rows[0].n, 0);
        // The retention run's own audit records keep recent months growing; nothing recent was dropped.
        assert.ok((await admin.query("SELECT count(*)::int AS n FROM audit_log WHERE occurred_at > now() - interval '1 year'")).rows[0].n >= recentBefore);
        const again = await runRetention(admin);
        assert.equal(again.auditRowsPurged, 0);
        // The drop log is append-only too.
        for (const sql of ["UPDATE audit_partition_drops SET rows_dropped = 0", "DELETE FROM audit_partition_drops", "TRUNCATE audit_partition_drops"]) {
            assert.match((await rejection(admin.query(sql))).message, /append-only/, sql);
        }
        const seen = await auditor.query("SELECT count(*)::int AS n FROM audit_partition_drops");
        assert.ok(seen.rows[0].n >= 1, "auditors see the drop log");
    });
});
