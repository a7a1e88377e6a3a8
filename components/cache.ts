// ElastiCache Redis 7 for sessions and cache: isolated subnets, TLS required (not
// "preferred"), at rest under the customer-managed key, AUTH token kept as a Pulumi secret.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { checkLogRetention, encryptedLogGroup } from "./log-groups";

export interface CacheArgs {
    namePrefix: string;
    nodeType: string;
    /** Replicas beside the primary; with one or more, failover is automatic and Multi-AZ. */
    replicaCount: number;
    snapshotRetentionDays: number;
    vpcId: pulumi.Input<string>;
    dataSubnetIds: pulumi.Input<string>[];
    clientSecurityGroupIds: pulumi.Input<string>[];
    storageKeyArn: pulumi.Input<string>;
    logsKeyArn: pulumi.Input<string>;
    logRetentionDays: number;
    /** An AUTH token from config (a Pulumi secret); generated as a secret when absent. */
    authToken?: pulumi.Input<string>;
    tags?: Record<string, string>;
}

const PORT = 6379;

export class Cache extends pulumi.ComponentResource {
    readonly replicationGroup: aws.elasticache.ReplicationGroup;
    readonly primaryEndpoint: pulumi.Output<string>;
    readonly readerEndpoint: pulumi.Output<string>;
    readonly port = PORT;
    readonly securityGroupId: pulumi.Output<string>;
    /** Member cluster ids, for per-node CloudWatch metrics. */
    readonly memberClusterIds: string[];
    readonly authToken: pulumi.Output<string>;

    constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:data:Cache", name, {}, opts);
        const parent = { parent: this };
        const tags = { ...args.tags, DataClassification: "personal-information" };
        const replicationGroupId = `${args.namePrefix}-redis`;

        const subnetGroup = new aws.elasticache.SubnetGroup(name, { name: `${args.namePrefix}-data`, subnetIds: args.dataSubnetIds, description: "Isolated data tier (no internet route)", tags }, parent);
        const group = new aws.ec2.SecurityGroup(name, { vpcId: args.vpcId, description: "Redis: 6379 from the API tier only", tags: { ...tags, Name: replicationGroupId } }, parent);
        args.clientSecurityGroupIds.forEach(
            (source, i) =>
                new aws.vpc.SecurityGroupIngressRule(`${name}-client-${i + 1}`, { securityGroupId: group.id, referencedSecurityGroupId: source, ipProtocol: "tcp", fromPort: PORT, toPort: PORT, description: "Redis from the API tier" }, parent),
        );

        // AUTH tokens must be 16-128 printable characters without @, ", / or spaces.
        this.authToken = pulumi.secret(
            args.authToken ?? new random.RandomPassword(`${name}-auth`, { length: 64, special: true, overrideSpecial: "!&#$^<>-" }, parent).result,
        );

        const retentionInDays = checkLogRetention(args.logRetentionDays);
        const logGroups = ["slow-log", "engine-log"].map((logType) =>
            encryptedLogGroup(`${name}-${logType}`, `/aws/elasticache/${replicationGroupId}/${logType}`, args.logsKeyArn, retentionInDays, tags, this),
        );

        const failover = args.replicaCount > 0;
        this.replicationGroup = new aws.elasticache.ReplicationGroup(
            name,
            {
                replicationGroupId,
                description: `${args.namePrefix} sessions and cache`,
                engine: "redis",
                engineVersion: "7.1",
                parameterGroupName: "default.redis7",
                nodeType: args.nodeType,
                port: PORT,
                numCacheClusters: 1 + args.replicaCount,
                automaticFailoverEnabled: failover,
                multiAzEnabled: failover,
                subnetGroupName: subnetGroup.name,
                securityGroupIds: [group.id],
                atRestEncryptionEnabled: true,
                kmsKeyId: args.storageKeyArn,
                transitEncryptionEnabled: true,
                transitEncryptionMode: "required",
                authToken: this.authToken,
                authTokenUpdateStrategy: "ROTATE",
                snapshotRetentionLimit: args.snapshotRetentionDays,
                snapshotWindow: "17:00-18:00",
                maintenanceWindow: "sat:20:30-sat:21:30",
                autoMinorVersionUpgrade: true,
                applyImmediately: false,
                logDeliveryConfigurations: logGroups.map((logGroup, i) => ({
                    destination: logGroup.name,
                    destinationType: "cloudwatch-logs",
                    logFormat: "json",
                    logType: i === 0 ? "slow-log" : "engine-log",
                })),
                tags,
            },
            parent,
        );

        this.primaryEndpoint = this.replicationGroup.primaryEndpointAddress;
        this.readerEndpoint = this.replicationGroup.readerEndpointAddress;
        this.securityGroupId = group.id;
        this.memberClusterIds = Array.from({ length: 1 + args.replicaCount }, (_, i) => `${replicationGroupId}-00${i + 1}`);
        this.registerOutputs({ primaryEndpoint: this.primaryEndpoint, readerEndpoint: this.readerEndpoint, securityGroupId: this.securityGroupId });
    }
}
