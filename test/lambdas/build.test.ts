// The esbuild bundles: they build for Node.js 22, load, and the PostConfirmation bundle works against PostgreSQL.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { build } from "esbuild";
import { buildLambdas, bundleOptions, BundleInfo } from "../../lambdas/build";
import { checkLambdaLogs, closeLambdaTestDb, FULL_METADATA, lambdaTestDb, LOCAL_KEY, postConfirmationEvent, preSignUpEvent } from "./support";

// Inside the project, so the bundles resolve the modules the Lambda runtime provides (@aws-sdk/client-kms) from node_modules.
const OUT_DIR = path.resolve(__dirname, "..", "..", "build", `lambdas-test-${process.pid}-${randomBytes(3).toString("hex")}`);

describe("lambdas/build (esbuild bundles)", function () {
    let bundles: BundleInfo[];
    checkLambdaLogs();

    before(async () => {
        mkdirSync(OUT_DIR, { recursive: true });
        bundles = await buildLambdas(OUT_DIR);
    });
    after(async () => {
        rmSync(OUT_DIR, { recursive: true, force: true });
        await closeLambdaTestDb();
    });

    it("writes one CommonJS bundle per trigger, with its size", () => {
        assert.deepEqual(
            bundles.map((b) => [b.name, path.relative(OUT_DIR, b.path)]),
            [
                ["pre-signup", path.join("pre-signup", "index.js")],
                ["post-confirmation", path.join("post-confirmation", "index.js")],
                ["erasure-worker", path.join("erasure-worker", "index.js")],
                ["compliance-jobs", path.join("compliance-jobs", "index.js")],
                ["identity-secret-rotation", path.join("identity-secret-rotation", "index.js")],
                ["pre-token-generation", path.join("pre-token-generation", "index.js")],
            ],
        );
        for (const b of bundles) assert.equal(b.bytes, readFileSync(b.path).length);
        const pre = readFileSync(bundles[0].path, "utf8");
        const post = readFileSync(bundles[1].path, "utf8");
        // PreSignUp writes nothing: no database driver and no crypto in its bundle.
        assert.equal(/INSERT INTO|pg-pool|@aws-crypto|client-kms/.test(pre), false);
        // The Encryption SDK is bundled; the KMS client comes from the runtime.
        assert.match(post, /signup_create_user/);
        assert.match(post, /require\("@aws-sdk\/client-kms"\)/);
        assert.doesNotMatch(post, /require\("@aws-crypto\//);
        // The erasure worker decrypts nothing: no Encryption SDK, no KMS client.
        const worker = readFileSync(bundles[2].path, "utf8");
        assert.match(worker, /erasure_claim_steps/);
        assert.equal(/@aws-crypto|client-kms|decryptData/.test(worker), false);
        // The compliance jobs take every AWS client from the runtime and carry no crypto (they read aggregates only).
        const jobs = readFileSync(bundles[3].path, "utf8");
        assert.match(jobs, /require\("@aws-sdk\/client-cloudwatch"\)/);
        assert.doesNotMatch(jobs, /@aws-crypto|encryption-sdk/);
        assert.ok(bundles[3].bytes < 1024 * 1024, `compliance-jobs bundle ${bundles[3].bytes} B < 1 MB`);
        // The identity-secret rotation: Secrets Manager client from the runtime, the rotation functions, no Encryption SDK.
        const rotation = readFileSync(bundles[4].path, "utf8");
        assert.match(rotation, /require\("@aws-sdk\/client-secrets-manager"\)/);
        assert.match(rotation, /app_identity_key_add/);
        assert.match(rotation, /app_identity_key_finish/);
        assert.doesNotMatch(rotation, /@aws-crypto|encryption-sdk|client-kms/);
        // The token-issuance trigger records activity and nothing else: no crypto, no KMS, no SQL but its one call.
        const activity = readFileSync(bundles[5].path, "utf8");
        assert.match(activity, /SELECT app_record_activity\(\$1\)/);
        assert.doesNotMatch(activity, /@aws-crypto|encryption-sdk|client-kms|INSERT INTO|signup_create_user/);
        assert.ok(bundles[4].bytes < 1024 * 1024, `identity-secret-rotation bundle ${bundles[4].bytes} B < 1 MB`);
    });

    it("bundled the same way, lib/db signs RDS IAM auth tokens offline (the AWS connection path)", async () => {
        const probe = path.join(OUT_DIR, "probe.ts");
        writeFileSync(probe, `export { connectionConfigFromEnv } from ${JSON.stringify(path.resolve(__dirname, "..", "..", "lib", "db"))};\n`);
        await build(bundleOptions(probe, path.join(OUT_DIR, "probe.js")));
        const { connectionConfigFromEnv } = require(path.join(OUT_DIR, "probe.js"));
        const config = await connectionConfigFromEnv({
            DB_PROXY_ENDPOINT: "appi-proxy.proxy-abc123.ap-northeast-1.rds.amazonaws.com",
            DB_USER: "app_lambda",
            DB_NAME: "appi",
            AWS_REGION: "ap-northeast-1",
            AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
            AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            AWS_LAMBDA_FUNCTION_NAME: "post-confirmation",
        });
        // The signer reads credentials from process.env, as in Lambda.
        const saved = { ...process.env };
        Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" });
        delete process.env.AWS_PROFILE;
        try {
            const token: string = await config.password();
            assert.match(token, /^appi-proxy\.proxy-abc123\.ap-northeast-1\.rds\.amazonaws\.com:5432\/\?Action=connect&DBUser=app_lambda&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE/);
            assert.match(token, /X-Amz-Signature=[0-9a-f]{64}/);
        } finally {
            for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
            Object.assign(process.env, saved);
        }
        assert.equal(config.ssl.rejectUnauthorized, true);
    });

    it("the PreSignUp bundle loads and validates", async () => {
        const bundle = require(bundles[0].path);
        const ok = preSignUpEvent({ email: "a@example.jp", given_name: "A", family_name: "B" }, { validationData: { privacy_notice_version: "v1", consents: "privacy_notice,service_provision" } });
        assert.equal(await bundle.handler(ok), ok);
        await assert.rejects(bundle.handler(preSignUpEvent({ email: "a@example.jp", given_name: "A", family_name: "B" })), /accept the privacy notice/);
    });

    it("the PostConfirmation bundle loads and creates a user in PostgreSQL from its environment", async () => {
        const t = await lambdaTestDb();
        const bundle = require(bundles[1].path);
        const saved = { DATABASE_URL: process.env.DATABASE_URL, PII_LOCAL_KEY: process.env.PII_LOCAL_KEY };
        Object.assign(process.env, { DATABASE_URL: t.signupUrl, PII_LOCAL_KEY: LOCAL_KEY.toString("base64") });
        const event = postConfirmationEvent();
        try {
            assert.equal(await bundle.handler(event, { awsRequestId: "req-bundle" }), event);
            const forgot = postConfirmationEvent({ sub: event.request.userAttributes.sub }, "PostConfirmation_ConfirmForgotPassword");
            assert.equal(await bundle.handler(forgot), forgot);
        } finally {
            await bundle.closePool();
            for (const [k, v] of Object.entries(saved)) {
                if (v === undefined) delete process.env[k];
                else process.env[k] = v;
            }
        }
        const { rows } = await t.admin.query("SELECT first_name, ssn_encrypted FROM users WHERE id = $1", [event.request.userAttributes.sub]);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].first_name, "Hanako");
        assert.equal(rows[0].ssn_encrypted.includes(Buffer.from(FULL_METADATA.ssn)), false);
    });
});
