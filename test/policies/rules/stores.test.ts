// The general store rules over the stores catalogue: a failing, a passing and an attacker's case each,
// plus provenance (inputs vs outputs), preview unknowns, secrets, list-shaped v7 fields and regions.
import * as aws from "@pulumi/aws";
import { storeBackups } from "../../../policies/rules/stores/store-backups";
import { storeEncryptedCmk } from "../../../policies/rules/stores/store-encrypted-cmk";
import { storePrivate } from "../../../policies/rules/stores/store-private";
import { createResourceValidationArgs as view, runRule, secret, UNKNOWN, unreadableSecret } from "../../support/validation-args";
import { assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";

const KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/1111aaaa-22bb-33cc-44dd-555555eeeeee";
const key = view(aws.kms.Key, { enableKeyRotation: true }, { name: "pii-key", id: "1111aaaa-22bb-33cc-44dd-555555eeeeee", outputs: { arn: KEY_ARN } });
const docdb = (props: Record<string, unknown>, options: Parameters<typeof view>[2] = {}) =>
    view(aws.docdb.Cluster, { storageEncrypted: true, backupRetentionPeriod: 14, ...props } as never, { name: "pii-docdb", ...options });

describe("rule store-encrypted-cmk", () => {
    it("passes a key created in the stack, and a key listed in externalKmsKeys", () => {
        assertCompliant(runRule(storeEncryptedCmk, docdb({ kmsKeyId: KEY_ARN }), [key]));
        const external = "arn:aws:kms:ap-northeast-1:123456789012:key/9999aaaa-22bb-33cc-44dd-555555eeeeee";
        assertCompliant(runRule(storeEncryptedCmk, docdb({ kmsKeyId: external }), [], { externalKmsKeys: [external] }));
    });
    it("fails no key, an AWS-managed alias, and a literal ARN nobody can see (it may be the AWS default)", () => {
        assertViolation(runRule(storeEncryptedCmk, docdb({})), /sets no kmsKeyId/);
        assertViolation(runRule(storeEncryptedCmk, docdb({ kmsKeyId: "alias/aws/rds" })), /AWS-managed/);
        assertViolation(runRule(storeEncryptedCmk, docdb({ kmsKeyId: "arn:aws:kms:ap-northeast-1:123456789012:key/abcd" })), /not provably customer-managed/);
        assertViolation(runRule(storeEncryptedCmk, docdb({ kmsKeyId: KEY_ARN, storageEncrypted: false }), [key]), /storageEncrypted is false/);
    });
    it("attacker: a key only in the recorded outputs (AWS filled it in) fails even when it is a stack key; inputs win when they disagree", () => {
        assertViolation(runRule(storeEncryptedCmk, docdb({}, { outputs: { kmsKeyId: KEY_ARN } }), [key]), /only in the recorded outputs/);
        assertCompliant(runRule(storeEncryptedCmk, docdb({ kmsKeyId: KEY_ARN }, { outputs: { kmsKeyId: "arn:aws:kms:ap-northeast-1:123456789012:key/other" } }), [key]));
    });
    it("attacker: an alias in the stack pointing at an AWS-managed key fails; one pointing at a stack key passes", () => {
        const bad = view(aws.kms.Alias, { name: "alias/pii", targetKeyId: "alias/aws/rds" }, { name: "alias-bad" });
        assertViolation(runRule(storeEncryptedCmk, docdb({ kmsKeyId: "alias/pii" }), [bad]), /AWS-managed/);
        const good = view(aws.kms.Alias, { name: "alias/pii", targetKeyId: KEY_ARN }, { name: "alias-good" });
        assertCompliant(runRule(storeEncryptedCmk, docdb({ kmsKeyId: "alias/pii" }), [good, key]));
    });
    it("preview: an unknown key is not proven unless its property depends on a KMS key of the stack", () => {
        assertViolation(runRule(storeEncryptedCmk, docdb({ kmsKeyId: UNKNOWN })), /not known .*not proven/);
        assertCompliant(runRule(storeEncryptedCmk, docdb({ kmsKeyId: UNKNOWN }, { dependsOn: { kmsKeyId: [key.urn] } }), [key]));
    });
    it("secrets: a readable secret key is read; an unreadable one is not proven", () => {
        assertCompliant(runRule(storeEncryptedCmk, docdb({ kmsKeyId: secret(KEY_ARN) }), [key]));
        assertViolation(runRule(storeEncryptedCmk, docdb({ kmsKeyId: unreadableSecret() })), /secret this runner cannot read/);
    });
    it("reads the v7 list-shaped BucketV2 fields, and flags a separate SSE-S3 configuration", () => {
        const sse = (algorithm: string, keyId?: string) => ({ serverSideEncryptionConfigurations: [{ rules: [{ applyServerSideEncryptionByDefaults: [{ sseAlgorithm: algorithm, kmsMasterKeyId: keyId }] }] }] });
        void sse;
        const lt = (devices: unknown[]) => view(aws.ec2.LaunchTemplate, { blockDeviceMappings: devices } as never, { name: "lt" });
        assertCompliant(runRule(storeEncryptedCmk, lt([{ deviceName: "/dev/xvda", ebs: { encrypted: "true", kmsKeyId: KEY_ARN } }]), [key]));
        assertViolation(runRule(storeEncryptedCmk, lt([{ deviceName: "/dev/xvda", ebs: { encrypted: "true", kmsKeyId: KEY_ARN } }, { deviceName: "/dev/xvdb", ebs: { encrypted: "false" } }]), [key]), /blockDeviceMappings\[1\]\.ebs\.encrypted/);
        const config = view(aws.s3.BucketServerSideEncryptionConfiguration, { bucket: "b2", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });
        assertViolation(runRule(storeEncryptedCmk, config), /sseAlgorithm is "AES256"/);
    });
    it("applies only where data is stored, and not to stores tagged appi:personal-data=none", () => {
        assertNotApplicable(runRule(storeEncryptedCmk, view(aws.ssm.Parameter, { type: "String", value: "x" })));
        assertViolation(runRule(storeEncryptedCmk, view(aws.ssm.Parameter, { type: "SecureString", value: "x" })), /alias\/aws\/ssm/);
        assertNotApplicable(runRule(storeEncryptedCmk, view(aws.sqs.Queue, { tags: { "appi:personal-data": "none" } })));
        assertViolation(runRule(storeEncryptedCmk, view(aws.sqs.Queue, { tags: { "appi:personal-data": "maybe" } })), /SSE-SQS/);
        assertViolation(runRule(storeEncryptedCmk, view(aws.msk.ServerlessCluster, { clientAuthentication: { sasl: { iam: { enabled: true } } }, vpcConfigs: [{ subnetIds: ["s"] }] })), /AWS-managed key/);
    });
    it("members are judged by their cluster, which must be in the stack", () => {
        const cluster = docdb({ kmsKeyId: KEY_ARN });
        assertCompliant(runRule(storeEncryptedCmk, view(aws.docdb.ClusterInstance, { clusterIdentifier: "pii-docdb", instanceClass: "db.r6g.large" }), [cluster, key]));
        assertViolation(runRule(storeEncryptedCmk, view(aws.docdb.ClusterInstance, { clusterIdentifier: "elsewhere", instanceClass: "db.r6g.large" })), /not a aws:docdb\/cluster:Cluster in this stack/);
    });
    it("launch configurations: only the account's EBS default key in the resource's own region counts", () => {
        const lc = (region?: string) => view(aws.ec2.LaunchConfiguration, { imageId: "ami-1", instanceType: "t3.micro", ...(region ? { region } : {}) } as never);
        assertViolation(runRule(storeEncryptedCmk, lc()), /EBS default key/);
        const on = view(aws.ebs.EncryptionByDefault, { enabled: true });
        const dflt = view(aws.ebs.DefaultKmsKey, { keyArn: KEY_ARN });
        assertCompliant(runRule(storeEncryptedCmk, lc(), [on, dflt, key]));
        assertViolation(runRule(storeEncryptedCmk, lc("ap-northeast-3"), [on, dflt, key]), /ap-northeast-3/);
    });
});

describe("rule store-backups", () => {
    it("fails the AWS default retention, passes the minimum", () => {
        assertViolation(runRule(storeBackups, view(aws.neptune.Cluster, {})), /backupRetentionPeriod is 1 day\(s\) \(unset/);
        assertCompliant(runRule(storeBackups, view(aws.neptune.Cluster, { backupRetentionPeriod: 14 })));
    });
    it("an AWS Backup selection counts only when its plan keeps recovery points long enough (attacker: a 7-day plan)", () => {
        const bucket = view(aws.s3.BucketV2, {}, { name: "pii-bucket", outputs: { arn: "arn:aws:s3:::pii-bucket" } });
        const plan = (days: number) => view(aws.backup.Plan, { rules: [{ ruleName: "d", targetVaultName: "v", lifecycle: { deleteAfter: days } }] }, { name: "plan", id: "plan-1" });
        const selection = view(aws.backup.Selection, { planId: "plan-1", iamRoleArn: "r", resources: ["arn:aws:s3:::pii-*"] });
        assertViolation(runRule(storeBackups, bucket), /no AWS Backup selection/);
        assertCompliant(runRule(storeBackups, bucket, [plan(30), selection]));
        assertViolation(runRule(storeBackups, bucket, [plan(7), selection]), /fewer than 14 days/);
    });
    it("EFS needs a backup policy; legacy global tables are their tables'; memcached has none to keep", () => {
        const fs = view(aws.efs.FileSystem, {}, { name: "efs", id: "fs-1" });
        assertViolation(runRule(storeBackups, fs), /BackupPolicy/);
        assertCompliant(runRule(storeBackups, fs, [view(aws.efs.BackupPolicy, { fileSystemId: "fs-1", backupPolicy: { status: "ENABLED" } })]));
        assertViolation(runRule(storeBackups, view(aws.dynamodb.GlobalTable, { name: "users", replicas: [{ regionName: "ap-northeast-1" }] })), /not a aws:dynamodb\/table:Table in this stack/);
        assertNotApplicable(runRule(storeBackups, view(aws.elasticache.Cluster, { engine: "memcached", nodeType: "cache.t4g.small" })));
    });
});

describe("rule store-private", () => {
    const subnet = (name: string, id: string) => view(aws.ec2.Subnet, { vpcId: "vpc-1", cidrBlock: "10.0.1.0/24" }, { name, id });
    const publicTable = view(aws.ec2.RouteTable, { vpcId: "vpc-1", routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: "igw-1" }] }, { name: "public-rt", id: "rtb-pub" });
    const assoc = view(aws.ec2.RouteTableAssociation, { subnetId: "subnet-pub", routeTableId: "rtb-pub" });
    it("fails a store with no subnet group (the default VPC), passes one in isolated subnets, fails public subnets", () => {
        assertViolation(runRule(storePrivate, view(aws.neptune.Cluster, {})), /default VPC/);
        const group = (ids: string[]) => view(aws.neptune.SubnetGroup, { name: "g", subnetIds: ids }, { name: "g" });
        assertCompliant(runRule(storePrivate, view(aws.neptune.Cluster, { neptuneSubnetGroupName: "g" }), [group(["subnet-a"]), subnet("a", "subnet-a")]));
        assertViolation(runRule(storePrivate, view(aws.neptune.Cluster, { neptuneSubnetGroupName: "g" }), [group(["subnet-pub"]), subnet("pub", "subnet-pub"), publicTable, assoc]), /internet gateway/);
    });
    it("attacker: public flags on any store type, an OpenSearch domain without vpcOptions, AllowFromPublic", () => {
        assertViolation(runRule(storePrivate, view(aws.redshift.Cluster, { clusterIdentifier: "r", nodeType: "ra3.xlplus", publiclyAccessible: true, clusterSubnetGroupName: "x" })), /publiclyAccessible/);
        assertViolation(runRule(storePrivate, view(aws.opensearch.Domain, {})), /public endpoint/);
        assertViolation(
            runRule(storePrivate, view(aws.opensearch.ServerlessSecurityPolicy, { name: "n", type: "network", policy: JSON.stringify([{ Rules: [], AllowFromPublic: true }]) })),
            /AllowFromPublic/,
        );
        assertNotApplicable(runRule(storePrivate, view(aws.opensearch.Domain, { tags: { "appi:personal-data": "none" } })));
    });
});
