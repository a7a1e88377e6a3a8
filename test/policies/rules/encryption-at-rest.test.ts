import * as aws from "@pulumi/aws";
import { codebuildProjectEncryptedCmk } from "../../../policies/rules/codebuild/codebuild-project-encrypted-cmk";
import { dynamodbTableEncryptedCmk } from "../../../policies/rules/dynamodb/dynamodb-table-encrypted-cmk";
import { ebsEncryptedCmk } from "../../../policies/rules/ec2/ebs-encrypted-cmk";
import { elasticacheEncryptedCmk } from "../../../policies/rules/elasticache/elasticache-encrypted-cmk";
import { rdsClusterEncryptedCmk } from "../../../policies/rules/rds/rds-cluster-encrypted-cmk";
import { rdsInstanceEncryptedCmk } from "../../../policies/rules/rds/rds-instance-encrypted-cmk";
import { s3BucketEncryptedCmk } from "../../../policies/rules/s3/s3-bucket-encrypted-cmk";
import { secretEncryptedCmk } from "../../../policies/rules/secretsmanager/secret-encrypted-cmk";
import { snsTopicEncryptedCmk } from "../../../policies/rules/sns/sns-topic-encrypted-cmk";
import { createResourceValidationArgs as view, runRule, secret, UNKNOWN, unreadableSecret } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";
import { SPEC_AURORA_CLUSTER } from "./spec-aurora";

const CMK = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("rule rds-cluster-encrypted-cmk", () => {
    it("flags the spec's Aurora cluster (storage encrypted with alias/aws/rds)", () => {
        const spec = view(aws.rds.Cluster, SPEC_AURORA_CLUSTER);
        assertViolation(runRule(rdsClusterEncryptedCmk, spec), /AWS-managed key alias\/aws\/rds/);
    });
    it("fails an unencrypted cluster (storageEncrypted unset is false) and an AWS-managed key given as an ARN", () => {
        assertViolation(runRule(rdsClusterEncryptedCmk, view(aws.rds.Cluster, { engine: "aurora-postgresql" })), /not encrypted/);
        assertViolation(runRule(rdsClusterEncryptedCmk, view(aws.rds.Cluster, { storageEncrypted: true, kmsKeyId: "arn:aws:kms:ap-northeast-1:1:alias/aws/rds" })), /AWS-managed/);
        assertViolation(runRule(rdsClusterEncryptedCmk, view(aws.rds.Cluster, { storageEncrypted: true })), /sets no kmsKeyId/);
    });
    it("passes a customer-managed key, by ARN or via an alias of this stack", () => {
        assertCompliant(runRule(rdsClusterEncryptedCmk, view(aws.rds.Cluster, { storageEncrypted: true, kmsKeyId: CMK })));
        const alias = view(aws.kms.Alias, { name: "alias/pii", targetKeyId: "k-1" }, { outputs: { arn: "arn:aws:kms:ap-northeast-1:1:alias/pii" } });
        assertCompliant(runRule(rdsClusterEncryptedCmk, view(aws.rds.Cluster, { storageEncrypted: true, kmsKeyId: "alias/pii" }), [alias]));
    });
    it("follows an alias of this stack that points at an AWS-managed key", () => {
        const alias = view(aws.kms.Alias, { name: "alias/sneaky", targetKeyId: "alias/aws/rds" });
        assertViolation(runRule(rdsClusterEncryptedCmk, view(aws.rds.Cluster, { storageEncrypted: true, kmsKeyId: "alias/sneaky" }), [alias]), /AWS-managed/);
    });
    it("cannot check a key still unknown in preview, or an unreadable secret", () => {
        assertCannotCheck(runRule(rdsClusterEncryptedCmk, view(aws.rds.Cluster, { storageEncrypted: true, kmsKeyId: UNKNOWN })), /kmsKeyId is not known yet/);
        assertCannotCheck(runRule(rdsClusterEncryptedCmk, view(aws.rds.Cluster, { storageEncrypted: unreadableSecret(), kmsKeyId: CMK })), /secret/);
    });
});

describe("rule rds-instance-encrypted-cmk", () => {
    it("fails an unencrypted instance and an aws/rds key, passes a CMK", () => {
        assertViolation(runRule(rdsInstanceEncryptedCmk, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "postgres" })), /not encrypted/);
        assertViolation(runRule(rdsInstanceEncryptedCmk, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", storageEncrypted: true, kmsKeyId: "alias/aws/rds" })), /AWS-managed/);
        assertCompliant(runRule(rdsInstanceEncryptedCmk, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", storageEncrypted: true, kmsKeyId: CMK })));
    });
    it("cannot check storage encryption while it is unknown", () => {
        assertCannotCheck(runRule(rdsInstanceEncryptedCmk, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", storageEncrypted: UNKNOWN })));
    });
});

describe("rule elasticache-encrypted-cmk", () => {
    it("fails a replication group without at-rest encryption or without a CMK, passes with a CMK", () => {
        assertViolation(runRule(elasticacheEncryptedCmk, view(aws.elasticache.ReplicationGroup, { description: "c" })), /atRestEncryptionEnabled/);
        assertViolation(runRule(elasticacheEncryptedCmk, view(aws.elasticache.ReplicationGroup, { description: "c", atRestEncryptionEnabled: true })), /sets no kmsKeyId/);
        assertCompliant(runRule(elasticacheEncryptedCmk, view(aws.elasticache.ReplicationGroup, { description: "c", atRestEncryptionEnabled: true, kmsKeyId: CMK })));
    });
    it("checks serverless caches' keys and fails standalone clusters", () => {
        assertViolation(runRule(elasticacheEncryptedCmk, view(aws.elasticache.ServerlessCache, { engine: "valkey" })), /kmsKeyId/);
        assertCompliant(runRule(elasticacheEncryptedCmk, view(aws.elasticache.ServerlessCache, { engine: "valkey", kmsKeyId: CMK })));
        assertViolation(runRule(elasticacheEncryptedCmk, view(aws.elasticache.Cluster, { engine: "memcached" })), /standalone/);
        assertNotApplicable(runRule(elasticacheEncryptedCmk, view(aws.elasticache.Cluster, { replicationGroupId: "rg" })));
    });
});

describe("rule ebs-encrypted-cmk", () => {
    it("fails an unencrypted volume and passes one with a CMK", () => {
        assertViolation(runRule(ebsEncryptedCmk, view(aws.ebs.Volume, { availabilityZone: "ap-northeast-1a", size: 10 })), /not encrypted/);
        assertViolation(runRule(ebsEncryptedCmk, view(aws.ebs.Volume, { availabilityZone: "ap-northeast-1a", encrypted: true })), /AWS-managed/);
        assertCompliant(runRule(ebsEncryptedCmk, view(aws.ebs.Volume, { availabilityZone: "ap-northeast-1a", encrypted: true, kmsKeyId: CMK })));
    });
    it("checks an instance's root and extra block devices", () => {
        const instance = view(aws.ec2.Instance, {
            ami: "ami-1",
            rootBlockDevice: { encrypted: true, kmsKeyId: CMK },
            ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: false }],
        });
        assertViolation(runRule(ebsEncryptedCmk, instance), /ebsBlockDevices\[0\] is not encrypted/);
        assertViolation(runRule(ebsEncryptedCmk, view(aws.ec2.Instance, { ami: "ami-1" })), /root block device is not encrypted/);
        assertCompliant(runRule(ebsEncryptedCmk, view(aws.ec2.Instance, { ami: "ami-1", rootBlockDevice: { encrypted: true, kmsKeyId: CMK } })));
    });
    it("counts account-wide EBS encryption by default with a customer-managed default key", () => {
        const byDefault = view(aws.ebs.EncryptionByDefault, { enabled: true });
        const defaultKey = view(aws.ebs.DefaultKmsKey, { keyArn: CMK });
        assertCompliant(runRule(ebsEncryptedCmk, view(aws.ebs.Volume, { availabilityZone: "ap-northeast-1a" }), [byDefault, defaultKey]));
        assertViolation(runRule(ebsEncryptedCmk, view(aws.ebs.Volume, { availabilityZone: "ap-northeast-1a" }), [byDefault]), /AWS-managed/);
    });
});

describe("rule s3-bucket-encrypted-cmk", () => {
    const bucket = view(aws.s3.Bucket, {}, { name: "pii", outputs: { id: "pii-bucket", bucket: "pii-bucket" } });
    const sse = (algorithm: string, key?: string) =>
        view(aws.s3.BucketServerSideEncryptionConfiguration, { bucket: "pii-bucket", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: algorithm, kmsMasterKeyId: key } }] });
    it("fails a bucket with no SSE configuration (SSE-S3) or with AES256 or aws/s3", () => {
        assertViolation(runRule(s3BucketEncryptedCmk, bucket), /SSE-S3/);
        assertViolation(runRule(s3BucketEncryptedCmk, bucket, [sse("AES256")]), /AES256/);
        assertViolation(runRule(s3BucketEncryptedCmk, bucket, [sse("aws:kms")]), /AWS-managed/);
        assertViolation(runRule(s3BucketEncryptedCmk, bucket, [sse("aws:kms", "alias/aws/s3")]), /alias\/aws\/s3/);
    });
    it("passes aws:kms with a CMK, in a separate resource or inline", () => {
        assertCompliant(runRule(s3BucketEncryptedCmk, bucket, [sse("aws:kms", CMK)]));
        const inline = view(aws.s3.Bucket, { serverSideEncryptionConfiguration: { rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: CMK } } } });
        assertCompliant(runRule(s3BucketEncryptedCmk, inline));
    });
    it("cannot check while the configuration's bucket reference is unknown", () => {
        const pending = view(aws.s3.BucketServerSideEncryptionConfiguration, { bucket: UNKNOWN, rules: [] });
        assertCannotCheck(runRule(s3BucketEncryptedCmk, bucket, [pending]));
    });
});

describe("rule secret-encrypted-cmk", () => {
    it("fails the default aws/secretsmanager key and passes a CMK", () => {
        assertViolation(runRule(secretEncryptedCmk, view(aws.secretsmanager.Secret, {})), /sets no kmsKeyId/);
        assertViolation(runRule(secretEncryptedCmk, view(aws.secretsmanager.Secret, { kmsKeyId: "alias/aws/secretsmanager" })), /AWS-managed/);
        assertCompliant(runRule(secretEncryptedCmk, view(aws.secretsmanager.Secret, { kmsKeyId: CMK })));
    });
});

describe("rule dynamodb-table-encrypted-cmk", () => {
    it("fails an AWS-owned or AWS-managed key and passes a CMK", () => {
        assertViolation(runRule(dynamodbTableEncryptedCmk, view(aws.dynamodb.Table, { hashKey: "id" })), /AWS-owned/);
        assertViolation(runRule(dynamodbTableEncryptedCmk, view(aws.dynamodb.Table, { hashKey: "id", serverSideEncryption: { enabled: true } })), /AWS-managed/);
        assertCompliant(runRule(dynamodbTableEncryptedCmk, view(aws.dynamodb.Table, { hashKey: "id", serverSideEncryption: { enabled: true, kmsKeyArn: CMK } })));
    });
});

describe("rule sns-topic-encrypted-cmk", () => {
    it("fails an unencrypted topic or alias/aws/sns and passes a CMK", () => {
        assertViolation(runRule(snsTopicEncryptedCmk, view(aws.sns.Topic, {})), /not encrypted/);
        assertViolation(runRule(snsTopicEncryptedCmk, view(aws.sns.Topic, { kmsMasterKeyId: "alias/aws/sns" })), /AWS-managed/);
        assertCompliant(runRule(snsTopicEncryptedCmk, view(aws.sns.Topic, { kmsMasterKeyId: CMK })));
    });
});

describe("rule codebuild-project-encrypted-cmk", () => {
    const base = { artifacts: { type: "NO_ARTIFACTS" }, environment: { computeType: "BUILD_GENERAL1_SMALL", image: "aws/codebuild/standard:7.0", type: "LINUX_CONTAINER" }, serviceRole: "arn:aws:iam::1:role/cb", source: { type: "NO_SOURCE" } };
    it("fails a project without encryptionKey and passes one with a CMK", () => {
        assertViolation(runRule(codebuildProjectEncryptedCmk, view(aws.codebuild.Project, base)), /encryptionKey/);
        assertCompliant(runRule(codebuildProjectEncryptedCmk, view(aws.codebuild.Project, { ...base, encryptionKey: CMK })));
    });
});
