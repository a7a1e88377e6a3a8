import assert from "node:assert/strict";
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DEFAULT_MIGRATIONS_DIR, findTransactionControl, loadMigrations, loadSupersededChecksums, migrate, migrationStatus, sha256, SUPERSEDED_CHECKSUMS_FILE } from "../../db/migrate";
import { freshDatabase, migratedDatabase, TestDatabase } from "../support/postgres";
import { connect, rejection } from "./helpers";

const quiet = { log: () => undefined };
const ALL = loadMigrations().map((f) => f.name);

describe("db: migration runner", function () {
    const cleanup: Array<() => Promise<void> | void> = [];
    afterEach(async function () {
        while (cleanup.length) await cleanup.pop()!();
    });
    async function fresh(label: string): Promise<TestDatabase> {
        const db = await freshDatabase(label);
        cleanup.push(() => db.drop());
        return db;
    }
    function copyOfMigrations(): string {
        const dir = mkdtempSync(path.join(tmpdir(), "appi-migrations-"));
        cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
        cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
        return dir;
    }

    it("the migration files are numbered, unique and start at 0001", function () {
        assert.ok(ALL.length >= 3);
        assert.equal(ALL[0], "0001_pii_schema.sql");
        assert.deepEqual([...ALL].sort(), ALL);
    });

    it("creates the spec's tables, indexes and views on an empty database", async function () {
        const db = await fresh("schema");
        assert.deepEqual(await migrate({ connectionString: db.url }, quiet), ALL);
        const client = await connect(db.url);
        try {
            const names = async (sql: string) => (await client.query(sql)).rows.map((r) => r.name as string);
            const tables = await names("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'");
            for (const t of ["users", "encryption_metadata", "encryption_audit", "key_rotation_log", "system_config", "consent_records",
                "retention_policies", "deletion_requests", "incidents", "data_subject_requests", "third_party_provisions", "audit_log"]) {
                assert.ok(tables.includes(t), `table ${t}`);
            }
            const indexes = await names("SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'");
            for (const i of ["idx_users_email", "idx_users_created_at", "idx_encryption_metadata_user_field", "idx_encryption_metadata_level",
                "idx_encryption_audit_user_time", "idx_encryption_audit_operation", "idx_key_rotation_log_key_type", "idx_key_rotation_log_status"]) {
                assert.ok(indexes.includes(i), `index ${i}`);
            }
            const views = await names("SELECT viewname AS name FROM pg_views WHERE schemaname = 'public'");
            for (const v of ["encryption_stats", "audit_summary", "key_rotation_summary"]) assert.ok(views.includes(v), `view ${v}`);
            const bytea = await client.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' AND column_name LIKE '%\\_encrypted' AND data_type = 'bytea'",
            );
            assert.equal(bytea.rowCount, 6);
            const config = await client.query("SELECT count(*)::int AS n FROM system_config");
            assert.ok(config.rows[0].n > 0, "system_config is seeded");
            const pgcrypto = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto'");
            assert.equal(pgcrypto.rowCount, 0, "encryption happens in the application, not with pgcrypto");
        } finally {
            await client.end();
        }
    });

    it("is idempotent: a second run applies nothing and status shows everything applied", async function () {
        const db = await migratedDatabase("idempotent");
        cleanup.push(() => db.drop());
        assert.deepEqual(await migrate({ connectionString: db.url }, quiet), []);
        const status = await migrationStatus({ connectionString: db.url });
        assert.deepEqual(status.applied.map((a) => a.name), ALL);
        assert.deepEqual(status.pending, []);
    });

    it("status of an empty database lists every file as pending", async function () {
        const db = await fresh("status");
        const status = await migrationStatus({ connectionString: db.url });
        assert.deepEqual(status.applied, []);
        assert.deepEqual(status.pending.map((p) => p.name), ALL);
    });

    it("two concurrent runs on one database apply each migration exactly once", async function () {
        const db = await fresh("concurrent");
        const [a, b] = await Promise.all([migrate({ connectionString: db.url }, quiet), migrate({ connectionString: db.url }, quiet)]);
        assert.deepEqual([...a, ...b].sort(), ALL);
        const client = await connect(db.url);
        try {
            const { rows } = await client.query("SELECT name FROM schema_migrations ORDER BY name");
            assert.deepEqual(rows.map((r) => r.name), ALL);
        } finally {
            await client.end();
        }
    });

    it("migrates several databases of one server at the same time (cluster-wide roles)", async function () {
        const dbs = await Promise.all([fresh("parallel_a"), fresh("parallel_b"), fresh("parallel_c")]);
        const results = await Promise.all(dbs.map((db) => migrate({ connectionString: db.url }, quiet)));
        for (const r of results) assert.deepEqual(r, ALL);
    });

    it("stops with the file's name when an applied migration was edited", async function () {
        const dir = copyOfMigrations();
        const db = await fresh("tamper");
        await migrate({ connectionString: db.url }, { ...quiet, dir });
        appendFileSync(path.join(dir, "0002_appi_model.sql"), "\n-- sneaky edit\n");
        writeFileSync(path.join(dir, "9999_later.sql"), "CREATE TABLE should_not_exist (id int);");
        await assert.rejects(migrate({ connectionString: db.url }, { ...quiet, dir }), /migration 0002_appi_model\.sql was changed after it was applied/);
        await assert.rejects(migrationStatus({ connectionString: db.url }, { dir }), /0002_appi_model\.sql was changed/);
        const client = await connect(db.url);
        try {
            assert.equal((await client.query("SELECT to_regclass('should_not_exist') AS t")).rows[0].t, null);
        } finally {
            await client.end();
        }
    });

    describe("superseded checksums (migrations/superseded-checksums.json)", function () {
        const OLD_0004 = readFileSync(path.resolve(__dirname, "../fixtures/migrations/0004_iam_login_users.v1.sql"), "utf8");
        const OLD_0004_SHA = "ec7fd6726a249ac2b905a61573281689291fa45112f02e4e22ed57ac6f1345a3";
        const CURRENT_0004_SHA = loadMigrations()[3].checksum;

        it("lists the fixture of 0004 as first applied, with a reason; the current file differs from it", function () {
            assert.equal(sha256(OLD_0004), OLD_0004_SHA);
            assert.notEqual(CURRENT_0004_SHA, OLD_0004_SHA);
            assert.match(loadSupersededChecksums().get("0004_iam_login_users.sql")?.get(OLD_0004_SHA) ?? "", /PostgreSQL 16/);
        });

        it("an older database (0004 as first applied) migrates: the new checksum and an append-only repair row are recorded, once", async function () {
            const old = copyOfMigrations();
            writeFileSync(path.join(old, "0004_iam_login_users.sql"), OLD_0004);
            rmSync(path.join(old, SUPERSEDED_CHECKSUMS_FILE));
            for (const name of readdirSync(old)) if (name >= "0015") rmSync(path.join(old, name));
            const db = await fresh("superseded_old");
            await migrate({ connectionString: db.url }, { ...quiet, dir: old });
            const status = await migrationStatus({ connectionString: db.url });
            assert.deepEqual(status.repairs.map((r) => [r.name, r.oldChecksum, r.newChecksum]), [["0004_iam_login_users.sql", OLD_0004_SHA, CURRENT_0004_SHA]]);
            const logged: string[] = [];
            assert.deepEqual(await migrate({ connectionString: db.url }, { log: (l) => logged.push(l) }), ALL.slice(14));
            assert.ok(logged.some((l) => l.startsWith("0004_iam_login_users.sql: applied as ec7fd6726a24…, a superseded content")), logged.join("\n"));
            const client = await connect(db.url);
            try {
                const recorded = await client.query("SELECT checksum FROM schema_migrations WHERE name = '0004_iam_login_users.sql'");
                assert.equal(recorded.rows[0].checksum, CURRENT_0004_SHA);
                const repairs = await client.query("SELECT name, old_checksum, new_checksum, reason FROM schema_migration_repairs");
                assert.equal(repairs.rowCount, 1);
                assert.match(repairs.rows[0].reason, /PostgreSQL 16/);
                // The trail of repairs is append-only, and the auditor reads it.
                assert.match((await rejection(client.query("UPDATE schema_migration_repairs SET reason = 'nothing'"))).message, /append-only/);
                assert.match((await rejection(client.query("DELETE FROM schema_migration_repairs"))).message, /append-only/);
                const auditor = await connect(await db.loginUrl("pii_audit"));
                try {
                    assert.equal((await auditor.query("SELECT count(*)::int AS n FROM schema_migration_repairs")).rows[0].n, 1);
                } finally {
                    await auditor.end();
                }
            } finally {
                await client.end();
            }
            const again: string[] = [];
            assert.deepEqual(await migrate({ connectionString: db.url }, { log: (l) => again.push(l) }), []);
            assert.ok(!again.some((l) => /superseded/.test(l)), "a repair is made once");
        });

        it("a new database gets the current file: its checksum, no repair", async function () {
            const db = await fresh("superseded_new");
            await migrate({ connectionString: db.url }, quiet);
            const client = await connect(db.url);
            try {
                assert.equal((await client.query("SELECT checksum FROM schema_migrations WHERE name = '0004_iam_login_users.sql'")).rows[0].checksum, CURRENT_0004_SHA);
                assert.equal((await client.query("SELECT count(*)::int AS n FROM schema_migration_repairs")).rows[0].n, 0);
            } finally {
                await client.end();
            }
        });

        it("any other edit still stops the run, also of a file that has superseded entries", async function () {
            const dir = copyOfMigrations();
            const db = await fresh("superseded_tamper");
            await migrate({ connectionString: db.url }, { ...quiet, dir });
            // 0004 edited again (not the listed old content), and 0002 given an entry that is not what the database recorded.
            appendFileSync(path.join(dir, "0004_iam_login_users.sql"), "\nGRANT pii_read TO migrator;\n");
            const listed = JSON.parse(readFileSync(path.join(dir, SUPERSEDED_CHECKSUMS_FILE), "utf8"));
            writeFileSync(path.join(dir, SUPERSEDED_CHECKSUMS_FILE), JSON.stringify({ ...listed, "0002_appi_model.sql": [{ sha256: "0".repeat(64), reason: "not this one" }] }));
            await assert.rejects(migrate({ connectionString: db.url }, { ...quiet, dir }), /migration 0004_iam_login_users\.sql was changed after it was applied/);
        });

        it("refuses a list that names no file, a malformed checksum, no reason, or the current content", function () {
            const cases: Array<[unknown, RegExp]> = [
                [{ "0099_nothing.sql": [{ sha256: "a".repeat(64), reason: "x" }] }, /"0099_nothing\.sql" is not a migration file/],
                [{ "0002_appi_model.sql": [{ sha256: "abc", reason: "x" }] }, /sha256 must be 64 lowercase hex digits/],
                [{ "0002_appi_model.sql": [{ sha256: "a".repeat(64) }] }, /needs a reason/],
                [{ "0002_appi_model.sql": [{ sha256: loadMigrations()[1].checksum, reason: "x" }] }, /is the file's current checksum/],
                [[], /must be an object/],
            ];
            for (const [content, error] of cases) {
                const dir = copyOfMigrations();
                writeFileSync(path.join(dir, SUPERSEDED_CHECKSUMS_FILE), JSON.stringify(content));
                assert.throws(() => loadSupersededChecksums(dir), error);
            }
        });
    });

    it("rolls a failing migration back entirely and names it", async function () {
        const dir = copyOfMigrations();
        writeFileSync(path.join(dir, "9998_half_done.sql"), "CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;");
        const db = await fresh("failing");
        await assert.rejects(migrate({ connectionString: db.url }, { ...quiet, dir }), /migration 9998_half_done\.sql failed and was rolled back: .*no_such_table/);
        const client = await connect(db.url);
        try {
            assert.equal((await client.query("SELECT to_regclass('half_done') AS t")).rows[0].t, null);
            const { rows } = await client.query("SELECT name FROM schema_migrations ORDER BY name");
            assert.deepEqual(rows.map((r) => r.name), ALL, "the files before it stay applied");
        } finally {
            await client.end();
        }
    });

    it("refuses badly named, duplicate-numbered or vanished migration files", async function () {
        const badName = copyOfMigrations();
        writeFileSync(path.join(badName, "add-stuff.sql"), "SELECT 1;");
        assert.throws(() => loadMigrations(badName), /add-stuff\.sql.*0004_short_description\.sql/);

        const duplicate = copyOfMigrations();
        writeFileSync(path.join(duplicate, "0002_other.sql"), "SELECT 1;");
        assert.throws(() => loadMigrations(duplicate), /0002_appi_model\.sql and 0002_other\.sql share the number 0002/);

        const vanished = copyOfMigrations();
        const db = await fresh("vanished");
        await migrate({ connectionString: db.url }, { ...quiet, dir: vanished });
        rmSync(path.join(vanished, "0003_roles_and_rls.sql"));
        await assert.rejects(migrate({ connectionString: db.url }, { ...quiet, dir: vanished }), /0003_roles_and_rls\.sql is applied in the database but missing/);
    });

    it("finds transaction control outside comments, strings and function bodies, and nowhere else", function () {
        const found = (sql: string) => findTransactionControl(sql)?.statement ?? null;
        assert.equal(found("CREATE TABLE x ();\nCOMMIT;"), "COMMIT");
        assert.equal(found("SELECT 1;\n  savepoint a;"), "SAVEPOINT");
        assert.equal(found("begin;\nSELECT 1;"), "BEGIN");
        assert.equal(found("SELECT 1; START TRANSACTION;"), "START");
        assert.equal(found("SELECT 1;\nROLLBACK"), "ROLLBACK");
        assert.equal(findTransactionControl("SELECT 1;\n\nEND;")?.line, 3);
        for (const harmless of [
            "DO $$ BEGIN PERFORM 1; COMMIT; END $$;",
            "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $body$ BEGIN ROLLBACK; END $body$;",
            "SELECT 1; -- COMMIT\n",
            "/* ROLLBACK; */ SELECT 1;",
            "SELECT 'x; COMMIT';",
            "SELECT \"begin\" FROM t;",
            "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT 2;",
            "CREATE TABLE commits (id int); INSERT INTO commits VALUES (1);",
        ]) {
            assert.equal(found(harmless), null, harmless);
        }
        for (const file of loadMigrations()) assert.equal(findTransactionControl(file.sql), null, file.name);
    });

    it("refuses a migration file containing transaction control, naming the file, the statement and the line", async function () {
        const dir = copyOfMigrations();
        writeFileSync(path.join(dir, "9997_commits_midway.sql"), "CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);\n");
        assert.throws(() => loadMigrations(dir), /migration file 9997_commits_midway\.sql contains transaction control \(COMMIT on line 2\)/);
        const db = await fresh("txn_control");
        await assert.rejects(migrate({ connectionString: db.url }, { ...quiet, dir }), /9997_commits_midway\.sql contains transaction control/);
        const client = await connect(db.url);
        try {
            assert.equal((await client.query("SELECT to_regclass('schema_migrations') AS t")).rows[0].t, null, "nothing was applied");
        } finally {
            await client.end();
        }
    });

    it("takes locks with a timeout: retries while a long transaction holds one, fails with a clear message if it never ends", async function () {
        const dir = copyOfMigrations();
        const db = await fresh("lock_timeout");
        await migrate({ connectionString: db.url }, { ...quiet, dir });
        writeFileSync(path.join(dir, "9996_alter_users.sql"), "ALTER TABLE users ADD COLUMN nickname text;\n");
        const holder = await connect(db.url);
        try {
            await holder.query("BEGIN");
            await holder.query("LOCK TABLE users IN ACCESS SHARE MODE");
            const lines: string[] = [];
            await assert.rejects(
                migrate({ connectionString: db.url }, { dir, log: (l) => lines.push(l), lockTimeoutMs: 100, lockRetries: 1 }),
                /9996_alter_users\.sql failed and was rolled back: .*lock timeout.*still waiting for a lock after 2 attempts/,
            );
            assert.ok(lines.some((l) => /retrying/.test(l)), lines.join("\n"));
            // The holder finishes while the runner is retrying: the migration then goes through.
            setTimeout(() => void holder.query("COMMIT"), 300);
            assert.deepEqual(await migrate({ connectionString: db.url }, { ...quiet, dir, lockTimeoutMs: 100, lockRetries: 5 }), ["9996_alter_users.sql"]);
        } finally {
            await holder.end();
        }
    });
});
