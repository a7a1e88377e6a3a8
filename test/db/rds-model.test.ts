// Migrations as RDS runs them: the owner is a non-superuser master user with CREATEROLE (and the database
// owner), first deploy and a later deploy; 0015 hands the schema to appi_owner, which the migration login
// (migrator, created by 0004) may SET ROLE to without inheriting it. Runs on embedded PostgreSQL 16 and,
// with DATABASE_URL, on the machine's 15. No file is patched: what runs here is what runs on RDS.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { DEFAULT_MIGRATIONS_DIR, DEFAULT_OWNER_ROLE, loadMigrations, migrate } from "../../db/migrate";
import { TEST_IDENTITY_SECRET, tokenFor } from "../support/identity";
import { freshDatabase, TestDatabase } from "../support/postgres";
import { connect, INSUFFICIENT_PRIVILEGE, rejection } from "./helpers";

const quiet = { log: () => undefined };
const ALL = loadMigrations().map((f) => f.name);
/** 0004 as it was applied before migrations/superseded-checksums.json (it granted the master user to migrator). */
const OLD_0004 = readFileSync(path.resolve(__dirname, "../fixtures/migrations/0004_iam_login_users.v1.sql"), "utf8");

describe("db: migrations as RDS runs them (non-superuser owner with CREATEROLE)", function () {
    this.timeout(180_000);
    let superuser: pg.Client;
    let pg16: boolean;
    let master: string;
    let password: string;
    const databases: TestDatabase[] = [];
    const dirs: string[] = [];
    const roles: string[] = [];

    before(async function () {
        const db = await freshDatabase("rds_admin");
        databases.push(db);
        superuser = await connect(db.url);
        master = `rds_master_${randomBytes(4).toString("hex")}`;
        password = randomBytes(12).toString("hex");
        await superuser.query(`CREATE ROLE ${master} LOGIN CREATEROLE NOSUPERUSER PASSWORD '${password}'`);
        // The tests log in as the real migrator (cluster-wide; the password is removed afterwards).
        await superuser.query("DO $$ BEGIN CREATE ROLE migrator LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
        await superuser.query(`ALTER ROLE migrator PASSWORD '${password}'`);
        pg16 = Number((await superuser.query("SHOW server_version_num")).rows[0].server_version_num) >= 160000;
        if (pg16) {
            // Roles are cluster-wide and other tests on this server created them as the superuser. On RDS the
            // master user created them, which on 16 gives it exactly ADMIN (no SET, no INHERIT): the same here.
            const migrationText = loadMigrations().map((f) => f.sql).join("\n");
            const { rows } = await superuser.query("SELECT rolname FROM pg_roles WHERE NOT rolsuper AND rolname !~ '^pg_'");
            for (const r of rows) {
                if (new RegExp(`\\b${r.rolname}\\b`).test(migrationText)) {
                    await superuser.query(`GRANT ${superuser.escapeIdentifier(r.rolname)} TO ${master} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`);
                }
            }
        }
    });

    after(async function () {
        const [adminDb, ...others] = databases;
        for (const db of others.reverse()) await db.drop().catch(() => undefined);
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
        if (superuser) {
            for (const role of roles) await superuser.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
            await superuser.query("ALTER ROLE migrator PASSWORD NULL").catch(() => undefined);
            await superuser.query(`REVOKE ${master} FROM migrator`).catch(() => undefined);
            await superuser.query(`DROP OWNED BY ${master}`).catch(() => undefined);
            await superuser.query(`DROP ROLE IF EXISTS ${master}`).catch(() => undefined); // memberships it granted may keep it
            await superuser.end();
        }
        await adminDb?.drop().catch(() => undefined);
    });

    /** A fresh database owned by the master user (as RDS creates it), and its URL logging in as `login`. */
    async function masterDatabase(label: string): Promise<{ db: TestDatabase; url: string; migratorUrl: string }> {
        const db = await freshDatabase(label);
        databases.push(db);
        await superuser.query(`ALTER DATABASE ${superuser.escapeIdentifier(db.name)} OWNER TO ${master}`);
        const url = new URL(db.url);
        url.username = master;
        url.password = password;
        const migratorUrl = new URL(url);
        migratorUrl.username = "migrator";
        return { db, url: url.toString(), migratorUrl: migratorUrl.toString() };
    }

    function migrationsCopy(edit: (dir: string) => void): string {
        const dir = mkdtempSync(path.join(tmpdir(), "appi-rds-migrations-"));
        dirs.push(dir);
        cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
        edit(dir);
        return dir;
    }

    /** Objects of this database that still belong to `role` (pg_shdepend records every owner but bootstrap superusers). */
    async function ownedBy(client: pg.ClientBase, role: string): Promise<string[]> {
        const { rows } = await client.query(
            `SELECT pg_describe_object(classid, objid, objsubid) AS what FROM pg_shdepend
              WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND deptype = 'o'
                AND classid <> 'pg_default_acl'::regclass AND refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY 1`,
            [role],
        );
        return rows.map((r) => r.what);
    }

    async function checkWorks(db: TestDatabase, url: string): Promise<void> {
        const owner = await connect(url);
        try {
            await owner.query("SELECT app_set_identity_secret($1)", [TEST_IDENTITY_SECRET]);
            const tables = await owner.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tableowner <> $1", [DEFAULT_OWNER_ROLE]);
            assert.equal(tables.rows[0].n, 0, "every table belongs to appi_owner");
            assert.deepEqual(await ownedBy(owner, master), [], "the master user owns nothing in this database");
            const id = (await owner.query("INSERT INTO users (email) VALUES ('rds@example.jp') RETURNING id")).rows[0].id;
            await owner.query("INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor) VALUES ($1, 'analytics', true, 'v1', 'user')", [id]);
            const reader = await connect(await db.loginUrl("pii_read"));
            try {
                await reader.query("BEGIN");
                await reader.query("SELECT app_begin_identity($1)", [tokenFor(id)]);
                const { rows } = await reader.query("SELECT has_consent($1, 'analytics') AS ok, (SELECT count(*)::int FROM users) AS users", [id]);
                await reader.query("ROLLBACK");
                assert.deepEqual(rows[0], { ok: true, users: 1 });
                await reader.query("BEGIN");
                await reader.query("SELECT set_config('app.user_id', $1, true)", [id]);
                const forged = await reader.query("SELECT count(*)::int AS n FROM users");
                await reader.query("ROLLBACK");
                assert.equal(forged.rows[0].n, 0, "app.user_id set by hand gives nothing");
            } finally {
                await reader.end();
            }
            const run = await owner.query("SELECT deletion_requests_completed FROM run_retention()");
            assert.equal(run.rowCount, 1, "the retention job runs as the master user");
            const appended = await rejection(owner.query("DELETE FROM audit_log"));
            assert.match(appended.message, /append-only/);
            // PUBLIC lost CONNECT and TEMPORARY on the database.
            const acl = await owner.query("SELECT has_database_privilege('public', current_database(), 'CONNECT') AS c, has_database_privilege('public', current_database(), 'TEMPORARY') AS t");
            assert.deepEqual(acl.rows[0], { c: false, t: false });
        } finally {
            await owner.end();
        }
    }

    /** migrator's memberships as the catalog sees them. */
    async function migratorRights(client: pg.ClientBase): Promise<Record<string, boolean>> {
        const setPriv = pg16 ? "SET" : "MEMBER";
        const { rows } = await client.query(
            `SELECT pg_has_role('migrator', $1, 'MEMBER') AS master_member,
                    pg_has_role('migrator', 'appi_owner', '${setPriv}') AS owner_set,
                    pg_has_role('migrator', 'appi_owner', 'USAGE') AS owner_inherited,
                    (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = 'migrator') AS powers`,
            [master],
        );
        return rows[0];
    }

    it("first deploy: every migration applies as the master user; appi_owner owns the schema; the result works", async function () {
        const { db, url } = await masterDatabase("rds_first");
        assert.deepEqual(await migrate({ connectionString: url }, { ...quiet, ownerRole: DEFAULT_OWNER_ROLE }), ALL);
        await checkWorks(db, url);
        const client = await connect(url);
        try {
            assert.deepEqual(await migratorRights(client), { master_member: false, owner_set: true, owner_inherited: false, powers: false });
            const { rows } = await client.query("SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = 'public'");
            assert.equal(rows[0].owner, DEFAULT_OWNER_ROLE);
            // 0018's event triggers need a superuser (rds_superuser on RDS): a plain CREATEROLE owner gets none.
            assert.equal((await client.query("SELECT count(*)::int AS n FROM pg_event_trigger")).rows[0].n, 0);
        } finally {
            await client.end();
        }
    });

    it("PostgreSQL 16 refuses the superseded 0004 (GRANT <master> TO migrator) to a non-superuser owner: why it was edited", async function () {
        if (!pg16) this.skip();
        const dir = migrationsCopy((d) => {
            writeFileSync(path.join(d, "0004_iam_login_users.sql"), OLD_0004);
            rmSync(path.join(d, "superseded-checksums.json")); // it would (rightly) refuse to list the current content
        });
        const { url } = await masterDatabase("rds_0004");
        await assert.rejects(migrate({ connectionString: url }, { ...quiet, dir }), /0004_iam_login_users\.sql failed and was rolled back: permission denied to grant role/);
    });

    it("later deploy as migrator: SET ROLE appi_owner applies a new migration, whose objects belong to appi_owner with no PUBLIC rights", async function () {
        const { db, url, migratorUrl } = await masterDatabase("rds_later");
        await migrate({ connectionString: url }, { ...quiet, ownerRole: DEFAULT_OWNER_ROLE });
        const dir = migrationsCopy((d) =>
            writeFileSync(
                path.join(d, "9990_later_change.sql"),
                "CREATE TABLE later_things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);\n" +
                    "CREATE FUNCTION later_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM later_things $$;\n" +
                    "CREATE TYPE later_kind AS ENUM ('a', 'b');\n",
            ),
        );
        // Without SET ROLE the migration login inherits nothing.
        await assert.rejects(migrate({ connectionString: migratorUrl }, { ...quiet, dir }), /permission denied/);
        const logged: string[] = [];
        assert.deepEqual(await migrate({ connectionString: migratorUrl }, { dir, ownerRole: DEFAULT_OWNER_ROLE, log: (l) => logged.push(l) }), ["9990_later_change.sql"]);
        const client = await connect(url);
        try {
            const { rows } = await client.query(
                `SELECT (SELECT relowner::regrole::text FROM pg_class WHERE oid = 'later_things'::regclass) AS table_owner,
                        (SELECT proowner::regrole::text FROM pg_proc WHERE proname = 'later_count') AS function_owner,
                        (SELECT typowner::regrole::text FROM pg_type WHERE typname = 'later_kind') AS type_owner,
                        has_function_privilege('public', 'later_count()', 'EXECUTE') AS public_execute,
                        has_table_privilege('pii_read', 'later_things', 'SELECT') AS app_select,
                        (SELECT applied_by FROM schema_migrations WHERE name = '9990_later_change.sql') AS applied_by`,
            );
            assert.deepEqual(rows[0], {
                table_owner: DEFAULT_OWNER_ROLE,
                function_owner: DEFAULT_OWNER_ROLE,
                type_owner: DEFAULT_OWNER_ROLE,
                public_execute: false,
                app_select: false,
                applied_by: DEFAULT_OWNER_ROLE,
            });
        } finally {
            await client.end();
        }
        await checkWorks(db, url);
    });

    it("an older database (0004 as first applied, 0001-0014) is repaired and handed over; migrator loses the master user", async function () {
        if (pg16) this.skip(); // that 0004 never applied on 16 as a non-superuser (test above)
        const old = migrationsCopy((d) => {
            writeFileSync(path.join(d, "0004_iam_login_users.sql"), OLD_0004);
            rmSync(path.join(d, "superseded-checksums.json"));
            for (const name of readdirSync(d)) if (name >= "0015") rmSync(path.join(d, name));
        });
        const { db, url, migratorUrl } = await masterDatabase("rds_old");
        await migrate({ connectionString: url }, { ...quiet, dir: old });
        const admin = await connect(url);
        try {
            assert.equal((await migratorRights(admin)).master_member, true, "the old 0004 made migrator a member of the master user");
            // The upgrade runs once as the master user (db/README.md); the old deploy login cannot do it alone.
            await assert.rejects(migrate({ connectionString: migratorUrl }, { ...quiet, ownerRole: DEFAULT_OWNER_ROLE }), /permission denied/);
            const logged: string[] = [];
            assert.deepEqual(await migrate({ connectionString: url }, { ownerRole: DEFAULT_OWNER_ROLE, log: (l) => logged.push(l) }), ALL.slice(14));
            assert.ok(logged.some((l) => /0004_iam_login_users\.sql: applied as ec7fd6726a24…, a superseded content/.test(l)), logged.join("\n"));
            assert.deepEqual(await migratorRights(admin), { master_member: false, owner_set: true, owner_inherited: false, powers: false });
            const repairs = await admin.query("SELECT name, old_checksum, new_checksum, repaired_by FROM schema_migration_repairs");
            assert.deepEqual(repairs.rows, [
                { name: "0004_iam_login_users.sql", old_checksum: "ec7fd6726a249ac2b905a61573281689291fa45112f02e4e22ed57ac6f1345a3", new_checksum: loadMigrations()[3].checksum, repaired_by: master },
            ]);
            // From now on: migrator with SET ROLE appi_owner; SET ROLE to the master user is gone.
            const migrator = await connect(migratorUrl);
            try {
                assert.equal((await rejection(migrator.query(`SET ROLE ${master}`))).code, INSUFFICIENT_PRIVILEGE);
            } finally {
                await migrator.end();
            }
            assert.deepEqual(await migrate({ connectionString: migratorUrl }, { ...quiet, ownerRole: DEFAULT_OWNER_ROLE }), []);
        } finally {
            await admin.end();
        }
        await checkWorks(db, url);
    });

    it("a later migration that creates roles: applied by the master user and handed to appi_owner; refused to migrator with the reason", async function () {
        const { url, migratorUrl } = await masterDatabase("rds_roles");
        await migrate({ connectionString: url }, { ...quiet, ownerRole: DEFAULT_OWNER_ROLE });
        const role = `later_role_${randomBytes(3).toString("hex")}`;
        roles.push(role);
        const dir = migrationsCopy((d) =>
            writeFileSync(
                path.join(d, "9991_later_role.sql"),
                `DO $$ BEGIN CREATE ROLE ${role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;\n` +
                    `CREATE TABLE later_role_things (id int);\nGRANT SELECT ON later_role_things TO ${role};\n`,
            ),
        );
        {
            await assert.rejects(migrate({ connectionString: migratorUrl }, { ...quiet, dir, ownerRole: DEFAULT_OWNER_ROLE }), /9991_later_role\.sql creates or alters roles or event triggers, which appi_owner may not: run it once with the master user's login/);
            const logged: string[] = [];
            assert.deepEqual(await migrate({ connectionString: url }, { dir, ownerRole: DEFAULT_OWNER_ROLE, log: (l) => logged.push(l) }), ["9991_later_role.sql"]);
            assert.ok(logged.includes(`9991_later_role.sql manages roles: applied as ${master}, its objects handed to appi_owner`), logged.join("\n"));
            const client = await connect(url);
            try {
                const { rows } = await client.query("SELECT relowner::regrole::text AS owner FROM pg_class WHERE oid = 'later_role_things'::regclass");
                assert.equal(rows[0].owner, DEFAULT_OWNER_ROLE);
                assert.deepEqual(await ownedBy(client, master), []);
            } finally {
                await client.end();
            }
        }
    });

    it("attacker with migrator's token: cannot become the master user, cannot create roles, reads nothing without SET ROLE", async function () {
        const { migratorUrl, url } = await masterDatabase("rds_migrator");
        await migrate({ connectionString: url }, { ...quiet, ownerRole: DEFAULT_OWNER_ROLE });
        const migrator = await connect(migratorUrl);
        try {
            assert.equal((await rejection(migrator.query("SELECT count(*) FROM users"))).code, INSUFFICIENT_PRIVILEGE, "migrator read users without SET ROLE");
            assert.equal((await rejection(migrator.query(`SET ROLE ${master}`))).code, INSUFFICIENT_PRIVILEGE, "migrator became the master user");
            assert.equal((await rejection(migrator.query("CREATE ROLE attacker_made LOGIN SUPERUSER"))).code, INSUFFICIENT_PRIVILEGE);
            await migrator.query("SET ROLE appi_owner");
            await migrator.query("SELECT count(*) FROM users");
            assert.equal((await rejection(migrator.query("CREATE ROLE attacker_made LOGIN"))).code, INSUFFICIENT_PRIVILEGE, "appi_owner created a role");
            assert.equal((await rejection(migrator.query(`SET ROLE ${master}`))).code, INSUFFICIENT_PRIVILEGE, "appi_owner leads to the master user");
            assert.equal((await rejection(migrator.query("GRANT appi_owner TO pii_read"))).code, INSUFFICIENT_PRIVILEGE, "appi_owner handed itself out");
        } finally {
            await migrator.end();
        }
    });

    it("attacker with an application login: no SET ROLE appi_owner from pii_read, pii_write, pii_audit, pii_signup", async function () {
        const { db, url } = await masterDatabase("rds_apps");
        await migrate({ connectionString: url }, { ...quiet, ownerRole: DEFAULT_OWNER_ROLE });
        for (const group of ["pii_read", "pii_write", "pii_audit", "pii_signup"]) {
            const app = await connect(await db.loginUrl(group));
            try {
                assert.equal((await rejection(app.query("SET ROLE appi_owner"))).code, INSUFFICIENT_PRIVILEGE, `${group} became appi_owner`);
            } finally {
                await app.end();
            }
        }
        const { rows } = await superuser.query("SELECT r.rolname FROM pg_roles r WHERE pg_has_role(r.rolname, 'appi_owner', 'MEMBER') AND r.rolname ~ '^(pii_|cognito_trigger|signup_trigger)'");
        assert.deepEqual(rows, []);
    });
});
