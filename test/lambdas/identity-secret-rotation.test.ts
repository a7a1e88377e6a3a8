// The rotation Lambda of APP_IDENTITY_SECRET: Secrets Manager through aws-sdk-client-mock (a small in-memory
// secret with versions and staging labels, as the service keeps them), the database for real, logged in as a
// member of identity_rotator (what the Lambda's IAM token logs in as through the proxy).
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import {
    DescribeSecretCommand,
    GetSecretValueCommand,
    PutSecretValueCommand,
    SecretsManagerClient,
    UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import pg from "pg";
import { handler, RotationEvent } from "../../lambdas/identity-secret-rotation";
import { getPool } from "../../lib/db";
import { signIdentityToken } from "../../lib/identity-token";
import { TEST_IDENTITY_SECRET } from "../support/identity";
import { migratedDatabase, TestDatabase } from "../support/postgres";

const SECRET_ARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:appi-dev/api/app-identity-secret-AbCdEf";

/** Secrets Manager's state for one secret: versions, their values and their staging labels. */
class FakeSecret {
    rotationEnabled = true;
    values = new Map<string, string>();
    stages = new Map<string, string[]>();
    puts = 0;
    constructor(current: string) {
        this.values.set("v-initial", current);
        this.stages.set("v-initial", ["AWSCURRENT"]);
    }
    versionWith(stage: string): string | undefined {
        return [...this.stages].find(([, s]) => s.includes(stage))?.[0];
    }
    label(stage: string, to: string | undefined): void {
        for (const [v, s] of this.stages) this.stages.set(v, s.filter((x) => x !== stage));
        if (to) this.stages.set(to, [...(this.stages.get(to) ?? []), stage]);
    }
}

function notFound(): Error {
    return Object.assign(new Error("Secrets Manager can't find the specified secret value"), { name: "ResourceNotFoundException", $metadata: { httpStatusCode: 400 } });
}

describe("lambdas/identity-secret-rotation (Secrets Manager mocked, PostgreSQL real)", function () {
    this.timeout(60_000);
    const sm = mockClient(SecretsManagerClient);
    let db: TestDatabase;
    let admin: pg.Client;
    let reader: pg.Client;
    let env: NodeJS.ProcessEnv;
    let secret: FakeSecret;
    let userId: string;
    const logs: string[] = [];
    const realLog = console.log;

    before(async function () {
        db = await migratedDatabase("rotation_lambda");
        admin = new pg.Client({ connectionString: db.url });
        await admin.connect();
        reader = new pg.Client({ connectionString: await db.loginUrl("pii_read") });
        await reader.connect();
        env = { DATABASE_URL: await db.loginUrl("identity_rotator") };
        userId = (await admin.query("INSERT INTO users (email) VALUES ('rotation@example.jp') RETURNING id")).rows[0].id;
    });

    after(async function () {
        sm.restore();
        try {
            // Only this file's pool: other files' pools are theirs to end.
            const pool = env && getPool(env);
            if (pool && !pool.ending && !pool.ended) await pool.end();
        } finally {
            await Promise.all([admin, reader].map((c) => c?.end()));
            await db?.drop();
        }
    });

    beforeEach(async function () {
        console.log = (...args: unknown[]) => void logs.push(args.join(" "));
        logs.length = 0;
        await admin.query("DELETE FROM app_identity_token_key");
        await admin.query("SELECT app_set_identity_secret($1)", [TEST_IDENTITY_SECRET]);
        secret = new FakeSecret(TEST_IDENTITY_SECRET.toString("base64"));
        sm.reset();
        sm.on(DescribeSecretCommand).callsFake((input) => {
            assert.equal(input.SecretId, SECRET_ARN);
            return { ARN: SECRET_ARN, RotationEnabled: secret.rotationEnabled, VersionIdsToStages: Object.fromEntries([...secret.stages].filter(([, s]) => s.length)) };
        });
        sm.on(GetSecretValueCommand).callsFake((input) => {
            const version = input.VersionId ?? secret.versionWith(input.VersionStage ?? "AWSCURRENT");
            if (!version || !secret.values.has(version)) throw notFound();
            if (input.VersionStage && !(secret.stages.get(version) ?? []).includes(input.VersionStage)) throw notFound();
            return { ARN: SECRET_ARN, VersionId: version, SecretString: secret.values.get(version), VersionStages: secret.stages.get(version) };
        });
        sm.on(PutSecretValueCommand).callsFake((input) => {
            // Secrets Manager: the same ClientRequestToken with the same value is a no-op, with another value an error.
            const existing = secret.values.get(input.ClientRequestToken);
            if (existing !== undefined && existing !== input.SecretString) throw Object.assign(new Error("version exists"), { name: "ResourceExistsException" });
            secret.puts++;
            secret.values.set(input.ClientRequestToken, input.SecretString);
            for (const stage of input.VersionStages ?? []) secret.label(stage, input.ClientRequestToken);
            return { ARN: SECRET_ARN, VersionId: input.ClientRequestToken };
        });
        sm.on(UpdateSecretVersionStageCommand).callsFake((input) => {
            assert.equal(secret.versionWith(input.VersionStage), input.RemoveFromVersionId, "RemoveFromVersionId is the version that holds the label");
            secret.label(input.VersionStage, input.MoveToVersionId);
            return { ARN: SECRET_ARN };
        });
    });

    afterEach(function () {
        console.log = realLog;
    });

    /** What RotateSecret does before calling createSecret: a new version id staged AWSPENDING, with no value yet. */
    function startRotation(): string {
        const token = randomUUID();
        secret.label("AWSPENDING", token);
        return token;
    }
    const run = (step: string, token: string) => handler({ SecretId: SECRET_ARN, ClientRequestToken: token, Step: step } as RotationEvent, env);

    async function verifies(key: Buffer): Promise<boolean> {
        await reader.query("BEGIN");
        try {
            await reader.query("SELECT app_begin_identity($1)", [signIdentityToken(key, userId)]);
            return (await reader.query("SELECT count(*)::int AS n FROM users")).rows[0].n === 1;
        } catch {
            return false;
        } finally {
            await reader.query("ROLLBACK");
        }
    }

    it("rotates end to end: AWSCURRENT moves to the new value, the database accepts both during the grace window", async function () {
        const token = startRotation();
        await run("createSecret", token);
        const pending = Buffer.from(secret.values.get(token)!, "base64");
        assert.equal(pending.length, 48);
        assert.deepEqual(secret.stages.get(token), ["AWSPENDING"]);
        await run("setSecret", token);
        await run("testSecret", token);
        assert.equal(await verifies(pending), true, "pending key accepted after setSecret");
        assert.equal(await verifies(TEST_IDENTITY_SECRET), true);
        await run("finishSecret", token);
        assert.equal(secret.versionWith("AWSCURRENT"), token);
        const keys = await admin.query("SELECT version, is_current, round(extract(epoch FROM retire_at - now()) / 60) AS minutes FROM app_identity_token_key ORDER BY id");
        assert.deepEqual(keys.rows.map((r) => [r.version === token, r.is_current, r.minutes === null ? null : Number(r.minutes)]), [[false, false, 120], [true, true, null]]);
        assert.equal(await verifies(TEST_IDENTITY_SECRET), true, "old tokens during the window");
        assert.equal(await verifies(pending), true);
        await admin.query("UPDATE app_identity_token_key SET retire_at = clock_timestamp() - interval '1 second' WHERE NOT is_current");
        assert.equal(await verifies(TEST_IDENTITY_SECRET), false, "old tokens after the window");
        assert.equal(await verifies(pending), true);
        // Logs carry steps and versions, never a value.
        const all = logs.join("\n");
        assert.match(all, /"step":"finishSecret"/);
        assert.doesNotMatch(all, new RegExp(secret.values.get(token)!.slice(0, 20).replace(/[+/]/g, "\\$&")));
    });

    it("a rerun of each step is harmless: one value, one key, one window", async function () {
        const since = (await admin.query("SELECT coalesce(max(id), 0) AS id FROM app_identity_key_log")).rows[0].id;
        const token = startRotation();
        for (const step of ["createSecret", "setSecret", "testSecret", "finishSecret"]) {
            await run(step, token);
            await run(step, token);
        }
        assert.equal(secret.puts, 1, "createSecret staged one value");
        const before = (await admin.query("SELECT version, is_current, retire_at FROM app_identity_token_key ORDER BY id")).rows;
        // Secrets Manager may call any step again once the version is AWSCURRENT.
        for (const step of ["createSecret", "setSecret", "testSecret", "finishSecret"]) await run(step, token);
        assert.deepEqual((await admin.query("SELECT version, is_current, retire_at FROM app_identity_token_key ORDER BY id")).rows, before);
        assert.equal(before.length, 2);
        const log = await admin.query("SELECT action, count(*)::int AS n FROM app_identity_key_log WHERE id > $1 GROUP BY action ORDER BY action", [since]);
        assert.deepEqual(log.rows, [{ action: "add", n: 1 }, { action: "make_current", n: 1 }, { action: "retire", n: 1 }]);
    });

    it("finishSecret retried after AWSCURRENT moved but the database step failed still retires the old key", async function () {
        const token = startRotation();
        for (const step of ["createSecret", "setSecret", "testSecret"]) await run(step, token);
        // The label moved, then the Lambda died before app_identity_key_finish.
        secret.label("AWSCURRENT", token);
        assert.equal((await admin.query("SELECT count(*)::int AS n FROM app_identity_token_key WHERE retire_at IS NOT NULL")).rows[0].n, 0);
        await run("finishSecret", token);
        const { rows } = await admin.query("SELECT version = $1 AS mine, is_current, retire_at IS NOT NULL AS retiring FROM app_identity_token_key ORDER BY id", [token]);
        assert.deepEqual(rows, [{ mine: false, is_current: false, retiring: true }, { mine: true, is_current: true, retiring: false }]);
    });

    it("a failure between setSecret and finishSecret leaves old tokens working; the next rotation completes", async function () {
        const failed = startRotation();
        await run("createSecret", failed);
        await run("setSecret", failed);
        sm.on(UpdateSecretVersionStageCommand).rejects(Object.assign(new Error("throttled"), { name: "ThrottlingException", $metadata: { httpStatusCode: 400 } }));
        const err = await run("finishSecret", failed).then(() => undefined, (e: Error) => e);
        assert.match(err?.message ?? "", /^identity-secret-rotation finishSecret: UpdateSecretVersionStage failed: ThrottlingException \(HTTP 400\)$/);
        assert.equal(secret.versionWith("AWSCURRENT"), "v-initial");
        assert.equal(await verifies(TEST_IDENTITY_SECRET), true, "old tokens still verify");
        const state = await admin.query("SELECT count(*)::int AS accepted, count(*) FILTER (WHERE retire_at IS NOT NULL)::int AS retiring, (SELECT version FROM app_identity_token_key WHERE is_current) <> $1 AS old_current FROM app_identity_token_key", [failed]);
        assert.deepEqual(state.rows[0], { accepted: 2, retiring: 0, old_current: true });
        // Secrets Manager starts over with a new token; the stale pending key is retired with the old one.
        sm.on(UpdateSecretVersionStageCommand).callsFake((input) => {
            secret.label(input.VersionStage, input.MoveToVersionId);
            return {};
        });
        const next = startRotation();
        for (const step of ["createSecret", "setSecret", "testSecret", "finishSecret"]) await run(step, next);
        const after = await admin.query("SELECT version, is_current, retire_at IS NOT NULL AS retiring FROM app_identity_token_key ORDER BY id");
        assert.deepEqual(after.rows.map((r) => [r.version === next, r.is_current, r.retiring]), [[false, false, true], [false, false, true], [true, true, false]]);
    });

    it("refuses, naming the step and never a value: rotation off, unknown or unstaged token, a bad pending value, an unknown step", async function () {
        const token = startRotation();
        await run("createSecret", token);
        const value = secret.values.get(token)!;
        const cases: Array<[string, () => Promise<void>, RegExp]> = [
            ["unknown step", () => run("dropSecret", token), /^identity-secret-rotation dropSecret: unknown step/],
            ["unknown token", () => run("setSecret", randomUUID()), /^identity-secret-rotation setSecret: version .* is not a version of the secret$/],
            ["testSecret before setSecret", () => run("testSecret", token), /^identity-secret-rotation testSecret: a token signed with version .* does not verify in the database/],
            ["not staged", async () => {
                secret.label("AWSPENDING", undefined);
                secret.stages.set(token, ["OTHER"]);
                await run("setSecret", token);
            }, /^identity-secret-rotation setSecret: version .* is not staged AWSPENDING$/],
            ["rotation off", async () => {
                secret.rotationEnabled = false;
                await run("createSecret", startRotation());
            }, /^identity-secret-rotation createSecret: rotation is not enabled on the secret$/],
        ];
        for (const [label, attempt, message] of cases) {
            const err = await attempt().then(() => undefined, (e: Error) => e);
            assert.ok(err, label);
            assert.match(err.message, message, label);
            assert.ok(!err.message.includes(value) && !(err.stack ?? "").includes(value), label);
        }
        // A pending value that is not a key.
        secret.rotationEnabled = true;
        const bad = startRotation();
        secret.values.set(bad, "short");
        secret.stages.set(bad, ["AWSPENDING"]);
        const err = await run("setSecret", bad).then(() => undefined, (e: Error) => e);
        assert.match(err?.message ?? "", /^identity-secret-rotation setSecret: the pending value is not base64 of 32 to 64 bytes$/);
        assert.doesNotMatch(err?.message ?? "", /short/);
        // The database refusal of a same version with another value names the reason.
        await run("setSecret", token).catch(() => undefined);
        secret.stages.set(token, ["AWSPENDING"]);
        await run("setSecret", token);
        secret.values.set(token, randomBytes(48).toString("base64"));
        const clash = await run("setSecret", token).then(() => undefined, (e: Error) => e);
        assert.match(clash?.message ?? "", /^identity-secret-rotation setSecret: database refused \(23505\): identity key version .* already holds another key$/);
    });
});
