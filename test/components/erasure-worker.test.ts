import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { runUnderMocks } from "../../plan/mocks";
import { PlannedResource } from "../../plan/types";
import { ErasureWorker, ErasureWorkerArgs } from "../../components/erasure-worker";

const PROXY_ARN = "arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-0123456789abcdef0";
const POOL_ARN = "arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/ap-northeast-1_Pool1";
const DATA_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/44444444-4444-4444-8444-444444444444";
const LOGS_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/33333333-3333-4333-8333-333333333333";

function args(overrides: Partial<ErasureWorkerArgs> = {}): ErasureWorkerArgs {
    return {
        namePrefix: "appi-test",
        stack: "prod",
        vpcId: "vpc-123",
        privateSubnetIds: ["subnet-app-a", "subnet-app-c"],
        dbProxySecurityGroupId: "sg-proxy",
        dbProxyArn: PROXY_ARN,
        dbProxyEndpoint: "appi-test.proxy-abc.ap-northeast-1.rds.amazonaws.com",
        dbName: "pii_db",
        dbUser: "erasure_worker",
        userPoolId: "ap-northeast-1_Pool1",
        userPoolArn: POOL_ARN,
        redisHost: "master.appi-test.cache.amazonaws.com",
        redisSecurityGroupId: "sg-redis",
        redisAuthToken: pulumi.secret("token-value-that-must-not-leak"),
        environmentKeyArn: DATA_KEY,
        logsKeyArn: LOGS_KEY,
        alarmTopicArn: "arn:aws:sns:ap-northeast-1:123456789012:appi-test-alarms",
        code: new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({});") }),
        tags: { Project: "appi-infra" },
        ...overrides,
    };
}

const ofType = (resources: PlannedResource[], type: string) => resources.filter((r) => r.type === type);
const inputs = (r: PlannedResource) => r.inputs as Record<string, any>;

describe("ErasureWorker component", function () {
    let resources: PlannedResource[];
    before(async function () {
        ({ resources } = await runUnderMocks(() => new ErasureWorker("erasure", args()), { stack: "prod" }));
    });

    it("grants deleting users of its one pool, reading its one secret, and publishing APPI metrics: nothing more", function () {
        const policy = JSON.parse(inputs(ofType(resources, "aws:iam/rolePolicy:RolePolicy")[0]).policy);
        const bySid = Object.fromEntries(policy.Statement.map((s: any) => [s.Sid, s]));
        assert.deepEqual(bySid.DeleteUsersOfThisPool.Action, ["cognito-idp:ListUsers", "cognito-idp:AdminDeleteUser"]);
        assert.equal(bySid.DeleteUsersOfThisPool.Resource, POOL_ARN);
        assert.deepEqual(bySid.PublishErasureMetrics.Condition, { StringEquals: { "cloudwatch:namespace": "APPI/Compliance" } });
        assert.equal(bySid.ConnectThroughProxyAsOwnUser.Resource, "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0123456789abcdef0/erasure_worker");
        const actions = policy.Statement.flatMap((s: any) => [s.Action].flat());
        for (const forbidden of ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt", "cognito-idp:AdminGetUser", "cognito-idp:*", "secretsmanager:GetSecretValue"]) {
            assert.ok(!actions.includes(forbidden), forbidden);
        }
        for (const s of policy.Statement) {
            if (s.Resource === "*") assert.ok(s.Sid === "DescribeNetwork" || s.Condition, `${s.Sid}: "*" only for Describe or under a condition`);
        }
    });

    it("keeps the Redis token a secret, encrypted under the CMK in the function's environment", function () {
        const [fn] = ofType(resources, "aws:lambda/function:Function");
        assert.equal(inputs(fn).kmsKeyArn, DATA_KEY);
        assert.deepEqual(inputs(fn).vpcConfig.subnetIds, ["subnet-app-a", "subnet-app-c"]);
        assert.equal(ofType(resources, "aws:secretsmanager/secret:Secret").length, 0);
    });

    it("runs every minute, invocable only by its schedule, and alarms when stuck, overdue, failing or silent", function () {
        const [rule] = ofType(resources, "aws:cloudwatch/eventRule:EventRule");
        assert.equal(inputs(rule).scheduleExpression, "rate(1 minute)");
        const [permission] = ofType(resources, "aws:lambda/permission:Permission");
        assert.equal(inputs(permission).principal, "events.amazonaws.com");
        assert.equal(inputs(permission).sourceArn, rule.state.arn);
        const alarms = Object.fromEntries(ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => [inputs(a).metricName, inputs(a)]));
        assert.deepEqual(Object.keys(alarms).sort(), ["DeletionRequestsOverdue", "ErasureStepsStuck", "Errors"]);
        assert.equal(alarms.ErasureStepsStuck.treatMissingData, "breaching", "a worker that stops reporting pages too");
        assert.deepEqual(alarms.ErasureStepsStuck.dimensions, { Stack: "prod" });
        for (const a of Object.values(alarms) as any[]) assert.deepEqual(a.alarmActions, ["arn:aws:sns:ap-northeast-1:123456789012:appi-test-alarms"]);
    });

    it("refuses code that is not a bundled archive", async function () {
        await assert.rejects(
            runUnderMocks(() => new ErasureWorker("erasure", args({ code: "lambdas/erasure-worker" as unknown as pulumi.asset.Archive })), { stack: "prod" }),
            /expected a pulumi.asset.Archive/,
        );
    });
});
