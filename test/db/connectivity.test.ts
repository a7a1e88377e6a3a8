// `npm run db:test` against the real PostgreSQL of the tests and the machine's local Redis.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { checkPostgres, checkRedis, CheckResult } from "../../db/connectivity";
import { freshDatabase, migratedDatabase, TestDatabase } from "../support/postgres";
import { connect } from "./helpers";

const LOCAL_REDIS = "redis://127.0.0.1:6379";
const byName = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.name, r]));

/** A TCP port nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

describe("db: connectivity validation (db:test)", function () {
    let migrated: TestDatabase;
    let empty: TestDatabase;

    before(async function () {
        [migrated, empty] = await Promise.all([migratedDatabase("dbtest"), freshDatabase("dbtest_empty")]);
    });
    after(async function () {
        await Promise.all([migrated?.drop(), empty?.drop()]);
    });

    it("passes every PostgreSQL check on a migrated database", async function () {
        const results = byName(await checkPostgres({ connectionString: migrated.url }));
        for (const name of ["PostgreSQL connection", "PostgreSQL version", "migrations", "row-level security", "roles"]) {
            assert.equal(results[name]?.status, "ok", `${name}: ${results[name]?.detail}`);
        }
        assert.match(results["PostgreSQL version"].detail, /^1[5-9]\./);
        // Every table holding user rows (the count grows with the migrations; each must be forced).
        assert.match(results["row-level security"].detail, /forced on \d+ user tables/);
        // Plain local connection: a warning with the fix, not a failure.
        assert.equal(results.TLS.status, "warn");
        assert.match(results.TLS.fix ?? "", /sslmode=verify-full/);
    });

    it("fails on an unmigrated database and says to run db:migrate", async function () {
        const results = byName(await checkPostgres({ connectionString: empty.url }));
        assert.equal(results.migrations.status, "fail");
        assert.match(results.migrations.detail, /pending: 0001_pii_schema\.sql/);
        assert.equal(results.migrations.fix, "run npm run db:migrate");
        assert.equal(results["row-level security"].status, "fail");
    });

    it("fails naming a user table whose row-level security is not forced", async function () {
        const db = await migratedDatabase("dbtest_rls_off");
        try {
            const admin = await connect(db.url);
            await admin.query("ALTER TABLE consent_records NO FORCE ROW LEVEL SECURITY");
            await admin.query("CREATE TABLE notes (user_id uuid, body text)");
            await admin.end();
            const rls = byName(await checkPostgres({ connectionString: db.url }))["row-level security"];
            assert.equal(rls.status, "fail");
            assert.match(rls.detail, /consent_records, notes/);
        } finally {
            await db.drop();
        }
    });

    it("fails with a fix when PostgreSQL cannot be reached", async function () {
        const results = await checkPostgres({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`, connectionTimeoutMillis: 3000 });
        assert.equal(results.length, 1);
        assert.equal(results[0].status, "fail");
        assert.match(results[0].detail, /ECONNREFUSED/);
        assert.match(results[0].fix ?? "", /DATABASE_URL/);
    });

    it("reaches the local Redis and reports its version", async function () {
        const results = byName(await checkRedis(LOCAL_REDIS));
        assert.equal(results.Redis.status, "ok");
        assert.match(results.Redis.detail, /Redis \d+\.\d+/);
        assert.equal(results["Redis TLS"].status, "warn");
    });

    it("fails with a fix for an unreachable Redis, a rejected AUTH or a wrong scheme; skips without REDIS_URL", async function () {
        const down = (await checkRedis(`redis://127.0.0.1:${await closedPort()}`))[0];
        assert.equal(down.status, "fail");
        assert.match(down.detail, /ECONNREFUSED/);
        assert.match(down.fix ?? "", /REDIS_URL/);
        // The local Redis has no password: AUTH with one is refused, as a wrong ElastiCache token would be.
        const auth = (await checkRedis("redis://:wrong-token@127.0.0.1:6379"))[0];
        assert.equal(auth.status, "fail");
        assert.match(auth.detail, /AUTH|password/i);
        assert.equal((await checkRedis("http://127.0.0.1:6379"))[0].status, "fail");
        assert.equal((await checkRedis(undefined))[0].status, "skip");
    });

    it("npm run db:test exits 0 when all is well and non-zero with the fix when not", async function () {
        const run = promisify(execFile);
        const cli = path.resolve(__dirname, "../../db/cli.ts");
        const tsNode = require.resolve("ts-node/dist/bin.js");
        const env = (url: string) => ({ ...process.env, DATABASE_URL: url, REDIS_URL: LOCAL_REDIS, TS_NODE_TRANSPILE_ONLY: "true" });
        const ok = await run(process.execPath, [tsNode, "--transpile-only", cli, "test"], { env: env(migrated.url) });
        assert.match(ok.stdout, /all checks passed/);
        const failed = await run(process.execPath, [tsNode, "--transpile-only", cli, "test"], { env: env(empty.url) }).then(
            () => assert.fail("db:test should exit non-zero on an unmigrated database"),
            (err: { code: number; stdout: string }) => err,
        );
        assert.equal(failed.code, 1);
        assert.match(failed.stdout, /FAIL {2}migrations: .*pending/);
        assert.match(failed.stdout, /fix: run npm run db:migrate/);
    });
});
