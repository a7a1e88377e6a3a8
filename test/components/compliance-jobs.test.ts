// ComplianceJobs and the compliance alarms of Monitoring, under Pulumi's mocks.
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { runUnderMocks } from "../../plan/mocks";
import { PlannedResource } from "../../plan/types";
import { COMPLIANCE_SCHEDULES, ComplianceJobs, ComplianceJobsArgs } from "../../components/compliance-jobs";
import { complianceAlarmSpecs, Monitoring } from "../../components/monitoring";
import { COMPLIANCE_METRICS, COMPLIANCE_NAMESPACE } from "../../compliance/metric-names";

const PROXY_ARN = "arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-0123456789abcdef0";
const KEY = (n: number) => `arn:aws:kms:ap-northeast-1:123456789012:key/${n}${n}${n}${n}${n}${n}${n}${n}-4444-4444-8444-444444444444`;
const DB_ARN = "arn:aws:rds:ap-northeast-1:123456789012:db:appi-test-postgres";

function baseArgs(overrides: Partial<ComplianceJobsArgs> = {}): ComplianceJobsArgs {
    return {
        namePrefix: "appi-test",
        stack: "prod",
        vpcId: "vpc-123",
        privateSubnetIds: ["subnet-app-a", "subnet-app-c"],
        dbProxySecurityGroupId: "sg-proxy",
        dbProxyArn: PROXY_ARN,
        dbProxyEndpoint: "appi-test.proxy-abc.ap-northeast-1.rds.amazonaws.com",
        dbName: "pii_db",
        database: { kind: "instance", identifier: "appi-test-postgres", arn: DB_ARN },
        keyArns: [KEY(1), KEY(2)],
        logsKeyArn: KEY(3),
        lambdaEnvironmentKeyArn: KEY(1),
        code: new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({})") }),
        tags: { Project: "appi-infra" },
        ...overrides,
    };
}

const ofType = (resources: PlannedResource[], type: string) => resources.filter((r) => r.type === type);
const inputs = (r: PlannedResource) => r.inputs as Record<string, any>;

describe("ComplianceJobs component", function () {
    let resources: PlannedResource[];
    let fn: Record<string, any>;
    const policyOfRole = (roleName: string) => {
        const role = ofType(resources, "aws:iam/role:Role").find((r) => inputs(r).name === roleName)!;
        return JSON.parse(inputs(ofType(resources, "aws:iam/rolePolicy:RolePolicy").find((p) => inputs(p).role === role.id)!).policy);
    };

    before(async function () {
        ({ resources } = await runUnderMocks(() => new ComplianceJobs("appi", baseArgs()), { stack: "prod" }));
        fn = inputs(ofType(resources, "aws:lambda/function:Function")[0]);
    });

    it("runs in the app subnets as compliance_job, with the Stack dimension, the database to check and every key; no PII key material", function () {
        assert.deepEqual(fn.vpcConfig.subnetIds, ["subnet-app-a", "subnet-app-c"]);
        const env = fn.environment.variables;
        assert.equal(env.DB_USER, "compliance_job");
        assert.equal(env.STACK, "prod");
        assert.equal(env.DB_INSTANCE_ID, "appi-test-postgres");
        assert.equal(env.KEY_IDS, `${KEY(1)},${KEY(2)}`);
        assert.equal(env.PII_KMS_KEY_ARN, undefined);
        assert.equal(fn.kmsKeyArn, KEY(1));
    });

    it("may publish only to its namespace, read key rotation (never use the keys), and connect only as compliance_job", function () {
        const statements = policyOfRole("appi-test-compliance-jobs").Statement as any[];
        const put = statements.find((s) => s.Action === "cloudwatch:PutMetricData");
        assert.deepEqual(put.Condition, { StringEquals: { "cloudwatch:namespace": COMPLIANCE_NAMESPACE } });
        const kmsActions = statements.flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith("kms:"));
        assert.deepEqual(kmsActions.sort(), ["kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:ListKeyRotations"]);
        assert.ok(!kmsActions.includes("kms:Decrypt"));
        const connect = statements.find((s) => s.Action === "rds-db:connect");
        assert.match(connect.Resource, /:dbuser:prx-0123456789abcdef0\/compliance_job$/);
        assert.ok(statements.every((s) => ![s.Action].flat().some((a: string) => a === "*" || a.endsWith(":*"))), "no wildcard actions");
    });

    it("schedules each task with its own input; the scheduler may invoke this function and nothing else", function () {
        const schedules = ofType(resources, "aws:scheduler/schedule:Schedule").map(inputs);
        assert.deepEqual(
            schedules.map((s) => [JSON.parse(s.target.input).task, s.scheduleExpression, s.scheduleExpressionTimezone]).sort(),
            Object.entries(COMPLIANCE_SCHEDULES).map(([task, s]) => [task, s.expression, s.timezone]).sort(),
        );
        const functionArn = ofType(resources, "aws:lambda/function:Function")[0].state.arn;
        assert.ok(schedules.every((s) => s.target.arn === functionArn));
        const invoke = policyOfRole("appi-test-compliance-scheduler").Statement;
        assert.deepEqual(invoke.map((s: any) => [s.Action, s.Resource]), [["lambda:InvokeFunction", functionArn]]);
    });

    it("checks an Aurora cluster by its cluster identifier", async function () {
        const { resources: aurora } = await runUnderMocks(() => new ComplianceJobs("appi", baseArgs({ database: { kind: "cluster", identifier: "appi-test-postgres", arn: DB_ARN } })), { stack: "prod" });
        const env = inputs(ofType(aurora, "aws:lambda/function:Function")[0]).environment.variables;
        assert.equal(env.DB_CLUSTER_ID, "appi-test-postgres");
        assert.equal(env.DB_INSTANCE_ID, undefined);
    });

    it("refuses bad arguments with a message naming the argument", function () {
        assert.throws(() => new ComplianceJobs("x", baseArgs({ keyArns: [] })), /keyArns: list every customer-managed key/);
        assert.throws(() => new ComplianceJobs("x", baseArgs({ stack: "" })), /stack: required/);
        assert.throws(() => new ComplianceJobs("x", baseArgs({ logRetentionDays: 30 })), /logRetentionDays/);
    });
});

describe("Monitoring: compliance alarms", function () {
    it("alarm on every condition of issue 12, per stack, and raise the alarm when the job goes silent", async function () {
        const { resources } = await runUnderMocks(
            () =>
                new Monitoring("appi", {
                    namePrefix: "appi-test",
                    alarmEmail: "ops@example.jp",
                    topicKeyArn: KEY(1),
                    database: { dimensionName: "DBInstanceIdentifier", dimensionValue: "appi-test-postgres" },
                    cacheClusterIds: [],
                    compliance: { stack: "prod" },
                }),
            { stack: "prod" },
        );
        const alarms = ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").map(inputs).filter((a) => a.namespace === COMPLIANCE_NAMESPACE);
        const byMetric = new Map(alarms.map((a) => [a.metricName, a]));
        for (const metric of [
            COMPLIANCE_METRICS.deletionOverdue,
            COMPLIANCE_METRICS.incidentsOverduePreliminary,
            COMPLIANCE_METRICS.incidentsOverdueFinal,
            COMPLIANCE_METRICS.incidentsDueWithin24h,
            COMPLIANCE_METRICS.auditGaps,
            COMPLIANCE_METRICS.consentComplianceRate,
            COMPLIANCE_METRICS.backupAgeHours,
            "BackupJobsFailed",
            COMPLIANCE_METRICS.keysFailingRotation,
            COMPLIANCE_METRICS.policyViolations,
        ]) {
            assert.ok(byMetric.has(metric), `no alarm on ${metric}`);
            assert.deepEqual(byMetric.get(metric)!.dimensions, { Stack: "prod" });
        }
        const consent = byMetric.get(COMPLIANCE_METRICS.consentComplianceRate)!;
        assert.deepEqual([consent.comparisonOperator, consent.threshold, consent.statistic], ["LessThanThreshold", 0.99, "Minimum"]);
        const backup = byMetric.get(COMPLIANCE_METRICS.backupAgeHours)!;
        assert.deepEqual([backup.comparisonOperator, backup.threshold, backup.treatMissingData], ["GreaterThanThreshold", 26, "breaching"]);
        assert.equal(byMetric.get(COMPLIANCE_METRICS.deletionOverdue)!.treatMissingData, "breaching");
        assert.equal(byMetric.get(COMPLIANCE_METRICS.policyViolations)!.treatMissingData, "ignore");
        const topic = ofType(resources, "aws:sns/topic:Topic")[0];
        assert.ok(alarms.every((a) => a.alarmActions.includes(topic.state.arn)));

        const dashboard = JSON.parse(inputs(ofType(resources, "aws:cloudwatch/dashboard:Dashboard")[0]).dashboardBody);
        const titles = dashboard.widgets.map((w: any) => w.properties.metrics[0].slice(0, 2).join("/"));
        assert.ok(titles.includes(`${COMPLIANCE_NAMESPACE}/${COMPLIANCE_METRICS.auditGaps}`));
    });

    it("refuses a consent target outside (0, 1]", function () {
        assert.throws(() => complianceAlarmSpecs({ stack: "prod", consentTargetRate: 99 }), /consentTargetRate: 99 must be in \(0, 1\]/);
    });
});
