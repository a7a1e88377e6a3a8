import { strict as assert } from "node:assert";
import * as YAML from "yaml";
import { runUnderMocks } from "../../plan/mocks";
import { PlannedResource } from "../../plan/types";
import { MigrationRunner, MigrationRunnerArgs } from "../../components/migration-runner";

const PROXY_ARN = "arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-0123456789abcdef0";
const DATA_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/44444444-4444-4444-8444-444444444444";
const LOGS_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/33333333-3333-4333-8333-333333333333";
const SUBNETS = ["subnet-app-a", "subnet-app-c"];

function baseArgs(overrides: Partial<MigrationRunnerArgs> = {}): MigrationRunnerArgs {
    return {
        namePrefix: "appi-test",
        repository: "marczenn/rento",
        vpcId: "vpc-123",
        privateSubnetIds: SUBNETS,
        dbProxySecurityGroupId: "sg-proxy",
        dbProxyArn: PROXY_ARN,
        dbProxyEndpoint: "appi-test.proxy-abc.ap-northeast-1.rds.amazonaws.com",
        dbName: "pii_db",
        migrationDbUser: "migrator",
        encryptionKeyArn: DATA_KEY,
        logsKeyArn: LOGS_KEY,
        tags: { Project: "appi-infra" },
        ...overrides,
    };
}

const ofType = (resources: PlannedResource[], type: string) => resources.filter((r) => r.type === type);
const inputs = (r: PlannedResource) => r.inputs as Record<string, any>;

describe("MigrationRunner component", function () {
    let resources: PlannedResource[];
    let project: Record<string, any>;

    before(async function () {
        ({ resources } = await runUnderMocks(() => new MigrationRunner("migrations", baseArgs()), { stack: "dev" }));
        project = inputs(ofType(resources, "aws:codebuild/project:Project")[0]);
    });

    it("builds unprivileged, inside the VPC's private subnets, encrypted with the CMK", function () {
        const [sg] = ofType(resources, "aws:ec2/securityGroup:SecurityGroup");
        assert.equal(project.environment.privilegedMode, false);
        assert.equal(project.encryptionKey, DATA_KEY);
        assert.equal(project.vpcConfig.vpcId, "vpc-123");
        assert.deepEqual(project.vpcConfig.subnets, SUBNETS);
        assert.deepEqual(project.vpcConfig.securityGroupIds, [sg.id]);
    });

    it("logs to its own KMS-encrypted group kept at least a year", function () {
        const [group] = ofType(resources, "aws:cloudwatch/logGroup:LogGroup");
        assert.equal(inputs(group).kmsKeyId, LOGS_KEY);
        assert.ok(inputs(group).retentionInDays >= 365);
        assert.equal(project.logsConfig.cloudwatchLogs.groupName, inputs(group).name);
        assert.equal(project.logsConfig.cloudwatchLogs.status, "ENABLED");
    });

    it("passes connection facts only, and a buildspec that migrates through the proxy with IAM auth", function () {
        const vars = Object.fromEntries(project.environment.environmentVariables.map((v: any) => [v.name, v]));
        assert.deepEqual(Object.keys(vars).sort(), ["DB_NAME", "DB_PORT", "DB_PROXY_ENDPOINT", "DB_USER"]);
        assert.equal(vars.DB_USER.value, "migrator");
        assert.ok(!Object.keys(vars).some((n) => /PASS|SECRET|TOKEN/i.test(n)));
        const spec = YAML.parse(project.source.buildspec);
        const commands = Object.values(spec.phases).flatMap((phase: any) => phase.commands).join("\n");
        assert.match(commands, /npm ci/);
        assert.match(commands, /npm run db:migrate/);
        assert.match(commands, /aws rds generate-db-auth-token --hostname "\$DB_PROXY_ENDPOINT"/);
        assert.match(commands, /sslmode=verify-full/);
        assert.equal(project.source.location, "https://github.com/marczenn/rento.git");
    });

    it("gives the build role only its project's trust, log group, key and database user", function () {
        const role = inputs(ofType(resources, "aws:iam/role:Role")[0]);
        const trust = JSON.parse(role.assumeRolePolicy);
        assert.deepEqual(trust.Statement[0].Principal, { Service: "codebuild.amazonaws.com" });
        assert.equal(trust.Statement[0].Condition.StringEquals["aws:SourceArn"], "arn:aws:codebuild:ap-northeast-1:123456789012:project/appi-test-db-migrate");
        const doc = JSON.parse(inputs(ofType(resources, "aws:iam/rolePolicy:RolePolicy")[0]).policy);
        const bySid = Object.fromEntries(doc.Statement.map((s: any) => [s.Sid, s]));
        assert.equal(bySid.ConnectThroughProxyAsMigrationUser.Resource, "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0123456789abcdef0/migrator");
        assert.equal(bySid.ProjectKey.Resource, DATA_KEY);
        assert.deepEqual(bySid.AttachOnlyInOwnSubnets.Condition.StringEquals["ec2:Subnet"], SUBNETS.map((s) => `arn:aws:ec2:ap-northeast-1:123456789012:subnet/${s}`));
        assert.equal(bySid.CloneThroughConnection, undefined);
    });

    it("reaches PostgreSQL only through the proxy's group", function () {
        const sg = inputs(ofType(resources, "aws:ec2/securityGroup:SecurityGroup")[0]);
        const pg = sg.egress.filter((e: any) => e.fromPort === 5432);
        assert.deepEqual(pg.map((e: any) => e.securityGroups), [["sg-proxy"]]);
        assert.ok(sg.egress.every((e: any) => e.fromPort === 5432 || e.fromPort === 443));
    });

    it("rejects bad input with a message naming the argument", function () {
        assert.throws(() => new MigrationRunner("bad", baseArgs({ repository: "marczenn/*" })), /repository: .* must be one GitHub repository/);
        assert.throws(() => new MigrationRunner("bad2", baseArgs({ logRetentionDays: 0 })), /logRetentionDays: 0 is below/);
    });
});
