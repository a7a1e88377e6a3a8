import * as aws from "@pulumi/aws";
import { backupCopyInAllowedRegions } from "../../../policies/rules/backup/backup-copy-in-allowed-regions";
import { dynamodbReplicasInAllowedRegions } from "../../../policies/rules/dynamodb/dynamodb-replicas-in-allowed-regions";
import { elasticacheGlobalDatastoreInAllowedRegions } from "../../../policies/rules/elasticache/elasticache-global-datastore-in-allowed-regions";
import { regionAllowed } from "../../../policies/rules/global/region-allowed";
import { kmsKeySingleRegion } from "../../../policies/rules/kms/kms-key-single-region";
import { rdsBackupReplicationInAllowedRegions } from "../../../policies/rules/rds/rds-backup-replication-in-allowed-regions";
import { rdsReplicaSourceInAllowedRegions } from "../../../policies/rules/rds/rds-replica-source-in-allowed-regions";
import { s3ReplicationInAllowedRegions } from "../../../policies/rules/s3/s3-replication-in-allowed-regions";
import { secretReplicasInAllowedRegions } from "../../../policies/rules/secretsmanager/secret-replicas-in-allowed-regions";
import { createResourceValidationArgs as view, runRule, secret, UNKNOWN } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";

const OSAKA = { allowedRegions: ["ap-northeast-1", "ap-northeast-3"] };

describe("rule region-allowed", () => {
    const virginia = view(aws.Provider, { region: "us-east-1" }, { name: "virginia" });
    const tokyo = view(aws.Provider, { region: "ap-northeast-1" }, { name: "tokyo" });

    it("passes a resource on the default provider in Tokyo", () => {
        assertCompliant(runRule(regionAllowed, view(aws.s3.Bucket, {})));
    });
    it("fails a resource whose stack region is outside the list", () => {
        assertViolation(runRule(regionAllowed, view(aws.s3.Bucket, {}, { stackRegion: "us-west-2" })), /us-west-2 \(from the stack's aws:region\)/);
    });
    it("fails a resource created with an explicit provider in another region", () => {
        assertViolation(runRule(regionAllowed, view(aws.kms.Key, {}, { provider: virginia })), /us-east-1 \(from its provider virginia\)/);
    });
    it("lets the per-resource region property win over the provider's region, both ways", () => {
        assertViolation(runRule(regionAllowed, view(aws.rds.Cluster, { region: "eu-west-1" }, { provider: tokyo })), /eu-west-1 \(from its own region property\)/);
        assertCompliant(runRule(regionAllowed, view(aws.rds.Cluster, { region: "ap-northeast-1" }, { provider: virginia })));
    });
    it("fails a provider configured outside the list even with no resources on it, and passes one inside", () => {
        assertViolation(runRule(regionAllowed, virginia), /AWS provider is in us-east-1/);
        assertCompliant(runRule(regionAllowed, tokyo));
    });
    it("says a region still unknown during preview could not be checked yet", () => {
        assertCannotCheck(runRule(regionAllowed, view(aws.s3.Bucket, { region: UNKNOWN })));
    });
    it("reads a region kept as a secret without printing it", () => {
        assertViolation(runRule(regionAllowed, view(aws.s3.Bucket, { region: secret("us-east-2") })), /us-east-2/);
    });
    it("fails when no region can be determined, and ignores non-AWS resources", () => {
        assertViolation(runRule(regionAllowed, view(aws.s3.Bucket, {}, { stackRegion: null })), /cannot be determined/);
        assertNotApplicable(regionAllowed.check({ urn: "u", type: "random:index/randomPassword:RandomPassword", name: "p", props: {}, region: undefined, isProvider: false }, { stack: { resources: [], ofType: () => [], resolve: () => undefined }, config: { allowedRegions: ["ap-northeast-1"], minBackupRetentionDays: 14, minLogRetentionDays: 365, minTlsVersion: "TLSv1.3", dataPorts: [5432], enforcement: {} } }));
    });
    it("honours a widened allowedRegions list", () => {
        assertCompliant(runRule(regionAllowed, view(aws.s3.Bucket, { region: "ap-northeast-3" }), [], OSAKA));
    });
});

describe("rule secret-replicas-in-allowed-regions", () => {
    it("fails a replica in Singapore and passes one in Osaka when Osaka is allowed", () => {
        assertViolation(runRule(secretReplicasInAllowedRegions, view(aws.secretsmanager.Secret, { replicas: [{ region: "ap-southeast-1" }] })), /ap-southeast-1/);
        assertCompliant(runRule(secretReplicasInAllowedRegions, view(aws.secretsmanager.Secret, { replicas: [{ region: "ap-northeast-3" }] }), [], OSAKA));
        assertCompliant(runRule(secretReplicasInAllowedRegions, view(aws.secretsmanager.Secret, {})));
    });
    it("cannot check an unknown replica region", () => {
        assertCannotCheck(runRule(secretReplicasInAllowedRegions, view(aws.secretsmanager.Secret, { replicas: [{ region: UNKNOWN }] })));
    });
});

describe("rule dynamodb-replicas-in-allowed-regions", () => {
    it("fails a global-table replica abroad and passes none", () => {
        assertViolation(runRule(dynamodbReplicasInAllowedRegions, view(aws.dynamodb.Table, { replicas: [{ regionName: "us-west-2" }] })), /us-west-2/);
        assertCompliant(runRule(dynamodbReplicasInAllowedRegions, view(aws.dynamodb.Table, { replicas: [] })));
    });
});

describe("rule rds-backup-replication-in-allowed-regions", () => {
    const source = "arn:aws:rds:ap-northeast-1:123456789012:db:pii";
    it("fails automated backups replicated to a foreign region, passes Osaka when allowed", () => {
        assertViolation(runRule(rdsBackupReplicationInAllowedRegions, view(aws.rds.InstanceAutomatedBackupsReplication, { sourceDbInstanceArn: source, region: "us-west-2" })), /us-west-2/);
        assertCompliant(runRule(rdsBackupReplicationInAllowedRegions, view(aws.rds.InstanceAutomatedBackupsReplication, { sourceDbInstanceArn: source, region: "ap-northeast-3" }), [], OSAKA));
    });
    it("cannot check an unknown destination", () => {
        assertCannotCheck(runRule(rdsBackupReplicationInAllowedRegions, view(aws.rds.InstanceAutomatedBackupsReplication, { sourceDbInstanceArn: source, region: UNKNOWN })));
    });
});

describe("rule rds-replica-source-in-allowed-regions", () => {
    it("fails a read replica whose source ARN is in another region", () => {
        const replica = view(aws.rds.Instance, { instanceClass: "db.t4g.micro", replicateSourceDb: "arn:aws:rds:us-east-1:123456789012:db:pii" });
        assertViolation(runRule(rdsReplicaSourceInAllowedRegions, replica), /us-east-1/);
    });
    it("fails an Aurora cluster replicating from abroad", () => {
        assertViolation(runRule(rdsReplicaSourceInAllowedRegions, view(aws.rds.Cluster, { engine: "aurora-postgresql", replicationSourceIdentifier: "arn:aws:rds:eu-west-1:1:cluster:c" })), /eu-west-1/);
    });
    it("passes a same-region replica named by identifier, and does not apply to a primary", () => {
        assertNotApplicable(runRule(rdsReplicaSourceInAllowedRegions, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", replicateSourceDb: "pii" })));
        assertCompliant(runRule(rdsReplicaSourceInAllowedRegions, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", replicateSourceDb: "arn:aws:rds:ap-northeast-1:1:db:pii" })));
        assertNotApplicable(runRule(rdsReplicaSourceInAllowedRegions, view(aws.rds.Instance, { instanceClass: "db.t4g.micro" })));
    });
    it("cannot check an unknown source", () => {
        assertCannotCheck(runRule(rdsReplicaSourceInAllowedRegions, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", replicateSourceDb: UNKNOWN })));
    });
});

describe("rule s3-replication-in-allowed-regions", () => {
    const role = "arn:aws:iam::1:role/replication";
    it("fails replication to a bucket of this stack that lives abroad (S3 ARNs carry no region)", () => {
        const target = view(aws.s3.Bucket, { region: "us-east-1" }, { name: "dr", outputs: { arn: "arn:aws:s3:::dr-bucket", bucket: "dr-bucket" } });
        const config = view(aws.s3.BucketReplicationConfig, { bucket: "src", role, rules: [{ status: "Enabled", destination: { bucket: "arn:aws:s3:::dr-bucket" } }] });
        assertViolation(runRule(s3ReplicationInAllowedRegions, config, [target]), /us-east-1/);
    });
    it("passes replication to a bucket in Tokyo", () => {
        const target = view(aws.s3.Bucket, {}, { name: "dr", outputs: { arn: "arn:aws:s3:::dr-bucket" } });
        const config = view(aws.s3.BucketReplicationConfig, { bucket: "src", role, rules: [{ status: "Enabled", destination: { bucket: "arn:aws:s3:::dr-bucket" } }] });
        assertCompliant(runRule(s3ReplicationInAllowedRegions, config, [target]));
    });
    it("checks a bucket's inline replication configuration too", () => {
        const target = view(aws.s3.Bucket, { region: "eu-central-1" }, { name: "dr", outputs: { arn: "arn:aws:s3:::dr-bucket" } });
        const source = view(aws.s3.Bucket, { replicationConfiguration: { role, rules: [{ status: "Enabled", destination: { bucket: "arn:aws:s3:::dr-bucket" } }] } });
        assertViolation(runRule(s3ReplicationInAllowedRegions, source, [target]), /eu-central-1/);
    });
    it("cannot check a destination outside the stack or unknown", () => {
        const config = view(aws.s3.BucketReplicationConfig, { bucket: "src", role, rules: [{ status: "Enabled", destination: { bucket: "arn:aws:s3:::elsewhere" } }] });
        assertCannotCheck(runRule(s3ReplicationInAllowedRegions, config), /not in this stack/);
        const unknown = view(aws.s3.BucketReplicationConfig, { bucket: "src", role, rules: [{ status: "Enabled", destination: { bucket: UNKNOWN } }] });
        assertCannotCheck(runRule(s3ReplicationInAllowedRegions, unknown));
    });
});

describe("rule kms-key-single-region", () => {
    it("fails a multi-region key and a replica key, passes a single-region key", () => {
        assertViolation(runRule(kmsKeySingleRegion, view(aws.kms.Key, { multiRegion: true })), /multi-region/);
        assertViolation(runRule(kmsKeySingleRegion, view(aws.kms.ReplicaKey, { primaryKeyArn: "arn:aws:kms:ap-northeast-1:1:key/mrk-1" })), /replica/);
        assertCompliant(runRule(kmsKeySingleRegion, view(aws.kms.Key, {})));
    });
    it("cannot check an unknown multiRegion", () => {
        assertCannotCheck(runRule(kmsKeySingleRegion, view(aws.kms.Key, { multiRegion: UNKNOWN })));
    });
});

describe("rule elasticache-global-datastore-in-allowed-regions", () => {
    const primary = view(aws.elasticache.ReplicationGroup, { description: "p" }, { name: "primary", outputs: { id: "rg-primary" } });
    const global = view(aws.elasticache.GlobalReplicationGroup, { globalReplicationGroupIdSuffix: "pii", primaryReplicationGroupId: "rg-primary" }, { name: "global", outputs: { id: "gdf-pii" } });
    it("fails when only one region is allowed (a global datastore needs two)", () => {
        assertViolation(runRule(elasticacheGlobalDatastoreInAllowedRegions, global, [primary], { allowedRegions: ["ap-northeast-1"] }), /only ap-northeast-1 is allowed/);
    });
    it("fails a member abroad even with two allowed regions, passes members in Japan", () => {
        const abroad = view(aws.elasticache.ReplicationGroup, { description: "s", globalReplicationGroupId: "gdf-pii", region: "us-west-2" }, { name: "secondary" });
        assertViolation(runRule(elasticacheGlobalDatastoreInAllowedRegions, global, [primary, abroad], OSAKA), /member secondary sends data to us-west-2/);
        const osaka = view(aws.elasticache.ReplicationGroup, { description: "s", globalReplicationGroupId: "gdf-pii", region: "ap-northeast-3" }, { name: "secondary" });
        assertCompliant(runRule(elasticacheGlobalDatastoreInAllowedRegions, global, [primary, osaka], OSAKA));
    });
});

describe("rule backup-copy-in-allowed-regions", () => {
    const plan = (vault: string) =>
        view(aws.backup.Plan, { rules: [{ ruleName: "daily", targetVaultName: "main", schedule: "cron(0 3 * * ? *)", copyActions: [{ destinationVaultArn: vault }] }] });
    it("fails a copy action to a vault in another region, passes one in Tokyo", () => {
        assertViolation(runRule(backupCopyInAllowedRegions, plan("arn:aws:backup:us-east-1:1:backup-vault:dr")), /us-east-1/);
        assertCompliant(runRule(backupCopyInAllowedRegions, plan("arn:aws:backup:ap-northeast-1:1:backup-vault:dr")));
    });
    it("cannot check an unknown vault ARN", () => {
        assertCannotCheck(runRule(backupCopyInAllowedRegions, view(aws.backup.Plan, { rules: [{ ruleName: "d", targetVaultName: "m", copyActions: [{ destinationVaultArn: UNKNOWN }] }] })));
    });
});

describe("rule backup-copy-in-allowed-regions (vault references)", () => {
    it("follows a vault of this stack named by name, and cannot check one it cannot place", () => {
        const vault = view(aws.backup.Vault, { region: "eu-west-1" }, { name: "dr-vault", outputs: { name: "dr-vault" } });
        const plan = view(aws.backup.Plan, { rules: [{ ruleName: "d", targetVaultName: "m", copyActions: [{ destinationVaultArn: "dr-vault" }] }] });
        assertViolation(runRule(backupCopyInAllowedRegions, plan, [vault]), /eu-west-1/);
        assertCannotCheck(runRule(backupCopyInAllowedRegions, plan), /could not be checked/);
    });
});
