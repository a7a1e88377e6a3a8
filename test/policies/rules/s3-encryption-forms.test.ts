// S3 server-side encryption in every form @pulumi/aws 7 offers: aws.s3.Bucket's single-object
// `serverSideEncryptionConfiguration`, aws.s3.BucketV2's list-shaped `serverSideEncryptionConfigurations`
// (rules[] / applyServerSideEncryptionByDefaults[]), and the separate BucketServerSideEncryptionConfiguration
// (V2) resources. A CMK in any of them passes; AES256 or aws:kms without a key fails; secrets and preview
// unknowns are read, or reported, never guessed.
import * as aws from "@pulumi/aws";
import { ResourceRule } from "../../../policies/core/types";
import { storeEncryptedCmk } from "../../../policies/rules/stores/store-encrypted-cmk";
import { createResourceValidationArgs as view, runRule, secret, UNKNOWN, unreadableSecret } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertViolation } from "./assert-outcome";

const KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/1111aaaa-22bb-33cc-44dd-555555eeeeee";
const key = view(aws.kms.Key, { enableKeyRotation: true }, { name: "pii-key", id: "1111aaaa-22bb-33cc-44dd-555555eeeeee", outputs: { arn: KEY_ARN } });

type ByDefault = { sseAlgorithm: string; kmsMasterKeyId?: unknown };
const v2 = (...defaults: ByDefault[]) =>
    view(aws.s3.BucketV2, { bucket: "pii-v2", serverSideEncryptionConfigurations: [{ rules: [{ applyServerSideEncryptionByDefaults: defaults as never, bucketKeyEnabled: true }] }] }, { name: "pii-v2" });
const v1 = (d: ByDefault) => view(aws.s3.Bucket, { bucket: "pii-v1", serverSideEncryptionConfiguration: { rule: { applyServerSideEncryptionByDefault: d as never } } }, { name: "pii-v1" });
const plain = view(aws.s3.BucketV2, { bucket: "pii-plain" }, { name: "pii-plain" });
const separate = (cls: typeof aws.s3.BucketServerSideEncryptionConfiguration | typeof aws.s3.BucketServerSideEncryptionConfigurationV2, d: ByDefault, bucket: unknown = "pii-plain", dependsOn?: Record<string, string[]>) =>
    view(cls, { bucket: bucket as never, rules: [{ applyServerSideEncryptionByDefault: d as never }] }, { name: `sse-${cls === aws.s3.BucketServerSideEncryptionConfiguration ? "v1" : "v2"}`, ...(dependsOn ? { dependsOn } : {}) });

const CMK: ByDefault = { sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY_ARN };
const DSSE: ByDefault = { sseAlgorithm: "aws:kms:dsse", kmsMasterKeyId: KEY_ARN };
const SSE_S3: ByDefault = { sseAlgorithm: "AES256" };
const NO_KEY: ByDefault = { sseAlgorithm: "aws:kms" };

// One rule decides every form (s3-bucket-encrypted-cmk, which missed BucketV2's lists, is folded into it).
for (const rule of [storeEncryptedCmk] as ResourceRule[]) {
    describe(`rule ${rule.id}: every v7 form of S3 server-side encryption`, () => {
        it("passes BucketV2's list-shaped serverSideEncryptionConfigurations with a CMK (aws:kms or aws:kms:dsse)", () => {
            assertCompliant(runRule(rule, v2(CMK), [key]));
            assertCompliant(runRule(rule, v2(DSSE), [key]));
        });
        it("fails BucketV2 inline AES256, aws:kms without a key, and a list where one element is weak", () => {
            assertViolation(runRule(rule, v2(SSE_S3), [key]), /AES256/);
            assertViolation(runRule(rule, v2(NO_KEY), [key]), /kmsMasterKeyId/);
            assertViolation(runRule(rule, v2(CMK, SSE_S3), [key]), /AES256/);
        });
        it("passes aws.s3.Bucket's single-object serverSideEncryptionConfiguration with a CMK, fails it with AES256", () => {
            assertCompliant(runRule(rule, v1(CMK), [key]));
            assertViolation(runRule(rule, v1(SSE_S3), [key]), /AES256/);
        });
        it("passes a CMK in a separate BucketServerSideEncryptionConfiguration or ...V2; fails AES256 or aws:kms without a key there", () => {
            for (const cls of [aws.s3.BucketServerSideEncryptionConfiguration, aws.s3.BucketServerSideEncryptionConfigurationV2]) {
                assertCompliant(runRule(rule, plain, [key, separate(cls, CMK)]));
                assertViolation(runRule(rule, plain, [key, separate(cls, SSE_S3)]), /AES256/);
                assertViolation(runRule(rule, plain, [key, separate(cls, NO_KEY)]), /kmsMasterKeyId/);
            }
        });
        it("attacker: a separate SSE-S3 configuration overrides an inline CMK (S3 keeps the last one written)", () => {
            assertViolation(runRule(rule, v2(CMK), [key, separate(aws.s3.BucketServerSideEncryptionConfigurationV2, SSE_S3, "pii-v2")]), /AES256/);
        });
        it("fails a bucket with no configuration in any form (SSE-S3)", () => {
            assertViolation(runRule(rule, plain, [key]), /SSE-S3/);
        });
        it("reads a readable secret key", () => {
            assertCompliant(runRule(rule, v2({ sseAlgorithm: "aws:kms", kmsMasterKeyId: secret(KEY_ARN) }), [key]));
        });
        it("preview: a configuration whose bucket is not known yet is matched by its property dependency", () => {
            const pending = separate(aws.s3.BucketServerSideEncryptionConfigurationV2, SSE_S3, UNKNOWN, { bucket: [plain.urn] });
            assertViolation(runRule(rule, plain, [key, pending]), /AES256/);
            const good = separate(aws.s3.BucketServerSideEncryptionConfigurationV2, CMK, UNKNOWN, { bucket: [plain.urn] });
            assertCompliant(runRule(rule, plain, [key, good]));
        });
        it("preview: a configuration whose bucket is unknown with no dependency is not guessed", () => {
            assertCannotCheck(runRule(rule, plain, [key, separate(aws.s3.BucketServerSideEncryptionConfigurationV2, CMK, UNKNOWN)]));
        });
    });
}

describe("rule store-encrypted-cmk: S3 keys are proven", () => {
    it("an unreadable secret key, or an unknown one with no dependency, is not proven customer-managed", () => {
        assertViolation(runRule(storeEncryptedCmk, v2({ sseAlgorithm: "aws:kms", kmsMasterKeyId: unreadableSecret() }), [key]), /secret this runner cannot read/);
        assertViolation(runRule(storeEncryptedCmk, v2({ sseAlgorithm: "aws:kms", kmsMasterKeyId: UNKNOWN }), [key]), /not known .*not proven/);
    });
    it("an unknown key computed from a KMS key of the stack passes (preview)", () => {
        const bucket = view(aws.s3.BucketV2, { bucket: "pii-v2", serverSideEncryptionConfigurations: [{ rules: [{ applyServerSideEncryptionByDefaults: [{ sseAlgorithm: "aws:kms", kmsMasterKeyId: UNKNOWN as never }] }] }] }, { name: "pii-v2", dependsOn: { serverSideEncryptionConfigurations: [key.urn] } });
        assertCompliant(runRule(storeEncryptedCmk, bucket, [key]));
    });
    it("a key ARN of a key neither in the stack nor in externalKmsKeys is not proven", () => {
        assertViolation(runRule(storeEncryptedCmk, v2({ sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:ap-northeast-1:123456789012:key/elsewhere" })), /not provably customer-managed/);
    });
});
