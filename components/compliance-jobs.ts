// The scheduled compliance jobs (issue 12): one Lambda in the app tier, invoked by EventBridge Scheduler
//   every 15 minutes  {"task":"metrics"}       snapshot of the compliance metrics, published to CloudWatch
//   every hour        {"task":"backups"}       newest completed backup within 26 hours, failed AWS Backup jobs
//   weekly (Mon 03:00 JST) {"task":"key-rotation"}  KMS rotation of every CMK and the PII key versions in the data
// It logs in to the database as compliance_job (IAM auth through the proxy), which may only call the
// aggregate functions of migrations 0012/0013: no personal data reaches it. Monitoring alarms on what it publishes.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COMPLIANCE_NAMESPACE } from "../compliance/metric-names";
import { AppTierDatabaseAccess, dbConnectArn, parseDbProxyArn, proxyDatabaseEnvironment, serviceTrustPolicy, vpcLambdaNetworkStatements } from "./iam";
import { checkLogRetention, encryptedLogGroup } from "./log-groups";

export const COMPLIANCE_SCHEDULES = {
    metrics: { expression: "rate(15 minutes)", timezone: "UTC" },
    backups: { expression: "rate(1 hour)", timezone: "UTC" },
    "key-rotation": { expression: "cron(0 3 ? * MON *)", timezone: "Asia/Tokyo" },
} as const;
export type ComplianceTask = keyof typeof COMPLIANCE_SCHEDULES;

export interface ComplianceJobsArgs extends AppTierDatabaseAccess {
    namePrefix: string;
    /** Value of the Stack dimension of every metric (the Pulumi stack, e.g. `prod`). */
    stack: string;
    /** Adds an ingress rule on the proxy's group for the job's group (default true). */
    admitToDbProxy?: boolean;
    dbPort?: number;
    /** Database login of the job (migration 0012 creates `compliance_job`). */
    dbUser?: string;
    /** The database whose backups are checked. */
    database: { kind: "instance" | "cluster"; identifier: pulumi.Input<string>; arn: pulumi.Input<string> };
    /** Every customer-managed key whose rotation is validated weekly. */
    keyArns: pulumi.Input<string>[];
    logsKeyArn: pulumi.Input<string>;
    lambdaEnvironmentKeyArn: pulumi.Input<string>;
    logRetentionDays?: number;
    /** Bundled handler (`index.handler`) of lambdas/compliance-jobs. */
    code: pulumi.asset.Archive;
    tags?: Record<string, string>;
}

export class ComplianceJobs extends pulumi.ComponentResource {
    readonly function: aws.lambda.Function;
    readonly role: aws.iam.Role;
    readonly securityGroup: aws.ec2.SecurityGroup;
    readonly schedules: Record<ComplianceTask, aws.scheduler.Schedule>;
    readonly functionName: pulumi.Output<string>;
    readonly scheduleNames: pulumi.Output<string>[];

    constructor(name: string, args: ComplianceJobsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:ops:ComplianceJobs", name, {}, opts);
        if (!/^[a-z][a-z0-9-]{1,30}$/.test(args.namePrefix ?? "")) {
            throw new Error(`namePrefix: ${JSON.stringify(args.namePrefix)} must be 2-31 of a-z, 0-9, - starting with a letter (e.g. "appi-dev")`);
        }
        if (!args.stack) throw new Error("stack: required (the Stack dimension the alarms select)");
        if (!(args.code instanceof pulumi.asset.Archive)) throw new Error("code: expected a pulumi.asset.Archive of the bundled lambdas/compliance-jobs");
        if (!args.keyArns.length) throw new Error("keyArns: list every customer-managed key whose rotation the weekly job validates");
        const retentionInDays = checkLogRetention(args.logRetentionDays);
        const dbPort = args.dbPort ?? 5432;
        const dbUser = args.dbUser ?? "compliance_job";
        const tags = { ...args.tags };
        const parent = { parent: this };
        const proxy = pulumi.output(args.dbProxyArn).apply(parseDbProxyArn);
        const functionName = `${args.namePrefix}-compliance-jobs`;

        this.securityGroup = new aws.ec2.SecurityGroup(`${name}-compliance-jobs`, {
            vpcId: args.vpcId,
            description: "Compliance jobs: the RDS Proxy, and HTTPS to AWS APIs (CloudWatch, RDS, Backup have no endpoint in this VPC)",
            egress: [
                { description: "PostgreSQL through the RDS Proxy", protocol: "tcp", fromPort: dbPort, toPort: dbPort, securityGroups: [args.dbProxySecurityGroupId] },
                { description: "HTTPS to AWS APIs through the NAT gateway", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
            ],
            tags: { ...tags, Name: functionName },
        }, parent);
        if (args.admitToDbProxy ?? true) {
            new aws.vpc.SecurityGroupIngressRule(`${name}-proxy-from-compliance-jobs`, {
                securityGroupId: args.dbProxySecurityGroupId,
                referencedSecurityGroupId: this.securityGroup.id,
                ipProtocol: "tcp",
                fromPort: dbPort,
                toPort: dbPort,
                description: "Compliance jobs to the RDS Proxy",
                tags,
            }, parent);
        }

        const logGroup = encryptedLogGroup(`${name}-compliance-jobs-logs`, `/aws/lambda/${functionName}`, args.logsKeyArn, retentionInDays, tags, this);
        this.role = new aws.iam.Role(`${name}-compliance-jobs-role`, {
            name: functionName,
            description: "Execution role of the compliance jobs: aggregates from the database, metrics out, read-only AWS checks",
            assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"),
            tags,
        }, parent);
        const policy = pulumi.all([proxy, logGroup.arn, dbConnectArn(args.dbProxyArn, dbUser), args.privateSubnetIds, this.securityGroup.id, pulumi.all(args.keyArns), args.database.arn])
            .apply(([p, logGroupArn, connectArn, subnetIds, sgId, keyArns, dbArn]) => {
                const arn = (service: string, resource: string) => `arn:${p.partition}:${service}:${p.region}:${p.accountId}:${resource}`;
                return JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        ...vpcLambdaNetworkStatements(p, subnetIds, sgId),
                        { Sid: "WriteOwnLogGroup", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
                        { Sid: "ConnectThroughProxyAsComplianceJob", Effect: "Allow", Action: "rds-db:connect", Resource: connectArn },
                        // PutMetricData has no resource ARN: the namespace condition keeps the job to its own metrics.
                        { Sid: "PublishComplianceMetrics", Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": COMPLIANCE_NAMESPACE } } },
                        { Sid: "ReadBackupsOfTheDatabase", Effect: "Allow", Action: ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"], Resource: [dbArn, arn("rds", "snapshot:*"), arn("rds", "cluster-snapshot:*")] },
                        { Sid: "ListBackupJobs", Effect: "Allow", Action: "backup:ListBackupJobs", Resource: "*" },
                        { Sid: "ReadKeyRotation", Effect: "Allow", Action: ["kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:ListKeyRotations"], Resource: keyArns },
                    ],
                });
            });
        new aws.iam.RolePolicy(`${name}-compliance-jobs-policy`, { role: this.role.id, policy }, parent);

        this.function = new aws.lambda.Function(`${name}-compliance-jobs`, {
            name: functionName,
            description: "APPI compliance jobs: metrics, backup check, key-rotation validation",
            runtime: "nodejs22.x",
            architectures: ["arm64"],
            handler: "index.handler",
            code: args.code,
            role: this.role.arn,
            timeout: 300,
            memorySize: 512,
            environment: {
                variables: {
                    STACK: args.stack,
                    ...proxyDatabaseEnvironment(args, dbPort, dbUser),
                    [args.database.kind === "cluster" ? "DB_CLUSTER_ID" : "DB_INSTANCE_ID"]: args.database.identifier,
                    DB_RESOURCE_ARN: args.database.arn,
                    KEY_IDS: pulumi.all(args.keyArns).apply((arns) => arns.join(",")),
                    NODE_OPTIONS: "--enable-source-maps",
                },
            },
            kmsKeyArn: args.lambdaEnvironmentKeyArn,
            vpcConfig: { subnetIds: args.privateSubnetIds, securityGroupIds: [this.securityGroup.id] },
            loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
            tags,
        }, { parent: this, dependsOn: [logGroup] });

        const schedulerRole = new aws.iam.Role(`${name}-compliance-scheduler`, {
            name: `${args.namePrefix}-compliance-scheduler`,
            description: "EventBridge Scheduler: invokes the compliance jobs function, nothing else",
            assumeRolePolicy: proxy.apply((p) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Principal: { Service: "scheduler.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "aws:SourceAccount": p.accountId } },
                }],
            })),
            tags,
        }, parent);
        const schedulerPolicy = new aws.iam.RolePolicy(`${name}-compliance-scheduler`, {
            role: schedulerRole.id,
            policy: this.function.arn.apply((arn) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "InvokeComplianceJobs", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: arn }] })),
        }, parent);

        const schedules = {} as Record<ComplianceTask, aws.scheduler.Schedule>;
        for (const [task, schedule] of Object.entries(COMPLIANCE_SCHEDULES) as [ComplianceTask, (typeof COMPLIANCE_SCHEDULES)[ComplianceTask]][]) {
            schedules[task] = new aws.scheduler.Schedule(`${name}-compliance-${task}`, {
                name: `${args.namePrefix}-compliance-${task}`,
                description: `compliance job ${task}`,
                scheduleExpression: schedule.expression,
                scheduleExpressionTimezone: schedule.timezone,
                flexibleTimeWindow: { mode: "OFF" },
                state: "ENABLED",
                target: {
                    arn: this.function.arn,
                    roleArn: schedulerRole.arn,
                    input: JSON.stringify({ task }),
                    retryPolicy: { maximumEventAgeInSeconds: 600, maximumRetryAttempts: 3 },
                },
            }, { parent: this, dependsOn: [schedulerPolicy] });
        }
        this.schedules = schedules;
        this.functionName = this.function.name;
        this.scheduleNames = Object.values(schedules).map((s) => s.name);
        this.registerOutputs({ functionName: this.functionName, scheduleNames: this.scheduleNames });
    }
}
