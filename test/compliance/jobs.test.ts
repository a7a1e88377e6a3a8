// The scheduled compliance jobs against AWS SDK client mocks (CloudWatch, RDS, AWS Backup, KMS) and a real
// PostgreSQL: what is published, what is recorded, and what counts as a problem.
import assert from "node:assert/strict";
import { BackupClient, ListBackupJobsCommand } from "@aws-sdk/client-backup";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeKeyCommand, GetKeyRotationStatusCommand, KMSClient, ListKeyRotationsCommand } from "@aws-sdk/client-kms";
import { DescribeDBClusterSnapshotsCommand, DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import pg from "pg";
import { NO_BACKUP_AGE_HOURS, runBackupJob, runKeyRotationJob, runMetricsJob } from "../../compliance/jobs";
import { COMPLIANCE_METRICS, COMPLIANCE_NAMESPACE } from "../../compliance/metric-names";
import { handler, setClientsForTest } from "../../lambdas/compliance-jobs";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { connect, seedUser } from "../db/helpers";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const now = new Date("2026-11-30T12:00:00Z");

const cloudwatchMock = mockClient(CloudWatchClient);
const rdsMock = mockClient(RDSClient);
const backupMock = mockClient(BackupClient);
const kmsMock = mockClient(KMSClient);

function published(): Record<string, { value: number; stack: string }> {
    const out: Record<string, { value: number; stack: string }> = {};
    for (const call of cloudwatchMock.commandCalls(PutMetricDataCommand)) {
        assert.equal(call.args[0].input.Namespace, COMPLIANCE_NAMESPACE);
        for (const d of call.args[0].input.MetricData ?? []) out[d.MetricName!] = { value: d.Value!, stack: d.Dimensions![0].Value! };
    }
    return out;
}

describe("compliance: scheduled jobs (AWS SDK mocks, real PostgreSQL)", function () {
    let db: TestDatabase;
    let admin: pg.Client;
    let job: pg.Client;

    before(async function () {
        db = await migratedDatabase("compliance_jobs");
        admin = await connect(db.url);
        job = await connect(await db.loginUrl("compliance_job"));
    });
    after(async function () {
        await Promise.all([job?.end(), admin?.end()]);
        await db?.drop();
    });
    beforeEach(function () {
        for (const m of [cloudwatchMock, rdsMock, backupMock, kmsMock]) m.reset();
        cloudwatchMock.on(PutMetricDataCommand).resolves({});
    });

    it("metrics: records a snapshot as compliance_job and publishes every alarmed figure with the Stack dimension", async function () {
        await seedUser(admin, "no-consent");
        await admin.query("INSERT INTO deletion_requests (user_id, requested_at) VALUES (gen_random_uuid(), $1)", [new Date(now.getTime() - 3 * HOUR)]);
        const m = await runMetricsJob({ db: job, cloudwatch: new CloudWatchClient({}), stack: "prod", now });
        assert.equal(m.deletion.overdue, 1);
        const out = published();
        assert.deepEqual(out[COMPLIANCE_METRICS.consentComplianceRate], { value: 0, stack: "prod" });
        assert.equal(out[COMPLIANCE_METRICS.usersMissingRequiredConsent].value, 1);
        assert.equal(out[COMPLIANCE_METRICS.deletionOverdue].value, 1);
        assert.equal(out[COMPLIANCE_METRICS.deletionOldestOverdueMinutes].value, 120);
        for (const name of ["auditGaps", "incidentsOverduePreliminary", "incidentsOverdueFinal", "incidentsDueWithin24h", "dataSubjectRequestsOverdue"] as const) {
            assert.equal(out[COMPLIANCE_METRICS[name]].value, 0, name);
        }
        const { rows } = await admin.query("SELECT taken_at, db_role FROM compliance_snapshots");
        assert.equal(rows.length, 1);
        assert.equal(rows[0].taken_at.toISOString(), now.toISOString());
    });

    describe("backups", function () {
        const target = { kind: "instance" as const, identifier: "appi-prod-postgres", resourceArn: "arn:aws:rds:ap-northeast-1:111122223333:db:appi-prod-postgres" };
        const deps = () => ({ rds: new RDSClient({}), backup: new BackupClient({}), cloudwatch: new CloudWatchClient({}), target, stack: "prod", now });

        it("a completed automated snapshot within 26 hours is healthy; pages are followed", async function () {
            rdsMock
                .on(DescribeDBSnapshotsCommand, { Marker: undefined })
                .resolves({ DBSnapshots: [{ Status: "available", SnapshotCreateTime: new Date(now.getTime() - 50 * HOUR) }], Marker: "p2" })
                .on(DescribeDBSnapshotsCommand, { Marker: "p2" })
                .resolves({ DBSnapshots: [{ Status: "available", SnapshotCreateTime: new Date(now.getTime() - 5 * HOUR) }, { Status: "creating", SnapshotCreateTime: now }] });
            backupMock.on(ListBackupJobsCommand).resolves({ BackupJobs: [] });
            const status = await runBackupJob(deps());
            assert.deepEqual([status.ok, status.ageHours, status.problems], [true, 5, []]);
            assert.equal(published()[COMPLIANCE_METRICS.backupAgeHours].value, 5);
            assert.equal(rdsMock.commandCalls(DescribeDBSnapshotsCommand)[0].args[0].input.SnapshotType, "automated");
        });

        it("a backup older than 26 hours, none at all, or a failed AWS Backup job is a problem", async function () {
            rdsMock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ Status: "available", SnapshotCreateTime: new Date(now.getTime() - 27 * HOUR) }] });
            backupMock.on(ListBackupJobsCommand).resolves({ BackupJobs: [{ State: "FAILED" }] });
            let status = await runBackupJob(deps());
            assert.equal(status.ok, false);
            assert.deepEqual(status.problems, ["newest backup of appi-prod-postgres is 27 h old (limit 26 h)", "1 AWS Backup job(s) failed in the last 26 h"]);
            assert.equal(published().BackupJobsFailed.value, 1);

            rdsMock.reset();
            cloudwatchMock.reset();
            cloudwatchMock.on(PutMetricDataCommand).resolves({});
            rdsMock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ Status: "failed", SnapshotCreateTime: now }] });
            backupMock.on(ListBackupJobsCommand).resolves({ BackupJobs: [] });
            status = await runBackupJob(deps());
            assert.deepEqual(status.problems, ["no completed backup of instance appi-prod-postgres"]);
            assert.equal(published()[COMPLIANCE_METRICS.backupAgeHours].value, NO_BACKUP_AGE_HOURS);
        });

        it("an Aurora cluster is checked through its cluster snapshots", async function () {
            rdsMock.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [{ Status: "available", SnapshotCreateTime: new Date(now.getTime() - 2 * HOUR) }] });
            const status = await runBackupJob({ ...deps(), target: { kind: "cluster", identifier: "appi-prod-postgres" } });
            assert.equal(status.ageHours, 2);
            assert.equal(rdsMock.commandCalls(DescribeDBSnapshotsCommand).length, 0);
        });
    });

    describe("key rotation", function () {
        const KEY = "arn:aws:kms:ap-northeast-1:111122223333:key/pii";
        const OTHER = "arn:aws:kms:ap-northeast-1:111122223333:key/logs";
        const deps = () => ({ kms: new KMSClient({}), db: job, cloudwatch: new CloudWatchClient({}), keyIds: [KEY, OTHER], stack: "prod", now });

        function keys(rotation: Record<string, { enabled: boolean; rotations: Date[] }>) {
            for (const [keyId, r] of Object.entries(rotation)) {
                kmsMock.on(DescribeKeyCommand, { KeyId: keyId }).resolves({ KeyMetadata: { KeyId: keyId, KeyManager: "CUSTOMER", CreationDate: new Date(now.getTime() - 800 * DAY) } });
                kmsMock.on(GetKeyRotationStatusCommand, { KeyId: keyId }).resolves({ KeyRotationEnabled: r.enabled, RotationPeriodInDays: r.enabled ? 365 : undefined });
                kmsMock.on(ListKeyRotationsCommand, { KeyId: keyId }).resolves({ Rotations: r.rotations.map((d) => ({ RotationDate: d, RotationType: "AUTOMATIC" })), Truncated: false });
            }
        }

        it("passes when every key rotates on schedule and the data is under the current PII key version; records the drill", async function () {
            keys({ [KEY]: { enabled: true, rotations: [new Date(now.getTime() - 400 * DAY), new Date(now.getTime() - 35 * DAY)] }, [OTHER]: { enabled: true, rotations: [new Date(now.getTime() - 300 * DAY)] } });
            const user = await seedUser(admin, "keys");
            await admin.query("INSERT INTO encryption_metadata (user_id, field_name, encryption_level, kms_key_id, key_version) VALUES ($1, 'address_encrypted', 2, $2, 1)", [user.id, KEY]);
            const result = await runKeyRotationJob(deps());
            assert.equal(result.ok, true, JSON.stringify(result));
            assert.equal(published()[COMPLIANCE_METRICS.keysFailingRotation].value, 0);
            const { rows } = await admin.query("SELECT drill, succeeded, details -> 'keys' -> 0 ->> 'lastRotatedAt' AS last FROM drill_results ORDER BY id DESC LIMIT 1");
            assert.deepEqual([rows[0].drill, rows[0].succeeded, rows[0].last], ["key_rotation", true, new Date(now.getTime() - 35 * DAY).toISOString()]);
        });

        it("fails on a key with rotation off, a key not rotated within its period, and data left under an old PII version", async function () {
            keys({ [KEY]: { enabled: false, rotations: [] }, [OTHER]: { enabled: true, rotations: [new Date(now.getTime() - 380 * DAY)] } });
            // The log says level 2 rotated to version 2 and new data uses 2, but a field is still under version 1.
            await admin.query("UPDATE system_config SET value = '2' WHERE key = 'encryption.level2.current_key_version'");
            await admin.query("INSERT INTO key_rotation_log (key_type, kms_key_id, old_key_version, new_key_version, status, initiated_by) VALUES ('level2', $1, 1, 2, 'completed', 'ops')", [KEY]);
            const result = await runKeyRotationJob(deps());
            assert.equal(result.ok, false);
            assert.deepEqual(result.keys.map((k) => k.problems.length), [1, 1]);
            assert.match(result.keys[0].problems[0], /automatic rotation is off/);
            assert.match(result.keys[1].problems[0], /more than 365 days \(\+7\) ago/);
            assert.match(result.versions[0].problems.join(";"), /level 2: 1 field\(s\) under version 1 with no rotation in progress \(current 2\)/);
            assert.equal(published()[COMPLIANCE_METRICS.keysFailingRotation].value, 2);
            assert.equal(published()[COMPLIANCE_METRICS.keyVersionMismatches].value, 1);

            // While a re-encryption is under way, old-version fields are expected.
            await admin.query("INSERT INTO key_rotation_log (key_type, kms_key_id, old_key_version, new_key_version, status, initiated_by) VALUES ('level2', $1, 2, 3, 'in_progress', 'ops')", [KEY]);
            const during = await runKeyRotationJob(deps());
            assert.deepEqual(during.versions[0].problems, []);
            // A rotation log that got ahead of the configured version is a mismatch.
            await admin.query("INSERT INTO key_rotation_log (rotation_id, key_type, kms_key_id, old_key_version, new_key_version, status, initiated_by) SELECT rotation_id, 'level2', $1, 2, 3, 'completed', 'ops' FROM key_rotation_log WHERE status = 'in_progress'", [KEY]);
            const after = await runKeyRotationJob(deps());
            assert.match(after.versions[0].problems.join(";"), /reached version 3, but new data uses version 2/);
        });
    });

    describe("Lambda handler", function () {
        it("refuses an unknown task and a missing STACK with a clear error", async function () {
            setClientsForTest({ cloudwatch: new CloudWatchClient({}), rds: new RDSClient({}), backup: new BackupClient({}), kms: new KMSClient({}) });
            await assert.rejects(handler({ task: "nonsense" }, {}), /unknown task "nonsense": expected one of metrics, backups, key-rotation/);
            await assert.rejects(handler({ task: "backups" }, {}), /environment variable STACK is not set/);
        });

        it("runs the backups task from its environment", async function () {
            setClientsForTest({ cloudwatch: new CloudWatchClient({}), rds: new RDSClient({}), backup: new BackupClient({}), kms: new KMSClient({}) });
            rdsMock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
            const result = await handler({ task: "backups" }, { STACK: "dev", DB_INSTANCE_ID: "appi-dev-postgres" });
            assert.deepEqual(result, { task: "backups", ok: false, problems: ["no completed backup of instance appi-dev-postgres"] });
            assert.equal(published()[COMPLIANCE_METRICS.backupAgeHours].stack, "dev");
        });
    });
});
