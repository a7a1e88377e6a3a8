// Migrations as RDS runs them: the owner is a non-superuser master user with CREATEROLE (and the database
// owner), first deploy and a later deploy on top of 0001-0004; the migration login is a NOINHERIT member
// that must SET ROLE to it. Runs on embedded PostgreSQL 16 and, with DATABASE_URL, on the machine's 15.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { DEFAULT_MIGRATIONS_DIR, loadMigrations, migrate } from "../../db/migrate";
import { TEST_IDENTITY_SECRET, tokenFor } from "../support/identity";
import { freshDatabase, TestDatabase } from "../support/postgres";
import { connect, INSUFFICIENT_PRIVILEGE, rejection } from "./helpers";

const quiet = { log: () => undefined };
const ALL = loadMigrations().map((f) => f.name);

describe("db: migrations as RDS runs them (non-superuser owner with CREATEROLE)", function () {
    this.timeout(120_000);
    let superuser: pg.Client;
    let pg16: boolean;
    let migrationsDir: string;
    let master: string;
    let password: string;
    let deployer: string;
    const databases: TestDatabase[] = [];
    const dirs: string[] = [];

    before(async function () {
        const db = await freshDatabase("rds_admin");
        databases.push(db);
        superuser = await connect(db.url);
        master = `rds_master_${randomBytes(4).toString("hex")}`;
        deployer = `rds_deployer_${randomBytes(4).toString("hex")}`;
        password = randomBytes(12).toString("hex");
        await superuser.query(`CREATE ROLE ${master} LOGIN CREATEROLE NOSUPERUSER PASSWORD '${password}'`);
        await superuser.query(`CREATE ROLE ${deployer} LOGIN NOINHERIT PASSWORD '${password}'`);
        await superuser.query(`GRANT ${master} TO ${deployer}`);
        pg16 = Number((await superuser.query("SHOW server_version_num")).rows[0].server_version_num) >= 160000;
        if (pg16) {
            // Roles are cluster-wide and other tests on this server created them as the superuser. On RDS the
            // master user created them and so administers them (PostgreSQL 16 requires ADMIN; 15 lets CREATEROLE
            // do it). migrator is left out: it is made a member of the master user below (no circular grants).
            const migrationText = loadMigrations().map((f) => f.sql).join("\n");
            const { rows } = await superuser.query("SELECT rolname FROM pg_roles WHERE NOT rolsuper AND rolname !~ '^pg_' AND rolname <> 'migrator'");
            for (const r of rows) {
                if (new RegExp(`\\b${r.rolname}\\b`).test(migrationText)) await superuser.query(`GRANT ${superuser.escapeIdentifier(r.rolname)} TO ${master} WITH ADMIN OPTION`);
            }
        }
        migrationsDir = DEFAULT_MIGRATIONS_DIR;
        if (pg16) {
            // PostgreSQL 16: no role holds ADMIN on itself, so 0004's `GRANT <owner> TO migrator` is refused to a
            // non-superuser owner (see the test below). Stand-in for the grant made outside the migrations: the
            // superuser grants it, and a copy of the files skips that one statement (0004 itself is never edited).
            migrationsDir = mkdtempSync(path.join(tmpdir(), "appi-rds16-migrations-"));
            dirs.push(migrationsDir);
            cpSync(DEFAULT_MIGRATIONS_DIR, migrationsDir, { recursive: true });
            const file = path.join(migrationsDir, "0004_iam_login_users.sql");
            const original = readFileSync(file, "utf8");
            const patched = original.replace("EXECUTE format('GRANT %I TO migrator', current_user);", "NULL;  -- granted by the superuser (test stand-in)");
            assert.notEqual(patched, original, "0004's self-grant statement not found");
            writeFileSync(file, patched);
            await superuser.query("DO $$ BEGIN CREATE ROLE migrator LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
            await superuser.query(`GRANT ${master} TO migrator WITH INHERIT FALSE`);
        }
    });

    after(async function () {
        const [adminDb, ...others] = databases;
        for (const db of others.reverse()) await db.drop().catch(() => undefined);
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
        if (superuser) {
            if (pg16) await superuser.query(`REVOKE ${master} FROM migrator`).catch(() => undefined);
            for (const role of [deployer, master]) {
                await superuser.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined); // memberships it granted may keep it
            }
            await superuser.end();
        }
        await adminDb?.drop().catch(() => undefined);
    });

    /** A fresh database owned by the master user (as RDS creates it), and its URL logging in as `login`. */
    async function masterDatabase(label: string, login = master): Promise<{ db: TestDatabase; url: string }> {
        const db = await freshDatabase(label);
        databases.push(db);
        await superuser.query(`ALTER DATABASE ${superuser.escapeIdentifier(db.name)} OWNER TO ${master}`);
        const url = new URL(db.url);
        url.username = login;
        url.password = password;
        return { db, url: url.toString() };
    }

    async function checkWorks(db: TestDatabase, url: string): Promise<void> {
        const owner = await connect(url);
        try {
            await owner.query("SELECT app_set_identity_secret($1)", [TEST_IDENTITY_SECRET]);
            const tables = await owner.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tableowner <> $1", [master]);
            assert.equal(tables.rows[0].n, 0, "every table belongs to the master user");
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

    it("first deploy: every migration applies as the master user, and the result works", async function () {
        const { db, url } = await masterDatabase("rds_first");
        assert.deepEqual(await migrate({ connectionString: url }, { ...quiet, dir: migrationsDir }), ALL);
        await checkWorks(db, url);
    });

    it("PostgreSQL 16 refuses 0004's self-grant to a non-superuser owner (the one step RDS 16 needs done outside the migrations)", async function () {
        if (!pg16) this.skip();
        const { url } = await masterDatabase("rds_0004");
        await assert.rejects(migrate({ connectionString: url }, quiet), /0004_iam_login_users\.sql failed and was rolled back: permission denied to grant role/);
    });

    it("later deploy: 0001-0004 were applied in production; the rest applies on top, through a NOINHERIT login that SETs ROLE", async function () {
        const dir = mkdtempSync(path.join(tmpdir(), "appi-rds-migrations-"));
        dirs.push(dir);
        cpSync(migrationsDir, dir, { recursive: true });
        for (const name of readdirSync(dir)) if (name > "0004_z") rmSync(path.join(dir, name));
        const { db, url } = await masterDatabase("rds_later");
        assert.equal((await migrate({ connectionString: url }, { ...quiet, dir })).length, 4);
        const deployerUrl = new URL(url);
        deployerUrl.username = deployer;
        // Without SET ROLE the deploy login has none of the master user's rights.
        await assert.rejects(migrate({ connectionString: deployerUrl.toString() }, { ...quiet, dir: migrationsDir }), /permission denied/);
        const applied = await migrate({ connectionString: deployerUrl.toString() }, { ...quiet, dir: migrationsDir, ownerRole: master });
        assert.deepEqual(applied, ALL.slice(4));
        await checkWorks(db, url);
    });

    it("0004's migrator login inherits nothing from the master user: it must SET ROLE", async function () {
        const { db, url } = await masterDatabase("rds_migrator");
        await migrate({ connectionString: url }, { ...quiet, dir: migrationsDir });
        const admin = await connect(db.url);
        try {
            await admin.query("SET SESSION AUTHORIZATION migrator");
            const err = await rejection(admin.query("SELECT count(*) FROM users"));
            assert.equal(err.code, INSUFFICIENT_PRIVILEGE, "migrator read users without SET ROLE");
            await admin.query(`SET ROLE ${master}`);
            await admin.query("SELECT count(*) FROM users");
        } finally {
            await admin.end();
        }
    });
});
