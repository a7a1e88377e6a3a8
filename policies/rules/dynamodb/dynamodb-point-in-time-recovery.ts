import { readBool, readNumber, readObject } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

/** DynamoDB's recovery window when recoveryPeriodInDays is unset. */
const AWS_DEFAULT_RECOVERY_DAYS = 35;

export const dynamodbPointInTimeRecovery = defineResourceRule({
    id: "dynamodb-point-in-time-recovery",
    title: "DynamoDB tables have point-in-time recovery for long enough",
    description: "pointInTimeRecovery.enabled is true (unset is false) and recoveryPeriodInDays (default 35) is at least minBackupRetentionDays.",
    appi: APPI.accuracyAvailability,
    securityHub: ["DynamoDB.2"],
    severity: "medium",
    remediation: "Set pointInTimeRecovery: { enabled: true } (and recoveryPeriodInDays at least the minimum if you shorten it).",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:dynamodb/table:Table"],
    check(resource, { config }) {
        const pitr = readObject(resource.props, "pointInTimeRecovery");
        if (!pitr || !readBool(pitr, "enabled", false)) return failIf(["point-in-time recovery is off (pointInTimeRecovery.enabled is false or unset)"]);
        const days = readNumber(pitr, "recoveryPeriodInDays", AWS_DEFAULT_RECOVERY_DAYS);
        return failIf([days < config.minBackupRetentionDays && `point-in-time recovery covers ${days} day(s), below the minimum of ${config.minBackupRetentionDays}`]);
    },
});
