// Database migrations run inside the VPC, by CodeBuild, started from GitHub Actions: the
// database stays in its isolated tier, CI holds no database password (IAM auth through
// the RDS Proxy), and every run leaves a log kept as long as the audit trail.
// The build's source is a bundle (`npm run build:db-tasks`: db/cli.js and the SQL migrations) that
// the migrate workflow uploads to a private, versioned, KMS-encrypted bucket this component creates:
// CodeBuild fetches private code without any stored GitHub credential, and runs it without `npm ci`.
// The same project runs the retention job (`npm run db:retention`) every 15 minutes, started by
// EventBridge Scheduler with DB_TASK=db:retention: it needs the schema owner too, and deletion
// requests have a 1-hour deadline.
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AppTierDatabaseAccess, dbConnectArn, parseDbProxyArn } from "./iam";
import { checkLogRetention, encryptedLogGroup } from "./log-groups";

/** The buildspec lives beside the program so reviewers read it as a file; the project carries it inline. */
export const MIGRATE_BUILDSPEC_PATH = path.join(__dirname, "..", "buildspec", "migrate.yml");

/** The NOLOGIN schema owner migrator acts as (migrations/0015; db/migrate.ts DEFAULT_OWNER_ROLE). */
export const DB_OWNER_ROLE = "appi_owner";

/** What the buildspec runs, chosen by DB_TASK (it refuses anything else); the first is the default. */
export const DB_TASKS = ["db:migrate", "db:retention"] as const;
/** Four runs an hour: a deletion request (1-hour deadline) waits at most 15 minutes for the next one. */
export const RETENTION_SCHEDULE_EXPRESSION = "rate(15 minutes)";
/** Object key of the db-tasks bundle in the artifact bucket; the migrate workflow uploads a new version of it. */
export const DB_TASKS_BUNDLE_KEY = "db-tasks/bundle.zip";
/**
 * StartBuild request fields that would make the build run something else than the project's bundle and
 * buildspec, as CodeBuild's condition keys name them (`Null: false` = the caller sent the field).
 */
export const BUILD_OVERRIDE_CONDITION_KEYS = [
    "codebuild:source.buildspec",
    "codebuild:source.location",
    "codebuild:source.type",
    "codebuild:source.auth",
    "codebuild:secondarySources.location",
] as const;

/** Deny statements (one per key: conditions inside one Null block would all have to hold) for StartBuild with an override. */
export function denyBuildOverrides(projectArn: string, sidPrefix = "DenyOverride"): Record<string, unknown>[] {
    return BUILD_OVERRIDE_CONDITION_KEYS.map((key) => ({
        Sid: `${sidPrefix}${key.replace(/^codebuild:/, "").split(".").map((part) => part[0].toUpperCase() + part.slice(1)).join("")}`,
        Effect: "Deny",
        Action: ["codebuild:StartBuild", "codebuild:StartBuildBatch"],
        Resource: projectArn,
        Condition: { Null: { [key]: "false" } },
    }));
}

export interface MigrationRunnerArgs extends AppTierDatabaseAccess {
    /** Prefix of every physical name, e.g. `appi-dev`. */
    namePrefix: string;
    /** GitHub repository (`owner/name`) whose workflow builds and uploads the bundle; tagged on the bucket as SourceRepository. */
    repository?: string;

    /** Adds an ingress rule on the proxy's group for the build's group (default true). */
    admitToDbProxy?: boolean;

    dbPort?: number;
    /** Database user that owns the schema and logs in through IAM auth. */
    migrationDbUser: pulumi.Input<string>;

    /** CMK for the build's artifacts and cache, and the bundle bucket's SSE-KMS (its key policy must admit S3). */
    encryptionKeyArn: pulumi.Input<string>;
    /** Key of the build log group. */
    logsKeyArn: pulumi.Input<string>;
    logRetentionDays?: number;
    /** Minutes before a stuck build is stopped (default 30). */
    buildTimeoutMinutes?: number;
    /**
     * Schedules the retention job (default true): EventBridge Scheduler starts a build of this project
     * with DB_TASK=db:retention every 15 minutes, so due deletion requests meet their 1-hour deadline.
     */
    scheduleRetention?: boolean;
    /** Days an older bundle version is kept after a newer one is uploaded (default 90): what ran, for the audit trail. */
    bundleVersionRetentionDays?: number;
    tags?: Record<string, string>;
}

export class MigrationRunner extends pulumi.ComponentResource {
    readonly project: aws.codebuild.Project;
    readonly role: aws.iam.Role;
    readonly logGroup: aws.cloudwatch.LogGroup;
    readonly securityGroup: aws.ec2.SecurityGroup;
    /** Private, versioned, KMS-encrypted bucket holding the db-tasks bundle the builds run. */
    readonly artifactBucket: aws.s3.Bucket;
    /** The 15-minute retention schedule and the role it starts builds with (absent with scheduleRetention: false). */
    readonly retentionSchedule?: aws.scheduler.Schedule;
    readonly schedulerRole?: aws.iam.Role;

    readonly projectName: pulumi.Output<string>;
    readonly projectArn: pulumi.Output<string>;
    readonly logGroupName: pulumi.Output<string>;
    readonly logGroupArn: pulumi.Output<string>;
    readonly roleArn: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;
    readonly artifactBucketName: pulumi.Output<string>;
    /** ARN of the bundle object (`<bucket>/db-tasks/bundle.zip`) the migrate workflow may overwrite. */
    readonly bundleObjectArn: pulumi.Output<string>;
    readonly retentionScheduleName?: pulumi.Output<string>;
    readonly retentionScheduleArn?: pulumi.Output<string>;

    constructor(name: string, args: MigrationRunnerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:delivery:MigrationRunner", name, {}, opts);

        if (!/^[a-z][a-z0-9-]{1,30}$/.test(args.namePrefix ?? "")) {
            throw new Error(`namePrefix: ${JSON.stringify(args.namePrefix)} must be 2-31 of a-z, 0-9, - starting with a letter (e.g. "appi-dev")`);
        }
        if (args.repository !== undefined && !/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(args.repository)) {
            throw new Error(`repository: ${JSON.stringify(args.repository)} must be one GitHub repository as owner/name`);
        }
        const bundleRetentionDays = args.bundleVersionRetentionDays ?? 90;
        if (!Number.isInteger(bundleRetentionDays) || bundleRetentionDays < 1 || bundleRetentionDays > 3653) {
            throw new Error(`bundleVersionRetentionDays: ${bundleRetentionDays} must be an integer between 1 and 3653`);
        }
        const retentionInDays = checkLogRetention(args.logRetentionDays);
        const buildTimeout = args.buildTimeoutMinutes ?? 30;
        if (!Number.isInteger(buildTimeout) || buildTimeout < 5 || buildTimeout > 480) {
            throw new Error(`buildTimeoutMinutes: ${buildTimeout} must be an integer between 5 and 480`);
        }
        const scheduleRetention = args.scheduleRetention ?? true;
        const dbPort = args.dbPort ?? 5432;
        const tags = { ...args.tags };
        const projectName = `${args.namePrefix}-db-migrate`;
        const proxy = pulumi.output(args.dbProxyArn).apply(parseDbProxyArn);
        const buildspec = fs.readFileSync(MIGRATE_BUILDSPEC_PATH, "utf8");

        // The bundle: private, versioned (a build runs one exact upload, by version id), encrypted with the CMK.
        const bucketName = proxy.apply((p) => `${args.namePrefix}-db-tasks-${p.accountId}`);
        this.artifactBucket = new aws.s3.Bucket(`${name}-bundle`, {
            bucket: bucketName,
            forceDestroy: false,
            // Code and SQL only, no personal data: the bundle is what the builds run (appi:personal-data=none
            // takes it out of the store rules' scope; the CMK and public-access rules still apply to it).
            tags: { ...tags, DataClassification: "internal-code", "appi:personal-data": "none", ...(args.repository ? { SourceRepository: args.repository } : {}) },
        }, { parent: this });
        const bucketArn = pulumi.all([proxy, bucketName]).apply(([p, b]) => `arn:${p.partition}:s3:::${b}`);
        const publicAccess = new aws.s3.BucketPublicAccessBlock(`${name}-bundle`, {
            bucket: this.artifactBucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        }, { parent: this });
        new aws.s3.BucketOwnershipControls(`${name}-bundle`, { bucket: this.artifactBucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: this });
        new aws.s3.BucketVersioning(`${name}-bundle`, { bucket: this.artifactBucket.id, versioningConfiguration: { status: "Enabled" } }, { parent: this });
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-bundle`, {
            bucket: this.artifactBucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.encryptionKeyArn }, bucketKeyEnabled: true }],
        }, { parent: this });
        new aws.s3.BucketLifecycleConfiguration(`${name}-bundle`, {
            bucket: this.artifactBucket.id,
            rules: [{ id: "expire-old-bundles", status: "Enabled", filter: { prefix: "db-tasks/" }, noncurrentVersionExpiration: { noncurrentDays: bundleRetentionDays } }],
        }, { parent: this });
        new aws.s3.BucketPolicy(`${name}-bundle`, {
            bucket: this.artifactBucket.id,
            policy: pulumi.all([bucketArn, args.encryptionKeyArn]).apply(([arn, keyArn]) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, `${arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
                    // Uploads are encrypted with the project's key or refused, whatever the uploader asks for.
                    { Sid: "DenyOtherEncryption", Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: `${arn}/*`, Condition: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption-aws-kms-key-id": keyArn } } },
                ],
            })),
        }, { parent: this, dependsOn: [publicAccess] });
        this.artifactBucketName = this.artifactBucket.bucket;
        this.bundleObjectArn = pulumi.interpolate`${bucketArn}/${DB_TASKS_BUNDLE_KEY}`;

        // AWS APIs (IAM token signing needs none; S3 goes through the gateway endpoint) on 443; PostgreSQL only to the proxy.
        this.securityGroup = new aws.ec2.SecurityGroup(`${name}-build`, {
            vpcId: args.vpcId,
            description: "Migration builds: egress to the RDS Proxy and HTTPS only",
            egress: [
                { description: "PostgreSQL through the RDS Proxy", protocol: "tcp", fromPort: dbPort, toPort: dbPort, securityGroups: [args.dbProxySecurityGroupId] },
                { description: "HTTPS: AWS APIs (CloudWatch Logs, S3 source download)", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
            ],
            tags: { ...tags, Name: `${args.namePrefix}-db-migrate` },
        }, { parent: this });

        if (args.admitToDbProxy ?? true) {
            new aws.vpc.SecurityGroupIngressRule(`${name}-proxy-from-build`, {
                securityGroupId: args.dbProxySecurityGroupId,
                referencedSecurityGroupId: this.securityGroup.id,
                ipProtocol: "tcp",
                fromPort: dbPort,
                toPort: dbPort,
                description: "Migration builds to the RDS Proxy",
                tags,
            }, { parent: this });
        }

        this.logGroup = encryptedLogGroup(`${name}-logs`, `/aws/codebuild/${projectName}`, args.logsKeyArn, retentionInDays, tags, this);

        // Confused-deputy guard: CodeBuild may assume the role only for this project in this account.
        const assumeRolePolicy = proxy.apply((p) => JSON.stringify({
            Version: "2012-10-17",
            Statement: [{
                Effect: "Allow",
                Principal: { Service: "codebuild.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                    StringEquals: {
                        "aws:SourceAccount": p.accountId,
                        "aws:SourceArn": `arn:${p.partition}:codebuild:${p.region}:${p.accountId}:project/${projectName}`,
                    },
                },
            }],
        }));
        this.role = new aws.iam.Role(`${name}-role`, {
            name: `${projectName}-codebuild`,
            description: "Service role of the database migration build",
            assumeRolePolicy,
            tags,
        }, { parent: this });

        const policy = pulumi.all([proxy, this.logGroup.arn, args.encryptionKeyArn, dbConnectArn(args.dbProxyArn, args.migrationDbUser), args.privateSubnetIds, bucketArn])
            .apply(([p, logGroupArn, keyArn, connectArn, subnetIds, artifactBucketArn]) => {
                const ec2Arn = (resource: string) => `arn:${p.partition}:ec2:${p.region}:${p.accountId}:${resource}`;
                const statements: Record<string, unknown>[] = [
                    {
                        // The VPC permissions AWS documents for CodeBuild; Describe* and ENI lifecycle have no resource scoping.
                        Sid: "VpcNetworkInterfaces",
                        Effect: "Allow",
                        Action: ["ec2:CreateNetworkInterface", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"],
                        Resource: "*",
                    },
                    {
                        Sid: "AttachOnlyInOwnSubnets",
                        Effect: "Allow",
                        Action: "ec2:CreateNetworkInterfacePermission",
                        Resource: ec2Arn("network-interface/*"),
                        Condition: {
                            StringEquals: { "ec2:Subnet": subnetIds.map((id) => ec2Arn(`subnet/${id}`)), "ec2:AuthorizedService": "codebuild.amazonaws.com" },
                        },
                    },
                    { Sid: "WriteOwnLogGroup", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
                    { Sid: "ProjectKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"], Resource: keyArn },
                    { Sid: "ConnectThroughProxyAsMigrationUser", Effect: "Allow", Action: "rds-db:connect", Resource: connectArn },
                    // The source: read the bundle (any version), nothing else in the bucket, never write it.
                    { Sid: "ReadBundle", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: `${artifactBucketArn}/${DB_TASKS_BUNDLE_KEY}` },
                    { Sid: "BundleBucket", Effect: "Allow", Action: ["s3:GetBucketAcl", "s3:GetBucketLocation"], Resource: artifactBucketArn },
                ];
                return JSON.stringify({ Version: "2012-10-17", Statement: statements });
            });
        const rolePolicy = new aws.iam.RolePolicy(`${name}-policy`, { role: this.role.id, policy }, { parent: this });

        this.project = new aws.codebuild.Project(`${name}-project`, {
            name: projectName,
            description: "Runs npm run db:migrate (default) or db:retention (DB_TASK) through the RDS Proxy",
            serviceRole: this.role.arn,
            encryptionKey: args.encryptionKeyArn,
            buildTimeout,
            queuedTimeout: 60,
            // A project at its limit refuses new builds (StartBuild fails, nothing queues). Alone, migrations
            // run one at a time; with the schedule, a second slot keeps a retention run from failing
            // the migrate workflow. Overlaps are safe: the migration runner takes an advisory lock and
            // run_retention() claims deletion requests with FOR UPDATE SKIP LOCKED.
            concurrentBuildLimit: scheduleRetention ? 2 : 1,
            source: {
                type: "S3",
                location: pulumi.interpolate`${this.artifactBucket.bucket}/${DB_TASKS_BUNDLE_KEY}`,
                // Inline, so the steps that hold database access are reviewed with the infrastructure.
                buildspec,
            },
            artifacts: { type: "NO_ARTIFACTS" },
            environment: {
                type: "LINUX_CONTAINER",
                computeType: "BUILD_GENERAL1_SMALL",
                image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                imagePullCredentialsType: "CODEBUILD",
                // No Docker-in-Docker: the build runs plain Node.js.
                privilegedMode: false,
                // Connection facts only; the password is an IAM token minted inside the build.
                environmentVariables: [
                    { name: "DB_PROXY_ENDPOINT", value: args.dbProxyEndpoint, type: "PLAINTEXT" },
                    { name: "DB_PORT", value: String(dbPort), type: "PLAINTEXT" },
                    { name: "DB_NAME", value: args.dbName, type: "PLAINTEXT" },
                    { name: "DB_USER", value: args.migrationDbUser, type: "PLAINTEXT" },
                    // The schema owner both tasks SET ROLE to (migrations/0015): migrator inherits nothing itself.
                    { name: "DB_OWNER_ROLE", value: DB_OWNER_ROLE, type: "PLAINTEXT" },
                    // The task; a build may override it with another allowed one (the buildspec refuses the rest).
                    { name: "DB_TASK", value: DB_TASKS[0], type: "PLAINTEXT" },
                ],
            },
            vpcConfig: { vpcId: args.vpcId, subnets: args.privateSubnetIds, securityGroupIds: [this.securityGroup.id] },
            logsConfig: {
                cloudwatchLogs: { status: "ENABLED", groupName: this.logGroup.name },
                s3Logs: { status: "DISABLED" },
            },
            tags,
        }, { parent: this, dependsOn: [rolePolicy] });

        this.projectName = this.project.name;
        this.projectArn = this.project.arn;
        this.logGroupName = this.logGroup.name;
        this.logGroupArn = this.logGroup.arn;
        this.roleArn = this.role.arn;
        this.securityGroupId = this.securityGroup.id;

        if (scheduleRetention) {
            // Confused-deputy guard: Scheduler may assume the role only for schedules of this account's
            // default group (AWS scopes aws:SourceArn to the schedule group, never to one schedule).
            const schedulerTrust = proxy.apply((p) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Principal: { Service: "scheduler.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: {
                        StringEquals: {
                            "aws:SourceAccount": p.accountId,
                            "aws:SourceArn": `arn:${p.partition}:scheduler:${p.region}:${p.accountId}:schedule-group/default`,
                        },
                    },
                }],
            }));
            this.schedulerRole = new aws.iam.Role(`${name}-retention-scheduler`, {
                name: `${args.namePrefix}-db-retention-scheduler`,
                description: "EventBridge Scheduler: starts the retention build of the database migration project",
                assumeRolePolicy: schedulerTrust,
                tags,
            }, { parent: this });
            const schedulerPolicy = new aws.iam.RolePolicy(`${name}-retention-scheduler`, {
                role: this.schedulerRole.id,
                policy: this.project.arn.apply((projectArn) => JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Sid: "StartRetentionBuild", Effect: "Allow", Action: "codebuild:StartBuild", Resource: projectArn },
                        // The buildspec and the source (what holds database access) are the project's, never the caller's.
                        ...denyBuildOverrides(projectArn),
                    ],
                })),
            }, { parent: this });

            // The universal target calls CodeBuild's StartBuild in the schedule's own region, the project's.
            // No SourceVersion: each run takes the latest bundle the migrate workflow uploaded.
            const input = this.project.name.apply((projectName) => JSON.stringify({
                ProjectName: projectName,
                EnvironmentVariablesOverride: [{ Name: "DB_TASK", Value: "db:retention", Type: "PLAINTEXT" }],
            }));
            this.retentionSchedule = new aws.scheduler.Schedule(`${name}-retention`, {
                name: `${args.namePrefix}-db-retention`,
                description: "npm run db:retention every 15 minutes: erases PII past retention, completes due deletion requests (1-hour deadline)",
                scheduleExpression: RETENTION_SCHEDULE_EXPRESSION,
                scheduleExpressionTimezone: "UTC",
                flexibleTimeWindow: { mode: "OFF" },
                state: "ENABLED",
                target: {
                    arn: proxy.apply((p) => `arn:${p.partition}:scheduler:::aws-sdk:codebuild:startBuild`),
                    roleArn: this.schedulerRole.arn,
                    input,
                    // A start that keeps failing gives way to the next run rather than piling up behind it.
                    retryPolicy: { maximumEventAgeInSeconds: 600, maximumRetryAttempts: 5 },
                },
            }, { parent: this, dependsOn: [schedulerPolicy] });
            this.retentionScheduleName = this.retentionSchedule.name;
            this.retentionScheduleArn = this.retentionSchedule.arn;
        }

        this.registerOutputs({
            projectName: this.projectName,
            projectArn: this.projectArn,
            logGroupName: this.logGroupName,
            logGroupArn: this.logGroupArn,
            roleArn: this.roleArn,
            securityGroupId: this.securityGroupId,
            artifactBucketName: this.artifactBucketName,
            bundleObjectArn: this.bundleObjectArn,
            retentionScheduleName: this.retentionScheduleName,
            retentionScheduleArn: this.retentionScheduleArn,
        });
    }
}
