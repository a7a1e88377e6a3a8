// Erasure across every store: the database (real PostgreSQL), the Redis cache (the machine's real Redis)
// and Cognito and CloudWatch (the AWS SDK with aws-sdk-client-mock). A deletion request is completed only
// when every store has been erased; failures are recorded as codes, retried, and reported stuck.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mockClient } from "aws-sdk-client-mock";
import {
    AdminDeleteUserCommand,
    CognitoIdentityProviderClient,
    ListUsersCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import pg from "pg";
import { createClient } from "redis";
import { eraseUserCache, userCacheKey, userCacheKeyPattern } from "../../lib/cache-keys";
import { cacheEraser, cognitoEraser, erasureStatus, publishErasureMetrics, runErasurePass } from "../../lib/erasure";
import { makeHandler } from "../../lambdas/erasure-worker";
import { parseReplayArgs, replayErasures } from "../../db/erasure-replay";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { connect, rejection, seedUser, INSUFFICIENT_PRIVILEGE } from "../db/helpers";

const POOL_ID = "ap-northeast-1_TestPool1";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

describe("erasure across every store", function () {
    let db: TestDatabase;
    let admin: pg.Client;
    let workerPool: pg.Pool;
    let redis: ReturnType<typeof createClient>;
    const cognito = mockClient(CognitoIdentityProviderClient);
    const cloudwatch = mockClient(CloudWatchClient);

    before(async function () {
        db = await migratedDatabase("erasure");
        admin = await connect(db.url);
        workerPool = new pg.Pool({ connectionString: await db.loginUrl("erasure_worker"), max: 2 });
        redis = createClient({ url: REDIS_URL });
        await redis.connect();
    });
    after(async function () {
        await workerPool?.end();
        await admin?.end();
        await redis?.quit();
        await db?.drop();
        cognito.restore();
        cloudwatch.restore();
    });
    beforeEach(function () {
        cognito.reset();
        cloudwatch.reset();
        cloudwatch.on(PutMetricDataCommand).resolves({});
    });

    async function requestDeletion(userId: string): Promise<string> {
        return (await admin.query("INSERT INTO deletion_requests (user_id) VALUES ($1) RETURNING id", [userId])).rows[0].id;
    }
    async function steps(requestId: string): Promise<Record<string, { status: string; attempts: number; last_error_code: string | null }>> {
        const { rows } = await admin.query("SELECT store, status, attempts, last_error_code FROM erasure_steps WHERE deletion_request_id = $1", [requestId]);
        return Object.fromEntries(rows.map((r) => [r.store, { status: r.status, attempts: r.attempts, last_error_code: r.last_error_code }]));
    }
    async function request(requestId: string): Promise<{ status: string; completed_at: Date | null; requested_at: Date; deadline_at: Date }> {
        return (await admin.query("SELECT status, completed_at, requested_at, deadline_at FROM deletion_requests WHERE id = $1", [requestId])).rows[0];
    }
    /** Test-only: make a step due now instead of after its backoff. */
    async function makeDue(requestId: string): Promise<void> {
        await admin.query("UPDATE erasure_steps SET next_attempt_at = clock_timestamp() WHERE deletion_request_id = $1", [requestId]);
    }
    function cognitoHasUser(sub: string, username = `generated-${sub.slice(0, 8)}`): void {
        cognito.on(ListUsersCommand, { UserPoolId: POOL_ID, Filter: `sub = "${sub}"` }).resolves({ Users: [{ Username: username }] });
        cognito.on(AdminDeleteUserCommand, { UserPoolId: POOL_ID, Username: username }).resolves({});
    }
    const erasers = () => ({ cognito: cognitoEraser(new CognitoIdentityProviderClient({ region: "ap-northeast-1" }), POOL_ID), cache: cacheEraser(redis) });

    it("completes a request only after the database, Cognito and the cache are all erased", async function () {
        const user = await seedUser(admin, "leaving");
        const neighbour = await seedUser(admin, "neighbour");
        await redis.set(userCacheKey(user.id, "profile"), "cached profile");
        await redis.set(userCacheKey(user.id, "session:abc"), "cached session");
        await redis.set(userCacheKey(neighbour.id, "profile"), "neighbour profile");
        const requestId = await requestDeletion(user.id);

        // The database alone is not enough: the retention job erases the rows, the request stays pending.
        await admin.query("SELECT complete_due_deletion_requests()");
        assert.equal((await admin.query("SELECT count(*)::int AS n FROM users WHERE id = $1", [user.id])).rows[0].n, 0);
        assert.equal((await request(requestId)).status, "pending");
        assert.deepEqual(Object.keys(await steps(requestId)).sort(), ["cache", "cognito", "database"]);

        cognitoHasUser(user.id);
        const run = await runErasurePass(workerPool, erasers());
        assert.equal(run.failed, 0);
        assert.ok(run.done >= 2);

        const done = await request(requestId);
        assert.equal(done.status, "completed");
        assert.ok(done.completed_at! <= done.deadline_at, "within the 1-hour SLA");
        assert.deepEqual(cognito.commandCalls(AdminDeleteUserCommand).map((c) => c.args[0].input), [
            { UserPoolId: POOL_ID, Username: `generated-${user.id.slice(0, 8)}` },
        ]);
        assert.deepEqual(await redis.keys(userCacheKeyPattern(user.id)), []);
        assert.equal(await redis.get(userCacheKey(neighbour.id, "profile")), "neighbour profile", "another user's cache stays");
        await redis.del(userCacheKey(neighbour.id, "profile"));

        const sla = (await admin.query("SELECT * FROM erasure_sla(now() - interval '1 hour', now() + interval '1 minute')")).rows[0];
        assert.ok(sla.completed >= 1 && sla.within_sla === sla.completed);
    });

    it("records a failing store as an error code, retries it after a backoff, and completes when it succeeds", async function () {
        const user = await seedUser(admin, "throttled");
        const requestId = await requestDeletion(user.id);
        cognito.on(ListUsersCommand).rejects(Object.assign(new Error(`Rate exceeded for ${user.email}`), { name: "TooManyRequestsException" }));

        const lines: string[] = [];
        const originalLog = console.log;
        console.log = (line: string) => lines.push(line);
        let run;
        try {
            run = await makeHandler({ pool: () => workerPool, erasers: async () => erasers(), cloudwatch: () => new CloudWatchClient({ region: "ap-northeast-1" }), stack: "test" })();
        } finally {
            console.log = originalLog;
        }
        assert.equal(run.failed, 1);
        const failed = await steps(requestId);
        assert.deepEqual(failed.cognito, { status: "failed", attempts: 1, last_error_code: "TooManyRequestsException" });
        assert.equal(failed.cache.status, "done");
        assert.equal((await request(requestId)).status, "pending");
        // No PII anywhere: not in the step records, not in the log line.
        const recorded = JSON.stringify((await admin.query("SELECT * FROM erasure_steps WHERE deletion_request_id = $1", [requestId])).rows);
        for (const text of [recorded, ...lines]) assert.ok(!text.includes(user.email) && !text.includes("Rate exceeded"), text);
        assert.equal(lines.length, 1);
        assert.equal(JSON.parse(lines[0]).failed, 1);

        // Backoff: an immediate second pass does not hammer Cognito.
        cognito.reset();
        cognitoHasUser(user.id);
        await runErasurePass(workerPool, erasers());
        assert.equal(cognito.commandCalls(ListUsersCommand).length, 0, "not due before its backoff");
        await makeDue(requestId);
        await runErasurePass(workerPool, erasers());
        assert.equal((await steps(requestId)).cognito.attempts, 2);
        assert.equal((await request(requestId)).status, "completed");
    });

    it("counts a Cognito user that is already gone as erased", async function () {
        const user = await seedUser(admin, "gone");
        const requestId = await requestDeletion(user.id);
        cognito.on(ListUsersCommand).resolves({ Users: [] });
        await runErasurePass(workerPool, erasers());
        assert.equal((await request(requestId)).status, "completed");

        const raced = await seedUser(admin, "raced");
        const racedRequest = await requestDeletion(raced.id);
        cognito.on(ListUsersCommand).resolves({ Users: [{ Username: "raced-user" }] });
        cognito.on(AdminDeleteUserCommand).rejects(Object.assign(new Error("User does not exist."), { name: "UserNotFoundException" }));
        await runErasurePass(workerPool, erasers());
        assert.equal((await request(racedRequest)).status, "completed");
    });

    it("reports a step that keeps failing as stuck, and publishes what the alarms read", async function () {
        const user = await seedUser(admin, "stuck");
        const requestId = await requestDeletion(user.id);
        cognito.on(ListUsersCommand).rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
        let last;
        for (let i = 0; i < 5; i++) {
            last = await runErasurePass(workerPool, erasers());
            await makeDue(requestId);
        }
        assert.equal((await steps(requestId)).cognito.attempts, 5);
        assert.ok(last!.status.stuckSteps >= 1);
        // Past its deadline it is overdue too.
        await admin.query("UPDATE deletion_requests SET requested_at = now() - interval '2 hours' WHERE id = $1", [requestId]);
        const status = await erasureStatus(workerPool);
        assert.ok(status.overdueRequests >= 1 && status.oldestOverdueMinutes! >= 59);

        await publishErasureMetrics(new CloudWatchClient({ region: "ap-northeast-1" }), { ...last!, status }, "prod");
        const sent = cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input;
        assert.equal(sent.Namespace, "APPI/Compliance");
        const byName = Object.fromEntries(sent.MetricData!.map((m) => [m.MetricName, m]));
        assert.equal(byName.ErasureStepsStuck.Value, status.stuckSteps);
        assert.equal(byName.DeletionRequestsOverdue.Value, status.overdueRequests);
        assert.deepEqual(byName.ErasureStepsStuck.Dimensions, [{ Name: "Stack", Value: "prod" }]);
        // Leave no overdue request behind for the other tests' status counts.
        cognito.reset();
        cognito.on(ListUsersCommand).resolves({ Users: [] });
        await makeDue(requestId);
        await runErasurePass(workerPool, erasers());
        assert.equal((await request(requestId)).status, "completed");
    });

    it("gives a store with no eraser in this worker a recorded failure, never a silent success", async function () {
        await admin.query("UPDATE system_config SET value = '[\"database\", \"cognito\", \"cache\", \"analytics_export\"]' WHERE key = 'erasure.stores'");
        try {
            const user = await seedUser(admin, "extra-store");
            const requestId = await requestDeletion(user.id);
            cognito.on(ListUsersCommand).resolves({ Users: [] });
            const run = await runErasurePass(workerPool, erasers());
            assert.equal(run.unknownStore, 1);
            const s = await steps(requestId);
            assert.deepEqual(s.analytics_export, { status: "failed", attempts: 1, last_error_code: "NoEraserForStore" });
            assert.equal((await request(requestId)).status, "pending");
            await admin.query("SELECT erasure_record_step($1, 'analytics_export', true)", [requestId]);
            assert.equal((await request(requestId)).status, "completed");
        } finally {
            await admin.query("UPDATE system_config SET value = '[\"database\", \"cognito\", \"cache\"]' WHERE key = 'erasure.stores'");
        }
    });

    describe("what a stolen credential cannot do", function () {
        it("the worker's login reads no personal data and cannot erase or complete anything by itself", async function () {
            const user = await seedUser(admin, "target");
            const requestId = await requestDeletion(user.id);
            await admin.query("SELECT complete_due_deletion_requests()");
            const worker = await workerPool.connect();
            try {
                for (const sql of [
                    "SELECT email FROM users LIMIT 1",
                    "SELECT * FROM erasure_steps",
                    "UPDATE deletion_requests SET status = 'completed', completed_at = now()",
                    "UPDATE erasure_steps SET status = 'done', done_at = now()",
                    "SELECT erasure_replay(ARRAY[gen_random_uuid()])",
                    "SELECT run_retention()",
                ]) {
                    assert.equal((await rejection(worker.query(sql))).code, INSUFFICIENT_PRIVILEGE, sql);
                }
                // Marking the database step done by hand is refused: only the database performs it.
                const e = await rejection(worker.query("SELECT erasure_record_step($1, 'database', true)", [requestId]));
                assert.match(e.message, /performed by the database itself/);
            } finally {
                worker.release();
            }
        });

        it("an application role cannot report steps, so it cannot complete a request without erasure", async function () {
            const app = await connect(await db.loginUrl("pii_write"));
            try {
                const user = await seedUser(admin, "app");
                const requestId = await requestDeletion(user.id);
                await admin.query("SELECT complete_due_deletion_requests()");
                for (const sql of ["SELECT erasure_record_step($1, 'cognito', true)", "SELECT * FROM erasure_claim_steps()"]) {
                    const params = sql.includes("$1") ? [requestId] : [];
                    assert.equal((await rejection(app.query(sql, params))).code, INSUFFICIENT_PRIVILEGE, sql);
                }
                assert.equal((await request(requestId)).status, "pending");
                await admin.query("SELECT erasure_record_step($1, s, true) FROM unnest(ARRAY['cognito', 'cache']) s", [requestId]);
            } finally {
                await app.end();
            }
        });

        it("an error code cannot smuggle text into the step record", async function () {
            const user = await seedUser(admin, "smuggle");
            const requestId = await requestDeletion(user.id);
            await admin.query("SELECT complete_due_deletion_requests()");
            await workerPool.query("SELECT erasure_record_step($1, 'cognito', false, $2)", [requestId, `Boom ${user.email}`]);
            assert.equal((await steps(requestId)).cognito.last_error_code, "Boom");
            await admin.query("SELECT erasure_record_step($1, s, true) FROM unnest(ARRAY['cognito', 'cache']) s", [requestId]);
        });
    });

    describe("cache key scheme", function () {
        it("refuses ids and item names that would widen the erasure pattern", function () {
            assert.throws(() => userCacheKeyPattern("*"), /must be a UUID/);
            assert.throws(() => userCacheKey(randomUUID(), "a*"), /item name/);
            assert.match(userCacheKeyPattern(randomUUID().toUpperCase()), /^user:\{[0-9a-f-]{36}\}:\*$/);
        });

        it("erases more keys than one SCAN batch", async function () {
            const id = randomUUID();
            for (let i = 0; i < 1200; i += 100) {
                const multi = redis.multi();
                for (let j = i; j < i + 100; j++) multi.set(userCacheKey(id, `item-${j}`), "x");
                await multi.exec();
            }
            assert.equal(await eraseUserCache(redis, id), 1200);
            assert.deepEqual(await redis.keys(userCacheKeyPattern(id)), []);
        });
    });
});

describe("re-applying erasures after a restore from backup", function () {
    let live: TestDatabase;
    let restoredDb: TestDatabase;
    before(async function () {
        [live, restoredDb] = await Promise.all([migratedDatabase("live"), migratedDatabase("restored")]);
    });
    after(async function () {
        await Promise.all([live?.drop(), restoredDb?.drop()]);
    });

    it("erases again, in the restored copy, every user the live database erased since the backup", async function () {
        const [liveAdmin, restoredAdmin] = await Promise.all([connect(live.url), connect(restoredDb.url)]);
        try {
            // The same users in both (the backup), then the live database erases two of them.
            const ids = [randomUUID(), randomUUID(), randomUUID()];
            for (const admin of [liveAdmin, restoredAdmin]) {
                for (const [i, id] of ids.entries()) await admin.query("INSERT INTO users (id, email) VALUES ($1, $2)", [id, `restore-${i}-${id.slice(0, 6)}@example.jp`]);
            }
            const backupTakenAt = (await liveAdmin.query("SELECT now() AS t")).rows[0].t as Date;
            for (const id of ids.slice(0, 2)) {
                await liveAdmin.query("INSERT INTO deletion_requests (user_id) VALUES ($1)", [id]);
            }
            await liveAdmin.query("SELECT complete_due_deletion_requests()");

            const summary = await replayErasures(liveAdmin, restoredAdmin, backupTakenAt);
            assert.deepEqual(summary, { erasedInLive: 2, replayed: 2 });
            const left = await restoredAdmin.query("SELECT id FROM users WHERE id = ANY($1)", [ids]);
            assert.deepEqual(left.rows.map((r) => r.id), [ids[2]]);
            const log = await restoredAdmin.query("SELECT reason, count(*)::int AS n FROM erasure_log GROUP BY reason");
            assert.deepEqual(log.rows, [{ reason: "replayed_after_restore", n: 2 }]);
            // Idempotent: a second replay finds nothing left to erase.
            assert.deepEqual(await replayErasures(liveAdmin, restoredAdmin, backupTakenAt), { erasedInLive: 2, replayed: 0 });
        } finally {
            await Promise.all([liveAdmin.end(), restoredAdmin.end()]);
        }
    });

    it("names bad command-line input instead of guessing", function () {
        assert.throws(() => parseReplayArgs([]), /--from LIVE_DATABASE_URL is required/);
        assert.throws(() => parseReplayArgs(["--from", "postgres://x/y", "--since", "yesterday"]), /not an ISO-8601/);
        assert.throws(() => parseReplayArgs(["--frm", "x"]), /unknown option --frm/);
        assert.deepEqual(parseReplayArgs(["--help"]), { help: true });
    });
});
