import { readObject, readObjects, readString } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { Props } from "../../core/types";
import { referrersOf } from "../_shared/references";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

const SSE_TYPES = [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
];

export const s3BucketEncryptedCmk = defineResourceRule({
    id: "s3-bucket-encrypted-cmk",
    title: "S3 buckets are encrypted with a customer-managed KMS key",
    description:
        "The bucket's server-side encryption (an aws:s3/bucketServerSideEncryptionConfiguration for it, or its inline serverSideEncryptionConfiguration) uses aws:kms or aws:kms:dsse with a customer-managed key; without one, S3 uses SSE-S3 (an AWS-owned key).",
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
        const inline = resource.props.serverSideEncryptionConfiguration;
        const ruleSets = configs.length ? configs.map((c) => readObjects(c, "rules")) : inline !== undefined ? [readObjects(resource.props, "serverSideEncryptionConfiguration.rule")] : [];
        const rules = ruleSets.flat();
        if (!rules.length) return failIf(["no server-side encryption configuration: S3 falls back to SSE-S3 (AWS-owned key)"]);
        return failIf(
            rules.map((rule) => {
                const algorithm = readString(rule, "applyServerSideEncryptionByDefault.sseAlgorithm");
                if (algorithm !== "aws:kms" && algorithm !== "aws:kms:dsse") return `sseAlgorithm is ${algorithm ?? "unset"}, not aws:kms with a customer-managed key`;
                const byDefault = readObject(rule, "applyServerSideEncryptionByDefault") ?? {};
                return cmkProblem("the bucket", classifyKey(byDefault, "kmsMasterKeyId", stack), "kmsMasterKeyId");
            }),
        );
    },
});
