// The bundle CodeBuild runs (`npm run build:db-tasks`): copied alone into an empty folder, with no
// node_modules anywhere above it, it migrates a real database and reports its status, as the
// migration and 15-minute retention builds run it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { buildDbTasks, DB_TASKS_ENTRY, RESTORE_DRILL_ENTRY } from "../../db/build-tasks";
import { loadMigrations } from "../../db/migrate";
import { freshDatabase, TestDatabase } from "../support/postgres";

const run = promisify(execFile);

describe("db-tasks bundle (npm run build:db-tasks)", function () {
    let work: string;
    let standalone: string;
    let db: TestDatabase;

    before(async function () {
        work = mkdtempSync(path.join(tmpdir(), "db-tasks-"));
        const bundle = await buildDbTasks(path.join(work, "out"));
        // Somewhere Node cannot find the repository's node_modules: only what is in the bundle exists.
        standalone = path.join(mkdtempSync(path.join(tmpdir(), "db-tasks-alone-")), "bundle");
        cpSync(bundle.outDir, standalone, { recursive: true });
        db = await freshDatabase("bundle");
    });
    after(async function () {
        await db?.drop();
        rmSync(work, { recursive: true, force: true });
        if (standalone) rmSync(path.dirname(standalone), { recursive: true, force: true });
    });

    function task(command: string, env: NodeJS.ProcessEnv = {}) {
        const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
        return run(process.execPath, [DB_TASKS_ENTRY, command], { cwd: standalone, env: clean });
    }

    it("holds the two entry files (db tasks, restore drill) and every migration, nothing to install", function () {
        assert.ok(existsSync(path.join(standalone, DB_TASKS_ENTRY)));
        assert.ok(existsSync(path.join(standalone, RESTORE_DRILL_ENTRY)));
        // The migrations, and the accepted superseded checksums without which an older database stops.
        assert.deepEqual(readdirSync(path.join(standalone, "migrations")).sort(), [...loadMigrations().map((m) => m.name), "superseded-checksums.json"]);
        assert.ok(!existsSync(path.join(standalone, "node_modules")));
        assert.ok(!existsSync(path.join(standalone, "package.json")), "no npm ci possible, none needed");
    });

    it("migrates a real database from the bundle alone, then shows nothing pending", async function () {
        const migrated = await task("migrate", { DATABASE_URL: db.url });
        // Bundled, every module is require.main: no other module's script block runs (the rules catalogue did).
        assert.doesNotMatch(migrated.stdout, /# APPI policy rules/);
        assert.match(migrated.stdout, new RegExp(`${loadMigrations().length} migration\\(s\\) applied`));
        const status = await task("status", { DATABASE_URL: db.url });
        assert.match(status.stdout, new RegExp(`${loadMigrations().length} applied, 0 pending`));
    });

    it("runs the restore drill from the bundle alone: a real pg_basebackup copy verified with the bundled migrations", async function () {
        this.timeout(120_000);
        const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
        const help = await run(process.execPath, [RESTORE_DRILL_ENTRY, "--help"], { cwd: standalone, env: clean });
        assert.match(help.stdout, /^usage: npm run drill:restore -- /);
        const drill = await run(process.execPath, [RESTORE_DRILL_ENTRY, "--local", "--users", "50"], { cwd: standalone, env: clean });
        assert.match(drill.stdout, new RegExp(`PASS  migrations +${loadMigrations().length} migration\\(s\\) applied, checksums match`));
        assert.match(drill.stdout, /^PASSED: backup /m);
    });

    it("runs the retention task from the bundle alone", async function () {
        const retention = await task("retention", { DATABASE_URL: db.url });
        assert.equal(retention.stderr.includes("Cannot find module"), false, retention.stderr);
    });

    it("fails, naming the problem, on a task it does not know (exit non-zero)", async function () {
        await assert.rejects(task("drop-everything", { DATABASE_URL: db.url }), (err: any) => err.code !== 0);
    });
});
