// Compliance metrics read from the database's compliance_metrics() (migration 0012): aggregates only, so
// the audit role and the scheduled compliance job never read personal data to compute them.
import pg from "pg";

export interface PurposeConsent {
    purpose: string;
    required: boolean;
    usersGranted: number;
    usersMissing: number;
    rate: number;
}

export interface ComplianceMetrics {
    generatedAt: string;
    consent: {
        noticeVersion: string | null;
        targetRate: number;
        users: number;
        usersCompliant: number;
        usersMissingRequired: number;
        complianceRate: number;
        purposes: PurposeConsent[];
    };
    deletion: { pending: number; withinSla: number; overdue: number; oldestOverdueMinutes: number; completedLast30Days: number; completedLateLast30Days: number };
    dataSubjectRequests: { open: number; overdue: number; oldestOverdueDays: number };
    incidents: { open: number; reportRequired: number; overduePreliminary: number; overdueFinal: number; dueWithin24h: number };
    audit: { gaps: number; tables: Record<string, { unauditedWrites: number; unauditedDeletes: number }> };
    thirdPartyProvisions: { pastRetention: number; total: number };
}

function explain(err: unknown): never {
    const e = err as { code?: string; message?: string };
    if (e.code === "42883") throw new Error("compliance_metrics() does not exist: run npm run db:migrate first (migration 0012)");
    if (e.code === "42501") throw new Error(`the connected role may not read compliance metrics (grant pii_audit or log in as compliance_job): ${e.message}`);
    throw err;
}

/** The live figures. `record: true` also keeps them in compliance_snapshots (the scheduled job does; the report charts them). */
export async function readComplianceMetrics(db: pg.ClientBase | pg.Pool, options: { now?: Date; record?: boolean } = {}): Promise<ComplianceMetrics> {
    const fn = options.record ? "record_compliance_snapshot" : "compliance_metrics";
    try {
        const { rows } = await db.query(`SELECT ${fn}(coalesce($1::timestamptz, now())) AS m`, [options.now ?? null]);
        return rows[0].m as ComplianceMetrics;
    } catch (err) {
        explain(err);
    }
}

const percent = (rate: number) => `${(rate * 100).toFixed(2)}%`;

export function formatMetricsText(m: ComplianceMetrics): string {
    const lines = [
        `APPI compliance metrics at ${m.generatedAt}`,
        `consent            ${percent(m.consent.complianceRate)} of ${m.consent.users} user(s) hold every required consent` +
            `${m.consent.noticeVersion ? ` (notice ${m.consent.noticeVersion})` : ""}; ${m.consent.usersMissingRequired} missing; target ${percent(m.consent.targetRate)}`,
        ...m.consent.purposes.map((p) => `  ${p.required ? "required" : "optional"} ${p.purpose.padEnd(24)} ${percent(p.rate).padStart(8)}  ${p.usersGranted} granted, ${p.usersMissing} not`),
        `deletion requests  ${m.deletion.pending} pending, ${m.deletion.overdue} past the 1-hour SLA` +
            (m.deletion.overdue ? ` (oldest ${m.deletion.oldestOverdueMinutes} min overdue)` : "") +
            `; last 30 days ${m.deletion.completedLast30Days} completed, ${m.deletion.completedLateLast30Days} late`,
        `data-subject req.  ${m.dataSubjectRequests.open} open, ${m.dataSubjectRequests.overdue} past due`,
        `incidents          ${m.incidents.open} open; Art. 26 reports overdue: ${m.incidents.overduePreliminary} preliminary, ${m.incidents.overdueFinal} final; ${m.incidents.dueWithin24h} due within 24 h`,
        `audit trail        ${m.audit.gaps} gap(s)` +
            Object.entries(m.audit.tables)
                .filter(([, t]) => t.unauditedWrites || t.unauditedDeletes)
                .map(([name, t]) => `; ${name}: ${t.unauditedWrites} unaudited write(s), ${t.unauditedDeletes} unaudited delete(s)`)
                .join(""),
        `provision records  ${m.thirdPartyProvisions.pastRetention} past retention of ${m.thirdPartyProvisions.total}`,
    ];
    return lines.join("\n");
}

/** Problems an operator must act on now (the same conditions the CloudWatch alarms watch). */
export function complianceProblems(m: ComplianceMetrics): string[] {
    const problems: string[] = [];
    if (m.consent.complianceRate < m.consent.targetRate) problems.push(`consent compliance ${percent(m.consent.complianceRate)} below target ${percent(m.consent.targetRate)}`);
    if (m.deletion.overdue) problems.push(`${m.deletion.overdue} deletion request(s) past the SLA`);
    if (m.dataSubjectRequests.overdue) problems.push(`${m.dataSubjectRequests.overdue} data-subject request(s) past due`);
    if (m.incidents.overduePreliminary || m.incidents.overdueFinal) problems.push(`${m.incidents.overduePreliminary + m.incidents.overdueFinal} Art. 26 report(s) overdue`);
    if (m.incidents.dueWithin24h) problems.push(`${m.incidents.dueWithin24h} Art. 26 report(s) due within 24 h`);
    if (m.audit.gaps) problems.push(`${m.audit.gaps} change(s) without an audit record`);
    if (m.thirdPartyProvisions.pastRetention) problems.push(`${m.thirdPartyProvisions.pastRetention} provision record(s) past retention`);
    return problems;
}
