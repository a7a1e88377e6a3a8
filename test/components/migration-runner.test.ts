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
import { DEFAULT_OWNER_ROLE } from "../../db/migrate";
import { BUILD_OVERRIDE_CONDITION_KEYS, DB_TASKS_BUNDLE_KEY, MIGRATE_BUILDSPEC_PATH, MigrationRunner, MigrationRunnerArgs } from "../../components/migration-runner";
import { isAllowed } from "../support/iam-eval";

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
const BUCKET = "appi-test-db-tasks-123456789012";
const BUNDLE_ARN = `arn:aws:s3:::${BUCKET}/${DB_TASKS_BUNDLE_KEY}`;
const one = (resources: PlannedResource[], type: string) => {
    const found = ofType(resources, type);
    assert.equal(found.length, 1, type);
    return inputs(found[0]);
};
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

    it("passes connection facts only, and a buildspec that runs the bundled task, nothing installed", function () {
        const vars = Object.fromEntries(project.environment.environmentVariables.map((v: any) => [v.name, v]));
        assert.deepEqual(Object.keys(vars).sort(), ["DB_NAME", "DB_OWNER_ROLE", "DB_PORT", "DB_PROXY_ENDPOINT", "DB_TASK", "DB_USER"]);
        // migrator inherits nothing: both tasks SET ROLE to the schema owner 0015 creates.
        assert.equal(vars.DB_OWNER_ROLE.value, DEFAULT_OWNER_ROLE);
        assert.equal(vars.DB_USER.value, "migrator");
        // Without an override the project migrates, as the migrate workflow expects.
        assert.equal(vars.DB_TASK.value, "db:migrate");
        assert.ok(!Object.keys(vars).some((n) => /PASS|SECRET|TOKEN/i.test(n)));
        const spec = YAML.parse(project.source.buildspec);
        const commands = Object.values(spec.phases).flatMap((phase: any) => phase.commands).join("\n");
        assert.doesNotMatch(commands, /npm (ci|install)/, "no dependency install in the 15-minute job");
        assert.match(commands, /node db\/cli\.js migrate/);
        assert.match(commands, /node db\/cli\.js retention/);
        // The project carries the file the buildspec tests below run.
        assert.equal(project.source.buildspec, fs.readFileSync(MIGRATE_BUILDSPEC_PATH, "utf8"));
    });

    it("fetches its source from its own bundle object in S3: no GitHub clone, no stored source credential", function () {
        assert.equal(project.source.type, "S3");
        assert.equal(project.source.location, `${BUCKET}/${DB_TASKS_BUNDLE_KEY}`);
        assert.equal(project.source.auth, undefined);
        assert.ok(!ofType(resources, "aws:codebuild/sourceCredential:SourceCredential").length);
    });

    describe("the bundle bucket", function () {
        it("is private: every public access block, owner-enforced objects, TLS-only", function () {
            const bucket = one(resources, "aws:s3/bucket:Bucket");
            assert.equal(bucket.bucket, BUCKET);
            assert.equal(bucket.forceDestroy, false);
            assert.equal(bucket.tags.SourceRepository, "marczenn/rento");
            const pab = one(resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
            for (const flag of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(pab[flag], true, flag);
            assert.equal(one(resources, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").rule.objectOwnership, "BucketOwnerEnforced");
            const policy = one(resources, "aws:s3/bucketPolicy:BucketPolicy").policy;
            const bucketArn = `arn:aws:s3:::${BUCKET}`;
            // A plain-HTTP request is refused even where another statement would allow it.
            assert.ok(!isAllowed({ Statement: [...JSON.parse(policy).Statement, { Effect: "Allow", Action: "s3:*", Resource: "*" }] }, "s3:GetObject", `${bucketArn}/${DB_TASKS_BUNDLE_KEY}`, { "aws:SecureTransport": "false" }));
        });

        it("is versioned and SSE-KMS encrypted with the CMK; uploads under another key are refused", function () {
            assert.equal(one(resources, "aws:s3/bucketVersioning:BucketVersioning").versioningConfiguration.status, "Enabled");
            const [rule] = one(resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").rules;
            assert.deepEqual(rule.applyServerSideEncryptionByDefault, { sseAlgorithm: "aws:kms", kmsMasterKeyId: DATA_KEY });
            assert.equal(rule.bucketKeyEnabled, true);
            const statements = JSON.parse(one(resources, "aws:s3/bucketPolicy:BucketPolicy").policy).Statement;
            const deny = statements.find((st: any) => st.Sid === "DenyOtherEncryption");
            assert.deepEqual(deny.Condition, { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption-aws-kms-key-id": DATA_KEY } });
            const lifecycle = one(resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration");
            assert.equal(lifecycle.rules[0].noncurrentVersionExpiration.noncurrentDays, 90);
        });

        it("is read, never written, by the build role", function () {
            const doc = policyOf(resources, roleNamed(resources, "appi-test-db-migrate-codebuild"));
            assert.ok(isAllowed(doc, "s3:GetObject", BUNDLE_ARN));
            assert.ok(isAllowed(doc, "s3:GetObjectVersion", BUNDLE_ARN));
            assert.ok(!isAllowed(doc, "s3:PutObject", BUNDLE_ARN), "a build cannot replace what the next build runs");
            assert.ok(!isAllowed(doc, "s3:GetObject", `arn:aws:s3:::${BUCKET}/other`));
        });
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
        assert.equal(bySid.ReadBundle.Resource, BUNDLE_ARN);
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
            // The schedule's own request passes; an attacker holding the role cannot point the build elsewhere.
            assert.ok(isAllowed(doc, "codebuild:StartBuild", PROJECT_ARN));
            for (const key of BUILD_OVERRIDE_CONDITION_KEYS) {
                assert.ok(!isAllowed(doc, "codebuild:StartBuild", PROJECT_ARN, { [key]: "attacker-bucket/payload.zip" }), key);
            }
            assert.ok(!isAllowed(doc, "codebuild:StartBuild", "arn:aws:codebuild:ap-northeast-1:123456789012:project/other"));
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

        it("can be left out", async function () {
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

    describe("the buildspec (its commands run by bash in a bundle folder, against stand-in node, npm and aws)", function () {
        const spec = YAML.parse(fs.readFileSync(MIGRATE_BUILDSPEC_PATH, "utf8"));
        let dir: string;
        let bin: string;
        let bundle: string;

        before(function () {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-buildspec-"));
            bin = path.join(dir, "bin");
            bundle = path.join(dir, "bundle");
            fs.mkdirSync(bin);
            fs.mkdirSync(path.join(bundle, "db"), { recursive: true });
            fs.mkdirSync(path.join(bundle, "migrations"));
            fs.writeFileSync(path.join(bundle, "db", "cli.js"), "// bundle stand-in\n");
            fs.writeFileSync(path.join(bundle, "migrations", "0001_x.sql"), "SELECT 1;\n");
            // node records the task it runs and whether a DATABASE_URL reached it; npm and aws must never be called.
            fs.writeFileSync(path.join(bin, "node"), `#!/usr/bin/env bash
echo "node $* url=\${DATABASE_URL:-none}" >> "$CALLS"
`, { mode: 0o755 });
            for (const tool of ["npm", "aws"]) fs.writeFileSync(path.join(bin, tool), `#!/usr/bin/env bash\necho "${tool} $*" >> "$CALLS"\n`, { mode: 0o755 });
        });
        after(function () {
            fs.rmSync(dir, { recursive: true, force: true });
        });

        /** CodeBuild's order: every phase's commands in one shell; a failing command stops the build. */
        function runBuild(name: string, env: Record<string, string>, phases = ["install", "pre_build", "build"], cwd = bundle) {
            const script = phases
                .flatMap((phase) => spec.phases[phase].commands as string[])
                .map((command) => `${command}\nrc=$?; if [ "$rc" -ne 0 ]; then exit "$rc"; fi\n`)
                .join("");
            const calls = path.join(dir, `${name}.calls`);
            const { DB_TASK: _inherited, DATABASE_URL: _url, ...base } = process.env;
            const result = spawnSync("bash", ["-c", script], {
                encoding: "utf8",
                cwd,
                env: {
                    ...base,
                    PATH: `${bin}:${process.env.PATH}`,
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
            return { ...result, calls: recorded };
        }

        it("migrates by default (the migrate workflow sets no DB_TASK), from the bundle, installing nothing", function () {
            const r = runBuild("default", {});
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.calls, ["node db/cli.js migrate url=none"]);
        });

        it("runs the retention job with DB_TASK=db:retention, and migrates with DB_TASK=db:migrate", function () {
            const retention = runBuild("retention", { DB_TASK: "db:retention" });
            assert.equal(retention.status, 0, retention.stderr);
            assert.deepEqual(retention.calls, ["node db/cli.js retention url=none"]);
            const migrate = runBuild("migrate", { DB_TASK: "db:migrate" });
            assert.equal(migrate.status, 0, migrate.stderr);
            assert.deepEqual(migrate.calls, ["node db/cli.js migrate url=none"]);
        });

        it("drops a DATABASE_URL passed as an override: the task connects through the proxy only", function () {
            const r = runBuild("url-override", { DB_TASK: "db:retention", DATABASE_URL: "postgres://attacker.example.com/x" });
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.calls, ["node db/cli.js retention url=none"]);
        });

        for (const task of ["db:test", "db:status", "test", "db:migrate; touch pwned", "db:retention && true", "$(touch pwned)", "db:*", " db:migrate", "db:migrate\n", "DB:MIGRATE"]) {
            it(`refuses DB_TASK=${JSON.stringify(task)} before running anything`, function () {
                const name = `refused-${Buffer.from(task).toString("hex")}`;
                const r = runBuild(name, { DB_TASK: task });
                assert.equal(r.status, 1);
                assert.deepEqual(r.calls, [], "nothing ran");
                assert.match(r.stderr, /DB_TASK=.* is not a database task; use db:migrate or db:retention/);
                assert.ok(!fs.existsSync(path.join(process.cwd(), "pwned")) && !fs.existsSync(path.join(bundle, "pwned")));
            });
        }

        it("refuses an unknown task in the build phase too, even if the install check were skipped", function () {
            const r = runBuild("build-only", { DB_TASK: "db:drop" }, ["build"]);
            assert.equal(r.status, 1);
            assert.deepEqual(r.calls, []);
            assert.match(r.stderr, /DB_TASK=db:drop is not a database task/);
        });

        it("stops before any task when a connection fact is missing", function () {
            const r = runBuild("no-proxy", { DB_TASK: "db:retention", DB_PROXY_ENDPOINT: "" });
            assert.equal(r.status, 1);
            assert.match(r.stderr, /DB_PROXY_ENDPOINT is not set/);
            assert.deepEqual(r.calls, []);
        });

        it("stops when the source is not a bundle (e.g. a repository checkout that would need npm ci)", function () {
            const checkout = path.join(dir, "checkout");
            fs.mkdirSync(path.join(checkout, "db"), { recursive: true });
            fs.writeFileSync(path.join(checkout, "package.json"), "{}");
            fs.writeFileSync(path.join(checkout, "db", "cli.ts"), "");
            const r = runBuild("checkout", {}, ["install", "pre_build", "build"], checkout);
            assert.equal(r.status, 1);
            assert.match(r.stderr, /not a db-tasks bundle/);
            assert.deepEqual(r.calls, []);
        });
    });

    it("rejects bad input with a message naming the argument", function () {
        assert.throws(() => new MigrationRunner("bad", baseArgs({ repository: "marczenn/*" })), /repository: .* must be one GitHub repository/);
        assert.throws(() => new MigrationRunner("bad2", baseArgs({ logRetentionDays: 0 })), /logRetentionDays: 0 is below/);
    });
});
