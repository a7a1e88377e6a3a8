import { readNumber } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const logGroupRetention = defineResourceRule({
    id: "log-group-retention",
    title: "Log groups keep logs for the minimum period, and not forever by omission",
    description:
        "retentionInDays is set and at least minLogRetentionDays. Unset (or 0) means logs never expire: personal data in logs would be kept indefinitely, so it is a violation too.",
    appi: APPI.auditTrail,
    securityHub: ["CloudWatch.16"],
    severity: "medium",
    remediation: "Set retentionInDays to a CloudWatch-supported value at least the configured minimum (default 365, e.g. 365, 400, 545, 731).",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:cloudwatch/logGroup:LogGroup"],
    check(resource, { config }) {
        const days = readNumber(resource.props, "retentionInDays", 0);
        if (days === 0) return failIf([`retentionInDays is unset, so logs are kept forever; set it to at least ${config.minLogRetentionDays} days`]);
        return failIf([days < config.minLogRetentionDays && `logs are kept ${days} day(s), below the minimum of ${config.minLogRetentionDays}`]);
    },
});
