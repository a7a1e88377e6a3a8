import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");
const BOOTSTRAP = path.join(ROOT, "scripts", "bootstrap.sh");
const KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/77777777-7777-4777-8777-777777777777";

// Stand-ins that record every call. The AWS one answers like the CLI with --output text; what
// already exists is chosen by KEY_EXISTS / BUCKET_EXISTS / STACK_EXISTS, the SSO session by SIGNED_IN.
const FAKE_AWS = `#!/usr/bin/env bash
echo "aws $*" >> "$CALLS"
case "$1 $2" in
  "sts get-caller-identity") [ -n "\${SIGNED_IN:-}" ] || { echo "Error when retrieving token from sso: Token has expired" >&2; exit 255; }; echo 123456789012 ;;
  "kms describe-key") [ -n "\${KEY_EXISTS:-}" ] || { echo "NotFoundException" >&2; exit 254; }; echo "${KEY_ARN}" ;;
  "kms create-key") echo "${KEY_ARN}" ;;
  "s3api head-bucket") [ -n "\${BUCKET_EXISTS:-}" ] || exit 254 ;;
  "s3api put-bucket-encryption") [ -z "\${FAIL_ENCRYPTION:-}" ] || { echo "AccessDenied" >&2; exit 254; } ;;
esac
exit 0
`;
const FAKE_PULUMI = `#!/usr/bin/env bash
echo "pulumi $*" >> "$CALLS"
case "$1 $2" in
  "stack select") [ -n "\${STACK_EXISTS:-}" ] || { echo "error: no stack named '$3' found" >&2; exit 6; } ;;
esac
exit 0
`;

describe("scripts/bootstrap.sh (stand-in aws and pulumi CLIs)", function () {
    let dir: string;

    before(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-"));
        fs.writeFileSync(path.join(dir, "aws"), FAKE_AWS, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "pulumi"), FAKE_PULUMI, { mode: 0o755 });
    });
    after(function () {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    function bootstrap(args: string[], env: Record<string, string>, name: string) {
        const calls = path.join(dir, `${name}.calls`);
        const clean = { ...process.env };
        delete clean.AWS_REGION;
        delete clean.STATE_BUCKET;
        delete clean.KEY_ALIAS;
        const r = spawnSync("bash", [BOOTSTRAP, ...args], { encoding: "utf8", cwd: dir, env: { ...clean, PATH: `${dir}:${process.env.PATH}`, CALLS: calls, ...env } });
        return { ...r, calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [] };
    }

    it("passes the syntax check", function () {
        assert.equal(spawnSync("bash", ["-n", BOOTSTRAP]).status, 0);
    });

    it("on a fresh account: a rotating key, a hardened versioned SSE-KMS bucket in Tokyo, then the stack with the KMS secrets provider", function () {
        const r = bootstrap(["dev"], { SIGNED_IN: "1" }, "fresh");
        assert.equal(r.status, 0, r.stderr);
        const bucket = "appi-pulumi-state-123456789012";
        const expected = [
            "aws sts get-caller-identity --query Account --output text",
            "aws kms describe-key --key-id alias/appi-pulumi-secrets --region ap-northeast-1 --query KeyMetadata.Arn --output text",
            "aws kms create-key --region ap-northeast-1 --description Pulumi state and stack secrets (appi-infra) --key-usage ENCRYPT_DECRYPT --key-spec SYMMETRIC_DEFAULT --no-multi-region --query KeyMetadata.Arn --output text",
            `aws kms create-alias --region ap-northeast-1 --alias-name alias/appi-pulumi-secrets --target-key-id ${KEY_ARN}`,
            `aws kms enable-key-rotation --region ap-northeast-1 --key-id ${KEY_ARN}`,
            `aws s3api head-bucket --bucket ${bucket} --region ap-northeast-1`,
            `aws s3api create-bucket --bucket ${bucket} --region ap-northeast-1 --create-bucket-configuration LocationConstraint=ap-northeast-1`,
            `aws s3api put-public-access-block --bucket ${bucket} --region ap-northeast-1 --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true`,
            `aws s3api put-bucket-ownership-controls --bucket ${bucket} --region ap-northeast-1 --ownership-controls Rules=[{ObjectOwnership=BucketOwnerEnforced}]`,
            `aws s3api put-bucket-versioning --bucket ${bucket} --region ap-northeast-1 --versioning-configuration Status=Enabled`,
        ];
        assert.deepEqual(r.calls.slice(0, expected.length), expected);
        const encryption = r.calls.find((c) => c.startsWith("aws s3api put-bucket-encryption"))!;
        const sse = JSON.parse(encryption.slice(encryption.indexOf("{")));
        assert.deepEqual(sse.Rules[0], { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: KEY_ARN }, BucketKeyEnabled: true });
        const policyCall = r.calls.find((c) => c.startsWith("aws s3api put-bucket-policy"))!;
        const policy = JSON.parse(policyCall.slice(policyCall.indexOf("{")));
        assert.deepEqual(policy.Statement[0].Condition, { Bool: { "aws:SecureTransport": "false" } });
        assert.equal(policy.Statement[0].Effect, "Deny");
        assert.deepEqual(r.calls.filter((c) => c.startsWith("pulumi ")), [
            `pulumi login s3://${bucket}?region=ap-northeast-1`,
            "pulumi stack select dev",
            "pulumi stack init dev --secrets-provider awskms://alias/appi-pulumi-secrets?region=ap-northeast-1",
            `pulumi config set --stack dev pulumiStateBucket ${bucket}`,
            `pulumi config set --stack dev pulumiSecretsKeyArn ${KEY_ARN}`,
        ]);
        // Every hardening call comes before the first state is written.
        assert.ok(r.calls.findIndex((c) => c.startsWith("aws s3api put-bucket-policy")) < r.calls.findIndex((c) => c.startsWith("pulumi login")));
        assert.match(r.stdout, /scripts\/pulumi-gate\.sh up dev/);
        assert.match(r.stdout, /AWS_DEV_\{PREVIEW,DEPLOY,MIGRATE,AUDIT\}_ROLE_ARN/);
    });

    it("re-run: creates nothing that exists, re-applies the hardening, keeps the stack's secrets provider", function () {
        const r = bootstrap(["prod"], { SIGNED_IN: "1", KEY_EXISTS: "1", BUCKET_EXISTS: "1", STACK_EXISTS: "1", STATE_BUCKET: "rento-prod-state" }, "rerun");
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls.filter((c) => / (create-key|create-alias|create-bucket|stack init) /.test(`${c} `)), []);
        assert.ok(r.calls.includes(`aws kms enable-key-rotation --region ap-northeast-1 --key-id ${KEY_ARN}`));
        for (const hardening of ["put-public-access-block", "put-bucket-versioning", "put-bucket-encryption", "put-bucket-policy", "put-bucket-ownership-controls"]) {
            assert.ok(r.calls.some((c) => c.startsWith(`aws s3api ${hardening} --bucket rento-prod-state `)), hardening);
        }
        assert.ok(r.calls.includes("pulumi login s3://rento-prod-state?region=ap-northeast-1"));
    });

    it("without an SSO session: says to run aws sso login (exit 3) and touches nothing", function () {
        const r = bootstrap(["dev"], {}, "signed-out");
        assert.equal(r.status, 3);
        assert.match(r.stderr, /aws sso login --profile/);
        assert.deepEqual(r.calls, ["aws sts get-caller-identity --query Account --output text"]);
    });

    it("stops at the first failed call, naming it, before any Pulumi state is written", function () {
        const r = bootstrap(["dev"], { SIGNED_IN: "1", FAIL_ENCRYPTION: "1" }, "no-encryption");
        assert.equal(r.status, 1);
        assert.match(r.stderr, /bootstrap: failed: aws s3api put-bucket-encryption/);
        assert.equal(r.calls.filter((c) => c.startsWith("pulumi ")).length, 0, "no state in a bucket without its key");
    });

    it("refuses another stack name, a region outside Tokyo, an AWS-managed alias or a bad bucket name (exit 2, no call)", function () {
        const cases: [string[], Record<string, string>][] = [
            [["staging"], {}],
            [[], {}],
            [["dev"], { AWS_REGION: "us-east-1" }],
            [["dev"], { KEY_ALIAS: "aws/s3" }],
            [["dev"], { STATE_BUCKET: "Bad_Bucket" }],
        ];
        for (const [i, [args, env]] of cases.entries()) {
            const r = bootstrap(args, { SIGNED_IN: "1", ...env }, `bad-${i}`);
            assert.equal(r.status, 2, `${args} ${JSON.stringify(env)}: ${r.stderr}`);
            assert.ok(r.calls.every((c) => c.startsWith("aws sts ")), `${JSON.stringify(env)} made calls: ${r.calls}`);
        }
        assert.equal(bootstrap(["--help"], {}, "help").status, 0);
    });
});

describe("shell scripts", function () {
    it("pass shellcheck, .ci/run included (GitHub's runners have it; .ci/run installs it here)", function () {
        const which = spawnSync("bash", ["-c", "command -v shellcheck"], { encoding: "utf8" });
        assert.equal(which.status, 0, "shellcheck is not installed: apt-get install shellcheck (.ci/run does)");
        const scripts = fs.readdirSync(path.join(ROOT, "scripts")).filter((f) => f.endsWith(".sh")).map((f) => path.join(ROOT, "scripts", f));
        assert.ok(scripts.length >= 4, scripts.join(", "));
        scripts.push(path.join(ROOT, ".ci", "run"));
        const r = spawnSync("shellcheck", scripts, { encoding: "utf8" });
        assert.equal(r.status, 0, r.stdout + r.stderr);
    });
});
