// Customer-managed keys for the services the retired per-service rules judged (rds-instance-encrypted-cmk,
// ...): every one of their cases, now decided by store-encrypted-cmk from the stores catalogue. The key
// below is a stack key (or listed in externalKmsKeys): a literal ARN alone proves nothing.
import * as aws from "@pulumi/aws";
import { storeEncryptedCmk } from "../../../policies/rules/stores/store-encrypted-cmk";
import { createResourceValidationArgs as view, runRule, UNKNOWN, unreadableSecret } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";
import { SPEC_AURORA_CLUSTER } from "./spec-aurora";

const CMK = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const EXTERNAL = { externalKmsKeys: [CMK] };
const run = (resource: ReturnType<typeof view>, others: ReturnType<typeof view>[] = []) => runRule(storeEncryptedCmk, resource, others, EXTERNAL);

describe("store-encrypted-cmk on RDS clusters (was rds-cluster-encrypted-cmk)", () => {
    it("flags the spec's Aurora cluster (storage encrypted with alias/aws/rds)", () => {
        assertViolation(run(view(aws.rds.Cluster, SPEC_AURORA_CLUSTER)), /AWS-managed key alias\/aws\/rds/);
    });
    it("fails an unencrypted cluster (storageEncrypted unset is false), an AWS-managed key given as an ARN, and no key", () => {
        assertViolation(run(view(aws.rds.Cluster, { engine: "aurora-postgresql" })), /storageEncrypted is unset/);
        assertViolation(run(view(aws.rds.Cluster, { storageEncrypted: true, kmsKeyId: "arn:aws:kms:ap-northeast-1:1:alias/aws/rds" })), /AWS-managed/);
        assertViolation(run(view(aws.rds.Cluster, { storageEncrypted: true })), /sets no kmsKeyId/);
    });
    it("passes a customer-managed key, by ARN or via an alias of this stack", () => {
        assertCompliant(run(view(aws.rds.Cluster, { storageEncrypted: true, kmsKeyId: CMK })));
        const key = view(aws.kms.Key, {}, { name: "k", id: "k-1" });
        const alias = view(aws.kms.Alias, { name: "alias/pii", targetKeyId: "k-1" }, { outputs: { arn: "arn:aws:kms:ap-northeast-1:1:alias/pii" } });
        assertCompliant(runRule(storeEncryptedCmk, view(aws.rds.Cluster, { storageEncrypted: true, kmsKeyId: "alias/pii" }), [alias, key]));
    });
    it("follows an alias of this stack that points at an AWS-managed key", () => {
        const alias = view(aws.kms.Alias, { name: "alias/sneaky", targetKeyId: "alias/aws/rds" });
        assertViolation(run(view(aws.rds.Cluster, { storageEncrypted: true, kmsKeyId: "alias/sneaky" }), [alias]), /AWS-managed/);
    });
    it("preview: an unknown key is not proven; an unreadable encryption flag cannot be checked", () => {
        assertViolation(run(view(aws.rds.Cluster, { storageEncrypted: true, kmsKeyId: UNKNOWN })), /not known .*not proven/);
        assertCannotCheck(run(view(aws.rds.Cluster, { storageEncrypted: unreadableSecret(), kmsKeyId: CMK })), /secret/);
    });
});

describe("store-encrypted-cmk on RDS instances (was rds-instance-encrypted-cmk)", () => {
    it("fails an unencrypted instance and an aws/rds key, passes a CMK", () => {
        assertViolation(run(view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "postgres" })), /storageEncrypted is unset/);
        assertViolation(run(view(aws.rds.Instance, { instanceClass: "db.t4g.micro", storageEncrypted: true, kmsKeyId: "alias/aws/rds" })), /AWS-managed/);
        assertCompliant(run(view(aws.rds.Instance, { instanceClass: "db.t4g.micro", storageEncrypted: true, kmsKeyId: CMK })));
    });
    it("cannot check storage encryption while it is unknown", () => {
        assertCannotCheck(run(view(aws.rds.Instance, { instanceClass: "db.t4g.micro", storageEncrypted: UNKNOWN, kmsKeyId: CMK })));
    });
});

describe("store-encrypted-cmk on ElastiCache (was elasticache-encrypted-cmk)", () => {
    it("fails a replication group without at-rest encryption or without a CMK, passes with a CMK", () => {
        assertViolation(run(view(aws.elasticache.ReplicationGroup, { description: "c" })), /atRestEncryptionEnabled/);
        assertViolation(run(view(aws.elasticache.ReplicationGroup, { description: "c", atRestEncryptionEnabled: true })), /sets no kmsKeyId/);
        assertCompliant(run(view(aws.elasticache.ReplicationGroup, { description: "c", atRestEncryptionEnabled: true, kmsKeyId: CMK })));
    });
    it("checks serverless caches' keys and fails standalone clusters; a member is its group's", () => {
        assertViolation(run(view(aws.elasticache.ServerlessCache, { engine: "valkey" })), /kmsKeyId/);
        assertCompliant(run(view(aws.elasticache.ServerlessCache, { engine: "valkey", kmsKeyId: CMK })));
        assertViolation(run(view(aws.elasticache.Cluster, { engine: "memcached" })), /standalone/);
        const group = view(aws.elasticache.ReplicationGroup, { description: "c", atRestEncryptionEnabled: true, kmsKeyId: CMK }, { name: "rg", outputs: { replicationGroupId: "rg" } });
        assertCompliant(run(view(aws.elasticache.Cluster, { replicationGroupId: "rg" }), [group]));
    });
});

describe("store-encrypted-cmk on EBS (was ebs-encrypted-cmk)", () => {
    it("fails an unencrypted volume and one on alias/aws/ebs, passes one with a CMK", () => {
        assertViolation(run(view(aws.ebs.Volume, { availabilityZone: "ap-northeast-1a", size: 10 })), /encrypted is unset/);
        assertViolation(run(view(aws.ebs.Volume, { availabilityZone: "ap-northeast-1a", encrypted: true })), /alias\/aws\/ebs/);
        assertCompliant(run(view(aws.ebs.Volume, { availabilityZone: "ap-northeast-1a", encrypted: true, kmsKeyId: CMK })));
    });
    it("checks an instance's root and extra block devices", () => {
        const instance = view(aws.ec2.Instance, { ami: "ami-1", rootBlockDevice: { encrypted: true, kmsKeyId: CMK }, ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: false }] });
        assertViolation(run(instance), /ebsBlockDevices\[0\]\.encrypted is false/);
        assertViolation(run(view(aws.ec2.Instance, { ami: "ami-1" })), /rootBlockDevice/);
        assertCompliant(run(view(aws.ec2.Instance, { ami: "ami-1", rootBlockDevice: { encrypted: true, kmsKeyId: CMK } })));
    });
    it("counts account-wide EBS encryption by default with a customer-managed default key, in the resource's region only", () => {
        const byDefault = view(aws.ebs.EncryptionByDefault, { enabled: true });
        const defaultKey = view(aws.ebs.DefaultKmsKey, { keyArn: CMK });
        assertCompliant(run(view(aws.ebs.Volume, { availabilityZone: "ap-northeast-1a" }), [byDefault, defaultKey]));
        assertCompliant(run(view(aws.ec2.Instance, { ami: "ami-1" }), [byDefault, defaultKey]));
        assertViolation(run(view(aws.ebs.Volume, { availabilityZone: "ap-northeast-1a" }), [byDefault]), /alias\/aws\/ebs/);
        assertViolation(run(view(aws.ebs.Volume, { availabilityZone: "ap-northeast-3a", region: "ap-northeast-3" } as never), [byDefault, defaultKey]), /encrypted is unset/);
        // Attacker: the account default key is the AWS-managed one.
        const awsDefault = view(aws.ebs.DefaultKmsKey, { keyArn: "arn:aws:kms:ap-northeast-1:1:alias/aws/ebs" });
        assertViolation(run(view(aws.ebs.Volume, { availabilityZone: "ap-northeast-1a" }), [byDefault, awsDefault]), /default key .*AWS-managed/);
    });
});

describe("store-encrypted-cmk on the other retired rules' types", () => {
    it("Secrets Manager (was secret-encrypted-cmk): fails the default aws/secretsmanager key, passes a CMK", () => {
        assertViolation(run(view(aws.secretsmanager.Secret, {})), /sets no kmsKeyId/);
        assertViolation(run(view(aws.secretsmanager.Secret, { kmsKeyId: "alias/aws/secretsmanager" })), /AWS-managed/);
        assertCompliant(run(view(aws.secretsmanager.Secret, { kmsKeyId: CMK })));
    });
    it("DynamoDB (was dynamodb-table-encrypted-cmk): fails an AWS-owned or AWS-managed key, passes a CMK", () => {
        assertViolation(run(view(aws.dynamodb.Table, { hashKey: "id" })), /AWS-owned|serverSideEncryption/);
        assertViolation(run(view(aws.dynamodb.Table, { hashKey: "id", serverSideEncryption: { enabled: true } })), /kmsKeyArn/);
        assertCompliant(run(view(aws.dynamodb.Table, { hashKey: "id", serverSideEncryption: { enabled: true, kmsKeyArn: CMK } })));
    });
    it("SNS (was sns-topic-encrypted-cmk): fails an unencrypted topic or alias/aws/sns, passes a CMK", () => {
        assertViolation(run(view(aws.sns.Topic, {})), /no encryption/);
        assertViolation(run(view(aws.sns.Topic, { kmsMasterKeyId: "alias/aws/sns" })), /AWS-managed/);
        assertCompliant(run(view(aws.sns.Topic, { kmsMasterKeyId: CMK })));
    });
    it("CodeBuild (was codebuild-project-encrypted-cmk): fails a project without encryptionKey, passes a CMK", () => {
        const base = { artifacts: { type: "NO_ARTIFACTS" }, environment: { computeType: "BUILD_GENERAL1_SMALL", image: "aws/codebuild/standard:7.0", type: "LINUX_CONTAINER" }, serviceRole: "arn:aws:iam::1:role/cb", source: { type: "NO_SOURCE" } };
        assertViolation(run(view(aws.codebuild.Project, base)), /encryptionKey/);
        assertCompliant(run(view(aws.codebuild.Project, { ...base, encryptionKey: CMK })));
    });
    it("log groups (was log-group-encrypted-cmk, advisory): fail without kmsKeyId, pass with a CMK", () => {
        assertViolation(run(view(aws.cloudwatch.LogGroup, { retentionInDays: 365 })), /kmsKeyId/);
        assertCompliant(run(view(aws.cloudwatch.LogGroup, { retentionInDays: 365, kmsKeyId: CMK })));
    });
    it("Lambda environments (was lambda-environment-encrypted-cmk, advisory): env vars need kmsKeyArn; functions without env are out of scope", () => {
        const base = { role: "arn:aws:iam::1:role/fn", runtime: "nodejs20.x", handler: "index.handler" };
        assertViolation(run(view(aws.lambda.Function, { ...base, environment: { variables: { DB_HOST: "db" } } })), /kmsKeyArn/);
        assertCompliant(run(view(aws.lambda.Function, { ...base, environment: { variables: { DB_HOST: "db" } }, kmsKeyArn: CMK })));
        assertNotApplicable(run(view(aws.lambda.Function, base)));
    });
});
