// PostgreSQL 16 for personal data: isolated subnets, customer-managed keys everywhere
// (storage, master secret, Performance Insights, logs), TLS 1.3 forced by the parameter
// group, pgaudit on, 14-day backups, and an RDS Proxy (TLS + IAM auth) for the app tier.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseConfig } from "./config";
import { rdsDbUserArn, serviceTrustPolicy } from "./iam";
import { checkLogRetention, encryptedLogGroup } from "./log-groups";

/** The validated database settings (components/config.ts) plus where the database sits. */
export interface DatabaseArgs extends DatabaseConfig {
    namePrefix: string;
    deletionProtection: boolean;
    vpcId: pulumi.Input<string>;
    /** Isolated data-tier subnets: the DB subnet group. */
    dataSubnetIds: pulumi.Input<string>[];
    /** App-tier subnets: where the RDS Proxy listens. */
    proxySubnetIds: pulumi.Input<string>[];
    /**
     * Groups admitted to the database and the proxy on 5432 (the API tier). App-tier components
     * (Identity, MigrationRunner) admit their own groups to the proxy only (`proxySecurityGroupId`).
     */
    clientSecurityGroupIds: pulumi.Input<string>[];
    /** Database users that log in with IAM tokens through the proxy (each needs `GRANT rds_iam`). */
    iamDatabaseUsers: string[];
    storageKeyArn: pulumi.Input<string>;
    logsKeyArn: pulumi.Input<string>;
    logRetentionDays: number;
    tags?: Record<string, string>;
}

const PORT = 5432;
/** 03:00-04:00 JST, as in the spec; maintenance an hour later on Sunday. */
const BACKUP_WINDOW = "18:00-19:00";
const MAINTENANCE_WINDOW = "sat:19:30-sat:20:30";

export class Database extends pulumi.ComponentResource {
    /** The RDS instance, or the Aurora cluster when engine = aurora-postgresql. */
    readonly instance?: aws.rds.Instance;
    readonly cluster?: aws.rds.Cluster;
    readonly proxy: aws.rds.Proxy;
    readonly endpoint: pulumi.Output<string>;
    readonly port = PORT;
    readonly proxyEndpoint: pulumi.Output<string>;
    readonly proxyArn: pulumi.Output<string>;
    /** `prx-...`: the resource id `rds-db:connect` is granted on. */
    readonly proxyResourceId: pulumi.Output<string>;
    readonly masterSecretArn: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;
    readonly proxySecurityGroupId: pulumi.Output<string>;
    /** The isolated data tier's DB subnet group (the restore drill restores its copies into it). */
    readonly subnetGroupName: pulumi.Output<string>;
    /** Parameter group of the RDS instance (TLS forced, pgaudit; absent for Aurora): restored drill copies use it too. */
    readonly parameterGroupName?: pulumi.Output<string>;
    /** Identifier CloudWatch metrics use (DBInstanceIdentifier or DBClusterIdentifier). */
    readonly metricsDimension: { name: "DBInstanceIdentifier" | "DBClusterIdentifier"; value: pulumi.Output<string> };
    readonly dbName: string;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:data:Database", name, {}, opts);
        const parent = { parent: this };
        const tags = { ...args.tags, DataClassification: "personal-information" };
        const identifier = `${args.namePrefix}-postgres`;
        const isAurora = args.engine === "aurora-postgresql";
        this.dbName = args.dbName;

        const subnetGroup = new aws.rds.SubnetGroup(name, { name: `${args.namePrefix}-data`, subnetIds: args.dataSubnetIds, description: "Isolated data tier (no internet route)", tags }, parent);
        this.subnetGroupName = subnetGroup.name;

        // Security groups: the database admits the API tier and the proxy; the proxy admits app workloads.
        const dbGroup = new aws.ec2.SecurityGroup(`${name}-db`, { vpcId: args.vpcId, description: "PostgreSQL: 5432 from the API tier and the RDS Proxy only", tags: { ...tags, Name: `${args.namePrefix}-postgres` } }, parent);
        const proxyGroup = new aws.ec2.SecurityGroup(`${name}-proxy`, { vpcId: args.vpcId, description: "RDS Proxy: 5432 from app-tier workloads", tags: { ...tags, Name: `${args.namePrefix}-postgres-proxy` } }, parent);
        const admit = (ruleName: string, groupId: pulumi.Input<string>, sourceId: pulumi.Input<string>, description: string) =>
            new aws.vpc.SecurityGroupIngressRule(ruleName, { securityGroupId: groupId, referencedSecurityGroupId: sourceId, ipProtocol: "tcp", fromPort: PORT, toPort: PORT, description }, parent);
        args.clientSecurityGroupIds.forEach((source, i) => admit(`${name}-db-client-${i + 1}`, dbGroup.id, source, "PostgreSQL from the API tier"));
        admit(`${name}-db-from-proxy`, dbGroup.id, proxyGroup.id, "PostgreSQL from the RDS Proxy");
        args.clientSecurityGroupIds.forEach((source, i) => admit(`${name}-proxy-client-${i + 1}`, proxyGroup.id, source, "PostgreSQL via the proxy"));
        new aws.vpc.SecurityGroupEgressRule(`${name}-proxy-to-db`, { securityGroupId: proxyGroup.id, referencedSecurityGroupId: dbGroup.id, ipProtocol: "tcp", fromPort: PORT, toPort: PORT, description: "Proxy to PostgreSQL" }, parent);

        // TLS 1.3 forced, pgaudit loaded and logging; JIT off (OLTP queries don't benefit).
        const tlsAndAudit = [
            { name: "rds.force_ssl", value: "1" },
            { name: "ssl_min_protocol_version", value: args.minTlsVersion },
            { name: "shared_preload_libraries", value: "pg_stat_statements,pgaudit", applyMethod: "pending-reboot" },
            { name: "pgaudit.log", value: "ddl,role,write" },
            { name: "pgaudit.log_parameter", value: "0" },
            // No value a user typed in the server log: bind parameters are never logged (statement, slow-statement
            // and error lines alike), errors are logged without the statement and without DETAIL (a unique
            // violation's DETAIL holds the duplicate value, e.g. an e-mail address).
            { name: "log_parameter_max_length", value: "0" },
            { name: "log_parameter_max_length_on_error", value: "0" },
            { name: "log_statement", value: "none" },
            { name: "log_min_duration_statement", value: "1000" },
            { name: "log_min_error_statement", value: "panic" },
            { name: "log_error_verbosity", value: "terse" },
            { name: "log_connections", value: "1" },
            { name: "log_disconnections", value: "1" },
            { name: "jit", value: "0" },
        ];
        const family = isAurora ? "aurora-postgresql16" : "postgres16";

        // Pre-create the log groups RDS exports to, so they are KMS-encrypted and kept for the
        // audit period (RDS would otherwise create them with no key and no expiry).
        const retentionInDays = checkLogRetention(args.logRetentionDays);
        const exports = isAurora ? ["postgresql"] : ["postgresql", "upgrade"];
        const logGroups = exports.map((log) =>
            encryptedLogGroup(`${name}-${log}`, `/aws/rds/${isAurora ? "cluster" : "instance"}/${identifier}/${log}`, args.logsKeyArn, retentionInDays, tags, this),
        );
        const proxyName = `${args.namePrefix}-postgres-proxy`;
        const proxyLogGroup = encryptedLogGroup(`${name}-proxy`, `/aws/rds/proxy/${proxyName}`, args.logsKeyArn, retentionInDays, tags, this);

        let masterSecrets: pulumi.Output<aws.types.output.rds.InstanceMasterUserSecret[] | aws.types.output.rds.ClusterMasterUserSecret[]>;
        if (isAurora) {
            const clusterParams = new aws.rds.ClusterParameterGroup(name, { family, description: "Aurora PostgreSQL 16: TLS 1.3 forced, pgaudit", parameters: tlsAndAudit, tags }, parent);
            const instanceParams = new aws.rds.ParameterGroup(name, { family, description: "Aurora PostgreSQL 16 instances", parameters: [{ name: "log_min_duration_statement", value: "1000" }, { name: "log_parameter_max_length", value: "0" }], tags }, parent);
            this.cluster = new aws.rds.Cluster(
                name,
                {
                    clusterIdentifier: identifier,
                    engine: "aurora-postgresql",
                    engineVersion: args.engineVersion,
                    databaseName: args.dbName,
                    masterUsername: args.masterUsername,
                    manageMasterUserPassword: true,
                    masterUserSecretKmsKeyId: args.storageKeyArn,
                    storageEncrypted: true,
                    kmsKeyId: args.storageKeyArn,
                    dbSubnetGroupName: subnetGroup.name,
                    vpcSecurityGroupIds: [dbGroup.id],
                    dbClusterParameterGroupName: clusterParams.name,
                    backupRetentionPeriod: args.backupRetentionDays,
                    preferredBackupWindow: BACKUP_WINDOW,
                    preferredMaintenanceWindow: MAINTENANCE_WINDOW,
                    iamDatabaseAuthenticationEnabled: true,
                    enabledCloudwatchLogsExports: exports,
                    deletionProtection: args.deletionProtection,
                    copyTagsToSnapshot: true,
                    skipFinalSnapshot: false,
                    finalSnapshotIdentifier: `${identifier}-final`,
                    tags,
                },
                { parent: this, dependsOn: logGroups },
            );
            for (let i = 0; i < args.auroraInstanceCount; i++) {
                new aws.rds.ClusterInstance(
                    `${name}-${i + 1}`,
                    {
                        identifier: `${identifier}-${i + 1}`,
                        clusterIdentifier: this.cluster.id,
                        engine: "aurora-postgresql",
                        engineVersion: args.engineVersion,
                        instanceClass: args.instanceClass,
                        dbParameterGroupName: instanceParams.name,
                        dbSubnetGroupName: subnetGroup.name,
                        publiclyAccessible: false,
                        performanceInsightsEnabled: true,
                        performanceInsightsKmsKeyId: args.storageKeyArn,
                        autoMinorVersionUpgrade: true,
                        caCertIdentifier: "rds-ca-rsa2048-g1",
                        tags,
                    },
                    parent,
                );
            }
            masterSecrets = this.cluster.masterUserSecrets;
            this.endpoint = this.cluster.endpoint;
            this.metricsDimension = { name: "DBClusterIdentifier", value: this.cluster.clusterIdentifier };
        } else {
            const params = new aws.rds.ParameterGroup(name, { family, description: "PostgreSQL 16: TLS 1.3 forced, pgaudit", parameters: tlsAndAudit, tags }, parent);
            this.parameterGroupName = params.name;
            this.instance = new aws.rds.Instance(
                name,
                {
                    identifier,
                    engine: "postgres",
                    engineVersion: args.engineVersion,
                    instanceClass: args.instanceClass,
                    dbName: args.dbName,
                    username: args.masterUsername,
                    manageMasterUserPassword: true,
                    masterUserSecretKmsKeyId: args.storageKeyArn,
                    allocatedStorage: args.allocatedStorageGb,
                    maxAllocatedStorage: args.maxAllocatedStorageGb,
                    storageType: "gp3",
                    storageEncrypted: true,
                    kmsKeyId: args.storageKeyArn,
                    multiAz: args.multiAz,
                    dbSubnetGroupName: subnetGroup.name,
                    vpcSecurityGroupIds: [dbGroup.id],
                    publiclyAccessible: false,
                    parameterGroupName: params.name,
                    backupRetentionPeriod: args.backupRetentionDays,
                    backupWindow: BACKUP_WINDOW,
                    maintenanceWindow: MAINTENANCE_WINDOW,
                    iamDatabaseAuthenticationEnabled: true,
                    performanceInsightsEnabled: true,
                    performanceInsightsKmsKeyId: args.storageKeyArn,
                    performanceInsightsRetentionPeriod: 7,
                    enabledCloudwatchLogsExports: exports,
                    deletionProtection: args.deletionProtection,
                    caCertIdentifier: "rds-ca-rsa2048-g1",
                    autoMinorVersionUpgrade: true,
                    copyTagsToSnapshot: true,
                    skipFinalSnapshot: false,
                    finalSnapshotIdentifier: `${identifier}-final`,
                    tags,
                },
                { parent: this, dependsOn: logGroups },
            );
            masterSecrets = this.instance.masterUserSecrets;
            this.endpoint = this.instance.address;
            this.metricsDimension = { name: "DBInstanceIdentifier", value: this.instance.identifier };
        }
        this.masterSecretArn = masterSecrets.apply((secrets) => secrets?.[0]?.secretArn ?? "");

        // End-to-end IAM authentication: clients present IAM tokens over TLS and the proxy
        // connects to PostgreSQL as the same user with its own IAM identity, so no password
        // sits behind the proxy and each application user stays distinct in pgaudit.
        const proxyRole = new aws.iam.Role(
            `${name}-proxy`,
            {
                name: `${args.namePrefix}-postgres-proxy`,
                assumeRolePolicy: serviceTrustPolicy("rds.amazonaws.com"),
                tags,
            },
            parent,
        );
        const dbResourceId = this.cluster ? this.cluster.clusterResourceId : this.instance!.resourceId;
        const dbArn = this.cluster ? this.cluster.arn : this.instance!.arn;
        new aws.iam.RolePolicy(
            `${name}-proxy`,
            {
                role: proxyRole.id,
                policy: pulumi.all([dbResourceId, dbArn]).apply(([resourceId, arn]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Sid: "ConnectAsApplicationUsers",
                                Effect: "Allow",
                                Action: "rds-db:connect",
                                Resource: args.iamDatabaseUsers.map((user) => rdsDbUserArn(arn, resourceId, user)),
                            },
                        ],
                    }),
                ),
            },
            parent,
        );
        this.proxy = new aws.rds.Proxy(
            name,
            {
                name: proxyName,
                engineFamily: "POSTGRESQL",
                requireTls: true,
                defaultAuthScheme: "IAM_AUTH",
                roleArn: proxyRole.arn,
                vpcSubnetIds: args.proxySubnetIds,
                vpcSecurityGroupIds: [proxyGroup.id],
                idleClientTimeout: 1800,
                debugLogging: false, // debug logging would write SQL text, and so PII, to the logs
                tags,
            },
            { parent: this, dependsOn: [proxyLogGroup] },
        );
        const targetGroup = new aws.rds.ProxyDefaultTargetGroup(name, { dbProxyName: this.proxy.name, connectionPoolConfig: { maxConnectionsPercent: 90, maxIdleConnectionsPercent: 50 } }, parent);
        new aws.rds.ProxyTarget(
            name,
            {
                dbProxyName: this.proxy.name,
                targetGroupName: targetGroup.name,
                ...(this.cluster ? { dbClusterIdentifier: this.cluster.clusterIdentifier } : { dbInstanceIdentifier: this.instance!.identifier }),
            },
            parent,
        );

        this.proxyEndpoint = this.proxy.endpoint;
        this.proxyArn = this.proxy.arn;
        this.proxyResourceId = this.proxy.arn.apply((arn) => arn.split(":").pop() ?? "");
        this.securityGroupId = dbGroup.id;
        this.proxySecurityGroupId = proxyGroup.id;
        this.registerOutputs({
            endpoint: this.endpoint,
            proxyEndpoint: this.proxyEndpoint,
            proxyArn: this.proxyArn,
            masterSecretArn: this.masterSecretArn,
            securityGroupId: this.securityGroupId,
            proxySecurityGroupId: this.proxySecurityGroupId,
        });
    }
}
