// The monthly restore drill (issue 12, "Drills"; compliance/restore-drill.ts): a CodeBuild project in the app tier,
// started by EventBridge Scheduler on the 1st of every month. A Lambda's 15 minutes cannot hold an RDS point-in-time
// restore (it can take hours): the build's timeout is the 8-hour RTO itself. It runs the db-tasks bundle the migrate
// workflow uploads (compliance/restore-drill-cli.js), restores the instance's latest restorable time as a temporary
// `<namePrefix>-drill-<time>` instance in the isolated data subnets, verifies it as restore_drill, records the result
// and deletes the copy. Its role may create, tag and delete only drill copies, use the storage key only through RDS,
// decrypt only level-2 fields, connect only as restore_drill and publish only to the compliance namespace.
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COMPLIANCE_NAMESPACE } from "../compliance/metric-names";
import { DRILL_DB_USER, DRILL_INFIX, DRILL_TAG_KEY, DRILL_TAG_VALUE, RTO_SECONDS } from "../compliance/restore-drill-names";
import { parseDbProxyArn } from "./iam";
import { checkLogRetention, encryptedLogGroup } from "./log-groups";
import { DB_TASKS_BUNDLE_KEY, denyBuildOverrides } from "./migration-runner";

export const RESTORE_DRILL_BUILDSPEC_PATH = path.join(__dirname, "..", "buildspec", "restore-drill.yml");
/** 02:00 JST on the 1st of every month (the month's report then shows the new drill). */
export const RESTORE_DRILL_SCHEDULE = { expression: "cron(0 2 1 * ? *)", timezone: "Asia/Tokyo" } as const;

export interface RestoreDrillArgs {
    namePrefix: string;
    /** Stack dimension of RestoreDrillFailed (the alarm selects it). */
    stack: string;
    vpcId: pulumi.Input<string>;
    /** Private app-tier subnets the build runs in (NAT egress to the RDS, KMS, CloudWatch APIs). */
    privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Any ARN of this account and region (the RDS Proxy's): partition, region and account of the policies. */
    dbProxyArn: pulumi.Input<string>;
    dbName: pulumi.Input<string>;
    /** The RDS instance restored, and where its copies go. */
    database: {
        identifier: pulumi.Input<string>;
        arn: pulumi.Input<string>;
        /** The isolated data tier's DB subnet group. */
        subnetGroupName: pulumi.Input<string>;
        /** The data tier's security group: the copy gets it, and it admits the build on the database port. */
        securityGroupId: pulumi.Input<string>;
        parameterGroupName?: pulumi.Input<string>;
        /** KMS key of the instance's storage (RestoreDBInstanceToPointInTime keeps it; RDS needs grants on it). */
        storageKeyArn: pulumi.Input<string>;
        port?: number;
    };
    /** The application's PII keys: level 2 decrypts the sample (only pii_level 2), level 3 is named, never used. */
    piiKeyArn: pulumi.Input<string>;
    piiSecondLayerKeyArn: pulumi.Input<string>;
    /** The db-tasks bundle of the MigrationRunner (bucket name) and the key it and the build artifacts are encrypted with. */
    bundleBucketName: pulumi.Input<string>;
    encryptionKeyArn: pulumi.Input<string>;
    logsKeyArn: pulumi.Input<string>;
    logRetentionDays?: number;
    /** Default: monthly, RESTORE_DRILL_SCHEDULE. */
    scheduleExpression?: string;
    tags?: Record<string, string>;
}

export class RestoreDrill extends pulumi.ComponentResource {
    readonly project: aws.codebuild.Project;
    readonly role: aws.iam.Role;
    readonly securityGroup: aws.ec2.SecurityGroup;
    readonly schedule: aws.scheduler.Schedule;
    readonly projectName: pulumi.Output<string>;
    readonly scheduleName: pulumi.Output<string>;

    constructor(name: string, args: RestoreDrillArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:ops:RestoreDrill", name, {}, opts);
        if (!/^[a-z][a-z0-9-]{1,30}$/.test(args.namePrefix ?? "")) {
            throw new Error(`namePrefix: ${JSON.stringify(args.namePrefix)} must be 2-31 of a-z, 0-9, - starting with a letter (e.g. "appi-dev")`);
        }
        if (!args.stack) throw new Error("stack: required (the Stack dimension the RestoreDrillFailed alarm selects)");
        const retentionInDays = checkLogRetention(args.logRetentionDays);
        const dbPort = args.database.port ?? 5432;
        const tags = { ...args.tags };
        const parent = { parent: this };
        const account = pulumi.output(args.dbProxyArn).apply(parseDbProxyArn);
        const projectName = `${args.namePrefix}-restore-drill`;
        const drillPrefix = `${args.namePrefix}${DRILL_INFIX}`;

        // PostgreSQL to the data tier (the source instance and the copy share its group), HTTPS to AWS APIs.
        this.securityGroup = new aws.ec2.SecurityGroup(`${name}-restore-drill`, {
            vpcId: args.vpcId,
            description: "Restore drill builds: PostgreSQL to the data tier, HTTPS to AWS APIs",
            egress: [
                { description: "PostgreSQL to the source and the restored copy", protocol: "tcp", fromPort: dbPort, toPort: dbPort, securityGroups: [args.database.securityGroupId] },
                { description: "HTTPS: AWS APIs (RDS, KMS, CloudWatch, S3 source)", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
            ],
            tags: { ...tags, Name: projectName },
        }, parent);
        new aws.vpc.SecurityGroupIngressRule(`${name}-db-from-restore-drill`, {
            securityGroupId: args.database.securityGroupId,
            referencedSecurityGroupId: this.securityGroup.id,
            ipProtocol: "tcp",
            fromPort: dbPort,
            toPort: dbPort,
            description: "Restore drill to the source and its temporary copies (IAM auth as restore_drill)",
            tags,
        }, parent);

        const logGroup = encryptedLogGroup(`${name}-restore-drill-logs`, `/aws/codebuild/${projectName}`, args.logsKeyArn, retentionInDays, tags, this);
        this.role = new aws.iam.Role(`${name}-restore-drill-role`, {
            name: `${projectName}-codebuild`,
            description: "Service role of the monthly restore drill build",
            assumeRolePolicy: account.apply((p) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Principal: { Service: "codebuild.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "aws:SourceAccount": p.accountId, "aws:SourceArn": `arn:${p.partition}:codebuild:${p.region}:${p.accountId}:project/${projectName}` } },
                }],
            })),
            tags,
        }, parent);

        const policy = pulumi
            .all([
                account,
                logGroup.arn,
                args.privateSubnetIds,
                pulumi.all([args.database.arn, args.database.subnetGroupName, args.database.parameterGroupName ?? "", args.database.storageKeyArn, args.piiKeyArn, args.encryptionKeyArn, args.bundleBucketName]),
            ])
            .apply(([p, logGroupArn, subnetIds, [sourceArn, subnetGroup, parameterGroup, storageKey, piiKey, projectKey, bucket]]) => {
                const arn = (service: string, resource: string) => `arn:${p.partition}:${service}:${p.region}:${p.accountId}:${resource}`;
                const copies = arn("rds", `db:${drillPrefix}*`);
                const requestTagged = { StringEquals: { [`aws:RequestTag/${DRILL_TAG_KEY}`]: DRILL_TAG_VALUE } };
                const bucketArn = `arn:${p.partition}:s3:::${bucket}`;
                return JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
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
                            Resource: arn("ec2", "network-interface/*"),
                            Condition: { StringEquals: { "ec2:Subnet": subnetIds.map((id) => arn("ec2", `subnet/${id}`)), "ec2:AuthorizedService": "codebuild.amazonaws.com" } },
                        },
                        { Sid: "WriteOwnLogGroup", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
                        { Sid: "ProjectKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"], Resource: projectKey },
                        { Sid: "ReadBundle", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: `${bucketArn}/${DB_TASKS_BUNDLE_KEY}` },
                        { Sid: "BundleBucket", Effect: "Allow", Action: ["s3:GetBucketAcl", "s3:GetBucketLocation"], Resource: bucketArn },
                        // Listing finds the source's restorable time and the leftovers of earlier drills (names and tags only).
                        { Sid: "DescribeInstances", Effect: "Allow", Action: "rds:DescribeDBInstances", Resource: arn("rds", "db:*") },
                        {
                            // From this source only, into drill-named copies in the isolated subnet group, carrying the drill tag.
                            Sid: "RestoreOnlyIntoDrillCopies",
                            Effect: "Allow",
                            Action: "rds:RestoreDBInstanceToPointInTime",
                            Resource: [sourceArn, copies, arn("rds", `subgrp:${subnetGroup}`), ...(parameterGroup ? [arn("rds", `pg:${parameterGroup}`)] : []), arn("rds", "og:default:*")],
                            Condition: requestTagged,
                        },
                        { Sid: "TagOnlyDrillCopies", Effect: "Allow", Action: "rds:AddTagsToResource", Resource: copies, Condition: requestTagged },
                        {
                            Sid: "DeleteOnlyDrillCopies",
                            Effect: "Allow",
                            Action: "rds:DeleteDBInstance",
                            Resource: copies,
                            Condition: { StringEquals: { [`aws:ResourceTag/${DRILL_TAG_KEY}`]: DRILL_TAG_VALUE } },
                        },
                        {
                            // The copy is encrypted with the source's key: RDS creates the grants it needs, on behalf of the build.
                            Sid: "StorageKeyThroughRdsOnly",
                            Effect: "Allow",
                            Action: ["kms:CreateGrant", "kms:DescribeKey"],
                            Resource: storageKey,
                            Condition: { StringEquals: { "kms:ViaService": `rds.${p.region}.amazonaws.com` }, Bool: { "kms:GrantIsForAWSResource": "true" } },
                        },
                        {
                            // The decrypt sample: level-2 fields only (their encryption context), never level 3's outer layer.
                            Sid: "DecryptLevel2Sample",
                            Effect: "Allow",
                            Action: "kms:Decrypt",
                            Resource: piiKey,
                            Condition: { StringEquals: { "kms:EncryptionContext:pii_level": "2", "kms:EncryptionContext:layer": "single", "kms:EncryptionContext:table": "users" } },
                        },
                        // The copy's resource id is unknown before the restore: any instance, as restore_drill only (aggregates, migrations 0017).
                        { Sid: "ConnectAsRestoreDrill", Effect: "Allow", Action: "rds-db:connect", Resource: `arn:${p.partition}:rds-db:${p.region}:${p.accountId}:dbuser:*/${DRILL_DB_USER}` },
                        { Sid: "PublishDrillResult", Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": COMPLIANCE_NAMESPACE } } },
                    ],
                });
            });
        const rolePolicy = new aws.iam.RolePolicy(`${name}-restore-drill-policy`, { role: this.role.id, policy }, parent);

        const securityGroupIds = pulumi.output(args.database.securityGroupId);
        this.project = new aws.codebuild.Project(`${name}-restore-drill`, {
            name: projectName,
            description: "Monthly restore drill: PITR copy in the isolated subnets, verified, recorded against the 8-hour RTO, deleted",
            serviceRole: this.role.arn,
            encryptionKey: args.encryptionKeyArn,
            // The RTO is the build's limit: a drill still running then has failed it anyway.
            buildTimeout: RTO_SECONDS / 60,
            queuedTimeout: 60,
            concurrentBuildLimit: 1,
            source: {
                type: "S3",
                location: pulumi.interpolate`${args.bundleBucketName}/${DB_TASKS_BUNDLE_KEY}`,
                buildspec: fs.readFileSync(RESTORE_DRILL_BUILDSPEC_PATH, "utf8"),
            },
            artifacts: { type: "NO_ARTIFACTS" },
            environment: {
                type: "LINUX_CONTAINER",
                computeType: "BUILD_GENERAL1_SMALL",
                image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                imagePullCredentialsType: "CODEBUILD",
                privilegedMode: false,
                environmentVariables: [
                    { name: "DRILL_SOURCE_INSTANCE", value: args.database.identifier, type: "PLAINTEXT" },
                    { name: "DRILL_NAME_PREFIX", value: args.namePrefix, type: "PLAINTEXT" },
                    { name: "DRILL_SUBNET_GROUP", value: args.database.subnetGroupName, type: "PLAINTEXT" },
                    { name: "DRILL_SECURITY_GROUP_IDS", value: securityGroupIds, type: "PLAINTEXT" },
                    { name: "DB_NAME", value: args.dbName, type: "PLAINTEXT" },
                    { name: "DB_PORT", value: String(dbPort), type: "PLAINTEXT" },
                    { name: "STACK", value: args.stack, type: "PLAINTEXT" },
                    // Key ARNs, not key material: the Encryption SDK asks KMS, which the role's conditions limit.
                    { name: "PII_KMS_KEY_ARN", value: args.piiKeyArn, type: "PLAINTEXT" },
                    { name: "PII_L3_KMS_KEY_ARN", value: args.piiSecondLayerKeyArn, type: "PLAINTEXT" },
                ],
            },
            vpcConfig: { vpcId: args.vpcId, subnets: args.privateSubnetIds, securityGroupIds: [this.securityGroup.id] },
            logsConfig: { cloudwatchLogs: { status: "ENABLED", groupName: logGroup.name }, s3Logs: { status: "DISABLED" } },
            tags,
        }, { parent: this, dependsOn: [rolePolicy] });
        this.projectName = this.project.name;

        const schedulerRole = new aws.iam.Role(`${name}-restore-drill-scheduler`, {
            name: `${args.namePrefix}-restore-drill-scheduler`,
            description: "EventBridge Scheduler: starts the monthly restore drill build",
            assumeRolePolicy: account.apply((p) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Principal: { Service: "scheduler.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "aws:SourceAccount": p.accountId, "aws:SourceArn": `arn:${p.partition}:scheduler:${p.region}:${p.accountId}:schedule-group/default` } },
                }],
            })),
            tags,
        }, parent);
        const schedulerPolicy = new aws.iam.RolePolicy(`${name}-restore-drill-scheduler`, {
            role: schedulerRole.id,
            policy: this.project.arn.apply((projectArn) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    { Sid: "StartRestoreDrill", Effect: "Allow", Action: "codebuild:StartBuild", Resource: projectArn },
                    ...denyBuildOverrides(projectArn),
                ],
            })),
        }, parent);
        this.schedule = new aws.scheduler.Schedule(`${name}-restore-drill`, {
            name: `${args.namePrefix}-restore-drill`,
            description: "Monthly restore drill (npm run drill:restore): RTO 8 hours, result in drill_results and RestoreDrillFailed",
            scheduleExpression: args.scheduleExpression ?? RESTORE_DRILL_SCHEDULE.expression,
            scheduleExpressionTimezone: RESTORE_DRILL_SCHEDULE.timezone,
            flexibleTimeWindow: { mode: "OFF" },
            state: "ENABLED",
            target: {
                arn: account.apply((p) => `arn:${p.partition}:scheduler:::aws-sdk:codebuild:startBuild`),
                roleArn: schedulerRole.arn,
                input: this.project.name.apply((projectName) => JSON.stringify({ ProjectName: projectName })),
                retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 5 },
            },
        }, { parent: this, dependsOn: [schedulerPolicy] });
        this.scheduleName = this.schedule.name;

        this.registerOutputs({ projectName: this.projectName, scheduleName: this.scheduleName, roleArn: this.role.arn });
    }
}
