// The IAM login users the RDS Proxy admits (migrations/0004): what each may do, and nothing more.
import { strict as assert } from "assert";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { tokenFor } from "../support/identity";
import { connect } from "./helpers";

/** What a login may do beyond logging in: powers, groups (rds_iam aside), owned relations, app_* functions, public tables. */
async function loginPowers(admin: pg.Client, login: string) {
    const { rows } = await admin.query(
        `SELECT r.rolcanlogin, r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolbypassrls AS powers,
                (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = r.oid AND m.roleid <> (SELECT oid FROM pg_roles WHERE rolname = 'rds_iam')) AS groups,
                (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid) AS owns,
                (SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
                  WHERE p.pronamespace = 'public'::regnamespace AND has_function_privilege(r.oid, p.oid, 'EXECUTE') AND p.proname LIKE 'app\\_%') AS app_functions,
                (SELECT count(*)::int FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
                  AND has_table_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')) AS tables
           FROM pg_roles r WHERE r.rolname = $1`,
        [login],
    );
    return rows;
}

describe("IAM login users (0004)", function () {
    let db: TestDatabase;
    let admin: pg.Client;

    before(async function () {
        db = await migratedDatabase("iam_users");
        admin = await connect(db.url);
    });
    after(async function () {
        await admin?.end();
        await db?.drop();
    });

    it("signup_trigger logs in as a pii_signup member only; 0004's cognito_trigger (pii_write) can no longer log in; migrator is a login", async function () {
        const { rows } = await admin.query(
            `SELECT r.rolname, r.rolcanlogin, r.rolsuper,
                    pg_has_role(r.rolname, 'pii_write', 'MEMBER') AS writes,
                    pg_has_role(r.rolname, 'pii_read', 'MEMBER') AS reads,
                    pg_has_role(r.rolname, 'pii_signup', 'MEMBER') AS signs_up,
                    pg_has_role(r.rolname, 'pii_audit', 'MEMBER') AS audits
               FROM pg_roles r WHERE r.rolname IN ('cognito_trigger', 'migrator', 'signup_trigger') ORDER BY r.rolname`,
        );
        assert.deepEqual(rows, [
            { rolname: "cognito_trigger", rolcanlogin: false, rolsuper: false, writes: true, reads: false, signs_up: false, audits: false },
            { rolname: "migrator", rolcanlogin: true, rolsuper: false, writes: false, reads: false, signs_up: false, audits: false },
            { rolname: "signup_trigger", rolcanlogin: true, rolsuper: false, writes: false, reads: false, signs_up: true, audits: false },
        ]);
    });

    it("never makes the migrator a member of a superuser owner", async function () {
        const { rows } = await admin.query("SELECT pg_has_role('migrator', current_user, 'MEMBER') AS member, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS owner_is_superuser");
        assert.equal(rows[0].owner_is_superuser, true, "tests migrate as a superuser");
        assert.equal(rows[0].member, false);
        // The same model as on RDS (0015): migrator may SET ROLE appi_owner, inherits nothing, and appi_owner owns the schema.
        const model = await admin.query(
            `SELECT pg_has_role('migrator', 'appi_owner', 'MEMBER') AS may_set, pg_has_role('migrator', 'appi_owner', 'USAGE') AS inherits,
                    (SELECT count(*)::int FROM pg_tables WHERE schemaname = 'public' AND tableowner <> 'appi_owner') AS foreign_tables,
                    (SELECT rolsuper OR rolcreaterole OR rolbypassrls OR rolcanlogin FROM pg_roles WHERE rolname = 'appi_owner') AS owner_powers`,
        );
        assert.deepEqual(model.rows[0], { may_set: true, inherits: false, foreign_tables: 0, owner_powers: false });
    });

    it("signup_trigger reads no user row at all, even with a valid token", async function () {
        const someone = randomUUID();
        await admin.query("INSERT INTO users (id, email) VALUES ($1, $2)", [someone, `${someone}@example.com`]);
        const trigger = new pg.Client({ connectionString: db.url });
        await trigger.connect();
        try {
            await trigger.query("SET ROLE signup_trigger");
            await trigger.query("BEGIN");
            const begin = await trigger.query("SELECT app_begin_identity($1)", [tokenFor(someone)]).catch((e) => e);
            await trigger.query("ROLLBACK");
            assert.equal(begin.code, "42501", "only pii_read / pii_write may begin an identity");
            const read = await trigger.query("SELECT 1 FROM users WHERE id = $1", [someone]).catch((e) => e);
            assert.equal(read.code, "42501");
        } finally {
            await trigger.end();
        }
    });

    it("api_app (0019), the API host's login: a pii_read / pii_write member with short timeouts that sees only the user its token names", async function () {
        const role = await admin.query(
            `SELECT r.rolcanlogin, r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolbypassrls AS powers,
                    pg_has_role('api_app', 'pii_read', 'MEMBER') AS reads, pg_has_role('api_app', 'pii_write', 'MEMBER') AS writes,
                    pg_has_role('api_app', 'pii_audit', 'MEMBER') AS audits, pg_has_role('api_app', 'appi_owner', 'MEMBER') AS owner,
                    (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid) AS owns
               FROM pg_roles r WHERE r.rolname = 'api_app'`,
        );
        assert.deepEqual(role.rows, [{ rolcanlogin: true, powers: false, reads: true, writes: true, audits: false, owner: false, owns: 0 }]);
        const settings = await admin.query(
            "SELECT unnest(s.setconfig) AS setting FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole JOIN pg_database d ON d.oid = s.setdatabase WHERE r.rolname = 'api_app' AND d.datname = current_database() ORDER BY 1",
        );
        assert.deepEqual(settings.rows.map((r) => r.setting), ["idle_in_transaction_session_timeout=10s", "lock_timeout=2s", "statement_timeout=5s"]);

        const alice = randomUUID();
        const bob = randomUUID();
        for (const id of [alice, bob]) await admin.query("INSERT INTO users (id, email) VALUES ($1, $2)", [id, `${id}@example.com`]);
        // The session becomes api_app's own (session_user too, so SET ROLE is judged by api_app's memberships),
        // as when it logs in with an IAM token through the proxy on RDS.
        const api = new pg.Client({ connectionString: db.url });
        await api.connect();
        try {
            await api.query("SET SESSION AUTHORIZATION api_app");
            const anonymous = await api.query("SELECT count(*)::int AS n FROM users");
            assert.equal(anonymous.rows[0].n, 0, "no token, no rows");
            await api.query("BEGIN");
            await api.query("SELECT set_config('app.user_id', $1, true), set_config('app.identity', $1, true)", [bob]);
            const forged = await api.query("SELECT count(*)::int AS n FROM users");
            assert.equal(forged.rows[0].n, 0, "a session variable set by hand is no identity");
            await api.query("ROLLBACK");
            await api.query("BEGIN");
            await api.query("SELECT app_begin_identity($1)", [tokenFor(alice)]);
            const seen = await api.query("SELECT id FROM users");
            await api.query("ROLLBACK");
            assert.deepEqual(seen.rows.map((r) => r.id), [alice], "with Alice's token: Alice only");
            const escalate = await api.query("SET ROLE appi_owner").catch((e) => e);
            assert.equal(escalate.code, "42501", "api_app may not become the schema owner");
        } finally {
            await api.end();
        }
    });

    it("identity_rotator (0021), the rotation Lambda's login: no group, no power, short timeouts; only the rotation functions", async function () {
        const role = await loginPowers(admin, "identity_rotator");
        assert.deepEqual(role, [{ rolcanlogin: true, powers: false, groups: 0, owns: 0, tables: 0,
            app_functions: ["app_identity_key_add", "app_identity_key_check", "app_identity_key_finish"] }]);
        const settings = await admin.query(
            "SELECT unnest(s.setconfig) AS setting FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole JOIN pg_database d ON d.oid = s.setdatabase WHERE r.rolname = 'identity_rotator' AND d.datname = current_database() ORDER BY 1",
        );
        assert.deepEqual(settings.rows.map((r) => r.setting), ["idle_in_transaction_session_timeout=30s", "lock_timeout=5s", "statement_timeout=10s"]);
        // As it logs in through the proxy (session_user identity_rotator): nothing beyond its functions.
        const someone = randomUUID();
        const rotator = new pg.Client({ connectionString: db.url });
        await rotator.connect();
        try {
            await rotator.query("SET SESSION AUTHORIZATION identity_rotator");
            for (const sql of ["SELECT count(*) FROM users", `SELECT app_begin_identity('${tokenFor(someone)}')`, "SELECT * FROM app_identity_token_key",
                "SELECT app_set_identity_secret('\\x00')", "SET ROLE appi_owner", "SET ROLE pii_read"]) {
                const err = await rotator.query(sql).catch((e) => e);
                assert.equal(err.code, "42501", sql);
            }
            const { rows } = await rotator.query("SELECT app_identity_key_check('nope', $1) AS ok", [tokenFor(someone)]);
            assert.equal(rows[0].ok, false);
        } finally {
            await rotator.end();
        }
        // With rds_iam present (RDS), the role block of 0021 grants it, and is safe to run again.
        await admin.query("DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
        const sql: string = require("fs").readFileSync(require("path").resolve(__dirname, "../../migrations/0021_identity_key_rotation.sql"), "utf8");
        const roleBlock = sql.slice(sql.indexOf("DO $$"), sql.indexOf("END $$;") + "END $$;".length);
        await admin.query(roleBlock);
        await admin.query(roleBlock);
        const iam = await admin.query("SELECT pg_has_role('identity_rotator', 'rds_iam', 'MEMBER') AS iam");
        assert.equal(iam.rows[0].iam, true);
    });

    it("activity_recorder (0025), the token-issuance trigger's login: records a user's activity, at most once a minute, and can do nothing else", async function () {
        const role = await loginPowers(admin, "activity_recorder");
        assert.deepEqual(role, [{ rolcanlogin: true, powers: false, groups: 0, owns: 0, tables: 0, app_functions: ["app_record_activity"] }]);
        const settings = await admin.query(
            "SELECT unnest(s.setconfig) AS setting FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole JOIN pg_database d ON d.oid = s.setdatabase WHERE r.rolname = 'activity_recorder' AND d.datname = current_database() ORDER BY 1",
        );
        assert.deepEqual(settings.rows.map((r) => r.setting), ["idle_in_transaction_session_timeout=5s", "lock_timeout=1s", "statement_timeout=2s"]);
        // Only this login (and the owner) may call it: not the application's roles, not the sign-up path.
        const callers = await admin.query(
            "SELECT array_agg(r.rolname::text ORDER BY r.rolname) AS callers FROM pg_roles r WHERE r.rolname IN ('pii_read', 'pii_write', 'pii_audit', 'pii_signup', 'identity_rotator', 'api_app', 'signup_trigger', 'activity_recorder') AND has_function_privilege(r.oid, 'app_record_activity(uuid)', 'EXECUTE')",
        );
        assert.deepEqual(callers.rows[0].callers, ["activity_recorder"]);

        const alice = randomUUID();
        const bob = randomUUID();
        for (const id of [alice, bob]) {
            await admin.query("INSERT INTO users (id, email, last_activity_at) VALUES ($1, $2, now() - interval '2 years')", [id, `${id}@example.com`]);
        }
        const activity = async () =>
            Object.fromEntries((await admin.query("SELECT id, last_activity_at > now() - interval '1 minute' AS fresh, last_activity_at FROM users WHERE id = ANY($1)", [[alice, bob]])).rows.map((r) => [r.id, r]));
        const recorder = new pg.Client({ connectionString: db.url });
        await recorder.connect();
        try {
            // As it logs in through the proxy (session_user activity_recorder).
            await recorder.query("SET SESSION AUTHORIZATION activity_recorder");
            await recorder.query("SELECT app_record_activity($1)", [alice]);
            let now = await activity();
            assert.equal(now[alice].fresh, true, "alice's activity is recorded");
            assert.equal(now[bob].fresh, false, "bob's is not touched");
            // At most once a minute: a second call within the minute writes nothing (same timestamp, no second audit row).
            const first = now[alice].last_activity_at.getTime();
            await recorder.query("SELECT app_record_activity($1)", [alice]);
            now = await activity();
            assert.equal(now[alice].last_activity_at.getTime(), first);
            const audit = await admin.query("SELECT count(*)::int AS n, array_agg(DISTINCT db_role) AS roles FROM audit_log WHERE table_name = 'users' AND operation = 'UPDATE' AND row_id = $1", [alice]);
            assert.deepEqual(audit.rows[0], { n: 1, roles: ["activity_recorder"] }, "the touch is audited, naming the login");
            // An unknown user: nothing happens, nothing is revealed. No user id: a clear error.
            await recorder.query("SELECT app_record_activity($1)", [randomUUID()]);
            assert.equal((await recorder.query("SELECT app_record_activity(NULL)").catch((e) => e)).code, "22004");
            // Nothing else: no table, no identity, no other group, no moving a date by hand.
            for (const sql of ["SELECT count(*) FROM users", "UPDATE users SET last_activity_at = now() + interval '1 year'", `SELECT app_begin_identity('${tokenFor(bob)}')`,
                `SELECT app_check_consent('${tokenFor(bob)}', 'analytics')`, "SELECT * FROM consent_records", "SET ROLE appi_owner", "SET ROLE pii_write"]) {
                const err = await recorder.query(sql).catch((e) => e);
                assert.equal(err.code, "42501", sql);
            }
            // search_path is the function's own: a look-alike users table first on the caller's path changes nothing.
            await admin.query("CREATE SCHEMA lookalike; CREATE TABLE lookalike.users (LIKE public.users INCLUDING DEFAULTS); GRANT USAGE ON SCHEMA lookalike TO activity_recorder");
            await admin.query("INSERT INTO lookalike.users (id, email, last_activity_at) VALUES ($1, 'x@example.com', now() - interval '2 years')", [bob]);
            await recorder.query("SET search_path = lookalike, public");
            await recorder.query("SELECT app_record_activity($1)", [bob]);
            assert.equal((await activity())[bob].fresh, true, "the real row is touched");
            const decoy = await admin.query("SELECT last_activity_at < now() - interval '1 year' AS old FROM lookalike.users WHERE id = $1", [bob]);
            assert.equal(decoy.rows[0].old, true, "the look-alike is not");
        } finally {
            await recorder.end();
        }
    });

    it("grants rds_iam to both users where RDS defines it, and is safe to run again", async function () {
        // rds_iam is RDS's role; create a stand-in (cluster-wide and harmless) and re-run the migration body.
        await admin.query("DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
        const sql = require("fs").readFileSync(require("path").resolve(__dirname, "../../migrations/0004_iam_login_users.sql"), "utf8");
        await admin.query(sql);
        await admin.query(sql);
        const { rows } = await admin.query("SELECT rolname FROM pg_roles WHERE pg_has_role(rolname, 'rds_iam', 'MEMBER') AND rolname IN ('cognito_trigger', 'migrator') ORDER BY 1");
        assert.deepEqual(rows.map((r) => r.rolname), ["cognito_trigger", "migrator"]);
    });
});
