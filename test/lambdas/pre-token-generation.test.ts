// PreTokenGeneration against real PostgreSQL, connecting as a member of activity_recorder (migrations/0025), with
// events shaped as Cognito sends them: every token issuance records the user's activity, and nothing else.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { PreTokenGenerationTriggerEvent } from "aws-lambda";
import pg from "pg";
import { createPreTokenGenerationHandler, MalformedEvent } from "../../lambdas/pre-token-generation";
import { checkLambdaLogs, closeLambdaTestDb, LambdaTestDb, lambdaTestDb } from "./support";

function tokenEvent(sub: string, triggerSource: string = "TokenGeneration_RefreshTokens"): PreTokenGenerationTriggerEvent {
    return {
        version: "1",
        triggerSource,
        region: "ap-northeast-1",
        userPoolId: "ap-northeast-1_example",
        userName: sub,
        callerContext: { awsSdkVersion: "aws-sdk-unknown-unknown", clientId: "client" },
        request: { userAttributes: { sub, email: "hanako@example.jp", email_verified: "true" }, groupConfiguration: { groupsToOverride: [], iamRolesToOverride: [] } },
        response: { claimsOverrideDetails: {} },
    } as PreTokenGenerationTriggerEvent;
}

describe("lambdas/pre-token-generation (PostgreSQL, activity_recorder login)", function () {
    let t: LambdaTestDb;
    let recorder: pg.Pool;
    let handler: ReturnType<typeof createPreTokenGenerationHandler>;
    const logs = checkLambdaLogs(() => ["hanako@example.jp"]);

    before(async () => {
        t = await lambdaTestDb();
        recorder = new pg.Pool({ connectionString: await t.db.loginUrl("activity_recorder"), max: 2 });
        handler = createPreTokenGenerationHandler({ pool: () => recorder });
    });
    after(async () => {
        await recorder?.end();
        await closeLambdaTestDb();
    });

    async function seed(daysIdle: number): Promise<string> {
        const id = randomUUID();
        await t.admin.query("INSERT INTO users (id, email, last_activity_at) VALUES ($1, $2, now() - make_interval(days => $3))", [id, `${id}@example.jp`, daysIdle]);
        return id;
    }
    async function idleSeconds(id: string): Promise<number> {
        return Number((await t.admin.query("SELECT extract(epoch FROM now() - last_activity_at) AS s FROM users WHERE id = $1", [id])).rows[0].s);
    }

    it("records activity on every kind of token issuance (sign-in, refresh, new password, device, hosted UI), returning the event unchanged", async () => {
        for (const source of ["TokenGeneration_Authentication", "TokenGeneration_RefreshTokens", "TokenGeneration_NewPasswordChallenge", "TokenGeneration_AuthenticateDevice", "TokenGeneration_HostedAuth"]) {
            const id = await seed(1000);
            const event = tokenEvent(id, source);
            const before = JSON.stringify(event);
            assert.equal(await handler(event, { awsRequestId: "req" }), event, source);
            assert.equal(JSON.stringify(event), before, `${source}: the tokens are not changed`);
            assert.ok((await idleSeconds(id)) < 60, `${source}: activity recorded`);
        }
        assert.ok(logs.lines.every((l) => JSON.parse(l).outcome === "ok"));
    });

    it("a user almost three years idle is kept by one sign-in: erase_expired_users takes only the one who did not sign in", async () => {
        const signedIn = await seed(3 * 366);
        const away = await seed(3 * 366);
        await handler(tokenEvent(signedIn, "TokenGeneration_Authentication"));
        await t.admin.query("SELECT erase_expired_users()");
        const left = await t.admin.query("SELECT id FROM users WHERE id = ANY($1)", [[signedIn, away]]);
        assert.deepEqual(left.rows.map((r) => r.id), [signedIn]);
    });

    it("refuses other triggers and malformed subs with a message that names the problem, not the value; writes nothing", async () => {
        const id = await seed(10);
        const cases: [PreTokenGenerationTriggerEvent, RegExp][] = [
            [tokenEvent(id, "PostConfirmation_ConfirmSignUp"), /unexpected triggerSource/],
            [tokenEvent("not-a-uuid'; DROP TABLE users; --"), /sub is not a UUID/],
            [{ ...tokenEvent(id), request: { userAttributes: {} } } as unknown as PreTokenGenerationTriggerEvent, /sub is missing/],
        ];
        for (const [event, problem] of cases) {
            const err = await handler(event).catch((e) => e);
            assert.ok(err instanceof MalformedEvent, String(err));
            assert.match(err.message, problem);
            assert.doesNotMatch(err.message, /DROP TABLE/);
        }
        assert.ok((await idleSeconds(id)) > 86_400, "nothing recorded");
        assert.ok(logs.lines.every((l) => JSON.parse(l).outcome === "error" && !l.includes(id)));
    });

    it("fails the issuance when the database refuses (Cognito then refuses the sign-in), naming the SQLSTATE only", async () => {
        // A login that is not activity_recorder: the database refuses the call.
        const stranger = new pg.Pool({ connectionString: await t.db.loginUrl("pii_read"), max: 1 });
        try {
            const id = await seed(10);
            const err = await createPreTokenGenerationHandler({ pool: () => stranger })(tokenEvent(id)).catch((e) => e);
            assert.equal(err.code, "42501");
            assert.equal(err.message, "pre-token-generation: database error 42501");
            assert.ok((await idleSeconds(id)) > 86_400);
        } finally {
            await stranger.end();
        }
    });
});
