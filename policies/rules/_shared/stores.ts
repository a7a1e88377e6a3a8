// The catalogue of AWS resource types that may hold personal data at rest, as data:
// for each type token, how it declares its KMS key, how it keeps backups, where it is
// placed on the network, and (for the `flows` rules) how its endpoint forces TLS.
//
// Three general rules read it (store-encrypted-cmk, store-backups, store-private), so a
// new store type is one entry here, not a new rule. Every property path below is read
// from @pulumi/aws 7's `.d.ts` (the resource's `<Name>State` interface and, for nested
// blocks, `types/input.d.ts`); test/policies/rules/stores-catalogue.test.ts checks each
// top-level name against those files, so a misspelling cannot silently read `undefined`.
//
// Path syntax: dotted property names; `[]` after a name means "every element of this
// list" (a single object where a list is expected counts as a one-element list, as some
// state files hold). Paths are parsed once, when this module loads.

/** A condition on the resource's own props; `equals` compares after "true"/"false" strings become booleans. */
export interface When {
    path: string;
    /** The value at `path` is one of these (unset counts as `awsDefault`). */
    equals?: readonly (string | boolean | number)[];
    /** The value at `path` is a non-empty object or list. */
    nonEmpty?: true;
    /** What AWS assumes when `path` is unset. */
    awsDefault?: string | boolean | number;
}

/** A setting next to a key (same object) that must hold for the key to be used at all, e.g. sseAlgorithm aws:kms. */
export interface KeyMode {
    /** Path relative to the object that holds the key (for a top-level key: the resource). */
    path: string;
    oneOf: readonly (string | boolean)[];
    /** What AWS assumes when unset. */
    awsDefault?: string | boolean;
}

export interface KeyLocation {
    /** Where the key id / ARN / alias is written. */
    path: string;
    /** The list on the way may be empty (e.g. ebsBlockDevices): no element, nothing to encrypt. Otherwise at least one is needed. */
    optional?: true;
    /** Settings beside the key that decide whether it is used. */
    modes?: readonly KeyMode[];
    /** The value at `path` is a JSON document (string); the key is its field of this name (OpenSearch Serverless policies). */
    jsonField?: string;
    /** For a JSON document: this field true means the AWS-owned key. */
    jsonAwsOwnedFlag?: string;
    /** Unset settings fall back to the account's defaults (EBS: aws.ebs.EncryptionByDefault and aws.ebs.DefaultKmsKey in the region). */
    accountDefault?: "ebs";
}

/** Another resource decides this aspect: the one this resource names in `refProp` (a cluster instance's cluster). */
export interface Delegate {
    refProp: string;
    types: readonly string[];
    /** Match the referenced resource by its name property (`name`) instead of any handle. */
    byProp?: string;
}

export interface EncryptionSpec {
    /** Every location must name a provable customer-managed key (all of them: Glue's S3, CloudWatch and bookmark keys). */
    keys?: readonly KeyLocation[];
    /** Keys declared on separate resources that point at this one (S3 server-side encryption configurations). */
    declaredBy?: readonly { type: string; refProp: string; keys: readonly KeyLocation[] }[];
    /** The service can only use the account's default key for this kind of resource (launch configurations: the EBS default key). */
    accountDefault?: "ebs";
    delegate?: Delegate;
    /** The service cannot use a customer-managed key at all: why, and what to use instead. */
    noCustomerKey?: string;
    /** What the service uses when no key is named (for the message). */
    defaultKey: string;
    when?: When;
}

export type BackupMethod =
    /** A retention property in days, at least the configured minimum (minBackupRetentionDays). */
    | { kind: "retention"; path: string; awsDefault: number }
    /** Continuous backups (DynamoDB PITR): a flag, and its recovery period (days) when the service has one. */
    | { kind: "pitr"; enabled: string; period?: string; periodDefault?: number }
    /** An aws:backup/selection in the stack names the resource (by ARN, or by `*`), or selects it by tag. */
    | { kind: "backup-plan" }
    /** A separate resource in the stack turns backups on for it (aws:efs/backupPolicy status ENABLED). */
    | { kind: "policy-resource"; type: string; refProp: string; flag: string; onValue: string }
    /** AWS keeps automated backups that cannot be turned off (OpenSearch: hourly snapshots kept 14 days). */
    | { kind: "built-in"; note: string };

export interface BackupSpec {
    /** Any one method that holds is enough. */
    anyOf?: readonly BackupMethod[];
    delegate?: Delegate;
    when?: When;
}

export interface NetworkSpec {
    /** Subnet group name property: unset means the default subnet group, i.e. the default VPC, which is not private. */
    subnetGroup?: { path: string; type: string };
    /** Subnet id list (vpc config): unset means the default VPC (or a public endpoint), which is not private. */
    subnets?: { path: string; /** What unset means, for the message. */ unsetMeans: string };
    /** Flags that make the store reachable from the internet when they hold. */
    publicFlags?: readonly { path: string; publicWhen: readonly (string | boolean)[]; awsDefault?: string | boolean; jsonField?: string; when?: When }[];
    delegate?: Delegate;
    when?: When;
}

/**
 * Transit TLS as the store's endpoint declares it. Owned by the `flows` rules: they may
 * fill this in; the stores rules do not read it.
 */
export interface TlsSpec {
    /** Flags that must hold for the endpoint to require TLS. */
    required?: readonly { path: string; oneOf: readonly (string | boolean)[]; awsDefault?: string | boolean }[];
    /** Property naming the minimum TLS version or policy. */
    minimumVersion?: string;
    /** TLS is set in a parameter group the store names. */
    parameterGroup?: { path: string; type: string; parameter: string; requiredValue: string };
    note?: string;
}

/** Where a store listens (read by security-group-no-public-data-port through _shared/ports.ts). */
export interface EndpointSpec {
    /** Property holding the configured port. */
    port?: string;
    /** Security group id list (dotted path). */
    securityGroups: string;
    /** Default ports by engine (matched on the value of `engine`, prefix match: "oracle-ee" -> "oracle"). */
    engine?: { path: string; defaults: Readonly<Record<string, readonly number[]>>; fallback?: readonly number[] };
    /** Default ports when there is no engine property. */
    defaults?: readonly number[];
}

export interface StoreEntry {
    type: string;
    /** What a reviewer calls it, for messages. */
    what: string;
    /** Where it listens, for the data-port rule (_shared/ports.ts). */
    endpoint?: EndpointSpec;
    encryption?: EncryptionSpec;
    backups?: BackupSpec;
    network?: NetworkSpec;
    tls?: TlsSpec;
}

/** Tag that declares a store holds no personal data; anything else (or no tag) means it may. */
export const PERSONAL_DATA_TAG = "appi:personal-data";
export const NO_PERSONAL_DATA = "none";

const RDS_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup";
const DOCDB_SUBNET_GROUP = "aws:docdb/subnetGroup:SubnetGroup";
const NEPTUNE_SUBNET_GROUP = "aws:neptune/subnetGroup:SubnetGroup";
const REDSHIFT_SUBNET_GROUP = "aws:redshift/subnetGroup:SubnetGroup";
const CACHE_SUBNET_GROUP = "aws:elasticache/subnetGroup:SubnetGroup";
const MEMORYDB_SUBNET_GROUP = "aws:memorydb/subnetGroup:SubnetGroup";

// Default ports by engine, for the endpoints below.
const RDS_ENGINES = { postgres: [5432], "aurora-postgresql": [5432], mysql: [3306], mariadb: [3306], "aurora-mysql": [3306], aurora: [3306], oracle: [1521], sqlserver: [1433], "custom-oracle": [1521], "custom-sqlserver": [1433], db2: [50000] };
const CACHE_ENGINES = { redis: [6379], valkey: [6379], memcached: [11211] };

const BACKUP_PLAN: BackupMethod = { kind: "backup-plan" };
const retention = (path: string, awsDefault: number): BackupMethod => ({ kind: "retention", path, awsDefault });
const key = (path: string, extra: Omit<KeyLocation, "path"> = {}): KeyLocation => ({ path, ...extra });
const STORAGE_ENCRYPTED: KeyMode = { path: "storageEncrypted", oneOf: [true], awsDefault: false };
const publicFlag = (path: string, awsDefault = false) => ({ path, publicWhen: [true] as const, awsDefault });

// Block devices of instances and launch templates: `kmsKeyId` beside `encrypted` (InstanceRootBlockDevice,
// InstanceEbsBlockDevice, LaunchTemplateBlockDeviceMappingEbs in types/input.d.ts).
const ENCRYPTED_DEVICE: KeyMode = { path: "encrypted", oneOf: [true, "true"], awsDefault: false };

const ENTRIES: readonly StoreEntry[] = [
    // ---- Relational and document databases -------------------------------------------
    {
        type: "aws:rds/instance:Instance",
        what: "RDS instance",
        endpoint: { port: "port", securityGroups: "vpcSecurityGroupIds", engine: { path: "engine", defaults: RDS_ENGINES } },
        // storageEncrypted unset is false; kmsKeyId unset with encryption on is alias/aws/rds.
        encryption: { keys: [key("kmsKeyId", { modes: [STORAGE_ENCRYPTED] })], defaultKey: "alias/aws/rds" },
        // backupRetentionPeriod unset is 1 day (RDS.11).
        backups: { anyOf: [retention("backupRetentionPeriod", 1), BACKUP_PLAN] },
        network: { subnetGroup: { path: "dbSubnetGroupName", type: RDS_SUBNET_GROUP }, publicFlags: [publicFlag("publiclyAccessible")] },
        tls: { parameterGroup: { path: "parameterGroupName", type: "aws:rds/parameterGroup:ParameterGroup", parameter: "rds.force_ssl", requiredValue: "1" } },
    },
    {
        type: "aws:rds/cluster:Cluster",
        what: "Aurora / RDS cluster",
        endpoint: { port: "port", securityGroups: "vpcSecurityGroupIds", engine: { path: "engine", defaults: RDS_ENGINES, fallback: [3306] } },
        encryption: { keys: [key("kmsKeyId", { modes: [STORAGE_ENCRYPTED] })], defaultKey: "alias/aws/rds" },
        backups: { anyOf: [retention("backupRetentionPeriod", 1), BACKUP_PLAN] },
        network: { subnetGroup: { path: "dbSubnetGroupName", type: RDS_SUBNET_GROUP } },
        tls: { parameterGroup: { path: "dbClusterParameterGroupName", type: "aws:rds/clusterParameterGroup:ClusterParameterGroup", parameter: "rds.force_ssl", requiredValue: "1" } },
    },
    {
        // ClusterInstanceArgs has no storage key: the cluster's storage is the instance's (kmsKeyId is output-only).
        type: "aws:rds/clusterInstance:ClusterInstance",
        what: "Aurora cluster instance",
        encryption: { delegate: { refProp: "clusterIdentifier", types: ["aws:rds/cluster:Cluster"] }, defaultKey: "the cluster's key" },
        backups: { delegate: { refProp: "clusterIdentifier", types: ["aws:rds/cluster:Cluster"] } },
        network: { publicFlags: [publicFlag("publiclyAccessible")], delegate: { refProp: "clusterIdentifier", types: ["aws:rds/cluster:Cluster"] } },
    },
    {
        type: "aws:docdb/cluster:Cluster",
        what: "DocumentDB cluster",
        endpoint: { port: "port", securityGroups: "vpcSecurityGroupIds", defaults: [27017] },
        encryption: { keys: [key("kmsKeyId", { modes: [STORAGE_ENCRYPTED] })], defaultKey: "alias/aws/rds" },
        backups: { anyOf: [retention("backupRetentionPeriod", 1), BACKUP_PLAN] },
        network: { subnetGroup: { path: "dbSubnetGroupName", type: DOCDB_SUBNET_GROUP } },
        tls: { parameterGroup: { path: "dbClusterParameterGroupName", type: "aws:docdb/clusterParameterGroup:ClusterParameterGroup", parameter: "tls", requiredValue: "enabled" } },
    },
    {
        type: "aws:docdb/clusterInstance:ClusterInstance",
        what: "DocumentDB cluster instance",
        encryption: { delegate: { refProp: "clusterIdentifier", types: ["aws:docdb/cluster:Cluster"] }, defaultKey: "the cluster's key" },
        backups: { delegate: { refProp: "clusterIdentifier", types: ["aws:docdb/cluster:Cluster"] } },
        network: { delegate: { refProp: "clusterIdentifier", types: ["aws:docdb/cluster:Cluster"] } },
    },
    {
        // Elastic clusters: kmsKeyId unset is an AWS-owned key; backupRetentionPeriod unset is 1 (elasticCluster.d.ts).
        type: "aws:docdb/elasticCluster:ElasticCluster",
        what: "DocumentDB elastic cluster",
        endpoint: { securityGroups: "vpcSecurityGroupIds", defaults: [27017] },
        encryption: { keys: [key("kmsKeyId")], defaultKey: "an AWS-owned key" },
        backups: { anyOf: [retention("backupRetentionPeriod", 1)] },
        network: { subnets: { path: "subnetIds", unsetMeans: "the default VPC's subnets" } },
    },
    {
        // Neptune names its key kmsKeyArn (not kmsKeyId).
        type: "aws:neptune/cluster:Cluster",
        what: "Neptune cluster",
        endpoint: { port: "port", securityGroups: "vpcSecurityGroupIds", defaults: [8182] },
        encryption: { keys: [key("kmsKeyArn", { modes: [STORAGE_ENCRYPTED] })], defaultKey: "alias/aws/rds" },
        backups: { anyOf: [retention("backupRetentionPeriod", 1), BACKUP_PLAN] },
        network: { subnetGroup: { path: "neptuneSubnetGroupName", type: NEPTUNE_SUBNET_GROUP } },
    },
    {
        type: "aws:neptune/clusterInstance:ClusterInstance",
        what: "Neptune cluster instance",
        encryption: { delegate: { refProp: "clusterIdentifier", types: ["aws:neptune/cluster:Cluster"] }, defaultKey: "the cluster's key" },
        backups: { delegate: { refProp: "clusterIdentifier", types: ["aws:neptune/cluster:Cluster"] } },
        network: { publicFlags: [publicFlag("publiclyAccessible")], delegate: { refProp: "clusterIdentifier", types: ["aws:neptune/cluster:Cluster"] } },
    },
    {
        // In v7 `encrypted` is a string ("true"/"false"), default true; automatedSnapshotRetentionPeriod default 1.
        type: "aws:redshift/cluster:Cluster",
        what: "Redshift cluster",
        endpoint: { port: "port", securityGroups: "vpcSecurityGroupIds", defaults: [5439] },
        encryption: { keys: [key("kmsKeyId", { modes: [{ path: "encrypted", oneOf: [true, "true"], awsDefault: true }] })], defaultKey: "an AWS-owned key" },
        backups: { anyOf: [retention("automatedSnapshotRetentionPeriod", 1), BACKUP_PLAN] },
        network: { subnetGroup: { path: "clusterSubnetGroupName", type: REDSHIFT_SUBNET_GROUP }, publicFlags: [publicFlag("publiclyAccessible")] },
        tls: { parameterGroup: { path: "clusterParameterGroupName", type: "aws:redshift/parameterGroup:ParameterGroup", parameter: "require_ssl", requiredValue: "true" } },
    },
    {
        type: "aws:redshiftserverless/namespace:Namespace",
        what: "Redshift Serverless namespace",
        encryption: { keys: [key("kmsKeyId")], defaultKey: "an AWS-owned key" },
        // Recovery points last 24 hours: only an AWS Backup plan keeps them longer.
        backups: { anyOf: [BACKUP_PLAN] },
    },
    {
        type: "aws:redshiftserverless/workgroup:Workgroup",
        what: "Redshift Serverless workgroup",
        endpoint: { port: "port", securityGroups: "securityGroupIds", defaults: [5439] },
        network: { subnets: { path: "subnetIds", unsetMeans: "the default VPC's subnets" }, publicFlags: [publicFlag("publiclyAccessible")] },
    },
    // ---- Key-value, caches, search ---------------------------------------------------
    {
        // serverSideEncryption.enabled false (or unset) is an AWS-owned key; true without kmsKeyArn is alias/aws/dynamodb.
        type: "aws:dynamodb/table:Table",
        what: "DynamoDB table",
        encryption: { keys: [key("serverSideEncryption.kmsKeyArn", { modes: [{ path: "enabled", oneOf: [true], awsDefault: false }] })], defaultKey: "an AWS-owned key" },
        // TablePointInTimeRecovery: enabled, recoveryPeriodInDays (1-35, default 35).
        backups: { anyOf: [{ kind: "pitr", enabled: "pointInTimeRecovery.enabled", period: "pointInTimeRecovery.recoveryPeriodInDays", periodDefault: 35 }, BACKUP_PLAN] },
    },
    {
        // The legacy (2017) global table has no encryption or backup settings: its tables, of the same name, hold them.
        type: "aws:dynamodb/globalTable:GlobalTable",
        what: "DynamoDB global table (2017)",
        encryption: { delegate: { refProp: "name", types: ["aws:dynamodb/table:Table"], byProp: "name" }, defaultKey: "the tables' keys" },
        backups: { delegate: { refProp: "name", types: ["aws:dynamodb/table:Table"], byProp: "name" } },
    },
    {
        type: "aws:elasticache/replicationGroup:ReplicationGroup",
        what: "ElastiCache replication group",
        endpoint: { port: "port", securityGroups: "securityGroupIds", engine: { path: "engine", defaults: CACHE_ENGINES, fallback: [6379] } },
        encryption: { keys: [key("kmsKeyId", { modes: [{ path: "atRestEncryptionEnabled", oneOf: [true, "true"], awsDefault: false }] })], defaultKey: "an AWS-owned key" },
        // snapshotRetentionLimit unset is 0 (no snapshots); memcached has no snapshots and no replication groups.
        backups: { anyOf: [retention("snapshotRetentionLimit", 0), BACKUP_PLAN] },
        network: { subnetGroup: { path: "subnetGroupName", type: CACHE_SUBNET_GROUP } },
        tls: { required: [{ path: "transitEncryptionEnabled", oneOf: [true], awsDefault: false }, { path: "transitEncryptionMode", oneOf: ["required"], awsDefault: "required" }] },
    },
    {
        // ClusterArgs has no at-rest encryption: a member of a replication group is its group's; a standalone cluster cannot use a key.
        type: "aws:elasticache/cluster:Cluster",
        what: "ElastiCache cluster",
        endpoint: { port: "port", securityGroups: "securityGroupIds", engine: { path: "engine", defaults: CACHE_ENGINES } },
        encryption: {
            delegate: { refProp: "replicationGroupId", types: ["aws:elasticache/replicationGroup:ReplicationGroup"] },
            noCustomerKey: "a standalone ElastiCache cluster cannot be encrypted at rest with a KMS key; create an aws.elasticache.ReplicationGroup instead",
            defaultKey: "no at-rest encryption",
        },
        backups: {
            delegate: { refProp: "replicationGroupId", types: ["aws:elasticache/replicationGroup:ReplicationGroup"] },
            anyOf: [retention("snapshotRetentionLimit", 0)],
            when: { path: "engine", equals: ["redis", "valkey"] },
        },
        network: { subnetGroup: { path: "subnetGroupName", type: CACHE_SUBNET_GROUP }, delegate: { refProp: "replicationGroupId", types: ["aws:elasticache/replicationGroup:ReplicationGroup"] } },
        tls: { required: [{ path: "transitEncryptionEnabled", oneOf: [true], awsDefault: false }] },
    },
    {
        type: "aws:elasticache/serverlessCache:ServerlessCache",
        what: "ElastiCache Serverless cache",
        endpoint: { securityGroups: "securityGroupIds", engine: { path: "engine", defaults: { redis: [6379, 6380], valkey: [6379, 6380], memcached: [11211, 11212] } } },
        encryption: { keys: [key("kmsKeyId")], defaultKey: "an AWS-owned key" },
        backups: { anyOf: [retention("snapshotRetentionLimit", 0)], when: { path: "engine", equals: ["redis", "valkey"] } },
        network: { subnets: { path: "subnetIds", unsetMeans: "the default VPC's subnets" } },
    },
    {
        // MemoryDB names its key kmsKeyArn; snapshotRetentionLimit defaults to 0; tlsEnabled defaults to true.
        type: "aws:memorydb/cluster:Cluster",
        what: "MemoryDB cluster",
        endpoint: { port: "port", securityGroups: "securityGroupIds", defaults: [6379] },
        encryption: { keys: [key("kmsKeyArn")], defaultKey: "an AWS-owned key" },
        backups: { anyOf: [retention("snapshotRetentionLimit", 0), BACKUP_PLAN] },
        network: { subnetGroup: { path: "subnetGroupName", type: MEMORYDB_SUBNET_GROUP } },
        tls: { required: [{ path: "tlsEnabled", oneOf: [true], awsDefault: true }] },
    },
    {
        // DomainEncryptAtRest { enabled, kmsKeyId }; without vpcOptions the domain has a public endpoint.
        type: "aws:opensearch/domain:Domain",
        what: "OpenSearch domain",
        endpoint: { securityGroups: "vpcOptions.securityGroupIds", defaults: [443, 9200] },
        encryption: { keys: [key("encryptAtRest.kmsKeyId", { modes: [{ path: "enabled", oneOf: [true], awsDefault: false }] })], defaultKey: "alias/aws/es" },
        backups: { anyOf: [{ kind: "built-in", note: "OpenSearch Service takes hourly automated snapshots and keeps them 14 days" }] },
        network: { subnets: { path: "vpcOptions.subnetIds", unsetMeans: "a public endpoint (no vpcOptions)" } },
        tls: {
            required: [{ path: "domainEndpointOptions.enforceHttps", oneOf: [true], awsDefault: false }],
            minimumVersion: "domainEndpointOptions.tlsSecurityPolicy",
        },
    },
    {
        // ServerlessSecurityPolicy `policy` is a JSON document: type "encryption" carries KmsARN or AWSOwnedKey: true;
        // type "network" carries AllowFromPublic (a list of rules in the document).
        type: "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy",
        what: "OpenSearch Serverless security policy",
        encryption: {
            keys: [key("policy", { jsonField: "KmsARN", jsonAwsOwnedFlag: "AWSOwnedKey" })],
            defaultKey: "an AWS-owned key",
            when: { path: "type", equals: ["encryption"] },
        },
        network: { publicFlags: [{ path: "policy", jsonField: "AllowFromPublic", publicWhen: [true], when: { path: "type", equals: ["network"] } }] },
    },
    // ---- Object and file storage -------------------------------------------------------
    {
        // v7 Bucket: serverSideEncryptionConfiguration { rule { applyServerSideEncryptionByDefault { sseAlgorithm, kmsMasterKeyId } } },
        // or a separate aws:s3/bucketServerSideEncryptionConfiguration(V2) naming the bucket. Unset is SSE-S3 (AWS-owned).
        type: "aws:s3/bucket:Bucket",
        what: "S3 bucket",
        encryption: {
            keys: [key("serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault.kmsMasterKeyId", { modes: [{ path: "sseAlgorithm", oneOf: ["aws:kms", "aws:kms:dsse"] }] })],
            declaredBy: [
                { type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", refProp: "bucket", keys: [key("rules[].applyServerSideEncryptionByDefault.kmsMasterKeyId", { modes: [{ path: "sseAlgorithm", oneOf: ["aws:kms", "aws:kms:dsse"] }] })] },
                { type: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", refProp: "bucket", keys: [key("rules[].applyServerSideEncryptionByDefault.kmsMasterKeyId", { modes: [{ path: "sseAlgorithm", oneOf: ["aws:kms", "aws:kms:dsse"] }] })] },
            ],
            defaultKey: "SSE-S3 (an AWS-owned key)",
        },
        backups: { anyOf: [BACKUP_PLAN] },
    },
    {
        // v7 BucketV2 is list-shaped: serverSideEncryptionConfigurations[].rules[].applyServerSideEncryptionByDefaults[].
        type: "aws:s3/bucketV2:BucketV2",
        what: "S3 bucket",
        encryption: {
            keys: [key("serverSideEncryptionConfigurations[].rules[].applyServerSideEncryptionByDefaults[].kmsMasterKeyId", { modes: [{ path: "sseAlgorithm", oneOf: ["aws:kms", "aws:kms:dsse"] }] })],
            declaredBy: [
                { type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", refProp: "bucket", keys: [key("rules[].applyServerSideEncryptionByDefault.kmsMasterKeyId", { modes: [{ path: "sseAlgorithm", oneOf: ["aws:kms", "aws:kms:dsse"] }] })] },
                { type: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", refProp: "bucket", keys: [key("rules[].applyServerSideEncryptionByDefault.kmsMasterKeyId", { modes: [{ path: "sseAlgorithm", oneOf: ["aws:kms", "aws:kms:dsse"] }] })] },
            ],
            defaultKey: "SSE-S3 (an AWS-owned key)",
        },
        backups: { anyOf: [BACKUP_PLAN] },
    },
    {
        // The separate resource is checked itself too, so a weak configuration is reported where it is written.
        type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        what: "S3 server-side encryption configuration",
        encryption: { keys: [key("rules[].applyServerSideEncryptionByDefault.kmsMasterKeyId", { modes: [{ path: "sseAlgorithm", oneOf: ["aws:kms", "aws:kms:dsse"] }] })], defaultKey: "SSE-S3 (an AWS-owned key)" },
    },
    {
        type: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        what: "S3 server-side encryption configuration",
        encryption: { keys: [key("rules[].applyServerSideEncryptionByDefault.kmsMasterKeyId", { modes: [{ path: "sseAlgorithm", oneOf: ["aws:kms", "aws:kms:dsse"] }] })], defaultKey: "SSE-S3 (an AWS-owned key)" },
    },
    {
        type: "aws:efs/fileSystem:FileSystem",
        what: "EFS file system",
        encryption: { keys: [key("kmsKeyId", { modes: [{ path: "encrypted", oneOf: [true], awsDefault: false }] })], defaultKey: "alias/aws/elasticfilesystem" },
        // aws:efs/backupPolicy { fileSystemId, backupPolicy: { status: "ENABLED" } } puts it in AWS Backup's default plan (35 days).
        backups: { anyOf: [{ kind: "policy-resource", type: "aws:efs/backupPolicy:BackupPolicy", refProp: "fileSystemId", flag: "backupPolicy.status", onValue: "ENABLED" }, BACKUP_PLAN] },
    },
    {
        // Lustre: automaticBackupRetentionDays unset is 0 (scratch file systems have no backups).
        type: "aws:fsx/lustreFileSystem:LustreFileSystem",
        what: "FSx for Lustre file system",
        endpoint: { securityGroups: "securityGroupIds", defaults: [988, 1018, 1019, 1020, 1021, 1022, 1023] },
        encryption: { keys: [key("kmsKeyId")], defaultKey: "alias/aws/fsx" },
        backups: { anyOf: [retention("automaticBackupRetentionDays", 0), BACKUP_PLAN] },
        network: { subnets: { path: "subnetIds", unsetMeans: "no subnet" } },
    },
    {
        // Windows: automaticBackupRetentionDays defaults to 7 (windowsFileSystem.d.ts).
        type: "aws:fsx/windowsFileSystem:WindowsFileSystem",
        what: "FSx for Windows File Server file system",
        endpoint: { securityGroups: "securityGroupIds", defaults: [445, 5985] },
        encryption: { keys: [key("kmsKeyId")], defaultKey: "alias/aws/fsx" },
        backups: { anyOf: [retention("automaticBackupRetentionDays", 7), BACKUP_PLAN] },
        network: { subnets: { path: "subnetIds", unsetMeans: "no subnet" } },
    },
    {
        type: "aws:fsx/ontapFileSystem:OntapFileSystem",
        what: "FSx for NetApp ONTAP file system",
        endpoint: { securityGroups: "securityGroupIds", defaults: [111, 135, 139, 445, 635, 2049, 3260, 4045, 4046] },
        encryption: { keys: [key("kmsKeyId")], defaultKey: "alias/aws/fsx" },
        backups: { anyOf: [retention("automaticBackupRetentionDays", 0), BACKUP_PLAN] },
        network: { subnets: { path: "subnetIds", unsetMeans: "no subnet" } },
    },
    {
        type: "aws:fsx/openZfsFileSystem:OpenZfsFileSystem",
        what: "FSx for OpenZFS file system",
        endpoint: { securityGroups: "securityGroupIds", defaults: [111, 2049, 20001, 20002, 20003] },
        encryption: { keys: [key("kmsKeyId")], defaultKey: "alias/aws/fsx" },
        backups: { anyOf: [retention("automaticBackupRetentionDays", 0), BACKUP_PLAN] },
        network: { subnets: { path: "subnetIds", unsetMeans: "no subnet" } },
    },
    // ---- Block storage ---------------------------------------------------------------------
    {
        type: "aws:ebs/volume:Volume",
        what: "EBS volume",
        encryption: { keys: [key("kmsKeyId", { modes: [ENCRYPTED_DEVICE], accountDefault: "ebs" })], defaultKey: "alias/aws/ebs" },
        backups: { anyOf: [BACKUP_PLAN] },
    },
    {
        // An instance's disks: rootBlockDevice (always present) and every ebsBlockDevices[] element.
        type: "aws:ec2/instance:Instance",
        what: "EC2 instance disks",
        encryption: {
            keys: [key("rootBlockDevice.kmsKeyId", { modes: [ENCRYPTED_DEVICE], accountDefault: "ebs" }), key("ebsBlockDevices[].kmsKeyId", { optional: true, modes: [ENCRYPTED_DEVICE], accountDefault: "ebs" })],
            defaultKey: "alias/aws/ebs (or the account's EBS default key)",
        },
    },
    {
        // LaunchTemplateBlockDeviceMapping { ebs: { encrypted, kmsKeyId } }; devices not mapped here come from the AMI.
        type: "aws:ec2/launchTemplate:LaunchTemplate",
        what: "EC2 launch template disks",
        encryption: {
            keys: [key("blockDeviceMappings[].ebs.kmsKeyId", { optional: true, modes: [ENCRYPTED_DEVICE], accountDefault: "ebs" })],
            defaultKey: "alias/aws/ebs (or the account's EBS default key)",
        },
    },
    {
        // LaunchConfigurationRootBlockDevice / EbsBlockDevice have `encrypted` but no kmsKeyId: only the account's EBS default key.
        type: "aws:ec2/launchConfiguration:LaunchConfiguration",
        what: "EC2 launch configuration disks",
        encryption: { accountDefault: "ebs", defaultKey: "alias/aws/ebs" },
    },
    // ---- Backups, streams, messaging ---------------------------------------------------------
    {
        type: "aws:backup/vault:Vault",
        what: "AWS Backup vault",
        encryption: { keys: [key("kmsKeyArn")], defaultKey: "alias/aws/backup" },
    },
    {
        // encryptionType "KMS" with kmsKeyId; "NONE" (the default) is unencrypted.
        type: "aws:kinesis/stream:Stream",
        what: "Kinesis data stream",
        encryption: { keys: [key("kmsKeyId", { modes: [{ path: "encryptionType", oneOf: ["KMS"], awsDefault: "NONE" }] })], defaultKey: "no encryption" },
    },
    {
        // FirehoseDeliveryStreamServerSideEncryption { enabled, keyType: AWS_OWNED_CMK | CUSTOMER_MANAGED_CMK, keyArn }.
        type: "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
        what: "Kinesis Firehose delivery stream",
        encryption: {
            keys: [key("serverSideEncryption.keyArn", { modes: [{ path: "enabled", oneOf: [true], awsDefault: false }, { path: "keyType", oneOf: ["CUSTOMER_MANAGED_CMK"], awsDefault: "AWS_OWNED_CMK" }] })],
            defaultKey: "an AWS-owned key",
        },
    },
    {
        // kmsMasterKeyId unset: SSE-SQS (sqsManagedSseEnabled), an AWS-owned key.
        type: "aws:sqs/queue:Queue",
        what: "SQS queue",
        encryption: { keys: [key("kmsMasterKeyId")], defaultKey: "SSE-SQS (an AWS-owned key)" },
    },
    {
        type: "aws:sns/topic:Topic",
        what: "SNS topic",
        encryption: { keys: [key("kmsMasterKeyId")], defaultKey: "no encryption" },
    },
    {
        type: "aws:secretsmanager/secret:Secret",
        what: "Secrets Manager secret",
        encryption: { keys: [key("kmsKeyId")], defaultKey: "alias/aws/secretsmanager" },
    },
    {
        // Only a SecureString is encrypted; its key is `keyId` (unset: alias/aws/ssm).
        type: "aws:ssm/parameter:Parameter",
        what: "SSM SecureString parameter",
        encryption: { keys: [key("keyId")], defaultKey: "alias/aws/ssm", when: { path: "type", equals: ["SecureString"] } },
    },
    {
        type: "aws:cloudwatch/logGroup:LogGroup",
        what: "CloudWatch log group",
        encryption: { keys: [key("kmsKeyId")], defaultKey: "the CloudWatch Logs service key" },
    },
    {
        // Only a function with environment variables stores anything: kmsKeyArn, else alias/aws/lambda.
        type: "aws:lambda/function:Function",
        what: "Lambda environment",
        encryption: { keys: [key("kmsKeyArn")], defaultKey: "alias/aws/lambda", when: { path: "environment.variables", nonEmpty: true } },
    },
    {
        // encryptionKey: artifacts, cache and logs; unset is alias/aws/s3.
        type: "aws:codebuild/project:Project",
        what: "CodeBuild project",
        encryption: { keys: [key("encryptionKey")], defaultKey: "alias/aws/s3" },
    },
    // ---- Analytics -------------------------------------------------------------------------
    {
        // SecurityConfigurationEncryptionConfiguration: s3Encryption (SSE-KMS), cloudwatchEncryption (SSE-KMS),
        // jobBookmarksEncryption (CSE-KMS), each with kmsKeyArn.
        type: "aws:glue/securityConfiguration:SecurityConfiguration",
        what: "Glue security configuration",
        encryption: {
            keys: [
                key("encryptionConfiguration.s3Encryption.kmsKeyArn", { modes: [{ path: "s3EncryptionMode", oneOf: ["SSE-KMS"], awsDefault: "DISABLED" }] }),
                key("encryptionConfiguration.cloudwatchEncryption.kmsKeyArn", { modes: [{ path: "cloudwatchEncryptionMode", oneOf: ["SSE-KMS"], awsDefault: "DISABLED" }] }),
                key("encryptionConfiguration.jobBookmarksEncryption.kmsKeyArn", { modes: [{ path: "jobBookmarksEncryptionMode", oneOf: ["CSE-KMS"], awsDefault: "DISABLED" }] }),
            ],
            defaultKey: "no encryption",
        },
    },
    {
        // DataCatalogEncryptionSettingsDataCatalogEncryptionSettings: encryptionAtRest { catalogEncryptionMode, sseAwsKmsKeyId },
        // connectionPasswordEncryption { returnConnectionPasswordEncrypted, awsKmsKeyId }.
        type: "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings",
        what: "Glue Data Catalog",
        encryption: {
            keys: [
                key("dataCatalogEncryptionSettings.encryptionAtRest.sseAwsKmsKeyId", { modes: [{ path: "catalogEncryptionMode", oneOf: ["SSE-KMS", "SSE-KMS-WITH-SERVICE-ROLE"], awsDefault: "DISABLED" }] }),
                key("dataCatalogEncryptionSettings.connectionPasswordEncryption.awsKmsKeyId", { modes: [{ path: "returnConnectionPasswordEncrypted", oneOf: [true], awsDefault: false }] }),
            ],
            defaultKey: "no encryption",
        },
    },
    {
        // WorkgroupConfigurationResultConfiguration { outputLocation, encryptionConfiguration { encryptionOption, kmsKeyArn } }.
        type: "aws:athena/workgroup:Workgroup",
        what: "Athena workgroup query results",
        encryption: {
            keys: [key("configuration.resultConfiguration.encryptionConfiguration.kmsKeyArn", { modes: [{ path: "encryptionOption", oneOf: ["SSE_KMS", "CSE_KMS"] }] })],
            defaultKey: "the result bucket's default encryption",
            when: { path: "configuration.resultConfiguration.outputLocation", nonEmpty: true },
        },
    },
    {
        // ClusterEncryptionInfo { encryptionAtRestKmsKeyArn, encryptionInTransit { clientBroker, inCluster } };
        // BrokerNodeGroupInfo { clientSubnets, connectivityInfo { publicAccess { type: DISABLED | SERVICE_PROVIDED_EIPS } } }.
        type: "aws:msk/cluster:Cluster",
        what: "MSK cluster",
        endpoint: { securityGroups: "brokerNodeGroupInfo.securityGroups", defaults: [9092, 9094, 9096, 9098, 2181, 2182] },
        encryption: { keys: [key("encryptionInfo.encryptionAtRestKmsKeyArn")], defaultKey: "alias/aws/kafka" },
        network: {
            subnets: { path: "brokerNodeGroupInfo.clientSubnets", unsetMeans: "no subnet" },
            publicFlags: [{ path: "brokerNodeGroupInfo.connectivityInfo.publicAccess.type", publicWhen: ["SERVICE_PROVIDED_EIPS"], awsDefault: "DISABLED" }],
        },
        tls: { required: [{ path: "encryptionInfo.encryptionInTransit.clientBroker", oneOf: ["TLS"], awsDefault: "TLS" }, { path: "encryptionInfo.encryptionInTransit.inCluster", oneOf: [true], awsDefault: true }] },
    },
    {
        type: "aws:msk/serverlessCluster:ServerlessCluster",
        what: "MSK Serverless cluster",
        encryption: { noCustomerKey: "MSK Serverless encrypts at rest only with an AWS-managed key; use a provisioned aws.msk.Cluster with encryptionAtRestKmsKeyArn", defaultKey: "an AWS-managed key" },
        network: { subnets: { path: "vpcConfigs[].subnetIds", unsetMeans: "no subnet" } },
    },
];

/** One parsed path: names, and after which names a list is walked element by element. */
export interface ParsedPath {
    text: string;
    segments: readonly { name: string; each: boolean }[];
    /** The names alone, for `read` on a path without lists. */
    names: readonly string[];
}

export function parsePath(text: string): ParsedPath {
    const segments = text.split(".").map((part) => {
        const each = part.endsWith("[]");
        const name = each ? part.slice(0, -2) : part;
        if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`stores catalogue: bad path segment "${part}" in "${text}"`);
        return { name, each };
    });
    return { text, segments, names: segments.map((s) => s.name) };
}

const parsed = new Map<string, ParsedPath>();

/** The parsed form of a catalogue path; every catalogue path is parsed when the module loads. */
export function pathOf(text: string): ParsedPath {
    let found = parsed.get(text);
    if (!found) parsed.set(text, (found = parsePath(text)));
    return found;
}

function allPaths(entry: StoreEntry): string[] {
    const paths: string[] = [];
    const when = (w?: When) => w && paths.push(w.path);
    const keys = (list?: readonly KeyLocation[]) => list?.forEach((k) => (paths.push(k.path), k.modes?.forEach((m) => paths.push(m.path))));
    const { encryption: e, backups: b, network: n, endpoint: p } = entry;
    if (p) paths.push(...[p.port, p.securityGroups, p.engine?.path].filter((x): x is string => x !== undefined));
    if (e) {
        keys(e.keys);
        e.declaredBy?.forEach((d) => (paths.push(d.refProp), keys(d.keys)));
        when(e.when);
        if (e.delegate) paths.push(e.delegate.refProp);
    }
    if (b) {
        for (const m of b.anyOf ?? []) {
            if (m.kind === "retention") paths.push(m.path);
            if (m.kind === "pitr") paths.push(m.enabled, ...(m.period ? [m.period] : []));
            if (m.kind === "policy-resource") paths.push(m.refProp, m.flag);
        }
        when(b.when);
        if (b.delegate) paths.push(b.delegate.refProp);
    }
    if (n) {
        if (n.subnetGroup) paths.push(n.subnetGroup.path);
        if (n.subnets) paths.push(n.subnets.path);
        n.publicFlags?.forEach((f) => (paths.push(f.path), when(f.when)));
        when(n.when);
        if (n.delegate) paths.push(n.delegate.refProp);
    }
    return paths;
}

function indexEntries(entries: readonly StoreEntry[]): ReadonlyMap<string, StoreEntry> {
    const index = new Map<string, StoreEntry>();
    for (const entry of entries) {
        if (index.has(entry.type)) throw new Error(`stores catalogue: ${entry.type} is listed twice`);
        allPaths(entry).forEach(pathOf);
        index.set(entry.type, Object.freeze(entry));
    }
    return index;
}

/** Type token -> entry, built once. */
export const STORES: ReadonlyMap<string, StoreEntry> = indexEntries(ENTRIES);

/** The entry for a type token, or undefined when the type holds no data at rest the pack knows of. O(1). */
export function storeOf(type: string): StoreEntry | undefined {
    return STORES.get(type);
}

/** Type tokens of the stores with a given aspect, for a rule's `resourceTypes`. */
export function storeTypesWith(aspect: "encryption" | "backups" | "network" | "tls"): readonly string[] {
    return ENTRIES.filter((e) => e[aspect] !== undefined).map((e) => e.type);
}

export const STORE_ENTRIES = ENTRIES;
