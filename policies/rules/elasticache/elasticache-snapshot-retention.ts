import { readNumber, readString } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const elasticacheSnapshotRetention = defineResourceRule({
    id: "elasticache-snapshot-retention",
    title: "ElastiCache keeps automatic snapshots long enough",
    description: "snapshotRetentionLimit (unset is 0: no automatic snapshots) is at least minBackupRetentionDays on replication groups, serverless caches and standalone Redis/Valkey clusters.",
    appi: APPI.accuracyAvailability,
    securityHub: ["ElastiCache.1"],
    severity: "medium",
    remediation: "Set snapshotRetentionLimit to at least the configured minimum (default 14, maximum 35) and a snapshotWindow.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/serverlessCache:ServerlessCache", "aws:elasticache/cluster:Cluster"],
    check(resource, { config }) {
        if (resource.type === "aws:elasticache/cluster:Cluster") {
            if (readString(resource.props, "replicationGroupId")) return notApplicable();
            if (readString(resource.props, "engine") === "memcached") return failIf(["memcached keeps no snapshots; personal data in it cannot be restored"]);
        }
        const days = readNumber(resource.props, "snapshotRetentionLimit", 0);
        return failIf([
            days < config.minBackupRetentionDays &&
                (days === 0 ? "automatic snapshots are off (snapshotRetentionLimit is 0 or unset)" : `snapshots are kept ${days} day(s), below the minimum of ${config.minBackupRetentionDays}`),
        ]);
    },
});
