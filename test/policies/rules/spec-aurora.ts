// The prototype database of ../shared/spec/pii-encryption-database-setup.md (`aws rds create-db-cluster`),
// written as the typed helper takes it: Aurora PostgreSQL 16.6, AWS-managed key, 7-day backups.
import * as aws from "@pulumi/aws";
import { PropsOf, secret } from "../../support/validation-args";

export const SPEC_AURORA_CLUSTER: PropsOf<typeof aws.rds.Cluster> = {
    clusterIdentifier: "pii-database-cluster",
    engine: "aurora-postgresql",
    engineVersion: "16.6",
    masterUsername: "postgres",
    masterPassword: secret("[SECURE_PASSWORD]"),
    databaseName: "pii_db",
    storageEncrypted: true,
    kmsKeyId: "alias/aws/rds",
    vpcSecurityGroupIds: ["sg-db"],
    dbSubnetGroupName: "pii-db-subnet-group",
    backupRetentionPeriod: 7,
    preferredBackupWindow: "03:00-04:00",
    preferredMaintenanceWindow: "sun:04:00-sun:05:00",
    enabledCloudwatchLogsExports: ["postgresql"],
    tags: { Environment: "prototype", Project: "pii-encryption" },
};
