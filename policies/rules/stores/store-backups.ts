import { defineResourceRule, notApplicable } from "../../core/rule";
import { rdsInstanceBackupRetention } from "../rds/rds-instance-backup-retention";
import { rdsClusterBackupRetention } from "../rds/rds-cluster-backup-retention";
import { elasticacheSnapshotRetention } from "../elasticache/elasticache-snapshot-retention";
import { dynamodbPointInTimeRecovery } from "../dynamodb/dynamodb-point-in-time-recovery";

import { APPI } from "../_shared/appi";
import { dedicatedRules, checkStoreBackups } from "../_shared/store-checks";
import { NO_PERSONAL_DATA, PERSONAL_DATA_TAG, storeOf, storeTypesWith } from "../_shared/stores";

/** Per-service rules that already report some of these types: a resource they fail is theirs. */
const reportedByDedicatedRule = dedicatedRules([rdsInstanceBackupRetention, rdsClusterBackupRetention, elasticacheSnapshotRetention, dynamodbPointInTimeRecovery]);

export const storeBackups = defineResourceRule({
    id: "store-backups",
    title: "Every store of personal data keeps backups for the minimum period",
    description:
        `Every data store whose catalogue entry has backups keeps them at least minBackupRetentionDays, by any one of the ways its type offers: a retention property (unset is the AWS default, e.g. 1 day for RDS, 0 for ElastiCache and MemoryDB), point-in-time recovery (DynamoDB), an aws:efs/backupPolicy, or an aws:backup/selection in the stack whose plan keeps recovery points that long. Cluster members and legacy global tables are judged by the cluster or table they belong to. A store tagged ${PERSONAL_DATA_TAG}=${NO_PERSONAL_DATA} is out of scope.`,
    appi: APPI.accuracyAvailability,
    securityHub: ["RDS.11", "ElastiCache.1", "DynamoDB.2"],
    severity: "high",
    remediation:
        "Set the retention property the message names to at least the minimum (default 14 days), turn on point-in-time recovery, or add the store to an aws.backup.Selection whose plan keeps recovery points at least that long.",
    defaultEnforcement: "mandatory",
    resourceTypes: storeTypesWith("backups"),
    check(resource, ctx) {
        if (reportedByDedicatedRule(resource, ctx)) return notApplicable();
        const { stack, config } = ctx;
        return checkStoreBackups(resource, storeOf(resource.type)!, stack, config);
    },
});
