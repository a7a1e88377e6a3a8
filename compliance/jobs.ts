// The scheduled compliance jobs (lambdas/compliance-jobs runs them; components/compliance-jobs.ts schedules them):
//   metrics       record a compliance snapshot in the database and publish it as CloudWatch custom metrics
//   backups       age of the newest completed backup of the database, and failed AWS Backup jobs
//   key-rotation  every customer-managed key rotates and rotated within its period; PII key versions agree
// Results go where the alarms (CloudWatch) and the monthly report (compliance_snapshots, drill_results) read them.
import { CloudWatchClient, MetricDatum, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { BackupClient, ListBackupJobsCommand } from "@aws-sdk/client-backup";
import { DescribeKeyCommand, GetKeyRotationStatusCommand, KMSClient, ListKeyRotationsCommand } from "@aws-sdk/client-kms";
import { DescribeDBClusterSnapshotsCommand, DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";
import pg from "pg";
import { BACKUP_MAX_AGE_HOURS, COMPLIANCE_METRICS, COMPLIANCE_NAMESPACE } from "./metric-names";
import { ComplianceMetrics, readComplianceMetrics } from "./metrics";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** Reported as the backup age when there is no completed backup at all: far past any threshold. */
export const NO_BACKUP_AGE_HOURS = 24 * 365;
/** KMS rotates on its schedule, give or take; a key is late only after this much slack. */
export const ROTATION_GRACE_DAYS = 7;

type Db = pg.ClientBase | pg.Pool;

export function metricDatums(m: ComplianceMetrics, stack: string, at: Date): MetricDatum[] {
    const datum = (name: string, value: number, unit: MetricDatum["Unit"] = "Count"): MetricDatum => ({
        MetricName: name,
        Dimensions: [{ Name: "Stack", Value: stack }],
        Timestamp: at,
        Value: value,
        Unit: unit,
    });
    return [
        datum(COMPLIANCE_METRICS.consentComplianceRate, m.consent.complianceRate, "None"),
        datum(COMPLIANCE_METRICS.usersMissingRequiredConsent, m.consent.usersMissingRequired),
        datum(COMPLIANCE_METRICS.deletionOverdue, m.deletion.overdue),
        datum(COMPLIANCE_METRICS.deletionOldestOverdueMinutes, m.deletion.oldestOverdueMinutes, "None"),
        datum(COMPLIANCE_METRICS.dataSubjectRequestsOverdue, m.dataSubjectRequests.overdue),
        datum(COMPLIANCE_METRICS.incidentsOverduePreliminary, m.incidents.overduePreliminary),
        datum(COMPLIANCE_METRICS.incidentsOverdueFinal, m.incidents.overdueFinal),
        datum(COMPLIANCE_METRICS.incidentsDueWithin24h, m.incidents.dueWithin24h),
        datum(COMPLIANCE_METRICS.auditGaps, m.audit.gaps),
        datum(COMPLIANCE_METRICS.provisionRecordsPastRetention, m.thirdPartyProvisions.pastRetention),
    ];
}

export async function putMetrics(cloudwatch: CloudWatchClient, datums: MetricDatum[]): Promise<void> {
    // PutMetricData takes up to 1,000 values per call.
    for (let i = 0; i < datums.length; i += 1000) {
        await cloudwatch.send(new PutMetricDataCommand({ Namespace: COMPLIANCE_NAMESPACE, MetricData: datums.slice(i, i + 1000) }));
    }
}

export async function runMetricsJob(deps: { db: Db; cloudwatch: CloudWatchClient; stack: string; now?: Date }): Promise<ComplianceMetrics> {
    const now = deps.now ?? new Date();
    const metrics = await readComplianceMetrics(deps.db, { now, record: true });
    await putMetrics(deps.cloudwatch, metricDatums(metrics, deps.stack, now));
    return metrics;
}

export interface BackupTarget {
    /** RDS instance or Aurora cluster identifier. */
    kind: "instance" | "cluster";
    identifier: string;
    /** ARN of the instance / cluster: AWS Backup jobs are looked up by it when given. */
    resourceArn?: string;
}

export interface BackupStatus {
    latestBackupAt: Date | null;
    ageHours: number;
    failedJobs: number;
    ok: boolean;
    problems: string[];
}

export async function checkBackups(deps: { rds: RDSClient; backup?: BackupClient; target: BackupTarget; now?: Date }): Promise<BackupStatus> {
    const now = deps.now ?? new Date();
    const times: Date[] = [];
    let marker: string | undefined;
    do {
        if (deps.target.kind === "instance") {
            const page = await deps.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: deps.target.identifier, SnapshotType: "automated", Marker: marker }));
            for (const s of page.DBSnapshots ?? []) if (s.Status === "available" && s.SnapshotCreateTime) times.push(new Date(s.SnapshotCreateTime));
            marker = page.Marker;
        } else {
            const page = await deps.rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterIdentifier: deps.target.identifier, SnapshotType: "automated", Marker: marker }));
            for (const s of page.DBClusterSnapshots ?? []) if (s.Status === "available" && s.SnapshotCreateTime) times.push(new Date(s.SnapshotCreateTime));
            marker = page.Marker;
        }
    } while (marker);

    let failedJobs = 0;
    if (deps.backup && deps.target.resourceArn) {
        let token: string | undefined;
        do {
            const page = await deps.backup.send(new ListBackupJobsCommand({ ByResourceArn: deps.target.resourceArn, ByCreatedAfter: new Date(now.getTime() - BACKUP_MAX_AGE_HOURS * HOUR), NextToken: token }));
            for (const job of page.BackupJobs ?? []) {
                if (job.State === "COMPLETED" && job.CompletionDate) times.push(new Date(job.CompletionDate));
                if (job.State === "FAILED" || job.State === "ABORTED" || job.State === "EXPIRED") failedJobs++;
            }
            token = page.NextToken;
        } while (token);
    }

    const latest = times.length ? new Date(Math.max(...times.map((t) => t.getTime()))) : null;
    const ageHours = latest ? Math.round(((now.getTime() - latest.getTime()) / HOUR) * 100) / 100 : NO_BACKUP_AGE_HOURS;
    const problems: string[] = [];
    if (!latest) problems.push(`no completed backup of ${deps.target.kind} ${deps.target.identifier}`);
    else if (ageHours > BACKUP_MAX_AGE_HOURS) problems.push(`newest backup of ${deps.target.identifier} is ${ageHours} h old (limit ${BACKUP_MAX_AGE_HOURS} h)`);
    if (failedJobs) problems.push(`${failedJobs} AWS Backup job(s) failed in the last ${BACKUP_MAX_AGE_HOURS} h`);
    return { latestBackupAt: latest, ageHours, failedJobs, ok: problems.length === 0, problems };
}

export async function runBackupJob(deps: { rds: RDSClient; backup?: BackupClient; cloudwatch: CloudWatchClient; target: BackupTarget; stack: string; now?: Date }): Promise<BackupStatus> {
    const now = deps.now ?? new Date();
    const status = await checkBackups({ ...deps, now });
    const dims = [{ Name: "Stack", Value: deps.stack }];
    await putMetrics(deps.cloudwatch, [
        { MetricName: COMPLIANCE_METRICS.backupAgeHours, Dimensions: dims, Timestamp: now, Value: status.ageHours, Unit: "None" },
        { MetricName: "BackupJobsFailed", Dimensions: dims, Timestamp: now, Value: status.failedJobs, Unit: "Count" },
    ]);
    return status;
}

export interface KeyCheck {
    keyId: string;
    rotationEnabled: boolean;
    rotationPeriodDays: number | null;
    lastRotatedAt: string | null;
    problems: string[];
}

export interface KeyVersionCheck {
    encryptionLevel: number;
    currentKeyVersion: number | null;
    latestRotatedVersion: number | null;
    rotationInProgress: boolean;
    fieldsByVersion: Record<string, number>;
    problems: string[];
}

export interface KeyRotationResult {
    keys: KeyCheck[];
    versions: KeyVersionCheck[];
    keysFailing: number;
    versionMismatches: number;
    ok: boolean;
}

/** KMS side: rotation on, and the newest rotation (or the key's creation) within the period plus grace. */
export async function checkKmsRotation(kms: KMSClient, keyIds: string[], now: Date): Promise<KeyCheck[]> {
    const checks: KeyCheck[] = [];
    for (const keyId of keyIds) {
        const problems: string[] = [];
        const { KeyMetadata: meta } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
        if (meta?.KeyManager && meta.KeyManager !== "CUSTOMER") problems.push(`${keyId} is not customer-managed (${meta.KeyManager})`);
        const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
        const enabled = Boolean(status.KeyRotationEnabled);
        const period = status.RotationPeriodInDays ?? null;
        let last: Date | null = null;
        let marker: string | undefined;
        do {
            const page = await kms.send(new ListKeyRotationsCommand({ KeyId: keyId, Marker: marker }));
            for (const r of page.Rotations ?? []) if (r.RotationDate && (!last || r.RotationDate > last)) last = new Date(r.RotationDate);
            marker = page.Truncated ? page.NextMarker : undefined;
        } while (marker);
        if (!enabled) problems.push(`${keyId}: automatic rotation is off`);
        else {
            const since = last ?? (meta?.CreationDate ? new Date(meta.CreationDate) : null);
            const limitDays = (period ?? 365) + ROTATION_GRACE_DAYS;
            if (since && now.getTime() - since.getTime() > limitDays * DAY) {
                problems.push(`${keyId}: last rotated ${since.toISOString().slice(0, 10)}, more than ${period ?? 365} days (+${ROTATION_GRACE_DAYS}) ago`);
            }
        }
        checks.push({ keyId, rotationEnabled: enabled, rotationPeriodDays: period, lastRotatedAt: last?.toISOString() ?? null, problems });
    }
    return checks;
}

/** Database side: the PII key versions in key_rotation_log, system_config and encryption_metadata agree. */
export async function checkKeyVersions(db: Db): Promise<KeyVersionCheck[]> {
    const { rows } = await db.query("SELECT * FROM key_version_status()");
    return rows.map((r) => {
        const fieldsByVersion = r.fields_by_version as Record<string, number>;
        const level = Number(r.encryption_level);
        const problems: string[] = [];
        if (r.current_key_version === null) problems.push(`level ${level}: no current key version configured`);
        if (r.latest_rotated_version !== null && r.current_key_version !== null && r.latest_rotated_version !== r.current_key_version) {
            problems.push(`level ${level}: the last completed rotation reached version ${r.latest_rotated_version}, but new data uses version ${r.current_key_version}`);
        }
        const stale = Object.entries(fieldsByVersion).filter(([v]) => Number(v) !== r.current_key_version);
        if (stale.length && !r.rotation_in_progress) {
            problems.push(`level ${level}: ${stale.map(([v, n]) => `${n} field(s) under version ${v}`).join(", ")} with no rotation in progress (current ${r.current_key_version})`);
        }
        return { encryptionLevel: level, currentKeyVersion: r.current_key_version, latestRotatedVersion: r.latest_rotated_version, rotationInProgress: r.rotation_in_progress, fieldsByVersion, problems };
    });
}

export async function runKeyRotationJob(deps: { kms: KMSClient; db: Db; cloudwatch: CloudWatchClient; keyIds: string[]; stack: string; now?: Date }): Promise<KeyRotationResult> {
    const started = deps.now ?? new Date();
    const keys = await checkKmsRotation(deps.kms, deps.keyIds, started);
    const versions = await checkKeyVersions(deps.db);
    const keysFailing = keys.filter((k) => k.problems.length).length;
    const versionMismatches = versions.filter((v) => v.problems.length).length;
    const result: KeyRotationResult = { keys, versions, keysFailing, versionMismatches, ok: keysFailing === 0 && versionMismatches === 0 };
    await recordDrillResult(deps.db, { drill: "key_rotation", startedAt: started, finishedAt: new Date(Math.max(Date.now(), started.getTime())), succeeded: result.ok, details: result });
    const dims = [{ Name: "Stack", Value: deps.stack }];
    await putMetrics(deps.cloudwatch, [
        { MetricName: COMPLIANCE_METRICS.keysFailingRotation, Dimensions: dims, Timestamp: started, Value: keysFailing, Unit: "Count" },
        { MetricName: COMPLIANCE_METRICS.keyVersionMismatches, Dimensions: dims, Timestamp: started, Value: versionMismatches, Unit: "Count" },
    ]);
    return result;
}

export interface DrillRecord {
    drill: "restore" | "key_rotation";
    startedAt: Date;
    finishedAt: Date;
    succeeded: boolean;
    recoverySeconds?: number;
    rtoSeconds?: number;
    details: unknown;
}

export async function recordDrillResult(db: Db, r: DrillRecord): Promise<number> {
    const { rows } = await db.query("SELECT record_drill_result($1, $2, $3, $4, $5, $6, $7) AS id", [
        r.drill,
        r.startedAt,
        r.finishedAt,
        r.succeeded,
        r.recoverySeconds ?? null,
        r.rtoSeconds ?? null,
        JSON.stringify(r.details),
    ]);
    return Number(rows[0].id);
}
