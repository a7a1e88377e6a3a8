// Erasure worker: every minute, carries deletion requests to the stores outside the database (the Cognito
// user, the Redis cache), reports each step to the database (which alone completes a request), and
// publishes the erasure metrics; alarms page when a step is stuck, a request is past its 1-hour SLA, or
// the worker itself stops reporting (APPI Art. 35 / spec "Deletion SLA: 1 hour").
// Least privilege: its database user may only claim and report steps; its IAM role may delete users of
// this one pool and publish to the APPI metric namespace; nothing else.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AppTierDatabaseAccess, dbConnectArn, parseDbProxyArn, proxyLambdaFunctionArgs, serviceTrustPolicy, vpcLambdaNetworkStatements } from "./iam";
import { checkLogRetention, encryptedLogGroup } from "./log-groups";

export const ERASURE_METRIC_NAMESPACE = "APPI/Compliance";

export interface ErasureWorkerArgs extends AppTierDatabaseAccess {
    namePrefix: string;
    /** Stack name, the metrics' `Stack` dimension. */
    stack: string;
    dbPort?: number;
    /** Database user of the worker (migration 0010: `erasure_worker`). */
    dbUser: pulumi.Input<string>;
    userPoolId: pulumi.Input<string>;
    userPoolArn: pulumi.Input<string>;
    redisHost: pulumi.Input<string>;
    redisSecurityGroupId: pulumi.Input<string>;
    /**
     * The cache's AUTH token: a Pulumi secret in state, and in the function's environment only encrypted
     * under `environmentKeyArn` (a CMK; reading it back needs kms:Decrypt on that key).
     */
    redisAuthToken: pulumi.Input<string>;
    /** CMK of the function's environment. */
    environmentKeyArn: pulumi.Input<string>;
    logsKeyArn: pulumi.Input<string>;
    logRetentionDays?: number;
    alarmTopicArn: pulumi.Input<string>;
    /** Bundled handler (`index.handler`) of lambdas/erasure-worker. */
    code: pulumi.asset.Archive;
    /** EventBridge schedule (default every minute, well inside the 1-hour SLA). */
    schedule?: string;
    tags?: Record<string, string>;
}

export class ErasureWorker extends pulumi.ComponentResource {
    readonly functionName: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;
    readonly alarmNames: pulumi.Output<string>[];

    constructor(name: string, args: ErasureWorkerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:compliance:ErasureWorker", name, {}, opts);
        const parent = { parent: this };
        const tags = args.tags;
        const dbPort = args.dbPort ?? 5432;
        const retentionInDays = checkLogRetention(args.logRetentionDays);
        if (!(args.code instanceof pulumi.asset.Archive)) throw new Error("code: expected a pulumi.asset.Archive of the bundled erasure worker");
        const functionName = `${args.namePrefix}-erasure-worker`;

        const group = new aws.ec2.SecurityGroup(`${name}-erasure-worker`, {
            vpcId: args.vpcId,
            description: "Erasure worker: the RDS Proxy, Redis, and HTTPS (Cognito, CloudWatch)",
            egress: [
                { description: "PostgreSQL through the RDS Proxy", protocol: "tcp", fromPort: dbPort, toPort: dbPort, securityGroups: [args.dbProxySecurityGroupId] },
                { description: "Redis (TLS)", protocol: "tcp", fromPort: 6379, toPort: 6379, securityGroups: [args.redisSecurityGroupId] },
                { description: "HTTPS to AWS APIs through the NAT gateways and VPC endpoints", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
            ],
            tags: { ...tags, Name: functionName },
        }, parent);
        new aws.vpc.SecurityGroupIngressRule(`${name}-proxy-from-erasure-worker`, {
            securityGroupId: args.dbProxySecurityGroupId, referencedSecurityGroupId: group.id, ipProtocol: "tcp", fromPort: dbPort, toPort: dbPort,
            description: "PostgreSQL from the erasure worker",
        }, parent);
        new aws.vpc.SecurityGroupIngressRule(`${name}-redis-from-erasure-worker`, {
            securityGroupId: args.redisSecurityGroupId, referencedSecurityGroupId: group.id, ipProtocol: "tcp", fromPort: 6379, toPort: 6379,
            description: "Redis from the erasure worker",
        }, parent);

        const logGroup = encryptedLogGroup(`${name}-erasure-worker-logs`, `/aws/lambda/${functionName}`, args.logsKeyArn, retentionInDays, tags, this);
        const role = new aws.iam.Role(`${name}-erasure-worker-role`, {
            name: functionName,
            description: "Execution role of the erasure worker",
            assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"),
            tags,
        }, parent);
        const policy = pulumi
            .all([args.dbProxyArn, logGroup.arn, dbConnectArn(args.dbProxyArn, args.dbUser), args.userPoolArn, args.privateSubnetIds, group.id])
            .apply(([proxyArn, logGroupArn, connectArn, poolArn, subnetIds, groupId]) => {
                const p = parseDbProxyArn(proxyArn);
                return JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        ...vpcLambdaNetworkStatements(p, subnetIds, groupId),
                        { Sid: "WriteOwnLogGroup", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
                        { Sid: "ConnectThroughProxyAsOwnUser", Effect: "Allow", Action: "rds-db:connect", Resource: connectArn },
                        // Find a user by sub, delete it: nothing else of the pool (no reading attributes, no sign-in).
                        { Sid: "DeleteUsersOfThisPool", Effect: "Allow", Action: ["cognito-idp:ListUsers", "cognito-idp:AdminDeleteUser"], Resource: poolArn },
                        {
                            Sid: "PublishErasureMetrics", Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*",
                            Condition: { StringEquals: { "cloudwatch:namespace": ERASURE_METRIC_NAMESPACE } },
                        },
                    ],
                });
            });
        new aws.iam.RolePolicy(`${name}-erasure-worker-policy`, { role: role.id, policy }, parent);

        const fn = new aws.lambda.Function(`${name}-erasure-worker`, proxyLambdaFunctionArgs(args, {
            functionName,
            description: "Erases deletion requests from Cognito and the cache; reports each step to the database",
            code: args.code,
            roleArn: role.arn,
            dbPort,
            dbUser: args.dbUser,
            environmentKeyArn: args.environmentKeyArn,
            securityGroupId: group.id,
            logGroupName: logGroup.name,
            variables: {
                USER_POOL_ID: args.userPoolId,
                REDIS_HOST: args.redisHost,
                REDIS_AUTH_TOKEN: pulumi.secret(args.redisAuthToken),
                STACK_NAME: args.stack,
            },
            tags,
        }), { parent: this, dependsOn: [logGroup] });

        const rule = new aws.cloudwatch.EventRule(`${name}-erasure-worker`, {
            name: functionName,
            description: "Runs the erasure worker",
            scheduleExpression: args.schedule ?? "rate(1 minute)",
            tags,
        }, parent);
        new aws.cloudwatch.EventTarget(`${name}-erasure-worker`, { rule: rule.name, arn: fn.arn }, parent);
        new aws.lambda.Permission(`${name}-erasure-worker-schedule`, {
            function: fn.name, action: "lambda:InvokeFunction", principal: "events.amazonaws.com", sourceArn: rule.arn,
        }, parent);

        const dimensions = { Stack: args.stack };
        const alarm = (id: string, description: string, metric: Partial<aws.cloudwatch.MetricAlarmArgs>) =>
            new aws.cloudwatch.MetricAlarm(`${name}-${id}`, {
                name: `${args.namePrefix}-${id}`,
                alarmDescription: description,
                comparisonOperator: "GreaterThanThreshold",
                threshold: 0,
                evaluationPeriods: 1,
                period: 300,
                statistic: "Maximum",
                alarmActions: [args.alarmTopicArn],
                okActions: [args.alarmTopicArn],
                tags,
                ...metric,
            }, parent);
        const alarms = [
            alarm("erasure-stuck", "An erasure step keeps failing (see erasure_steps.last_error_code): a deletion request cannot complete", {
                namespace: ERASURE_METRIC_NAMESPACE, metricName: "ErasureStepsStuck", dimensions,
                // The worker publishes every minute: silence means it is not running, which is as bad.
                treatMissingData: "breaching",
            }),
            alarm("deletion-overdue", "A deletion request is past its 1-hour SLA", {
                namespace: ERASURE_METRIC_NAMESPACE, metricName: "DeletionRequestsOverdue", dimensions, treatMissingData: "breaching",
            }),
            alarm("erasure-worker-errors", "The erasure worker failed", {
                namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: fn.name }, statistic: "Sum", treatMissingData: "notBreaching",
            }),
        ];

        this.functionName = fn.name;
        this.securityGroupId = group.id;
        this.alarmNames = alarms.map((a) => a.name);
        this.registerOutputs({ functionName: this.functionName, securityGroupId: this.securityGroupId });
    }
}
