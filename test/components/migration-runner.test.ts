import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { runUnderMocks } from "../../plan/mocks";
import { PlannedResource } from "../../plan/types";
import { MIGRATE_BUILDSPEC_PATH, MigrationRunner, MigrationRunnerArgs } from "../../components/migration-runner";

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
const PROJECT_ARN = "arn:aws:codebuild:ap-northeast-1:123456789012:project/appi-test-db-migrate";
const SCHEDULE = "aws:scheduler/schedule:Schedule";
const roleNamed = (resources: PlannedResource[], name: string) => ofType(resources, "aws:iam/role:Role").find((r) => inputs(r).name === name)!;
/** The inline policy attached to a role, found through the role's id. */
const policyOf = (resources: PlannedResource[], role: PlannedResource) =>
    JSON.parse(inputs(ofType(resources, "aws:iam/rolePolicy:RolePolicy").find((p) => inputs(p).role === role.id)!).policy);

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
        assert.deepEqual(Object.keys(vars).sort(), ["DB_NAME", "DB_PORT", "DB_PROXY_ENDPOINT", "DB_TASK", "DB_USER"]);
        assert.equal(vars.DB_USER.value, "migrator");
        // Without an override the project migrates, as the migrate workflow expects.
        assert.equal(vars.DB_TASK.value, "db:migrate");
        assert.ok(!Object.keys(vars).some((n) => /PASS|SECRET|TOKEN/i.test(n)));
        const spec = YAML.parse(project.source.buildspec);
        const commands = Object.values(spec.phases).flatMap((phase: any) => phase.commands).join("\n");
        assert.match(commands, /npm ci/);
        assert.match(commands, /npm run db:migrate/);
        assert.match(commands, /aws rds generate-db-auth-token --hostname "\$DB_PROXY_ENDPOINT"/);
        assert.match(commands, /sslmode=verify-full/);
        assert.equal(project.source.location, "https://github.com/marczenn/rento.git");
        // The project carries the file the buildspec tests below run.
        assert.equal(project.source.buildspec, fs.readFileSync(MIGRATE_BUILDSPEC_PATH, "utf8"));
    });

    it("gives the build role only its project's trust, log group, key and database user", function () {
        const role = inputs(roleNamed(resources, "appi-test-db-migrate-codebuild"));
        const trust = JSON.parse(role.assumeRolePolicy);
        assert.deepEqual(trust.Statement[0].Principal, { Service: "codebuild.amazonaws.com" });
        assert.equal(trust.Statement[0].Condition.StringEquals["aws:SourceArn"], "arn:aws:codebuild:ap-northeast-1:123456789012:project/appi-test-db-migrate");
        const doc = policyOf(resources, roleNamed(resources, "appi-test-db-migrate-codebuild"));
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

    describe("the retention schedule", function () {
        let schedule: Record<string, any>;

        before(function () {
            const schedules = ofType(resources, SCHEDULE);
            assert.equal(schedules.length, 1);
            schedule = inputs(schedules[0]);
        });

        it("starts a build every 15 minutes, on time", function () {
            assert.equal(schedule.scheduleExpression, "rate(15 minutes)");
            assert.deepEqual(schedule.flexibleTimeWindow, { mode: "OFF" });
            assert.equal(schedule.state, "ENABLED");
            assert.equal(schedule.name, "appi-test-db-retention");
            // Retries of a failed start give way to the next run instead of piling up behind it.
            assert.ok(schedule.target.retryPolicy.maximumEventAgeInSeconds <= 15 * 60);
        });

        it("targets exactly this project, with DB_TASK=db:retention and nothing else overridden", function () {
            assert.equal(schedule.target.arn, "arn:aws:scheduler:::aws-sdk:codebuild:startBuild");
            const input = JSON.parse(schedule.target.input);
            assert.deepEqual(input, {
                ProjectName: "appi-test-db-migrate",
                EnvironmentVariablesOverride: [{ Name: "DB_TASK", Value: "db:retention", Type: "PLAINTEXT" }],
            });
            assert.equal(input.ProjectName, project.name);
        });

        it("runs with a role only Scheduler of this account can assume, which can start only this project", function () {
            const role = roleNamed(resources, "appi-test-db-retention-scheduler");
            assert.equal(schedule.target.roleArn, "arn:aws:iam::123456789012:role/appi-test-db-retention-scheduler");
            const trust = JSON.parse(inputs(role).assumeRolePolicy);
            assert.equal(trust.Statement.length, 1);
            assert.deepEqual(trust.Statement[0].Principal, { Service: "scheduler.amazonaws.com" });
            assert.equal(trust.Statement[0].Action, "sts:AssumeRole");
            assert.deepEqual(trust.Statement[0].Condition.StringEquals, {
                "aws:SourceAccount": "123456789012",
                "aws:SourceArn": "arn:aws:scheduler:ap-northeast-1:123456789012:schedule-group/default",
            });

            const doc = policyOf(resources, role);
            const allows = doc.Statement.filter((st: any) => st.Effect === "Allow");
            assert.deepEqual(allows.map((st: any) => [st.Action, st.Resource]), [["codebuild:StartBuild", PROJECT_ARN]]);
            const deny = doc.Statement.find((st: any) => st.Effect === "Deny");
            assert.deepEqual([deny.Action, deny.Resource, deny.Condition], ["codebuild:StartBuild", PROJECT_ARN, { Null: { "codebuild:source.buildspec": "false" } }]);
        });

        it("lets a retention build run beside a migration instead of failing the migrate workflow", function () {
            assert.equal(project.concurrentBuildLimit, 2);
        });

        it("is created in the project's region (the same provider)", async function () {
            const { resources: withProvider } = await runUnderMocks(() => {
                const tokyo = new aws.Provider("tokyo", { region: "ap-northeast-1" });
                return new MigrationRunner("regional", baseArgs({ namePrefix: "appi-region" }), { providers: [tokyo] });
            }, { stack: "dev" });
            const [proj] = ofType(withProvider, "aws:codebuild/project:Project");
            const [sched] = ofType(withProvider, SCHEDULE);
            assert.ok(proj.provider && /::tokyo::/.test(proj.provider), String(proj.provider));
            assert.equal(sched.provider, proj.provider);
        });

        it("can check out a pinned source version, and can be left out", async function () {
            const pinned = await runUnderMocks(() => new MigrationRunner("pinned", baseArgs({ namePrefix: "appi-pinned", retentionSourceVersion: "refs/heads/release" })), { stack: "dev" });
            assert.equal(JSON.parse(inputs(ofType(pinned.resources, SCHEDULE)[0]).target.input).SourceVersion, "refs/heads/release");

            const { value, resources: without } = await runUnderMocks(() => new MigrationRunner("off", baseArgs({ namePrefix: "appi-off", scheduleRetention: false })), { stack: "dev" });
            assert.equal(ofType(without, SCHEDULE).length, 0);
            assert.equal(ofType(without, "aws:iam/role:Role").length, 1);
            assert.equal(value.retentionScheduleArn, undefined);
            assert.equal(inputs(ofType(without, "aws:codebuild/project:Project")[0]).concurrentBuildLimit, 1);
        });

        it("exposes the schedule's name and ARN", async function () {
            const { value } = await runUnderMocks(() => new MigrationRunner("outputs", baseArgs({ namePrefix: "appi-out" })), { stack: "dev" });
            const [scheduleName, scheduleArn] = await new Promise<[string, string]>((done) => pulumi.all([value.retentionScheduleName!, value.retentionScheduleArn!]).apply(done));
            assert.equal(scheduleName, "appi-out-db-retention");
            assert.equal(scheduleArn, "arn:aws:scheduler:ap-northeast-1:123456789012:schedule/default/appi-out-db-retention");
        });
    });

    describe("the buildspec (its commands run by bash against stand-in npm, aws and node)", function () {
        const spec = YAML.parse(fs.readFileSync(MIGRATE_BUILDSPEC_PATH, "utf8"));
        let dir: string;

        before(function () {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-buildspec-"));
            // npm records what it was asked to run, and the database URL a task gets.
            fs.writeFileSync(path.join(dir, "npm"), `#!/usr/bin/env bash
echo "npm $* url=\${DATABASE_URL:-none}" >> "$CALLS"
`, { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "aws"), `#!/usr/bin/env bash
echo "aws $*" >> "$CALLS"
echo 'tok/en+with=special&chars'
`, { mode: 0o755 });
            // node -e writes the CA bundle to /tmp in CodeBuild: record it here instead; node -p runs for real.
            fs.writeFileSync(path.join(dir, "node"), `#!/usr/bin/env bash
if [ "$1" = "-e" ]; then echo "node -e" >> "$CALLS"; exit 0; fi
exec "${process.execPath}" "$@"
`, { mode: 0o755 });
        });
        after(function () {
            fs.rmSync(dir, { recursive: true, force: true });
        });

        /** CodeBuild's order: every phase's commands in one shell; a failing command stops the build. */
        function runBuild(name: string, env: Record<string, string>, phases = ["install", "pre_build", "build"]) {
            const script = phases
                .flatMap((phase) => spec.phases[phase].commands as string[])
                .map((command) => `${command}\nrc=$?; if [ "$rc" -ne 0 ]; then exit "$rc"; fi\n`)
                .join("");
            const calls = path.join(dir, `${name}.calls`);
            const { DB_TASK: _inherited, ...base } = process.env;
            const result = spawnSync("bash", ["-c", script], {
                encoding: "utf8",
                env: {
                    ...base,
                    PATH: `${dir}:${process.env.PATH}`,
                    CALLS: calls,
                    DB_PROXY_ENDPOINT: "appi-test.proxy-abc.ap-northeast-1.rds.amazonaws.com",
                    DB_PORT: "5432",
                    DB_NAME: "pii_db",
                    DB_USER: "migrator",
                    AWS_REGION: "ap-northeast-1",
                    ...env,
                },
            });
            const recorded = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [];
            return { ...result, calls: recorded, npmRuns: recorded.filter((c) => c.startsWith("npm run ")).map((c) => c.split(" url=")[0]) };
        }

        it("migrates by default (the migrate workflow sets no DB_TASK)", function () {
            const r = runBuild("default", {});
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.calls.map((c) => c.split(" url=")[0]), [
                "npm ci --no-audit --no-fund",
                "node -e",
                "aws rds generate-db-auth-token --hostname appi-test.proxy-abc.ap-northeast-1.rds.amazonaws.com --port 5432 --username migrator --region ap-northeast-1",
                "npm run db:migrate",
            ]);
            // The IAM token reaches the task URL-encoded, over verify-full TLS.
            const url = r.calls[3].split(" url=")[1];
            assert.equal(url, "postgres://migrator:tok%2Fen%2Bwith%3Dspecial%26chars@appi-test.proxy-abc.ap-northeast-1.rds.amazonaws.com:5432/pii_db?sslmode=verify-full&sslrootcert=/tmp/rds-ca.pem");
            assert.doesNotMatch(r.stdout + r.stderr, /tok\/en/);
        });

        it("runs the retention job with DB_TASK=db:retention, and migrates with DB_TASK=db:migrate", function () {
            const retention = runBuild("retention", { DB_TASK: "db:retention" });
            assert.equal(retention.status, 0, retention.stderr);
            assert.deepEqual(retention.npmRuns, ["npm run db:retention"]);
            const migrate = runBuild("migrate", { DB_TASK: "db:migrate" });
            assert.equal(migrate.status, 0, migrate.stderr);
            assert.deepEqual(migrate.npmRuns, ["npm run db:migrate"]);
        });

        for (const task of ["db:test", "db:status", "test", "db:migrate; touch pwned", "db:retention && true", "$(touch pwned)", "db:*", " db:migrate", "db:migrate\n", "DB:MIGRATE"]) {
            it(`refuses DB_TASK=${JSON.stringify(task)} before installing or minting a token`, function () {
                const name = `refused-${Buffer.from(task).toString("hex")}`;
                const r = runBuild(name, { DB_TASK: task });
                assert.equal(r.status, 1);
                assert.deepEqual(r.calls, [], "nothing ran: no npm, no aws");
                assert.match(r.stderr, /DB_TASK=.* is not a database task; use db:migrate or db:retention/);
                assert.ok(!fs.existsSync(path.join(process.cwd(), "pwned")) && !fs.existsSync(path.join(dir, "pwned")));
            });
        }

        it("refuses an unknown task in the build phase too, even if the install check were skipped", function () {
            const r = runBuild("build-only", { DB_TASK: "db:drop" }, ["build"]);
            assert.equal(r.status, 1);
            assert.deepEqual(r.npmRuns, []);
            assert.match(r.stderr, /DB_TASK=db:drop is not a database task/);
        });

        it("stops before any task when a connection fact is missing", function () {
            const r = runBuild("no-proxy", { DB_TASK: "db:retention", DB_PROXY_ENDPOINT: "" });
            assert.equal(r.status, 1);
            assert.match(r.stderr, /DB_PROXY_ENDPOINT is not set/);
            assert.deepEqual(r.npmRuns, []);
        });
    });

    it("rejects bad input with a message naming the argument", function () {
        assert.throws(() => new MigrationRunner("bad", baseArgs({ repository: "marczenn/*" })), /repository: .* must be one GitHub repository/);
        assert.throws(() => new MigrationRunner("bad2", baseArgs({ logRetentionDays: 0 })), /logRetentionDays: 0 is below/);
    });
});
