// A fresh clone with nothing installed: `npm run db:migrate` without DATABASE_URL starts the embedded
// PostgreSQL 16 in a local data folder, migrates it, and `db:status` shows everything applied.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ownerRoleFromEnv } from "../../db/cli";
import { loadMigrations } from "../../db/migrate";

const run = promisify(execFile);
const CLI = path.resolve(__dirname, "../../db/cli.ts");
const TS_NODE = require.resolve("ts-node/dist/bin.js");

describe("db: command line without DATABASE_URL (embedded PostgreSQL 16)", function () {
    let dataRoot: string;
    before(function () {
        dataRoot = mkdtempSync(path.join(tmpdir(), "appi-local-data-"));
        chmodSync(dataRoot, 0o755); // the server runs as the OS user "postgres" when we are root
    });
    after(function () {
        rmSync(dataRoot, { recursive: true, force: true });
    });

    function cli(command: string) {
        const env: NodeJS.ProcessEnv = { ...process.env, DB_LOCAL_DATA_DIR: dataRoot };
        delete env.DATABASE_URL; // CI sets it; this test is about having none
        delete env.DB_PROXY_ENDPOINT;
        return run(process.execPath, [TS_NODE, "--transpile-only", CLI, command], { env });
    }

    it("db:migrate creates, starts and migrates the local cluster; db:status then shows nothing pending", async function () {
        const names = loadMigrations().map((f) => f.name);
        const migrated = await cli("migrate");
        assert.match(migrated.stdout, /embedded PostgreSQL 16/);
        for (const name of names) assert.match(migrated.stdout, new RegExp(`applied ${name.replace(".", "\\.")}`));
        assert.ok(existsSync(path.join(dataRoot, "pg16", "PG_VERSION")), "data kept in the local folder");

        assert.match(migrated.stdout, /acting as appi_owner from here on/, "0015 onwards run as the schema owner");

        const status = await cli("status");
        assert.match(status.stdout, new RegExp(`${names.length} applied, 0 pending`));

        const usage = await cli("nonsense").then(
            () => assert.fail("an unknown command must exit non-zero"),
            (err: { code: number; stderr: string }) => err,
        );
        assert.equal(usage.code, 2);
        assert.match(usage.stderr, /unknown command "nonsense" \(one of migrate, status, test, retention\)/);
    });
});

describe("db: DB_OWNER_ROLE", function () {
    it("defaults to appi_owner; empty acts as the login; anything but a plain role name is refused", function () {
        assert.equal(ownerRoleFromEnv({}), "appi_owner");
        assert.equal(ownerRoleFromEnv({ DB_OWNER_ROLE: "" }), undefined);
        assert.equal(ownerRoleFromEnv({ DB_OWNER_ROLE: "rds_master" }), "rds_master");
        assert.throws(() => ownerRoleFromEnv({ DB_OWNER_ROLE: 'x"; DROP TABLE users; --' }), /DB_OWNER_ROLE=.* is not a role name/);
    });
});
