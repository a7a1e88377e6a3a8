// Every access rule as an attack that must fail, run as LOGIN roles that are members of the group roles
// (the table owner would bypass nothing either: RLS is FORCEd, but the admin here is a superuser).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { getPool, withUserTransaction } from "../../lib/db";
import { tokenFor } from "../support/identity";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { actingAs, connect, grantConsent, INSUFFICIENT_PRIVILEGE, rejection, seedUser, SeededUser } from "./helpers";

const PII_COLUMNS = [
    "email", "first_name", "last_name", "phone",
    "address_encrypted", "date_of_birth_encrypted", "ip_address_encrypted",
    "ssn_encrypted", "bank_account_encrypted", "credit_card_encrypted",
];
const USER_TABLES = ["users", "encryption_metadata", "consent_records", "deletion_requests", "data_subject_requests", "third_party_provisions"];
// Each audit table with a column an attacker might rewrite.
const AUDIT_COLUMNS: Record<string, string> = {
    audit_log: "table_name",
    encryption_audit: "performed_by",
    key_rotation_log: "initiated_by",
    erasure_log: "reason",
    retention_runs: "db_role",
};
const AUDIT_TABLES = Object.keys(AUDIT_COLUMNS);

describe("db: row-level security and roles (attacks that must fail)", function () {
    let db: TestDatabase;
    let admin: pg.Client;
    let reader: pg.Client;
    let writer: pg.Client;
    let auditor: pg.Client;
    let alice: SeededUser;
    let bob: SeededUser;
    let writerUrl: string;

    before(async function () {
        db = await migratedDatabase("rls");
        admin = await connect(db.url);
        [alice, bob] = [await seedUser(admin, "alice"), await seedUser(admin, "bob")];
        for (const u of [alice, bob]) {
            await grantConsent(admin, u.id, "marketing_email");
            await admin.query(
                "INSERT INTO encryption_metadata (user_id, field_name, encryption_level, kms_key_id, key_version) VALUES ($1, 'address_encrypted', 2, 'local', 1)",
                [u.id],
            );
            await admin.query("INSERT INTO deletion_requests (user_id) VALUES ($1)", [u.id]);
            await admin.query("INSERT INTO data_subject_requests (user_id, request_type) VALUES ($1, 'disclosure')", [u.id]);
            await admin.query(
                "INSERT INTO third_party_provisions (user_id, recipient_name, recipient_country, data_categories, legal_basis) VALUES ($1, 'Acme KK', 'JP', '{email}', 'consent')",
                [u.id],
            );
            await admin.query(
                "INSERT INTO encryption_audit (user_id, field_name, operation, performed_by, success) VALUES ($1, 'address_encrypted', 'encrypt', 'test', true)",
                [u.id],
            );
        }
        writerUrl = await db.loginUrl("pii_write");
        reader = await connect(await db.loginUrl("pii_read"));
        writer = await connect(writerUrl);
        auditor = await connect(await db.loginUrl("pii_audit"));
    });

    after(async function () {
        await Promise.all([reader, writer, auditor, admin].map((c) => c?.end()));
        await db?.drop();
    });

    it("RLS is enabled and forced on every table holding a user's data", async function () {
        const { rows } = await admin.query(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY($1) AND relkind IN ('r', 'p')",
            [[...USER_TABLES, "encryption_audit", "audit_log", "erasure_log"]],
        );
        assert.equal(rows.length, USER_TABLES.length + 3);
        for (const r of rows) assert.deepEqual([r.relname, r.relrowsecurity, r.relforcerowsecurity], [r.relname, true, true]);
    });

    it("a session that has not set app.user_id sees no row of any user table (fail closed)", async function () {
        for (const client of [reader, writer]) {
            for (const table of USER_TABLES) {
                const { rows } = await actingAs(client, null, () => client.query(`SELECT * FROM ${table}`));
                assert.equal(rows.length, 0, `${table} leaked ${rows.length} rows without app.user_id`);
            }
        }
    });

    it("pii_read acting for alice sees alice's rows only, in every user table", async function () {
        for (const table of USER_TABLES) {
            const column = table === "users" ? "id" : "user_id";
            const { rows } = await actingAs(reader, alice.id, () => reader.query(`SELECT ${column} AS uid FROM ${table}`));
            assert.ok(rows.length >= 1, `${table}: alice should see her own rows`);
            assert.deepEqual([...new Set(rows.map((r) => r.uid))], [alice.id], `${table} showed another user's rows`);
        }
        const direct = await actingAs(reader, alice.id, () => reader.query("SELECT * FROM users WHERE id = $1", [bob.id]));
        assert.equal(direct.rowCount, 0);
    });

    it("a malformed identity token is an error, not a wildcard", async function () {
        await reader.query("BEGIN");
        const err = await rejection(reader.query("SELECT app_begin_identity($1)", ["v1.' OR true --.1.x"]));
        await reader.query("ROLLBACK");
        assert.match(err.message, /identity token rejected/);
        assert.doesNotMatch(err.message, /OR true/, "the token is never echoed");
    });

    it("pii_read cannot insert, update or delete, even its own rows", async function () {
        for (const sql of [
            ["UPDATE users SET first_name = 'x' WHERE id = $1", [alice.id]],
            ["INSERT INTO users (id, email) VALUES ($1, 'r@example.jp')", [alice.id]],
            ["DELETE FROM users WHERE id = $1", [alice.id]],
            ["INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor) VALUES ($1, 'analytics', true, 'v1', 'user')", [alice.id]],
        ] as const) {
            const err = await rejection(actingAs(reader, alice.id, () => reader.query(sql[0], [...sql[1]])));
            assert.equal(err.code, INSUFFICIENT_PRIVILEGE, `${sql[0]}: ${err.message}`);
            assert.match(err.message, /permission denied/);
        }
    });

    it("pii_write acting for alice cannot change bob's row (no row matches)", async function () {
        const result = await actingAs(writer, alice.id, () =>
            writer.query("UPDATE users SET email = 'stolen@example.jp', first_name = 'pwned' WHERE id = $1", [bob.id]),
        );
        assert.equal(result.rowCount, 0);
        const { rows } = await admin.query("SELECT email FROM users WHERE id = $1", [bob.id]);
        assert.equal(rows[0].email, bob.email);
    });

    it("pii_write acting for alice cannot create a row for another user id", async function () {
        const err = await rejection(
            actingAs(writer, alice.id, () => writer.query("INSERT INTO users (id, email) VALUES ($1, 'mallory@example.jp')", [randomUUID()])),
        );
        assert.match(err.message, /row-level security/);
    });

    it("pii_write cannot move its own row to another user id", async function () {
        const err = await rejection(actingAs(writer, alice.id, () => writer.query("UPDATE users SET id = $1 WHERE id = $2", [bob.id, alice.id])));
        assert.match(err.message, /row-level security|duplicate key/);
        const other = await rejection(actingAs(writer, alice.id, () => writer.query("UPDATE users SET id = $1 WHERE id = $2", [randomUUID(), alice.id])));
        assert.match(other.message, /row-level security/);
    });

    it("pii_write cannot delete users (erasure goes through deletion requests)", async function () {
        const err = await rejection(actingAs(writer, alice.id, () => writer.query("DELETE FROM users WHERE id = $1", [alice.id])));
        assert.equal(err.code, INSUFFICIENT_PRIVILEGE);
    });

    it("pii_write cannot record consent, metadata, requests or provisions for another user", async function () {
        const attacks: Array<[string, unknown[]]> = [
            ["INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor) VALUES ($1, 'analytics', true, 'v1', 'user')", [bob.id]],
            ["INSERT INTO encryption_metadata (user_id, field_name, encryption_level, kms_key_id, key_version) VALUES ($1, 'ip_address_encrypted', 2, 'k', 1)", [bob.id]],
            ["INSERT INTO deletion_requests (user_id) VALUES ($1)", [randomUUID()]],
            ["INSERT INTO data_subject_requests (user_id, request_type) VALUES ($1, 'correction')", [bob.id]],
            ["INSERT INTO third_party_provisions (user_id, recipient_name, recipient_country, data_categories, legal_basis) VALUES ($1, 'X', 'JP', '{email}', 'consent')", [bob.id]],
            ["INSERT INTO encryption_audit (user_id, operation, performed_by, success) VALUES ($1, 'decrypt', 'attacker', true)", [bob.id]],
        ];
        for (const [sql, params] of attacks) {
            const err = await rejection(actingAs(writer, alice.id, () => writer.query(sql, params)));
            assert.match(err.message, /row-level security/, sql);
        }
    });

    it("pii_write cannot rewrite consent history, nor mark its own deletion request completed", async function () {
        const upd = await rejection(actingAs(writer, alice.id, () => writer.query("UPDATE consent_records SET granted = true")));
        assert.equal(upd.code, INSUFFICIENT_PRIVILEGE);
        const del = await rejection(actingAs(writer, alice.id, () => writer.query("DELETE FROM consent_records")));
        assert.equal(del.code, INSUFFICIENT_PRIVILEGE);
        const done = await rejection(
            actingAs(writer, alice.id, () => writer.query("INSERT INTO deletion_requests (user_id, status, completed_at) VALUES ($1, 'completed', now())", [alice.id])),
        );
        assert.match(done.message, /row-level security|duplicate key/);
    });

    it("has_consent answers false for another user's consent, true for one's own", async function () {
        const q = "SELECT has_consent($1, 'marketing_email') AS ok";
        assert.equal((await actingAs(reader, alice.id, () => reader.query(q, [alice.id]))).rows[0].ok, true);
        assert.equal((await actingAs(reader, alice.id, () => reader.query(q, [bob.id]))).rows[0].ok, false);
        assert.equal((await actingAs(reader, null, () => reader.query(q, [alice.id]))).rows[0].ok, false);
    });

    it("row security cannot be switched off by an application role", async function () {
        const err = await rejection(
            actingAs(reader, null, async () => {
                await reader.query("SET LOCAL row_security = off");
                return reader.query("SELECT * FROM users");
            }),
        );
        assert.match(err.message, /row-level security/);
    });

    it("the identity does not outlive withUserTransaction on a pooled connection (pool of one)", async function () {
        const env = { DATABASE_URL: writerUrl, DB_POOL_MAX: "1" };
        const pool = getPool(env);
        assert.equal(getPool(env), pool, "memoised: warm invocations reuse the pool");
        const inside = await withUserTransaction(pool, tokenFor(alice.id), (c) => c.query("SELECT id FROM users"));
        assert.deepEqual(inside.rows.map((r) => r.id), [alice.id]);
        const afterwards = await pool.query("SELECT id FROM users");
        assert.equal(afterwards.rowCount, 0);
        // Session-level state a callback leaves behind (a role, a setting) is reset on release.
        await withUserTransaction(pool, tokenFor(alice.id), async (c) => {
            await c.query("SELECT set_config('app.identity', current_setting('app.identity'), false)");
            await c.query("SET application_name = 'leaked'");
        });
        const next = await pool.query("SELECT count(*)::int AS n, current_setting('application_name') AS app FROM users");
        assert.deepEqual([next.rows[0].n, next.rows[0].app === "leaked"], [0, false]);
        await assert.rejects(withUserTransaction(pool, "not-a-token", async () => 1), /identity token is malformed/);
        // A failing callback rolls back: nothing it wrote stays.
        await assert.rejects(
            withUserTransaction(pool, tokenFor(alice.id), async (c) => {
                await c.query("UPDATE users SET first_name = 'rolled-back' WHERE id = $1", [alice.id]);
                throw new Error("boom");
            }),
            /boom/,
        );
        const { rows } = await admin.query("SELECT first_name FROM users WHERE id = $1", [alice.id]);
        assert.equal(rows[0].first_name, "alice-first");
        // Only this test's pool is closed (closePool() would end pools other test files may hold).
        await pool.end();
        assert.notEqual(getPool(env), pool, "an ended pool is replaced");
        await getPool(env).end();
    });

    it("pii_audit reads no PII column and no user table", async function () {
        for (const column of PII_COLUMNS) {
            const { rows } = await admin.query("SELECT has_column_privilege('pii_audit', 'users', $1, 'SELECT') AS can", [column]);
            assert.equal(rows[0].can, false, `pii_audit can read users.${column}`);
        }
        for (const table of USER_TABLES) {
            const err = await rejection(auditor.query(`SELECT * FROM ${table}`));
            assert.equal(err.code, INSUFFICIENT_PRIVILEGE, table);
        }
        const view = await rejection(auditor.query("SELECT * FROM current_consents"));
        assert.equal(view.code, INSUFFICIENT_PRIVILEGE);
    });

    it("pii_audit reads the audit tables and views, for every user", async function () {
        for (const table of [...AUDIT_TABLES, "audit_summary", "encryption_stats", "key_rotation_summary", "incident_report_status"]) {
            await auditor.query(`SELECT * FROM ${table} LIMIT 1`);
        }
        const { rows } = await auditor.query("SELECT DISTINCT user_id FROM encryption_audit");
        assert.deepEqual(new Set(rows.map((r) => r.user_id)), new Set([alice.id, bob.id]));
        const stats = await auditor.query("SELECT sum(fields_encrypted)::int AS n FROM encryption_stats");
        assert.equal(stats.rows[0].n, 2);
    });

    it("application roles cannot read the aggregate views nor the audit trail of row changes", async function () {
        for (const table of ["encryption_stats", "audit_summary", "audit_log", "erasure_log"]) {
            const err = await rejection(actingAs(writer, alice.id, () => writer.query(`SELECT * FROM ${table}`)));
            assert.equal(err.code, INSUFFICIENT_PRIVILEGE, table);
        }
    });

    it("audit tables are append-only for every application role", async function () {
        for (const client of [reader, writer, auditor]) {
            for (const table of AUDIT_TABLES) {
                for (const sql of [`UPDATE ${table} SET ${AUDIT_COLUMNS[table]} = ${AUDIT_COLUMNS[table]}`, `DELETE FROM ${table}`, `TRUNCATE ${table}`]) {
                    const err = await rejection(actingAs(client, alice.id, () => client.query(sql)));
                    assert.equal(err.code, INSUFFICIENT_PRIVILEGE, `${sql}: ${err.message}`);
                }
            }
        }
        const forged = await rejection(
            actingAs(writer, alice.id, () =>
                writer.query("INSERT INTO audit_log (user_id, table_name, operation) VALUES ($1, 'users', 'DELETE')", [alice.id]),
            ),
        );
        assert.equal(forged.code, INSUFFICIENT_PRIVILEGE);
        const spoofedRole = await rejection(
            actingAs(writer, alice.id, () =>
                writer.query("INSERT INTO encryption_audit (user_id, operation, performed_by, success, db_role) VALUES ($1, 'decrypt', 'x', true, 'pii_audit')", [alice.id]),
            ),
        );
        assert.equal(spoofedRole.code, INSUFFICIENT_PRIVILEGE);
    });

    it("audit tables are append-only even for the owner (outside the retention job)", async function () {
        await admin.query("INSERT INTO retention_runs (started_at, deletion_requests_completed, users_erased_for_retention, audit_rows_purged, provision_records_purged) VALUES (now(), 0, 0, 0, 0)");
        await admin.query("INSERT INTO key_rotation_log (key_type, kms_key_id, new_key_version, status, initiated_by) VALUES ('level2', 'k', 2, 'completed', 'test')");
        await admin.query("INSERT INTO erasure_log (user_id, reason) VALUES ($1, 'retention_expired')", [randomUUID()]);
        for (const table of AUDIT_TABLES) {
            const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${table}`);
            assert.ok(rows[0].n > 0, `${table} needs a row for the row triggers to fire`);
            for (const sql of [`UPDATE ${table} SET ${AUDIT_COLUMNS[table]} = ${AUDIT_COLUMNS[table]}`, `DELETE FROM ${table}`, `TRUNCATE ${table}`]) {
                const err = await rejection(admin.query(sql));
                assert.match(err.message, /append-only/, sql);
            }
        }
    });

    it("application roles cannot run the retention job's functions", async function () {
        for (const fn of ["run_retention()", "complete_due_deletion_requests()", "erase_expired_users()", "purge_expired_audit()"]) {
            for (const client of [reader, writer, auditor]) {
                const err = await rejection(actingAs(client, alice.id, () => client.query(`SELECT * FROM ${fn}`)));
                assert.equal(err.code, INSUFFICIENT_PRIVILEGE, fn);
            }
        }
    });

    it("application roles may call only the consent check and its helpers, now and for functions added later", async function () {
        await admin.query("CREATE FUNCTION later_migration_fn() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'");
        const { rows } = await admin.query(`
            SELECT r.rolname, array_agg(p.proname::text ORDER BY p.proname) AS callable
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            CROSS JOIN (VALUES ('pii_read'), ('pii_write'), ('pii_audit')) AS r(rolname)
            WHERE n.nspname = 'public' AND has_function_privilege(r.rolname, p.oid, 'EXECUTE')
            GROUP BY r.rolname ORDER BY r.rolname`);
        assert.deepEqual(rows, [
            // The auditor: aggregates only (erasure queue and SLA, 0010; compliance figures, 0012; the monthly report's, 0016), no personal data.
            {
                rolname: "pii_audit",
                callable: [
                    "compliance_access_by_hour", "compliance_access_review", "compliance_audit_gaps", "compliance_deletion_latencies", "compliance_deletion_summary",
                    "compliance_dsr_summary", "compliance_incident_timeline", "compliance_metrics", "compliance_provision_summary", "config_interval",
                    "erasure_sla", "erasure_status", "key_version_status",
                ],
            },
            { rolname: "pii_read", callable: ["app_begin_identity", "app_check_consent", "app_current_user_id", "config_interval", "has_consent"] },
            { rolname: "pii_write", callable: ["app_begin_identity", "app_check_consent", "app_current_user_id", "config_interval", "has_consent"] },
        ]);
    });

    it("the group roles cannot log in and the login roles hold no other group", async function () {
        const { rows } = await admin.query("SELECT rolname, rolcanlogin, rolbypassrls, rolsuper FROM pg_roles WHERE rolname IN ('pii_read', 'pii_write', 'pii_audit') ORDER BY rolname");
        assert.deepEqual(rows, ["pii_audit", "pii_read", "pii_write"].map((rolname) => ({ rolname, rolcanlogin: false, rolbypassrls: false, rolsuper: false })));
        const err = await rejection(writer.query("SET ROLE pii_audit"));
        assert.equal(err.code, INSUFFICIENT_PRIVILEGE);
    });
});
