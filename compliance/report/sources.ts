// Reads what the monthly report is built from: the database's aggregates (0012-0014, 0016; no personal data,
// so the audit role or the compliance job can run it) and, when given, a `pulumi stack export` run through
// the same policy audit as `npm run audit`. No AWS call: the report works without credentials.
import * as fs from "node:fs";
import pg from "pg";
import { PackConfig, PropValue, ResourceView } from "../../policies/core/types";
import { rules } from "../../policies/rules";
import { auditParsedExport, decodeExport, parseStackExport } from "../../policies/runners/audit";
import { InputError } from "../../policies/runners/errors";
import { buildResourceViews, defaultProviderRegion } from "../../policies/runners/views";
import { readComplianceMetrics } from "../metrics";
import { BackupFact, ConsentPoint, DatabaseInputs, ExportInputs, KmsKeyFact, PolicyFinding, REPORT_TIME_ZONE, monthPeriod } from "./model";

type Db = pg.ClientBase | pg.Pool;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const iso = (v: unknown): string => new Date(v as string | Date).toISOString();
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));

function explain(err: unknown): never {
    const e = err as { code?: string; message?: string };
    if (e.code === "42883") throw new Error(`a report function is missing: run npm run db:migrate first (migration 0016): ${e.message}`);
    if (e.code === "42501") throw new Error(`the connected role may not read the report's aggregates (grant pii_audit or log in as compliance_job): ${e.message}`);
    throw err;
}

/** Everything the report reads from the database for one month; `now` decides what is open or overdue. */
export async function readDatabaseInputs(db: Db, month: string, now: Date): Promise<DatabaseInputs> {
    const { from, to } = monthPeriod(month);
    const q = async (sql: string, params: unknown[] = []) => {
        try {
            return (await db.query(sql, params)).rows;
        } catch (err) {
            explain(err);
        }
    };
    const live = await readComplianceMetrics(db, { now });
    const snapshots = await q("SELECT taken_at, metrics -> 'consent' AS consent FROM compliance_snapshots WHERE taken_at >= $1 AND taken_at < $2 ORDER BY taken_at, id", [from, to]);
    const keyVersions = await q("SELECT * FROM key_version_status()");
    const rotations = await q(
        `SELECT DISTINCT ON (rotation_id) rotation_id, key_type, old_key_version, new_key_version, status, records_affected,
                min(logged_at) OVER (PARTITION BY rotation_id) AS started_at, logged_at AS last_logged_at
         FROM key_rotation_log
         WHERE logged_at < $2 AND rotation_id IN (SELECT rotation_id FROM key_rotation_log WHERE logged_at >= $1 AND logged_at < $2)
         ORDER BY rotation_id, logged_at DESC, id DESC`,
        [from, to],
    );
    const drills = await q(
        `SELECT DISTINCT ON (drill) drill, started_at, finished_at, succeeded, recovery_seconds, rto_seconds, details
         FROM drill_results WHERE started_at < $1 ORDER BY drill, started_at DESC, id DESC`,
        [to],
    );
    const access = await q("SELECT db_role, performed_by, purpose, reads, users_read, failed, off_hours_reads, busiest_day::text AS busiest_day, busiest_day_reads FROM compliance_access_review($1, $2, $3)", [from, to, REPORT_TIME_ZONE]);
    const byHour = await q("SELECT * FROM compliance_access_by_hour($1, $2, $3)", [from, to, REPORT_TIME_ZONE]);
    const latencies = await q("SELECT latency_seconds, within_sla FROM compliance_deletion_latencies($1, $2)", [from, to]);
    const [deletion] = await q("SELECT * FROM compliance_deletion_summary($1, $2, $3)", [from, to, now]);
    const dsr = await q("SELECT * FROM compliance_dsr_summary($1, $2, $3)", [from, to, now]);
    const incidents = await q("SELECT * FROM compliance_incident_timeline($1, $2)", [from, to]);
    const provisions = await q("SELECT * FROM compliance_provision_summary($1, $2, $3)", [from, to, now]);

    return {
        live,
        consentSnapshots: snapshots.map((r): ConsentPoint => {
            const c = r.consent ?? {};
            return {
                takenAt: iso(r.taken_at),
                complianceRate: num(c.complianceRate),
                targetRate: num(c.targetRate),
                users: num(c.users),
                usersMissingRequired: num(c.usersMissingRequired),
                purposes: (c.purposes ?? []).map((p: Record<string, unknown>) => ({ purpose: String(p.purpose), required: Boolean(p.required), rate: num(p.rate), usersGranted: num(p.usersGranted), usersMissing: num(p.usersMissing) })),
            };
        }),
        keyVersions: keyVersions.map((r) => ({
            encryptionLevel: num(r.encryption_level),
            currentKeyVersion: numOrNull(r.current_key_version),
            latestRotatedVersion: numOrNull(r.latest_rotated_version),
            rotationInProgress: Boolean(r.rotation_in_progress),
            fieldsByVersion: Object.fromEntries(Object.entries((r.fields_by_version ?? {}) as Record<string, unknown>).map(([k, v]) => [k, num(v)])),
        })),
        keyRotations: rotations
            .map((r) => ({
                rotationId: String(r.rotation_id),
                keyType: String(r.key_type),
                oldKeyVersion: numOrNull(r.old_key_version),
                newKeyVersion: num(r.new_key_version),
                status: String(r.status),
                recordsAffected: num(r.records_affected),
                startedAt: iso(r.started_at),
                lastLoggedAt: iso(r.last_logged_at),
            }))
            .sort((a, b) => a.startedAt.localeCompare(b.startedAt)),
        drills: drills
            .map((r) => ({
                drill: r.drill,
                startedAt: iso(r.started_at),
                finishedAt: iso(r.finished_at),
                succeeded: Boolean(r.succeeded),
                recoverySeconds: numOrNull(r.recovery_seconds),
                rtoSeconds: numOrNull(r.rto_seconds),
                details: r.details,
            }))
            .sort((a, b) => b.startedAt.localeCompare(a.startedAt)),
        access: access.map((r) => ({
            dbRole: String(r.db_role),
            performedBy: String(r.performed_by),
            purpose: String(r.purpose),
            reads: num(r.reads),
            usersRead: num(r.users_read),
            failed: num(r.failed),
            offHoursReads: num(r.off_hours_reads),
            busiestDay: r.busiest_day === null ? null : String(r.busiest_day), // ::text: a calendar day, not pg's local-midnight Date
            busiestDayReads: num(r.busiest_day_reads),
        })),
        accessByHour: byHour.map((r) => ({ hour: num(r.hour), reads: num(r.reads), failed: num(r.failed) })),
        deletionLatencies: latencies.map((r) => ({ latencySeconds: num(r.latency_seconds), withinSla: Boolean(r.within_sla) })),
        deletion: {
            received: num(deletion.received),
            completed: num(deletion.completed),
            completedLate: num(deletion.completed_late),
            rejected: num(deletion.rejected),
            pending: num(deletion.pending),
            pendingOverdue: num(deletion.pending_overdue),
            oldestOverdueMinutes: num(deletion.oldest_overdue_minutes),
        },
        dsr: dsr.map((r) => ({
            requestType: String(r.request_type),
            received: num(r.received),
            answered: num(r.answered),
            answeredLate: num(r.answered_late),
            rejected: num(r.rejected),
            open: num(r.open),
            overdue: num(r.overdue),
            medianResponseDays: numOrNull(r.median_response_days),
            maxResponseDays: numOrNull(r.max_response_days),
        })),
        incidents: incidents.map((r) => ({
            id: String(r.incident_id),
            title: String(r.title),
            status: String(r.status),
            occurredAt: isoOrNull(r.occurred_at),
            detectedAt: iso(r.detected_at),
            affectedCount: num(r.affected_count),
            specialCare: Boolean(r.involves_special_care_info),
            financialLoss: Boolean(r.risk_of_financial_loss),
            intentional: Boolean(r.intentional),
            highLevelEncryption: Boolean(r.high_level_encryption),
            reportRequired: Boolean(r.report_required),
            preliminaryDueAt: iso(r.preliminary_report_due_at),
            preliminaryReportedAt: isoOrNull(r.preliminary_reported_at),
            finalDueAt: iso(r.final_report_due_at),
            finalReportedAt: isoOrNull(r.final_reported_at),
            individualsNotifiedAt: isoOrNull(r.individuals_notified_at),
        })),
        provisions: provisions.map((r) => ({
            recipientName: String(r.recipient_name),
            recipientCountry: String(r.recipient_country),
            legalBasis: String(r.legal_basis),
            records: num(r.records),
            users: num(r.users),
            dataCategories: (r.data_categories ?? []).map(String),
            withoutConsentRecord: num(r.without_consent_record),
            pastRetention: num(r.past_retention),
        })),
    };
}

// ---- Stack export ------------------------------------------------------------------------------------------

const plain = (v: PropValue): unknown => (typeof v === "object" && v !== null && !Array.isArray(v) ? undefined : v);
const bool = (v: PropValue): boolean | undefined => (typeof plain(v) === "boolean" ? (v as boolean) : undefined);
const int = (v: PropValue): number | undefined => {
    const p = plain(v);
    const n = typeof p === "number" ? p : typeof p === "string" && /^\d+$/.test(p) ? Number(p) : undefined;
    return n;
};

/** Stores whose automated backups the report lists, and the property that holds their retention in days. */
const BACKUP_RETENTION: Record<string, string> = {
    "aws:rds/instance:Instance": "backupRetentionPeriod",
    "aws:rds/cluster:Cluster": "backupRetentionPeriod",
    "aws:elasticache/replicationGroup:ReplicationGroup": "snapshotRetentionLimit",
    "aws:elasticache/cluster:Cluster": "snapshotRetentionLimit",
    "aws:elasticache/serverlessCache:ServerlessCache": "snapshotRetentionLimit",
};

export function exportFacts(views: readonly ResourceView[]): { regions: ExportInputs["regions"]; kmsKeys: KmsKeyFact[]; backups: BackupFact[] } {
    const regions = new Map<string, number>();
    for (const v of views) {
        if (v.isProvider || typeof v.region !== "string") continue;
        regions.set(v.region, (regions.get(v.region) ?? 0) + 1);
    }
    const kmsKeys = views
        .filter((v) => v.type === "aws:kms/key:Key")
        .map((v) => ({
            name: v.name,
            keyId: typeof v.props.keyId === "string" ? v.props.keyId : v.id,
            rotationEnabled: bool(v.props.enableKeyRotation),
            rotationPeriodDays: int(v.props.rotationPeriodInDays),
            multiRegion: bool(v.props.multiRegion),
            region: typeof v.region === "string" ? v.region : undefined,
        }));
    const backups = views
        .filter((v) => v.type in BACKUP_RETENTION)
        .map((v) => ({ name: v.name, type: v.type.split(":")[1].replace("/", " "), retentionDays: int(v.props[BACKUP_RETENTION[v.type]]) }));
    return { regions: [...regions].map(([region, resources]) => ({ region, resources })).sort((a, b) => b.resources - a.resources || a.region.localeCompare(b.region)), kmsKeys, backups };
}

/** Reads a stack export and audits it with the pack's rules (the same as `npm run audit -- FILE`). */
export function readExportInputs(file: string, config: PackConfig, expectedStack?: string): ExportInputs {
    let bytes: Buffer;
    try {
        bytes = fs.readFileSync(file);
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new InputError(`cannot read --export ${file}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (err as Error).message}`);
    }
    // Facts from views over an unowned parse (the audit below may normalise its own parse in place).
    const text = decodeExport(bytes);
    const forFacts = parseStackExport(text, file);
    if (expectedStack && forFacts.stack && forFacts.stack !== expectedStack) {
        throw new InputError(`--export ${file} is stack "${forFacts.stack}", not --stack ${expectedStack}`);
    }
    const views = buildResourceViews(forFacts.resources, defaultProviderRegion(forFacts.resources), { owned: false });
    const facts = exportFacts(views);
    const report = auditParsedExport(parseStackExport(text, file), { rules, config }, file);
    const ruleById = new Map(rules.map((r) => [r.id, r]));
    const findings: PolicyFinding[] = [];
    for (const f of report.findings) {
        if (f.outcome.kind !== "non-compliant" && f.outcome.kind !== "cannot-check") continue;
        if (f.enforcementLevel === "disabled") continue;
        const rule = ruleById.get(f.ruleId);
        findings.push({
            ruleId: f.ruleId,
            title: rule?.title ?? f.ruleId,
            appi: rule?.appi ?? "",
            severity: rule?.severity ?? "",
            enforcement: f.enforcementLevel,
            outcome: f.outcome.kind,
            resource: f.urn.split("::").pop() ?? f.urn,
            message: f.outcome.kind === "non-compliant" ? f.outcome.messages.join("; ") : f.outcome.message,
            exempted: f.exemption !== undefined,
        });
    }
    const enabled = rules.filter((r) => (config.enforcement[r.id] ?? r.defaultEnforcement) !== "disabled");
    return {
        source: file,
        ...(report.stack ? { stack: report.stack } : {}),
        resources: report.resources,
        allowedRegions: [...config.allowedRegions],
        ...facts,
        minBackupRetentionDays: config.minBackupRetentionDays,
        findings,
        ruleArticles: enabled.map((r) => r.appi).filter(Boolean),
        rulesEvaluated: enabled.length,
    };
}
