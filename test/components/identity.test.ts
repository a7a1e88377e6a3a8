import { strict as assert } from "node:assert";
import { isAllowed } from "../support/iam-eval";
import * as pulumi from "@pulumi/pulumi";
import { runUnderMocks } from "../../plan/mocks";
import { PlannedResource } from "../../plan/types";
import { parseDbProxyArn } from "../../components/iam";
import { Identity, IdentityArgs } from "../../components/identity";

const PROXY_ARN = "arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-0123456789abcdef0";
const PII_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/11111111-1111-4111-8111-111111111111";
const PII_L3_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/22222222-2222-4222-8222-222222222222";
const DATA_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/44444444-4444-4444-8444-444444444444";
const LOGS_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/33333333-3333-4333-8333-333333333333";
const SUBNETS = ["subnet-app-a", "subnet-app-c"];

function code(): pulumi.asset.Archive {
    return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async (event) => event;") });
}

function baseArgs(overrides: Partial<IdentityArgs> = {}): IdentityArgs {
    return {
        namePrefix: "appi-test",
        deletionProtection: true,
        vpcId: "vpc-123",
        privateSubnetIds: SUBNETS,
        dbProxySecurityGroupId: "sg-proxy",
        vpcEndpointSecurityGroupId: "sg-endpoints",
        dbProxyArn: PROXY_ARN,
        dbProxyEndpoint: "appi-test.proxy-abc.ap-northeast-1.rds.amazonaws.com",
        dbName: "pii_db",
        dbUser: "cognito_trigger",
        activityDbUser: "activity_recorder",
        piiKeyArn: PII_KEY,
        piiSecondLayerKeyArn: PII_L3_KEY,
        logsKeyArn: LOGS_KEY,
        lambdaEnvironmentKeyArn: DATA_KEY,
        preSignUpCode: code(),
        postConfirmationCode: code(),
        preTokenGenerationCode: code(),
        tags: { Project: "appi-infra" },
        ...overrides,
    };
}

const ofType = (resources: PlannedResource[], type: string) => resources.filter((r) => r.type === type);
const inputs = (r: PlannedResource) => r.inputs as Record<string, any>;
const functionNamed = (resources: PlannedResource[], name: string) => ofType(resources, "aws:lambda/function:Function").find((f) => inputs(f).name === name)!;
const policyOf = (resources: PlannedResource[], kind: string) => JSON.parse(inputs(ofType(resources, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === `identity-${kind}-policy`)!).policy);

describe("Identity component", function () {
    let resources: PlannedResource[];

    before(async function () {
        ({ resources } = await runUnderMocks(() => new Identity("identity", baseArgs()), { stack: "prod" }));
    });

    it("wires PreSignUp, PostConfirmation and PreTokenGeneration triggers to the three functions", function () {
        const [pool] = ofType(resources, "aws:cognito/userPool:UserPool");
        const functions = ofType(resources, "aws:lambda/function:Function");
        assert.equal(functions.length, 3);
        const arnOf = (suffix: string) => functions.find((f) => inputs(f).name === `appi-test-${suffix}`)!.state.arn;
        assert.deepEqual(inputs(pool).lambdaConfig, {
            preSignUp: arnOf("pre-signup"),
            postConfirmation: arnOf("post-confirmation"),
            // Sign-in and every refresh of the access token: activity is recorded at each (migrations/0025).
            preTokenGeneration: arnOf("pre-token-generation"),
        });
    });

    it("lets only this pool invoke each trigger", function () {
        const [pool] = ofType(resources, "aws:cognito/userPool:UserPool");
        const permissions = ofType(resources, "aws:lambda/permission:Permission");
        assert.deepEqual(permissions.map((p) => inputs(p).function).sort(), ["appi-test-post-confirmation", "appi-test-pre-signup", "appi-test-pre-token-generation"]);
        for (const p of permissions) {
            assert.equal(inputs(p).principal, "cognito-idp.amazonaws.com");
            assert.equal(inputs(p).sourceArn, pool.state.arn);
            assert.equal(inputs(p).action, "lambda:InvokeFunction");
        }
    });

    it("hardens the pool: password policy, MFA, threat protection, deletion protection", function () {
        const pool = inputs(ofType(resources, "aws:cognito/userPool:UserPool")[0]);
        assert.deepEqual(pool.passwordPolicy, { minimumLength: 12, requireLowercase: true, requireUppercase: true, requireNumbers: true, requireSymbols: true, temporaryPasswordValidityDays: 3 });
        assert.ok(["ON", "OPTIONAL"].includes(pool.mfaConfiguration));
        assert.equal(pool.softwareTokenMfaConfiguration.enabled, true);
        assert.equal(pool.userPoolAddOns.advancedSecurityMode, "ENFORCED");
        assert.equal(pool.deletionProtection, "ACTIVE");
        assert.deepEqual(pool.usernameAttributes, ["email"]);
        const client = inputs(ofType(resources, "aws:cognito/userPoolClient:UserPoolClient")[0]);
        assert.equal(client.generateSecret, false);
        assert.ok(!client.explicitAuthFlows.includes("ALLOW_USER_PASSWORD_AUTH"));
    });

    it("runs the functions on Node.js 22 in the private subnets, within Cognito's 5 s", function () {
        const [sg] = ofType(resources, "aws:ec2/securityGroup:SecurityGroup");
        for (const fn of ofType(resources, "aws:lambda/function:Function")) {
            const f = inputs(fn);
            assert.equal(f.runtime, "nodejs22.x");
            assert.equal(f.handler, "index.handler");
            assert.ok(f.timeout <= 5, `timeout ${f.timeout}`);
            assert.deepEqual(f.vpcConfig.subnetIds, SUBNETS);
            assert.deepEqual(f.vpcConfig.securityGroupIds, [sg.id]);
            assert.equal(f.environment.variables.NODE_OPTIONS, "--enable-source-maps");
            assert.equal(f.kmsKeyArn, DATA_KEY);
        }
    });

    it("gives the database and the PII keys to PostConfirmation only: PreSignUp writes nothing", function () {
        const env = (name: string) => inputs(functionNamed(resources, name)).environment.variables;
        assert.deepEqual(env("appi-test-post-confirmation"), {
            DB_PROXY_ENDPOINT: "appi-test.proxy-abc.ap-northeast-1.rds.amazonaws.com",
            DB_PORT: "5432",
            DB_NAME: "pii_db",
            DB_USER: "cognito_trigger",
            PII_KMS_KEY_ARN: PII_KEY,
            PII_L3_KMS_KEY_ARN: PII_L3_KEY,
            NODE_OPTIONS: "--enable-source-maps",
        });
        assert.deepEqual(env("appi-test-pre-signup"), { NODE_OPTIONS: "--enable-source-maps" });
        // The activity trigger: its own database user, and no key at all.
        assert.deepEqual(env("appi-test-pre-token-generation"), {
            DB_PROXY_ENDPOINT: "appi-test.proxy-abc.ap-northeast-1.rds.amazonaws.com",
            DB_PORT: "5432",
            DB_NAME: "pii_db",
            DB_USER: "activity_recorder",
            NODE_OPTIONS: "--enable-source-maps",
        });
    });

    it("lets the triggers' group out only to the proxy port and to the endpoints on 443", function () {
        const sg = inputs(ofType(resources, "aws:ec2/securityGroup:SecurityGroup")[0]);
        assert.equal(sg.ingress, undefined);
        const egress = sg.egress.map((e: any) => `${e.fromPort}-${e.toPort}:${(e.securityGroups ?? e.cidrBlocks).join(",")}`).sort();
        assert.deepEqual(egress, ["443-443:sg-endpoints", "5432-5432:sg-proxy"]);
        const [rule] = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        assert.equal(inputs(rule).securityGroupId, "sg-proxy");
        assert.equal(inputs(rule).fromPort, 5432);
    });

    it("creates each function's log group with the logs key and a year's retention", function () {
        const groups = ofType(resources, "aws:cloudwatch/logGroup:LogGroup").map(inputs);
        assert.deepEqual(groups.map((g) => g.name).sort(), ["/aws/lambda/appi-test-post-confirmation", "/aws/lambda/appi-test-pre-signup", "/aws/lambda/appi-test-pre-token-generation"]);
        for (const g of groups) {
            assert.equal(g.kmsKeyId, LOGS_KEY);
            assert.ok(g.retentionInDays >= 365);
        }
        for (const fn of ofType(resources, "aws:lambda/function:Function")) {
            assert.equal(inputs(fn).loggingConfig.logGroup, `/aws/lambda/${inputs(fn).name}`);
        }
    });

    it("grants each role only its own log group, and PostConfirmation only the PII keys and its database user", function () {
        const roles = ofType(resources, "aws:iam/role:Role");
        // The PII keys' policies admit roles named `<prefix>-pii-*`: PreSignUp's role is not one.
        assert.deepEqual(roles.map((r) => inputs(r).name).sort(), ["appi-test-pii-post-confirmation", "appi-test-pre-signup", "appi-test-pre-token-generation"]);
        for (const role of roles) {
            const trust = JSON.parse(inputs(role).assumeRolePolicy);
            assert.deepEqual(trust.Statement.map((s: any) => s.Principal), [{ Service: "lambda.amazonaws.com" }]);
        }
        assert.equal(ofType(resources, "aws:iam/rolePolicy:RolePolicy").length, 3);
        for (const kind of ["pre-signup", "post-confirmation", "pre-token-generation"]) {
            const doc = policyOf(resources, kind);
            const bySid = Object.fromEntries(doc.Statement.map((s: any) => [s.Sid, s]));
            assert.equal(bySid.WriteOwnLogGroup.Resource, `arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/appi-test-${kind}:*`);
            const kmsOrRds = doc.Statement.filter((s: any) => [s.Action].flat().some((a: string) => /^(kms|rds-db):/.test(a)));
            for (const s of kmsOrRds) assert.ok(![s.Resource].flat().includes("*"), `${s.Sid} must not be on *`);
            if (kind === "pre-signup") {
                assert.deepEqual(kmsOrRds, []);
                continue;
            }
            if (kind === "pre-token-generation") {
                // Its own database user and nothing else: not the sign-up user, no key, not even a data key.
                assert.deepEqual(kmsOrRds.map((s: any) => [s.Sid, s.Action, s.Resource]), [
                    ["ConnectThroughProxyAsOwnUser", "rds-db:connect", "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0123456789abcdef0/activity_recorder"],
                ]);
                assert.equal(isAllowed(doc, "rds-db:connect", "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0123456789abcdef0/cognito_trigger"), false);
                for (const key of [PII_KEY, PII_L3_KEY, DATA_KEY]) assert.equal(isAllowed(doc, "kms:GenerateDataKey", key, { "kms:EncryptionContext:table": "users" }), false);
                continue;
            }
            assert.deepEqual(bySid.PiiKeysOnly.Resource, [PII_KEY, PII_L3_KEY]);
            // Sign-up writes PII and never reads it: data keys for the users table, no decrypt on either key.
            const context = { "kms:EncryptionContext:table": "users" };
            for (const key of [PII_KEY, PII_L3_KEY]) {
                assert.equal(isAllowed(doc, "kms:GenerateDataKey", key, context), true);
                assert.equal(isAllowed(doc, "kms:GenerateDataKey", key, { "kms:EncryptionContext:table": "audit_log" }), false, "only for the users table");
                for (const action of ["kms:Decrypt", "kms:ReEncryptFrom", "kms:Encrypt"]) assert.equal(isAllowed(doc, action, key, context), false, `${action} on ${key}`);
            }
            // The attacker's case: another statement granting Decrypt (say, added by hand) is overridden by the Deny.
            const widened = { Statement: [...doc.Statement, { Effect: "Allow", Action: "kms:*", Resource: "*" }] };
            assert.equal(isAllowed(widened, "kms:Decrypt", PII_KEY, context), false);
            assert.equal(isAllowed(doc, "kms:GenerateDataKey", DATA_KEY, context), false, "no other key");
            assert.equal(bySid.ConnectThroughProxyAsOwnUser.Resource, "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0123456789abcdef0/cognito_trigger");
        }
    });

    it("gives PreSignUp data access only when asked", async function () {
        const { resources: withData } = await runUnderMocks(() => new Identity("identity", baseArgs({ preSignUpDataAccess: true })), { stack: "presignup-data" });
        assert.equal(inputs(functionNamed(withData, "appi-test-pre-signup")).environment.variables.DB_USER, "cognito_trigger");
        assert.ok(policyOf(withData, "pre-signup").Statement.some((s: any) => s.Sid === "PiiKeysOnly"));
        assert.ok(ofType(withData, "aws:iam/role:Role").some((r) => inputs(r).name === "appi-test-pii-pre-signup"));
    });

    it("after a key rotation, the triggers still decrypt nothing, old keys included", async function () {
        const OLD = "arn:aws:kms:ap-northeast-1:123456789012:key/66666666-6666-4666-8666-666666666666";
        const { resources: rotated } = await runUnderMocks(() => new Identity("identity", baseArgs({ piiPreviousKeyArns: [OLD] })), { stack: "rotated" });
        const variables = inputs(functionNamed(rotated, "appi-test-post-confirmation")).environment.variables;
        assert.equal(variables.PII_KMS_PREVIOUS_KEY_ARNS, OLD);
        assert.ok(!("PII_L3_KMS_PREVIOUS_KEY_ARNS" in variables));
        const doc = policyOf(rotated, "post-confirmation");
        assert.equal(isAllowed(doc, "kms:Decrypt", OLD, { "kms:EncryptionContext:table": "users" }), false);
        assert.equal(isAllowed(doc, "kms:GenerateDataKey", OLD, { "kms:EncryptionContext:table": "users" }), false, "new writes use the new key");
    });

    it("leaves deletion protection off when not asked (dev), and mails through SES when given a sender", async function () {
        const ses = "arn:aws:ses:ap-northeast-1:123456789012:identity/example.jp";
        const { resources: dev } = await runUnderMocks(() => new Identity("identity", baseArgs({ deletionProtection: false, emailSender: { sesIdentityArn: ses, fromAddress: "no-reply@example.jp" } })), { stack: "dev" });
        const pool = inputs(ofType(dev, "aws:cognito/userPool:UserPool")[0]);
        assert.equal(pool.deletionProtection, "INACTIVE");
        assert.deepEqual(pool.emailConfiguration, { emailSendingAccount: "DEVELOPER", sourceArn: ses, fromEmailAddress: "no-reply@example.jp" });
        assert.equal(inputs(ofType(resources, "aws:cognito/userPool:UserPool")[0]).emailConfiguration.emailSendingAccount, "COGNITO_DEFAULT");
    });

    it("rejects bad input with a message naming the argument", function () {
        assert.throws(() => parseDbProxyArn("arn:aws:rds:ap-northeast-1:123456789012:db:mydb"), /dbProxyArn: .* is not an RDS Proxy ARN/);
        assert.throws(() => new Identity("bad", baseArgs({ logRetentionDays: 30 })), /logRetentionDays: 30 is below the audit-trail minimum of 365/);
        assert.throws(() => new Identity("bad2", baseArgs({ vpcEndpointSecurityGroupId: undefined })), /vpcEndpointSecurityGroupId or vpcCidrBlock/);
        assert.deepEqual(parseDbProxyArn(PROXY_ARN), { partition: "aws", region: "ap-northeast-1", accountId: "123456789012", resourceId: "prx-0123456789abcdef0" });
    });
});

describe("Identity, MigrationRunner and GithubOidc against the APPI policy pack", function () {
    it("raise no violation, mandatory or advisory", async function () {
        // Loaded lazily so the component tests above do not depend on the rule modules.
        const { rules } = await import("../../policies/rules");
        const { checkPlannedStack } = await import("../../policies/runners/offline");
        const { MigrationRunner } = await import("../../components/migration-runner");
        const { GithubOidc } = await import("../../components/github-oidc");
        const { resources } = await runUnderMocks(() => {
            new Identity("identity", baseArgs());
            const migrations = new MigrationRunner("migrations", {
                namePrefix: "appi-test", repository: "marczenn/rento", vpcId: "vpc-123", privateSubnetIds: SUBNETS, dbProxySecurityGroupId: "sg-proxy",
                dbProxyArn: PROXY_ARN, dbProxyEndpoint: "appi-test.proxy-abc.ap-northeast-1.rds.amazonaws.com", dbName: "pii_db", migrationDbUser: "migrator",
                encryptionKeyArn: DATA_KEY, logsKeyArn: LOGS_KEY,
            });
            new GithubOidc("github", { namePrefix: "appi-test", repository: "marczenn/rento", deploy: { environment: "prod" }, migrationProjectArn: migrations.projectArn, migrationLogGroupArn: migrations.logGroupArn });
        }, { stack: "prod" });
        // The keys come from outside these components (the Keys component in the program): declared as external.
        const { resolveConfig } = await import("../../policies/core/config");
        const config = resolveConfig({ externalKmsKeys: [PII_KEY, PII_L3_KEY, DATA_KEY, LOGS_KEY] });
        const report = checkPlannedStack({ project: "appi-infra", stack: "prod", config: { "aws:region": "ap-northeast-1" }, resources, outputs: {} }, { rules, config });
        const checked = new Set(report.findings.filter((f) => f.outcome.kind === "compliant").map((f) => f.ruleId));
        // The rules that read these components actually ran (the trust rule on all three roles).
        assert.ok(checked.has("github-oidc-trust-pinned"), [...checked].join(", "));
        assert.ok(checked.has("log-group-retention"));
        // resource-types-reviewed is the pack's own coverage advisory (types no rule reads, e.g. role
        // policies), about the pack rather than these components.
        const violations = report.findings.filter((f) => f.outcome.kind === "non-compliant" && f.ruleId !== "resource-types-reviewed").map((f) => `${f.ruleId} ${f.urn.split("::").pop()}: ${JSON.stringify(f.outcome)}`);
        assert.deepEqual(violations, []);
    });
});
