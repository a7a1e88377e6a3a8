import { readNumber } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

/** AWS default when backupRetentionPeriod is unset. */
const AWS_DEFAULT_RETENTION_DAYS = 1;

export const rdsClusterBackupRetention = defineResourceRule({
    id: "rds-cluster-backup-retention",
    title: "Aurora / RDS clusters keep automated backups long enough",
    description: "backupRetentionPeriod (AWS default 1 day when unset) is at least minBackupRetentionDays.",
    appi: APPI.accuracyAvailability,
    securityHub: ["RDS.11"],
    severity: "high",
    remediation: "Set backupRetentionPeriod to at least the configured minimum (default 14 days, maximum 35).",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:rds/cluster:Cluster"],
    check(resource, { config }) {
        const days = readNumber(resource.props, "backupRetentionPeriod", AWS_DEFAULT_RETENTION_DAYS);
        return failIf([
            days < config.minBackupRetentionDays &&
                `automated backups are kept ${days} day(s)${resource.props.backupRetentionPeriod === undefined ? " (AWS default, backupRetentionPeriod unset)" : ""}, below the minimum of ${config.minBackupRetentionDays}`,
        ]);
    },
});
