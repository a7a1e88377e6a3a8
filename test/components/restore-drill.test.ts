// RestoreDrill under Pulumi's mocks: the monthly CodeBuild drill, its schedule, and what its role may and may not
// do, asked of the policy (test/support/iam-eval.ts) for the intended calls and for the ones an attacker would try.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as YAML from "yaml";
import { runUnderMocks } from "../../plan/mocks";
import { PlannedResource } from "../../plan/types";
import { COMPLIANCE_NAMESPACE } from "../../compliance/metric-names";
import { RESTORE_DRILL_BUILDSPEC_PATH, RESTORE_DRILL_SCHEDULE, RestoreDrill, RestoreDrillArgs } from "../../components/restore-drill";
import { BUILD_OVERRIDE_CONDITION_KEYS } from "../../components/migration-runner";
import { isAllowed } from "../support/iam-eval";

const PROXY_ARN = "arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-0123456789abcdef0";
const KEY = (n: number) => `arn:aws:kms:ap-northeast-1:123456789012:key/${n}${n}${n}${n}${n}${n}${n}${n}-4444-4444-8444-444444444444`;
const RDS = (resource: string) => `arn:aws:rds:ap-northeast-1:123456789012:${resource}`;
const SOURCE_ARN = RDS("db:appi-test-postgres");
const COPY_ARN = RDS("db:appi-test-drill-202612010100");

function baseArgs(overrides: Partial<RestoreDrillArgs> = {}): RestoreDrillArgs {
    return {
        namePrefix: "appi-test",
        stack: "prod",
        vpcId: "vpc-123",
        privateSubnetIds: ["subnet-app-a", "subnet-app-c"],
        dbProxyArn: PROXY_ARN,
        dbName: "pii_db",
        database: {
            identifier: "appi-test-postgres",
            arn: SOURCE_ARN,
            subnetGroupName: "appi-test-data",
            securityGroupId: "sg-data",
            parameterGroupName: "appi-pg16",
            storageKeyArn: KEY(1),
        },
        piiKeyArn: KEY(2),
        piiSecondLayerKeyArn: KEY(3),
        bundleBucketName: "appi-test-db-tasks-123456789012",
        encryptionKeyArn: KEY(1),
        logsKeyArn: KEY(4),
        tags: { Project: "appi-infra" },
        ...overrides,
    };
}

const ofType = (resources: PlannedResource[], type: string) => resources.filter((r) => r.type === type);
const inputs = (r: PlannedResource) => r.inputs as Record<string, any>;

describe("RestoreDrill component (monthly CodeBuild restore drill)", function () {
    let resources: PlannedResource[];
    let project: Record<string, any>;
    let policy: string;
    const policyOfRole = (roleName: string) => {
        const role = ofType(resources, "aws:iam/role:Role").find((r) => inputs(r).name === roleName)!;
        return inputs(ofType(resources, "aws:iam/rolePolicy:RolePolicy").find((p) => inputs(p).role === role.id)!).policy as string;
    };
    const tagged = { "aws:RequestTag/appi:drill": "restore" };

    before(async function () {
        ({ resources } = await runUnderMocks(() => new RestoreDrill("appi", baseArgs()), { stack: "prod" }));
        project = inputs(ofType(resources, "aws:codebuild/project:Project")[0]);
        policy = policyOfRole("appi-test-restore-drill-codebuild");
    });

    it("runs the bundle's drill in the app subnets, with the 8-hour RTO as its timeout and the drill's settings; no key material", function () {
        assert.equal(project.buildTimeout, 480);
        assert.equal(project.concurrentBuildLimit, 1);
        assert.deepEqual(project.vpcConfig.subnets, ["subnet-app-a", "subnet-app-c"]);
        assert.equal(project.source.location, "appi-test-db-tasks-123456789012/db-tasks/bundle.zip");
        const env = Object.fromEntries(project.environment.environmentVariables.map((v: any) => [v.name, v.value]));
        assert.deepEqual(env, {
            DRILL_SOURCE_INSTANCE: "appi-test-postgres",
            DRILL_NAME_PREFIX: "appi-test",
            DRILL_SUBNET_GROUP: "appi-test-data",
            DRILL_SECURITY_GROUP_IDS: "sg-data",
            DB_NAME: "pii_db",
            DB_PORT: "5432",
            STACK: "prod",
            PII_KMS_KEY_ARN: KEY(2),
            PII_L3_KMS_KEY_ARN: KEY(3),
        });
        assert.equal(project.environment.privilegedMode, false);
    });

    it("the buildspec runs one fixed command and drops overrides that would point the drill elsewhere", function () {
        const spec = YAML.parse(fs.readFileSync(RESTORE_DRILL_BUILDSPEC_PATH, "utf8"));
        assert.equal(project.source.buildspec, fs.readFileSync(RESTORE_DRILL_BUILDSPEC_PATH, "utf8"));
        const build = spec.phases.build.commands.join("\n");
        assert.match(build, /unset DATABASE_URL PII_LOCAL_KEY PII_LOCAL_KEY_VERSION\n\s*node compliance\/restore-drill-cli\.js --format json/);
        assert.doesNotMatch(build, /--local|\$DRILL_|\$\{DRILL_/);
    });

    it("is reachable from the build only: the data tier admits the drill's group on 5432, the build's egress is 5432 to it and 443", function () {
        const ingress = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map(inputs);
        const group = ofType(resources, "aws:ec2/securityGroup:SecurityGroup")[0];
        assert.deepEqual(ingress.map((r) => [r.securityGroupId, r.referencedSecurityGroupId, r.fromPort, r.toPort]), [["sg-data", group.id, 5432, 5432]]);
        assert.deepEqual(inputs(group).egress.map((e: any) => [e.fromPort, e.securityGroups ?? e.cidrBlocks]), [[5432, ["sg-data"]], [443, ["0.0.0.0/0"]]]);
    });

    it("may restore only this source, only into drill-named copies carrying the drill tag, in the isolated subnet group", function () {
        const restore = "rds:RestoreDBInstanceToPointInTime";
        for (const resource of [SOURCE_ARN, COPY_ARN, RDS("subgrp:appi-test-data"), RDS("pg:appi-pg16")]) assert.ok(isAllowed(policy, restore, resource, tagged), resource);
        assert.ok(!isAllowed(policy, restore, COPY_ARN), "without the drill tag");
        assert.ok(!isAllowed(policy, restore, COPY_ARN, { "aws:RequestTag/appi:drill": "keep" }));
        assert.ok(!isAllowed(policy, restore, RDS("db:appi-test-postgres-copy"), tagged), "a copy not named as a drill");
        assert.ok(!isAllowed(policy, restore, RDS("db:other-postgres"), tagged), "another source");
        assert.ok(!isAllowed(policy, restore, RDS("subgrp:default"), tagged), "the default (possibly public) subnet group");
        assert.ok(isAllowed(policy, "rds:AddTagsToResource", COPY_ARN, tagged));
        assert.ok(!isAllowed(policy, "rds:AddTagsToResource", SOURCE_ARN, tagged), "tagging the source as a drill copy (then deleting it)");
    });

    it("may delete only drill copies that carry the drill tag: never the source, never an untagged look-alike", function () {
        const del = "rds:DeleteDBInstance";
        assert.ok(isAllowed(policy, del, COPY_ARN, { "aws:ResourceTag/appi:drill": "restore" }));
        assert.ok(!isAllowed(policy, del, COPY_ARN), "a drill-named instance someone made without the tag");
        assert.ok(!isAllowed(policy, del, SOURCE_ARN, { "aws:ResourceTag/appi:drill": "restore" }), "the source, even tagged");
        assert.ok(!isAllowed(policy, "rds:ModifyDBInstance", SOURCE_ARN));
        assert.ok(!isAllowed(policy, "rds:DeleteDBCluster", RDS("cluster:appi-test-drill-x"), { "aws:ResourceTag/appi:drill": "restore" }));
    });

    it("uses the storage key only through RDS, decrypts level-2 fields only, connects only as restore_drill, publishes only to its namespace", function () {
        const viaRds = { "kms:ViaService": "rds.ap-northeast-1.amazonaws.com", "kms:GrantIsForAWSResource": "true" };
        assert.ok(isAllowed(policy, "kms:CreateGrant", KEY(1), viaRds));
        assert.ok(!isAllowed(policy, "kms:CreateGrant", KEY(1), { "kms:GrantIsForAWSResource": "false", "kms:ViaService": "rds.ap-northeast-1.amazonaws.com" }));
        assert.ok(!isAllowed(policy, "kms:CreateGrant", KEY(1)), "a grant made directly");
        const level2 = { "kms:EncryptionContext:pii_level": "2", "kms:EncryptionContext:layer": "single", "kms:EncryptionContext:table": "users" };
        assert.ok(isAllowed(policy, "kms:Decrypt", KEY(2), level2));
        assert.ok(!isAllowed(policy, "kms:Decrypt", KEY(2), { ...level2, "kms:EncryptionContext:pii_level": "3", "kms:EncryptionContext:layer": "outer" }), "level 3's outer layer");
        assert.ok(!isAllowed(policy, "kms:Decrypt", KEY(3), level2), "the level-3 key");
        assert.ok(!isAllowed(policy, "kms:Decrypt", KEY(2)), "without an encryption context");
        const connect = (user: string) => `arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:db-ABCDEF/${user}`;
        assert.ok(isAllowed(policy, "rds-db:connect", connect("restore_drill")));
        for (const user of ["migrator", "postgres", "compliance_job"]) assert.ok(!isAllowed(policy, "rds-db:connect", connect(user)), user);
        assert.ok(isAllowed(policy, "cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": COMPLIANCE_NAMESPACE }));
        assert.ok(!isAllowed(policy, "cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "AWS/RDS" }));
        const statements = JSON.parse(policy).Statement as any[];
        assert.ok(statements.every((s) => ![s.Action].flat().some((a: string) => a === "*" || a.endsWith(":*"))), "no wildcard actions");
    });

    it("starts monthly through EventBridge Scheduler, whose role may start this project only, with no override", function () {
        const schedule = inputs(ofType(resources, "aws:scheduler/schedule:Schedule")[0]);
        assert.equal(schedule.scheduleExpression, RESTORE_DRILL_SCHEDULE.expression);
        assert.match(schedule.scheduleExpression, /^cron\(0 2 1 \* \? \*\)$/);
        assert.equal(schedule.scheduleExpressionTimezone, "Asia/Tokyo");
        assert.deepEqual(JSON.parse(schedule.target.input), { ProjectName: "appi-test-restore-drill" });
        const projectArn = ofType(resources, "aws:codebuild/project:Project")[0].state.arn as string;
        const scheduler = policyOfRole("appi-test-restore-drill-scheduler");
        assert.ok(isAllowed(scheduler, "codebuild:StartBuild", projectArn));
        assert.ok(!isAllowed(scheduler, "codebuild:StartBuild", projectArn.replace("restore-drill", "db-migrate")));
        for (const key of BUILD_OVERRIDE_CONDITION_KEYS) assert.ok(!isAllowed(scheduler, "codebuild:StartBuild", projectArn, { [key]: "x" }), key);
    });

    it("refuses bad arguments with a message naming the argument", function () {
        assert.throws(() => new RestoreDrill("x", baseArgs({ namePrefix: "Bad_Prefix" })), /namePrefix/);
        assert.throws(() => new RestoreDrill("x", baseArgs({ stack: "" })), /stack: required/);
        assert.throws(() => new RestoreDrill("x", baseArgs({ logRetentionDays: 30 })), /logRetentionDays/);
    });
});
