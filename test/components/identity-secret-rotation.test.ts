// APP_IDENTITY_SECRET's automatic rotation under Pulumi's mocks: the Lambda in the app tier reaching the proxy and
// the Secrets Manager endpoint only, a role that can rotate this one secret and nothing else, Secrets Manager
// allowed to invoke it for this secret of this account only, a 30-day rotation and an alarm on its errors.
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { Api, ApiArgs } from "../../components/api";
import { IDENTITY_KEY_GRACE_MINUTES } from "../../components/identity-secret-rotation";
import { Monitoring } from "../../components/monitoring";
import { resolve, runUnderMocks } from "../../plan/mocks";
import { PlannedResource } from "../../plan/types";
import { apiTestArgs, DATA_KEY, LOGS_KEY } from "../support/api-args";
import { isAllowed } from "../support/iam-eval";

const OTHER_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/55555555-5555-4555-8555-555555555555";
const DB_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!db-0123abcd";
const OTHER_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:someone-else-AbCdEf";
const asUser = (user: string) => `arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0123456789abcdef0/${user}`;

const args = (rotation: Partial<NonNullable<ApiArgs["rotation"]>> = {}): ApiArgs => apiTestArgs(rotation);

const ofType = (resources: PlannedResource[], type: string) => resources.filter((r) => r.type === type);

describe("IdentitySecretRotation (created by Api): least privilege and rotation rules", function () {
    let resources: PlannedResource[];
    let secretArn: string;
    let rotationFunctionName: string;

    before(async function () {
        const run = await runUnderMocks(async () => {
            const api = new Api("api", args());
            return { secretArn: await resolve(api.identitySecretArn), functionName: await resolve(api.identitySecretRotation!.functionName) };
        });
        resources = run.resources;
        secretArn = String(run.value.secretArn);
        rotationFunctionName = String(run.value.functionName);
    });

    const fn = () => ofType(resources, "aws:lambda/function:Function")[0];
    const rotationRole = () => ofType(resources, "aws:iam/role:Role").find((r) => String(r.state.name).endsWith("-identity-secret-rotation"))!;
    const policyOf = (role: PlannedResource) => {
        const statements = ofType(resources, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.state.role === role.id).flatMap((p) => JSON.parse(String(p.state.policy)).Statement);
        return { Statement: statements };
    };

    it("is a child of the Api component, one function in the app subnets with its own group", function () {
        const component = resources.find((r) => r.type === "appi:api:IdentitySecretRotation")!;
        assert.ok(component, "the component");
        assert.match(String(component.parent), /appi:api:Api::api$/);
        const f = fn();
        assert.equal(ofType(resources, "aws:lambda/function:Function").length, 1);
        assert.equal(f.state.name, rotationFunctionName);
        assert.deepEqual((f.state.vpcConfig as { subnetIds: string[] }).subnetIds, ["subnet-app-a", "subnet-app-c"]);
        assert.equal(f.state.kmsKeyArn, DATA_KEY);
        assert.equal(f.state.role, rotationRole().state.arn);
        const env = (f.state.environment as { variables: Record<string, string> }).variables;
        assert.equal(env.DB_USER, "identity_rotator");
        assert.equal(env.DB_PROXY_ENDPOINT, "proxy.example.internal");
        assert.equal(Number(env.IDENTITY_KEY_GRACE_MINUTES), IDENTITY_KEY_GRACE_MINUTES);
        assert.ok(IDENTITY_KEY_GRACE_MINUTES >= 60 + 15 + 5, "grace covers token lifetime + host re-read + skew");
    });

    it("its security group reaches the RDS Proxy and the Secrets Manager endpoint only; the proxy admits it", function () {
        const sg = ofType(resources, "aws:ec2/securityGroup:SecurityGroup").find((g) => String((g.state.tags as Record<string, string>)?.Name).endsWith("-identity-secret-rotation"))!;
        assert.deepEqual((fn().state.vpcConfig as { securityGroupIds: string[] }).securityGroupIds, [sg.id]);
        const egress = (sg.state.egress as Array<Record<string, unknown>>).map((e) => [e.fromPort, e.toPort, e.securityGroups, e.cidrBlocks ?? []]);
        assert.deepEqual(egress, [[5432, 5432, ["sg-proxy"], []], [443, 443, ["sg-endpoints"], []]], "no CIDR, no internet");
        assert.equal((sg.state.ingress as unknown[] | undefined)?.length ?? 0, 0, "nothing comes in");
        const admit = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.state.referencedSecurityGroupId === sg.id);
        assert.deepEqual(admit.map((r) => [r.state.securityGroupId, r.state.fromPort, r.state.toPort]), [["sg-proxy", 5432, 5432]]);
    });

    it("its role rotates this secret only, uses the stack CMK only through Secrets Manager for it, connects as identity_rotator only", function () {
        const policy = policyOf(rotationRole());
        for (const action of ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]) {
            assert.ok(isAllowed(policy, action, secretArn), action);
            assert.ok(!isAllowed(policy, action, OTHER_SECRET), `${action} on another secret`);
            assert.ok(!isAllowed(policy, action, DB_SECRET), `${action} on the master user's secret`);
        }
        for (const action of ["secretsmanager:DeleteSecret", "secretsmanager:RotateSecret", "secretsmanager:PutResourcePolicy", "secretsmanager:UpdateSecret", "secretsmanager:CancelRotateSecret", "secretsmanager:*"]) {
            assert.ok(!isAllowed(policy, action, secretArn), action);
        }
        const context = { "kms:ViaService": "secretsmanager.ap-northeast-1.amazonaws.com", "kms:EncryptionContext:SecretARN": secretArn };
        for (const action of ["kms:Decrypt", "kms:GenerateDataKey"]) {
            assert.ok(isAllowed(policy, action, DATA_KEY, context), action);
            assert.ok(!isAllowed(policy, action, DATA_KEY, { "kms:EncryptionContext:SecretARN": secretArn }), `${action} directly, not via Secrets Manager`);
            assert.ok(!isAllowed(policy, action, DATA_KEY, { ...context, "kms:EncryptionContext:SecretARN": DB_SECRET }), `${action} for another secret`);
            assert.ok(!isAllowed(policy, action, OTHER_KEY, context), `${action} with another key`);
        }
        assert.ok(!isAllowed(policy, "kms:Encrypt", DATA_KEY, context));
        assert.ok(!isAllowed(policy, "kms:CreateGrant", DATA_KEY, context));
        assert.ok(isAllowed(policy, "rds-db:connect", asUser("identity_rotator")));
        for (const other of ["api_app", "migrator", "postgres", "signup_trigger", "compliance_job", "*"]) assert.ok(!isAllowed(policy, "rds-db:connect", asUser(other)), `connects as ${other}`);
        assert.ok(!isAllowed(policy, "rds-db:connect", "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:db-ABCDEFGHIJKL/identity_rotator"), "around the proxy");
        assert.ok(!isAllowed(policy, "lambda:InvokeFunction", "*"));
        assert.ok(!isAllowed(policy, "iam:PassRole", "*"));
    });

    it("the API host's role gains nothing: it still only reads the secret", function () {
        const host = ofType(resources, "aws:iam/role:Role").find((r) => String(r.state.name).endsWith("-api-instance"))!;
        const policy = policyOf(host);
        assert.ok(isAllowed(policy, "secretsmanager:GetSecretValue", secretArn));
        for (const action of ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:RotateSecret"]) assert.ok(!isAllowed(policy, action, secretArn), action);
        assert.ok(!isAllowed(policy, "rds-db:connect", asUser("identity_rotator")), "the host cannot log in as the rotator");
    });

    it("Secrets Manager may invoke it for this secret of this account only; rotation every 30 days, not at deploy", function () {
        const permissions = ofType(resources, "aws:lambda/permission:Permission");
        assert.equal(permissions.length, 1);
        const p = permissions[0].state;
        assert.deepEqual([p.action, p.principal, p.function, p.sourceArn, p.sourceAccount], ["lambda:InvokeFunction", "secretsmanager.amazonaws.com", rotationFunctionName, secretArn, "123456789012"]);
        const rotations = ofType(resources, "aws:secretsmanager/secretRotation:SecretRotation");
        assert.equal(rotations.length, 1);
        const r = rotations[0].state;
        assert.equal(r.secretId, secretArn);
        assert.equal(r.rotationLambdaArn, fn().state.arn);
        assert.deepEqual(r.rotationRules, { automaticallyAfterDays: 30 });
        assert.equal(r.rotateImmediately, false, "the first rotation waits for the migrations (0021) to be applied");
    });

    it("logs to its own encrypted log group, which only it writes", function () {
        const group = ofType(resources, "aws:cloudwatch/logGroup:LogGroup").find((g) => g.state.name === `/aws/lambda/${rotationFunctionName}`)!;
        assert.equal(group.state.kmsKeyId, LOGS_KEY);
        assert.equal(group.state.retentionInDays, 365);
        const policy = policyOf(rotationRole());
        assert.ok(isAllowed(policy, "logs:PutLogEvents", `${group.state.arn}:log-stream:x`));
        assert.ok(!isAllowed(policy, "logs:PutLogEvents", "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/other:log-stream:x"));
    });

    it("the first SecretVersion ignores later values and stages: a `pulumi up` after a rotation cannot move AWSCURRENT back", async function () {
        // The mocks record no resource options; a transformation on the Api sees every child's, as the engine would get them.
        const versions: { name: string; opts: pulumi.CustomResourceOptions }[] = [];
        await runUnderMocks(() => {
            new Api("api", args(), {
                transformations: [(r) => {
                    if (r.type === "aws:secretsmanager/secretVersion:SecretVersion") versions.push({ name: r.name, opts: r.opts as pulumi.CustomResourceOptions });
                    return undefined;
                }],
            });
        });
        assert.equal(versions.length, 1, "one SecretVersion: the first value");
        assert.deepEqual([...(versions[0].opts.ignoreChanges ?? [])].sort(), ["secretString", "versionStages"]);
    });

    it("refuses a grace shorter than token lifetime + re-read + skew, and a rotation period outside 1-90 days", async function () {
        await assert.rejects(runUnderMocks(async () => new Api("api", args({ graceMinutes: 30 }))), /graceMinutes: 30 must be an integer from 80/);
        await assert.rejects(runUnderMocks(async () => new Api("api", args({ rotationDays: 0 }))), /rotationDays: 0 must be an integer from 1 to 90/);
        await assert.rejects(runUnderMocks(async () => new Api("api", args({ rotationDays: 365 }))), /rotationDays: 365/);
    });

    it("Monitoring pages on any error of the rotation function", async function () {
        const run = await runUnderMocks(async () => {
            new Monitoring("mon", {
                namePrefix: "appi-test",
                alarmEmail: "ops@example.jp",
                topicKeyArn: DATA_KEY,
                database: { dimensionName: "DBInstanceIdentifier", dimensionValue: "db-1" },
                cacheClusterIds: [],
                identitySecretRotationFunctionName: rotationFunctionName,
            });
            return undefined;
        });
        const alarms = ofType(run.resources, "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => (a.state.dimensions as Record<string, string>)?.FunctionName === rotationFunctionName);
        assert.equal(alarms.length, 1);
        const a = alarms[0].state;
        assert.deepEqual([a.namespace, a.metricName, a.statistic, a.comparisonOperator, a.threshold], ["AWS/Lambda", "Errors", "Sum", "GreaterThanThreshold", 0]);
        assert.equal((a.alarmActions as unknown[]).length, 1, "to the operator's topic");
    });
});
