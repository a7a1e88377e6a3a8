import { readObjects, readString } from "../../core/props";
import { cannotCheck, defineResourceRule, failIf } from "../../core/rule";
import { resolveOfType } from "../../core/stack-view";
import { UNKNOWN } from "../../core/types";
import { APPI } from "../_shared/appi";
import { outsideAllowed, regionalArn } from "../_shared/residency";

const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];

export const s3ReplicationInAllowedRegions = defineResourceRule({
    id: "s3-replication-in-allowed-regions",
    title: "S3 replication sends objects only to buckets in allowed regions",
    description:
        "Every destination bucket of a replication configuration (aws:s3/bucketReplicationConfig, or a bucket's inline replicationConfiguration) is in an allowed region: S3 bucket ARNs carry no region, so the destination is looked up in the stack.",
    appi: APPI.crossBorder,
    securityHub: [],
    severity: "high",
    remediation: "Replicate only to buckets in allowed regions; remove cross-region replication rules otherwise.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:s3/bucketReplicationConfig:BucketReplicationConfig", ...BUCKET_TYPES],
    check(resource, { config, stack }) {
        const rules = BUCKET_TYPES.includes(resource.type) ? readObjects(resource.props, "replicationConfiguration.rules") : readObjects(resource.props, "rules");
        const messages: (string | undefined)[] = [];
        const unknown: string[] = [];
        rules.forEach((rule, i) => {
            const destination = readString(rule, "destination.bucket");
            if (!destination) return;
            const arnRegion = regionalArn(destination);
            if (arnRegion) return messages.push(outsideAllowed(`replication rule ${i}`, arnRegion, config));
            const bucket = resolveOfType(stack, destination, BUCKET_TYPES) ?? resolveOfType(stack, destination.replace(/^arn:[^:]+:s3:::/, ""), BUCKET_TYPES);
            if (!bucket) return unknown.push(`destination ${destination} is not in this stack, so its region could not be checked`);
            if (bucket.region === UNKNOWN || bucket.region === undefined) return unknown.push(`the region of destination bucket ${bucket.name} could not be checked yet`);
            return messages.push(outsideAllowed(`replication rule ${i} (to ${bucket.name})`, bucket.region, config));
        });
        const outcome = failIf(messages);
        if (outcome.kind === "compliant" && unknown.length) return cannotCheck(unknown.join("; "));
        return outcome;
    },
});
