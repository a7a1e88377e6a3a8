import { readObjects, readString } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { Props } from "../../core/types";
import { referrersOf } from "../_shared/references";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

const SSE_TYPES = [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
];

/**
 * The applyServerSideEncryptionByDefault blocks a bucket declares inline, in either v7 shape:
 * aws.s3.Bucket `serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault` (single
 * objects), aws.s3.BucketV2 `serverSideEncryptionConfigurations[].rules[].applyServerSideEncryptionByDefaults[]`
 * (lists). Undefined when the bucket declares no inline configuration at all.
 */
function inlineDefaults(props: Props): Props[] | undefined {
    if (props.serverSideEncryptionConfigurations !== undefined && props.serverSideEncryptionConfigurations !== null) {
        const rules = readObjects(props, "serverSideEncryptionConfigurations").flatMap((c) => readObjects(c, "rules"));
        return rules.flatMap((r) => readObjects(r, "applyServerSideEncryptionByDefaults"));
    }
    if (props.serverSideEncryptionConfiguration !== undefined && props.serverSideEncryptionConfiguration !== null) {
        return readObjects(props, "serverSideEncryptionConfiguration.rule").flatMap((r) => readObjects(r, "applyServerSideEncryptionByDefault"));
    }
    return undefined;
}

export const s3BucketEncryptedCmk = defineResourceRule({
    id: "s3-bucket-encrypted-cmk",
    title: "S3 buckets are encrypted with a customer-managed KMS key",
    description:
        "The bucket's server-side encryption (an aws:s3/bucketServerSideEncryptionConfiguration(V2) for it, else its inline serverSideEncryptionConfiguration, or BucketV2's list-shaped serverSideEncryptionConfigurations) uses aws:kms or aws:kms:dsse with a customer-managed key; without one, S3 uses SSE-S3 (an AWS-owned key).",
    appi: APPI.breachSafeHarbour,
    securityHub: ["S3.17"],
    severity: "high",
    remediation: "Add an aws.s3.BucketServerSideEncryptionConfiguration with sseAlgorithm 'aws:kms' and kmsMasterKeyId set to a customer-managed key (bucketKeyEnabled: true to cut KMS costs).",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
    check(resource, { stack }) {
        const configs: Props[] = [];
        for (const type of SSE_TYPES) {
            for (const sse of referrersOf(stack, type, "bucket", resource)) configs.push(sse.props);
        }
        // A separate configuration resource wins over the inline one (the provider says to use it instead).
        const defaults = configs.length ? configs.flatMap((c) => readObjects(c, "rules")).map((r) => readObjects(r, "applyServerSideEncryptionByDefault")[0] ?? {}) : inlineDefaults(resource.props);
        if (!defaults || !defaults.length) return failIf(["no server-side encryption configuration: S3 falls back to SSE-S3 (AWS-owned key)"]);
        return failIf(
            defaults.map((byDefault) => {
                const algorithm = readString(byDefault, "sseAlgorithm");
                if (algorithm !== "aws:kms" && algorithm !== "aws:kms:dsse") return `sseAlgorithm is ${algorithm ?? "unset"}, not aws:kms with a customer-managed key`;
                return cmkProblem("the bucket", classifyKey(byDefault, "kmsMasterKeyId", stack), "kmsMasterKeyId");
            }),
        );
    },
});
