// Log groups every component creates for its own logs: encrypted with the logs key and kept
// for the audit-trail period, instead of a service creating one with no key that never expires.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The audit-trail minimum of the policy pack (logs kept at least a year). */
export const MIN_LOG_RETENTION_DAYS = 365;

export function checkLogRetention(days: number | undefined, argName = "logRetentionDays"): number {
    const value = days ?? MIN_LOG_RETENTION_DAYS;
    if (!Number.isInteger(value) || value < MIN_LOG_RETENTION_DAYS) {
        throw new Error(`${argName}: ${value} is below the audit-trail minimum of ${MIN_LOG_RETENTION_DAYS} days; use 365 or more`);
    }
    return value;
}

/** A KMS-encrypted log group, so the component owns retention instead of the service creating one that never expires. */
export function encryptedLogGroup(name: string, logGroupName: pulumi.Input<string>, kmsKeyId: pulumi.Input<string>, retentionInDays: number, tags: Record<string, string> | undefined, parent: pulumi.Resource): aws.cloudwatch.LogGroup {
    return new aws.cloudwatch.LogGroup(name, { name: logGroupName, kmsKeyId, retentionInDays, tags }, { parent });
}
