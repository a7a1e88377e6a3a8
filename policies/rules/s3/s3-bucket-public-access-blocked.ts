import { readBool } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { referrersOf } from "../_shared/references";
import { APPI } from "../_shared/appi";

const FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

export const s3BucketPublicAccessBlocked = defineResourceRule({
    id: "s3-bucket-public-access-blocked",
    title: "S3 buckets block every form of public access",
    description: "An aws:s3/bucketPublicAccessBlock for the bucket sets all four flags (blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets).",
    appi: APPI.accessControl,
    securityHub: ["S3.8"],
    severity: "high",
    remediation: "Add an aws.s3.BucketPublicAccessBlock for the bucket with all four flags true.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
    check(resource, { stack }) {
        const block = referrersOf(stack, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket", resource)[0];
        if (!block) return failIf(["no public access block for this bucket"]);
        const missing = FLAGS.filter((flag) => !readBool(block.props, flag, false));
        return failIf([missing.length > 0 && `the public access block ${block.name} leaves ${missing.join(", ")} off`]);
    },
});
