import * as aws from "@pulumi/aws";
import { logGroupRetention } from "../../../policies/rules/cloudwatch/log-group-retention";
import { dynamodbPointInTimeRecovery } from "../../../policies/rules/dynamodb/dynamodb-point-in-time-recovery";
import { elasticacheSnapshotRetention } from "../../../policies/rules/elasticache/elasticache-snapshot-retention";
import { kmsKeyRotation } from "../../../policies/rules/kms/kms-key-rotation";
import { rdsClusterBackupRetention } from "../../../policies/rules/rds/rds-cluster-backup-retention";
import { rdsInstanceBackupRetention } from "../../../policies/rules/rds/rds-instance-backup-retention";
import { createResourceValidationArgs as view, runRule, secret, UNKNOWN, unreadableSecret } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";

describe("rule rds-instance-backup-retention", () => {
    it("fails the AWS default of 1 day when unset, and 7 days; passes 14", () => {
        assertViolation(runRule(rdsInstanceBackupRetention, view(aws.rds.Instance, { instanceClass: "db.t4g.micro" })), /1 day\(s\) \(AWS default, backupRetentionPeriod unset\)/);
        assertViolation(runRule(rdsInstanceBackupRetention, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", backupRetentionPeriod: 7 })), /7 day\(s\), below the minimum of 14/);
        assertCompliant(runRule(rdsInstanceBackupRetention, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", backupRetentionPeriod: 14 })));
    });
    it("honours the configured minimum, skips read replicas and cannot check unknowns", () => {
        assertCompliant(runRule(rdsInstanceBackupRetention, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", backupRetentionPeriod: 7 }), [], { minBackupRetentionDays: 7 }));
        assertNotApplicable(runRule(rdsInstanceBackupRetention, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", replicateSourceDb: "pii" })));
        assertCannotCheck(runRule(rdsInstanceBackupRetention, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", backupRetentionPeriod: UNKNOWN })));
    });
});

describe("rule rds-cluster-backup-retention", () => {
    it("flags the spec's 7-day Aurora backups and passes 14", () => {
        assertViolation(runRule(rdsClusterBackupRetention, view(aws.rds.Cluster, { engine: "aurora-postgresql", backupRetentionPeriod: 7 })), /7 day\(s\)/);
        assertViolation(runRule(rdsClusterBackupRetention, view(aws.rds.Cluster, { engine: "aurora-postgresql" })), /AWS default/);
        assertCompliant(runRule(rdsClusterBackupRetention, view(aws.rds.Cluster, { engine: "aurora-postgresql", backupRetentionPeriod: 14 })));
    });
    it("reads a readable secret and cannot check an unreadable one", () => {
        assertCompliant(runRule(rdsClusterBackupRetention, view(aws.rds.Cluster, { backupRetentionPeriod: secret(21) })));
        assertCannotCheck(runRule(rdsClusterBackupRetention, view(aws.rds.Cluster, { backupRetentionPeriod: unreadableSecret() })), /secret/);
    });
    it("reads numbers recorded as strings in a state file", () => {
        assertCompliant(runRule(rdsClusterBackupRetention, view(aws.rds.Cluster, {}, { outputs: { backupRetentionPeriod: "30" } })));
    });
});

describe("rule elasticache-snapshot-retention", () => {
    it("fails snapshots off by default and too short; passes 14", () => {
        assertViolation(runRule(elasticacheSnapshotRetention, view(aws.elasticache.ReplicationGroup, { description: "c" })), /snapshots are off/);
        assertViolation(runRule(elasticacheSnapshotRetention, view(aws.elasticache.ReplicationGroup, { description: "c", snapshotRetentionLimit: 5 })), /5 day\(s\)/);
        assertCompliant(runRule(elasticacheSnapshotRetention, view(aws.elasticache.ReplicationGroup, { description: "c", snapshotRetentionLimit: 14 })));
    });
    it("covers serverless caches and standalone clusters", () => {
        assertCompliant(runRule(elasticacheSnapshotRetention, view(aws.elasticache.ServerlessCache, { engine: "valkey", snapshotRetentionLimit: 20 })));
        assertViolation(runRule(elasticacheSnapshotRetention, view(aws.elasticache.Cluster, { engine: "memcached" })), /memcached/);
        assertNotApplicable(runRule(elasticacheSnapshotRetention, view(aws.elasticache.Cluster, { replicationGroupId: "rg" })));
    });
});

describe("rule dynamodb-point-in-time-recovery", () => {
    it("fails PITR off, and a recovery window below the minimum; passes the 35-day default", () => {
        assertViolation(runRule(dynamodbPointInTimeRecovery, view(aws.dynamodb.Table, { hashKey: "id" })), /point-in-time recovery is off/);
        assertViolation(runRule(dynamodbPointInTimeRecovery, view(aws.dynamodb.Table, { hashKey: "id", pointInTimeRecovery: { enabled: true, recoveryPeriodInDays: 7 } })), /7 day\(s\)/);
        assertCompliant(runRule(dynamodbPointInTimeRecovery, view(aws.dynamodb.Table, { hashKey: "id", pointInTimeRecovery: { enabled: true } })));
    });
});

describe("rule kms-key-rotation", () => {
    it("fails a symmetric key without rotation, passes with rotation, ignores asymmetric keys", () => {
        assertViolation(runRule(kmsKeyRotation, view(aws.kms.Key, {})), /rotation is off/);
        assertCompliant(runRule(kmsKeyRotation, view(aws.kms.Key, { enableKeyRotation: true })));
        assertNotApplicable(runRule(kmsKeyRotation, view(aws.kms.Key, { customerMasterKeySpec: "RSA_2048", keyUsage: "SIGN_VERIFY" })));
        assertCannotCheck(runRule(kmsKeyRotation, view(aws.kms.Key, { enableKeyRotation: UNKNOWN })));
    });
});

describe("rule log-group-retention", () => {
    it("fails retention unset (kept forever) or 0, and below the minimum; passes 365 and more", () => {
        assertViolation(runRule(logGroupRetention, view(aws.cloudwatch.LogGroup, {})), /kept forever/);
        assertViolation(runRule(logGroupRetention, view(aws.cloudwatch.LogGroup, { retentionInDays: 0 })), /kept forever/);
        assertViolation(runRule(logGroupRetention, view(aws.cloudwatch.LogGroup, { retentionInDays: 90 })), /90 day\(s\), below the minimum of 365/);
        assertCompliant(runRule(logGroupRetention, view(aws.cloudwatch.LogGroup, { retentionInDays: 365 })));
        assertCompliant(runRule(logGroupRetention, view(aws.cloudwatch.LogGroup, { retentionInDays: 731 })));
    });
    it("honours a configured minimum and cannot check unknowns", () => {
        assertCompliant(runRule(logGroupRetention, view(aws.cloudwatch.LogGroup, { retentionInDays: 90 }), [], { minLogRetentionDays: 90 }));
        assertCannotCheck(runRule(logGroupRetention, view(aws.cloudwatch.LogGroup, { retentionInDays: UNKNOWN })));
    });
});
