// The monthly APPI compliance report as data: buildReportModel is a pure function from what was read (the
// database's aggregates, a stack export's audit) to sections of facts, tables and charts. html.ts and
// markdown.ts render the same model; nothing here formats markup, so both renderings say the same thing.
import type { ComplianceMetrics } from "../metrics";

/** ok: nothing to do; attention: a reviewer should look; action: an obligation is missed; no-source: nothing to judge from. */
export type Status = "ok" | "attention" | "action" | "no-source";
export const STATUS_LABEL: Record<Status, string> = { ok: "OK", attention: "REVIEW", action: "ACTION NEEDED", "no-source": "NO SOURCE" };
const STATUS_RANK: Record<Status, number> = { "no-source": 0, ok: 1, attention: 2, action: 3 };

export interface Cell {
    text: string;
    status?: Status;
}
export type Row = (string | Cell)[];

export interface BarChart {
    type: "bar";
    id: string;
    title: string;
    xLabel: string;
    yLabel: string;
    bars: { label: string; value: number; status?: Status }[];
    /** Shown as a legend line under the chart. */
    note?: string;
}
export interface LineChart {
    type: "line";
    id: string;
    title: string;
    yLabel: string;
    /** x: ISO time; y: 0..1 rates. */
    points: { x: string; label: string; y: number }[];
    target?: number;
    note?: string;
}
/** One row per reportable incident: detection to final-report deadline, with the Art. 26 milestones on it. */
export interface TimelineChart {
    type: "timeline";
    id: string;
    title: string;
    /** The report time: a vertical "now" line. */
    now: string;
    rows: { label: string; start: string; end: string; status: Status; milestones: { at: string; label: string; done: boolean; status: Status }[] }[];
    note?: string;
}
export type Chart = BarChart | LineChart | TimelineChart;

export type Block =
    | { kind: "text"; text: string }
    | { kind: "facts"; items: { label: string; value: string; status?: Status }[] }
    | { kind: "table"; caption: string; columns: string[]; rows: Row[]; empty: string }
    | { kind: "chart"; chart: Chart }
    | { kind: "no-source"; text: string };

export interface Section {
    id: string;
    title: string;
    /** APPI articles and spec procedures the section evidences. */
    articles: string[];
    status: Status;
    /** One line for the summary at the top. */
    headline: string;
    /** Where the figures came from. */
    sources: string[];
    blocks: Block[];
}

export interface ReportModel {
    title: string;
    month: string;
    stack?: string;
    period: { from: string; to: string; timeZone: string };
    generatedAt: string;
    status: Status;
    summary: { section: string; title: string; status: Status; headline: string }[];
    sections: Section[];
}

// ---- Inputs -------------------------------------------------------------------------------------------

export interface KmsKeyFact {
    name: string;
    keyId?: string;
    rotationEnabled: boolean | undefined;
    rotationPeriodDays?: number;
    multiRegion: boolean | undefined;
    region?: string;
}
export interface BackupFact {
    name: string;
    type: string;
    /** Days of automated backups / snapshots; undefined when the export does not say. */
    retentionDays?: number;
}
export interface PolicyFinding {
    ruleId: string;
    title: string;
    /** The rule's APPI reference, e.g. "Art. 23 (security control measures)". */
    appi: string;
    severity: string;
    enforcement: string;
    /** non-compliant: a violation; cannot-check: the export did not say enough to decide. */
    outcome: "non-compliant" | "cannot-check";
    resource: string;
    message: string;
    exempted: boolean;
}
export interface ExportInputs {
    source: string;
    stack?: string;
    resources: number;
    allowedRegions: string[];
    regions: { region: string; resources: number }[];
    kmsKeys: KmsKeyFact[];
    backups: BackupFact[];
    minBackupRetentionDays: number;
    /** Non-compliant and cannot-check findings of the policy audit (compliant ones are counted, not listed). */
    findings: PolicyFinding[];
    /** Every enabled rule's APPI article, so the chart shows articles with no finding too. */
    ruleArticles: string[];
    rulesEvaluated: number;
}

export interface ConsentPoint {
    takenAt: string;
    complianceRate: number;
    targetRate: number;
    users: number;
    usersMissingRequired: number;
    purposes: { purpose: string; required: boolean; rate: number; usersGranted: number; usersMissing: number }[];
}
export interface KeyVersionRow {
    encryptionLevel: number;
    currentKeyVersion: number | null;
    latestRotatedVersion: number | null;
    rotationInProgress: boolean;
    fieldsByVersion: Record<string, number>;
}
export interface KeyRotationRow {
    rotationId: string;
    keyType: string;
    oldKeyVersion: number | null;
    newKeyVersion: number;
    status: string;
    recordsAffected: number;
    startedAt: string;
    lastLoggedAt: string;
}
export interface DrillRow {
    drill: "restore" | "key_rotation";
    startedAt: string;
    finishedAt: string;
    succeeded: boolean;
    recoverySeconds: number | null;
    rtoSeconds: number | null;
    details: unknown;
}
export interface AccessRow {
    dbRole: string;
    performedBy: string;
    purpose: string;
    reads: number;
    usersRead: number;
    failed: number;
    offHoursReads: number;
    busiestDay: string | null;
    busiestDayReads: number;
}
export interface DeletionSummary {
    received: number;
    completed: number;
    completedLate: number;
    rejected: number;
    pending: number;
    pendingOverdue: number;
    oldestOverdueMinutes: number;
}
export interface DsrRow {
    requestType: string;
    received: number;
    answered: number;
    answeredLate: number;
    rejected: number;
    open: number;
    overdue: number;
    medianResponseDays: number | null;
    maxResponseDays: number | null;
}
export interface IncidentRow {
    id: string;
    title: string;
    status: string;
    occurredAt: string | null;
    detectedAt: string;
    affectedCount: number;
    specialCare: boolean;
    financialLoss: boolean;
    intentional: boolean;
    highLevelEncryption: boolean;
    reportRequired: boolean;
    preliminaryDueAt: string;
    preliminaryReportedAt: string | null;
    finalDueAt: string;
    finalReportedAt: string | null;
    individualsNotifiedAt: string | null;
}
export interface ProvisionRow {
    recipientName: string;
    recipientCountry: string;
    legalBasis: string;
    records: number;
    users: number;
    dataCategories: string[];
    withoutConsentRecord: number;
    pastRetention: number;
}

export interface DatabaseInputs {
    /** compliance_metrics() at generation time: the open items as they stand now. */
    live: ComplianceMetrics;
    consentSnapshots: ConsentPoint[];
    keyVersions: KeyVersionRow[];
    keyRotations: KeyRotationRow[];
    /** Drills up to the end of the month, newest first. */
    drills: DrillRow[];
    access: AccessRow[];
    accessByHour: { hour: number; reads: number; failed: number }[];
    deletionLatencies: { latencySeconds: number; withinSla: boolean }[];
    deletion: DeletionSummary;
    dsr: DsrRow[];
    incidents: IncidentRow[];
    provisions: ProvisionRow[];
}

export interface ReportInputs {
    month: string;
    stack?: string;
    generatedAt: Date;
    database: DatabaseInputs;
    /** The stack export's audit; undefined: no --export given. */
    export?: ExportInputs;
}

// ---- Period ---------------------------------------------------------------------------------------------

/** Reports are by calendar month in Japan time (no daylight saving: a fixed +09:00). */
export const REPORT_TIME_ZONE = "Asia/Tokyo";
const JST_OFFSET_MS = 9 * 3600_000;
const MONTH_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isReportMonth(month: string): boolean {
    return MONTH_PATTERN.test(month);
}

/** [from, to) of a YYYY-MM month in Japan time, as instants. */
export function monthPeriod(month: string): { from: Date; to: Date; days: number } {
    const m = MONTH_PATTERN.exec(month);
    if (!m) throw new Error(`month must be YYYY-MM (got ${JSON.stringify(month)})`);
    const year = Number(m[1]);
    const index = Number(m[2]) - 1;
    const from = new Date(Date.UTC(year, index, 1) - JST_OFFSET_MS);
    const to = new Date(Date.UTC(year, index + 1, 1) - JST_OFFSET_MS);
    return { from, to, days: Math.round((to.getTime() - from.getTime()) / 86400_000) };
}

/** `2026-11-03 14:05 JST`: every time in the report is Japan time. */
export function jst(iso: string | Date | null | undefined): string {
    if (iso === null || iso === undefined) return "—";
    const t = new Date(iso).getTime();
    if (Number.isNaN(t)) return "—";
    return `${new Date(t + JST_OFFSET_MS).toISOString().slice(0, 16).replace("T", " ")} JST`;
}
const jstDay = (iso: string) => jst(iso).slice(0, 10);

// ---- Helpers ----------------------------------------------------------------------------------------------

const pct = (rate: number) => `${(rate * 100).toFixed(2)}%`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const worst = (statuses: Status[]): Status => statuses.reduce<Status>((a, b) => (STATUS_RANK[b] > STATUS_RANK[a] ? b : a), "ok");

function duration(seconds: number): string {
    if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
    if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
    if (seconds < 86400 * 2) return `${(seconds / 3600).toFixed(1)} h`;
    return `${(seconds / 86400).toFixed(1)} days`;
}

/** "Art. 26 (breach report; ...) and Art. 23 (...)" -> "Art. 26": a finding counts once, under the rule's first article. */
export function primaryArticle(appi: string): string {
    return /Art\.\s*\d+/.exec(appi)?.[0].replace(/\s+/, " ") ?? "other";
}

function percentile(sorted: number[], p: number): number {
    if (!sorted.length) return 0;
    const i = (sorted.length - 1) * p;
    const lo = Math.floor(i);
    const hi = Math.ceil(i);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

const NO_EXPORT = "No stack export given (--export FILE): this section has no infrastructure source. Run `pulumi stack export` for the stack and pass the file.";

// ---- Sections -----------------------------------------------------------------------------------------------

function residencySection(x: ExportInputs | undefined): Section {
    const base = { id: "residency", title: "Data residency and policy audit", articles: ["Art. 28 (cross-border provision)", "Art. 23 (security control measures)"] };
    if (!x) return { ...base, status: "no-source", headline: "no stack export given", sources: [], blocks: [{ kind: "no-source", text: NO_EXPORT }] };
    const violations = x.findings.filter((f) => !f.exempted && f.outcome === "non-compliant");
    const mandatory = violations.filter((f) => f.enforcement === "mandatory");
    const outside = x.regions.filter((r) => !x.allowedRegions.includes(r.region));
    const status: Status = mandatory.length || outside.length ? "action" : violations.length ? "attention" : "ok";
    const headline = outside.length
        ? `${plural(outside.reduce((n, r) => n + r.resources, 0), "resource")} outside ${x.allowedRegions.join(", ")}; ${plural(mandatory.length, "mandatory finding")}`
        : `all ${plural(x.resources, "resource")} in ${x.allowedRegions.join(", ")}; ${plural(mandatory.length, "mandatory finding")}, ${violations.length - mandatory.length} advisory`;
    return {
        ...base,
        status,
        headline,
        sources: [`stack export ${x.source}${x.stack ? ` (stack ${x.stack})` : ""}`, `policy audit: ${x.rulesEvaluated} rules (npm run audit)`],
        blocks: [
            {
                kind: "facts",
                items: [
                    { label: "Resources audited", value: String(x.resources) },
                    { label: "Allowed regions", value: x.allowedRegions.join(", ") },
                    { label: "Resources outside the allowed regions", value: String(outside.reduce((n, r) => n + r.resources, 0)), status: outside.length ? "action" : "ok" },
                    { label: "Mandatory findings", value: String(mandatory.length), status: mandatory.length ? "action" : "ok" },
                    { label: "Advisory findings", value: String(violations.length - mandatory.length), status: violations.length - mandatory.length ? "attention" : "ok" },
                    { label: "Exempted (exception or acknowledgement)", value: String(x.findings.filter((f) => f.exempted).length) },
                ],
            },
            {
                kind: "table",
                caption: "Resources by region",
                columns: ["Region", "Resources", "Allowed"],
                rows: x.regions.map((r) => [r.region, String(r.resources), x.allowedRegions.includes(r.region) ? { text: "yes", status: "ok" } : { text: "no", status: "action" }]),
                empty: "The export has no AWS resources.",
            },
            {
                kind: "table",
                caption: "Policy findings (latest audit of the deployed state)",
                columns: ["Article", "Rule", "Level", "Resource", "Finding"],
                rows: x.findings.map((f) => [
                    primaryArticle(f.appi),
                    `${f.ruleId}: ${f.title}`,
                    f.exempted
                        ? { text: "exempted", status: "ok" }
                        : f.outcome === "cannot-check"
                          ? { text: "not checked", status: "attention" }
                          : { text: f.enforcement, status: f.enforcement === "mandatory" ? "action" : "attention" },
                    f.resource,
                    f.message,
                ]),
                empty: "No findings: every rule passed on the deployed state.",
            },
        ],
    };
}

function findingsByArticleSection(x: ExportInputs | undefined): Section {
    const base = { id: "findings", title: "Findings by APPI article", articles: ["Art. 22", "Art. 23", "Art. 24", "Art. 26", "Art. 28"] };
    if (!x) return { ...base, status: "no-source", headline: "no stack export given", sources: [], blocks: [{ kind: "no-source", text: NO_EXPORT }] };
    const open = x.findings.filter((f) => !f.exempted);
    const articles = [...new Set([...x.ruleArticles.map(primaryArticle), ...open.map((f) => primaryArticle(f.appi))])].sort(
        (a, b) => Number(a.replace(/\D/g, "")) - Number(b.replace(/\D/g, "")),
    );
    const isMandatory = (f: PolicyFinding) => f.outcome === "non-compliant" && f.enforcement === "mandatory";
    const count = (article: string, mandatoryOnly = false) => open.filter((f) => primaryArticle(f.appi) === article && (!mandatoryOnly || isMandatory(f))).length;
    const mandatory = open.filter(isMandatory).length;
    return {
        ...base,
        status: mandatory ? "action" : open.length ? "attention" : "ok",
        headline: open.length ? `${plural(open.length, "open finding")} across ${articles.filter((a) => count(a)).length} article(s)` : "no open findings",
        sources: [`policy audit of ${x.source}`],
        blocks: [
            {
                kind: "chart",
                chart: {
                    type: "bar",
                    id: "chart-findings-by-article",
                    title: "Open policy findings by APPI article",
                    xLabel: "APPI article",
                    yLabel: "findings",
                    bars: articles.map((a) => ({ label: a, value: count(a), status: count(a, true) ? "action" : count(a) ? "attention" : "ok" })),
                    note: "Each finding counts once, under its rule's first article. Exempted findings are not counted.",
                },
            },
            {
                kind: "table",
                caption: "Open findings by article",
                columns: ["Article", "Mandatory", "Advisory / not checked", "Total"],
                rows: articles.map((a) => [a, String(count(a, true)), String(count(a) - count(a, true)), String(count(a))]),
                empty: "No rules evaluated.",
            },
        ],
    };
}

function encryptionSection(x: ExportInputs | undefined, db: DatabaseInputs, month: string): Section {
    const base = { id: "encryption", title: "Encryption and key rotation", articles: ["Art. 23 (security control measures)", "Art. 26 (encryption safe harbour)", "spec: weekly key-rotation validation"] };
    const statuses: Status[] = [];
    const blocks: Block[] = [];
    const problems: string[] = [];
    if (x) {
        const failing = x.kmsKeys.filter((k) => k.rotationEnabled !== true || k.multiRegion === true);
        statuses.push(failing.length ? "action" : "ok");
        if (failing.length) problems.push(`${plural(failing.length, "KMS key")} without rotation or multi-Region`);
        blocks.push({
            kind: "table",
            caption: `Customer-managed KMS keys in the stack (${x.source})`,
            columns: ["Key", "Key id", "Automatic rotation", "Period", "Single-Region"],
            rows: x.kmsKeys.map((k) => [
                k.name,
                k.keyId ?? "—",
                k.rotationEnabled === true ? { text: "on", status: "ok" } : { text: k.rotationEnabled === false ? "off" : "not recorded", status: "action" },
                k.rotationPeriodDays ? `${k.rotationPeriodDays} days` : "—",
                k.multiRegion === true ? { text: "multi-Region", status: "action" } : { text: "yes", status: "ok" },
            ]),
            empty: "The export has no KMS keys.",
        });
    } else blocks.push({ kind: "no-source", text: `KMS keys: ${NO_EXPORT}` });

    const versionProblems: string[] = [];
    for (const v of db.keyVersions) {
        const stale = Object.entries(v.fieldsByVersion).filter(([ver]) => Number(ver) !== v.currentKeyVersion);
        if (v.latestRotatedVersion !== null && v.currentKeyVersion !== null && v.latestRotatedVersion !== v.currentKeyVersion) versionProblems.push(`level ${v.encryptionLevel}: last completed rotation reached v${v.latestRotatedVersion}, new data uses v${v.currentKeyVersion}`);
        if (stale.length && !v.rotationInProgress) versionProblems.push(`level ${v.encryptionLevel}: ${stale.map(([ver, n]) => `${n} field(s) under v${ver}`).join(", ")} with no rotation in progress`);
    }
    statuses.push(versionProblems.length ? "action" : "ok");
    problems.push(...versionProblems);
    blocks.push({
        kind: "table",
        caption: "PII key versions (key_version_status)",
        columns: ["Level", "Current version", "Last rotated to", "Rotation in progress", "Encrypted fields by version"],
        rows: db.keyVersions.map((v) => [
            `level ${v.encryptionLevel}`,
            v.currentKeyVersion === null ? { text: "not configured", status: "action" } : `v${v.currentKeyVersion}`,
            v.latestRotatedVersion === null ? "never rotated" : `v${v.latestRotatedVersion}`,
            v.rotationInProgress ? { text: "yes", status: "attention" } : "no",
            Object.entries(v.fieldsByVersion).map(([ver, n]) => `v${ver}: ${n}`).join(", ") || "none",
        ]),
        empty: "No key version status.",
    });
    const failedRotations = db.keyRotations.filter((r) => r.status === "failed" || r.status === "rolled_back");
    if (failedRotations.length) {
        statuses.push("attention");
        problems.push(`${plural(failedRotations.length, "rotation")} failed or rolled back`);
    }
    blocks.push({
        kind: "table",
        caption: `PII key rotations in ${month} (key_rotation_log)`,
        columns: ["Key", "From", "To", "Status", "Fields re-encrypted", "Started", "Last update"],
        rows: db.keyRotations.map((r) => [
            r.keyType,
            r.oldKeyVersion === null ? "—" : `v${r.oldKeyVersion}`,
            `v${r.newKeyVersion}`,
            { text: r.status, status: r.status === "completed" ? "ok" : r.status === "failed" || r.status === "rolled_back" ? "attention" : undefined },
            String(r.recordsAffected),
            jst(r.startedAt),
            jst(r.lastLoggedAt),
        ]),
        empty: `No PII key rotation in ${month}.`,
    });
    const drill = db.drills.find((d) => d.drill === "key_rotation");
    if (drill) {
        const details = (drill.details ?? {}) as { keys?: { keyId?: string; lastRotatedAt?: string | null; problems?: string[] }[]; versions?: { problems?: string[] }[] };
        const drillProblems = [...(details.keys ?? []).flatMap((k) => k.problems ?? []), ...(details.versions ?? []).flatMap((v) => v.problems ?? [])].map(String);
        statuses.push(drill.succeeded ? "ok" : "action");
        if (!drill.succeeded) problems.push(`last key-rotation validation failed (${jst(drill.startedAt)})`);
        blocks.push({
            kind: "facts",
            items: [
                { label: "Last key-rotation validation", value: `${jst(drill.startedAt)}: ${drill.succeeded ? "passed" : "failed"}`, status: drill.succeeded ? "ok" : "action" },
                ...(details.keys ?? []).map((k) => ({ label: `KMS key ${k.keyId ?? "?"}`, value: k.problems?.length ? k.problems.join("; ") : `rotation on; last rotated ${k.lastRotatedAt ? jst(k.lastRotatedAt) : "never (within its first period)"}`, status: (k.problems?.length ? "action" : "ok") as Status })),
                ...drillProblems.filter((p) => !(details.keys ?? []).some((k) => k.problems?.includes(p))).map((p) => ({ label: "Problem", value: p, status: "action" as Status })),
            ],
        });
    } else {
        statuses.push("attention");
        problems.push("no key-rotation validation recorded");
        blocks.push({ kind: "no-source", text: "No key-rotation validation in drill_results up to the end of the month: the weekly key-rotation job has not run against this database." });
    }
    const status = worst(statuses);
    return {
        ...base,
        status,
        headline: problems.length ? problems.join("; ") : `keys rotate; PII data under the current key versions${x ? "" : " (KMS keys not checked: no export)"}`,
        sources: [...(x ? [`KMS keys from ${x.source}`] : []), "key_version_status()", "key_rotation_log", "drill_results (key_rotation)"],
        blocks,
    };
}

function backupSection(x: ExportInputs | undefined, db: DatabaseInputs, month: string, periodFrom: Date): Section {
    const base = { id: "backups", title: "Backups and restore drill", articles: ["Art. 22 / Art. 23 (availability of data)", "spec: 14-day backups, 8-hour RTO, weekly recovery test"] };
    const statuses: Status[] = [];
    const blocks: Block[] = [];
    const problems: string[] = [];
    if (x) {
        const short = x.backups.filter((b) => b.retentionDays === undefined || b.retentionDays < x.minBackupRetentionDays);
        statuses.push(short.length ? "action" : x.backups.length ? "ok" : "attention");
        if (short.length) problems.push(`${plural(short.length, "store")} below ${x.minBackupRetentionDays}-day backup retention`);
        if (!x.backups.length) problems.push("no backed-up store in the export");
        blocks.push({
            kind: "table",
            caption: `Backup retention of the stores in the stack (minimum ${x.minBackupRetentionDays} days)`,
            columns: ["Store", "Type", "Retention"],
            rows: x.backups.map((b) => [
                b.name,
                b.type,
                b.retentionDays === undefined ? { text: "not recorded", status: "action" } : { text: `${b.retentionDays} days`, status: b.retentionDays >= x.minBackupRetentionDays ? "ok" : "action" },
            ]),
            empty: "The export has no database or cache with backups.",
        });
    } else blocks.push({ kind: "no-source", text: `Backup configuration: ${NO_EXPORT}` });

    const restore = db.drills.find((d) => d.drill === "restore");
    if (!restore) {
        statuses.push("attention");
        problems.push("no restore drill recorded");
        blocks.push({ kind: "no-source", text: "No restore drill in drill_results up to the end of the month: recovery within the 8-hour RTO is not evidenced. Run npm run drill:restore." });
    } else {
        const withinRto = restore.recoverySeconds !== null && restore.rtoSeconds !== null && restore.recoverySeconds <= restore.rtoSeconds;
        const inMonth = new Date(restore.startedAt) >= periodFrom;
        const s: Status = !restore.succeeded || !withinRto ? "action" : inMonth ? "ok" : "attention";
        statuses.push(s);
        if (!restore.succeeded) problems.push("last restore drill failed");
        else if (!withinRto) problems.push("last restore drill exceeded the RTO");
        else if (!inMonth) problems.push(`no restore drill in ${month} (last ${jstDay(restore.startedAt)})`);
        // The shape compliance/restore-drill.ts records: checks, an error, whether the temporary copy was deleted.
        const details = (restore.details ?? {}) as { checks?: { name?: string; ok?: boolean; detail?: string }[]; error?: unknown; deleted?: unknown; leftoversDeleted?: unknown };
        const checks = details.checks;
        const notDeleted = details.deleted === false;
        if (notDeleted) {
            statuses.push("attention");
            problems.push("the drill's temporary copy was not deleted");
        }
        blocks.push({
            kind: "facts",
            items: [
                { label: "Last restore drill", value: `${jst(restore.startedAt)}${inMonth ? "" : ` (before ${month})`}`, status: inMonth ? "ok" : "attention" },
                { label: "Result", value: restore.succeeded ? "restored and verified" : "failed", status: restore.succeeded ? "ok" : "action" },
                {
                    label: "Recovery time",
                    value: restore.recoverySeconds === null ? "not measured" : `${duration(restore.recoverySeconds)} against an RTO of ${duration(restore.rtoSeconds ?? 0)}`,
                    status: withinRto ? "ok" : "action",
                },
                ...(Array.isArray(checks) ? checks.map((c) => ({ label: `Check: ${String(c.name ?? "?")}`, value: `${c.ok ? "passed" : "failed"}${c.detail ? ` (${String(c.detail)})` : ""}`, status: (c.ok ? "ok" : "action") as Status })) : []),
                ...(details.error ? [{ label: "Error", value: String(details.error), status: "action" as Status }] : []),
                ...(typeof details.deleted === "boolean" ? [{ label: "Temporary copy deleted", value: details.deleted ? "yes" : "no: delete it (a copy of personal data outside the backup plan)", status: (details.deleted ? "ok" : "attention") as Status }] : []),
            ],
        });
    }
    return {
        ...base,
        status: worst(statuses),
        headline: problems.length ? problems.join("; ") : x ? "backups kept long enough; last restore drill within the RTO" : "last restore drill within the RTO (backup settings not checked: no export)",
        sources: [...(x ? [`backup settings from ${x.source}`] : []), "drill_results (restore)"],
        blocks,
    };
}

/** A principal's busiest day is unusual when it is at least this many times its average day (and not tiny). */
const VOLUME_FACTOR = 5;
const VOLUME_MIN_READS = 20;

function accessSection(db: DatabaseInputs, days: number): Section {
    const base = { id: "access", title: "Access-log review", articles: ["Art. 23 (records of access and handling)", "Art. 24 (supervision of employees)", "spec: monthly security audit of access logs"] };
    const rows = db.access;
    const unusualVolume = (r: AccessRow) => r.busiestDayReads >= VOLUME_MIN_READS && r.busiestDayReads >= (VOLUME_FACTOR * r.reads) / days;
    const flagged = rows.filter((r) => r.offHoursReads > 0 || r.failed > 0 || unusualVolume(r) || r.purpose === "(none)");
    const gaps = db.live.audit.gaps;
    const totalReads = rows.reduce((n, r) => n + r.reads, 0);
    const status: Status = gaps ? "action" : flagged.length ? "attention" : "ok";
    const blocks: Block[] = [
        {
            kind: "facts",
            items: [
                { label: "Reads of personal data", value: String(totalReads) },
                { label: "Principals (role, reader, purpose)", value: String(rows.length) },
                { label: "Groups to review (off-hours, failures, unusual volume, no purpose)", value: String(flagged.length), status: flagged.length ? "attention" : "ok" },
                { label: "Audit trail gaps (changes without an audit record, now)", value: String(gaps), status: gaps ? "action" : "ok" },
            ],
        },
    ];
    if (!rows.length) blocks.push({ kind: "no-source", text: "No reads of personal data (decrypt / access in encryption_audit) in the month." });
    blocks.push({
        kind: "chart",
        chart: {
            type: "bar",
            id: "chart-access-by-hour",
            title: "Reads of personal data by hour of day (JST)",
            xLabel: "hour (JST)",
            yLabel: "reads",
            bars: db.accessByHour.map((h) => ({ label: String(h.hour).padStart(2, "0"), value: h.reads, status: (h.hour < 8 || h.hour >= 20) && h.reads ? "attention" : "ok" })),
            note: "Office hours are 08:00-20:00 JST; reads outside them are marked for review.",
        },
    });
    blocks.push({
        kind: "table",
        caption: "Who read personal data, by database role, reader and purpose",
        columns: ["DB role", "Reader", "Purpose", "Reads", "Users", "Failed", "Off-hours", "Busiest day", "Review"],
        rows: rows.map((r) => {
            const why = [r.offHoursReads ? "off-hours reads" : "", r.failed ? "failed reads" : "", unusualVolume(r) ? "unusual daily volume" : "", r.purpose === "(none)" ? "no purpose recorded" : ""].filter(Boolean);
            return [
                r.dbRole,
                r.performedBy,
                r.purpose,
                String(r.reads),
                String(r.usersRead),
                r.failed ? { text: String(r.failed), status: "attention" } : "0",
                r.offHoursReads ? { text: String(r.offHoursReads), status: "attention" } : "0",
                r.busiestDay ? `${r.busiestDay} (${r.busiestDayReads})` : "—",
                why.length ? { text: why.join(", "), status: "attention" } : { text: "usual", status: "ok" },
            ];
        }),
        empty: "No reads in the month.",
    });
    return {
        ...base,
        status,
        headline: gaps
            ? `${plural(gaps, "change")} without an audit record; ${plural(flagged.length, "reader group")} to review`
            : flagged.length
              ? `${plural(flagged.length, "reader group")} to review (${totalReads} reads)`
              : `${totalReads} reads, none unusual; audit trail complete`,
        sources: ["compliance_access_review()", "compliance_access_by_hour()", "compliance_metrics() audit gaps"],
        blocks,
    };
}

function consentSection(db: DatabaseInputs, month: string): Section {
    const base = { id: "consent", title: "Consent compliance over the month", articles: ["Art. 17-18 (purposes of use)", "Art. 27-28 (consent to provision)"] };
    const points = db.consentSnapshots;
    const target = points.at(-1)?.targetRate ?? db.live.consent.targetRate;
    if (!points.length) {
        return {
            ...base,
            status: "no-source",
            headline: `no compliance snapshots in ${month}`,
            sources: ["compliance_snapshots"],
            blocks: [
                { kind: "no-source", text: `No compliance snapshots in ${month}: the scheduled metrics job did not record any in this database, so consent over the month cannot be charted. Now: ${pct(db.live.consent.complianceRate)} of ${db.live.consent.users} user(s) hold every required consent.` },
            ],
        };
    }
    const last = points[points.length - 1];
    const min = points.reduce((a, b) => (b.complianceRate < a.complianceRate ? b : a));
    const below = points.filter((p) => p.complianceRate < p.targetRate);
    return {
        ...base,
        status: last.complianceRate < target ? "action" : below.length ? "attention" : "ok",
        headline: `${pct(last.complianceRate)} at month end (lowest ${pct(min.complianceRate)}; target ${pct(target)})`,
        sources: [`compliance_snapshots (${points.length} in ${month})`],
        blocks: [
            {
                kind: "facts",
                items: [
                    { label: "At month end", value: `${pct(last.complianceRate)} of ${last.users} users (${last.usersMissingRequired} missing a required consent)`, status: last.complianceRate < target ? "action" : "ok" },
                    { label: "Lowest in the month", value: `${pct(min.complianceRate)} on ${jst(min.takenAt)}`, status: min.complianceRate < target ? "attention" : "ok" },
                    { label: "Target", value: pct(target) },
                    { label: "Snapshots below target", value: `${below.length} of ${points.length}`, status: below.length ? "attention" : "ok" },
                ],
            },
            {
                kind: "chart",
                chart: {
                    type: "line",
                    id: "chart-consent-rate",
                    title: "Users holding every required consent",
                    yLabel: "compliance rate",
                    points: points.map((p) => ({ x: p.takenAt, label: jst(p.takenAt), y: p.complianceRate })),
                    target,
                    note: `Dashed line: target ${pct(target)}.`,
                },
            },
            {
                kind: "table",
                caption: "Consent by purpose at month end",
                columns: ["Purpose", "Required", "Rate", "Granted", "Not granted"],
                rows: last.purposes.map((p) => [p.purpose, p.required ? "required" : "optional", p.required && p.rate < target ? { text: pct(p.rate), status: "action" } : pct(p.rate), String(p.usersGranted), String(p.usersMissing)]),
                empty: "No consent purposes.",
            },
        ],
    };
}

const LATENCY_BUCKETS: { label: string; upTo: number }[] = [
    { label: "< 1 min", upTo: 60 },
    { label: "1-5 min", upTo: 300 },
    { label: "5-15 min", upTo: 900 },
    { label: "15-30 min", upTo: 1800 },
    { label: "30-60 min", upTo: 3600 },
    { label: "1-2 h", upTo: 7200 },
    { label: "2-6 h", upTo: 21600 },
    { label: "> 6 h", upTo: Infinity },
];

function deletionSection(db: DatabaseInputs, month: string): Section {
    const base = { id: "deletion", title: "Deletion requests and the 1-hour SLA", articles: ["Art. 22 (erasure when no longer needed)", "Art. 35 (cessation of use)", "spec: 1-hour deletion SLA"] };
    const lat = db.deletionLatencies.map((l) => l.latencySeconds).sort((a, b) => a - b);
    const late = db.deletionLatencies.filter((l) => !l.withinSla).length;
    const d = db.deletion;
    const live = db.live.deletion;
    const status: Status = late || d.pendingOverdue || live.overdue ? "action" : "ok";
    const blocks: Block[] = [
        {
            kind: "facts",
            items: [
                { label: `Received in ${month}`, value: `${d.received} (${d.completed} completed, ${d.rejected} rejected, ${d.pending} pending)` },
                { label: `Completed in ${month}`, value: String(lat.length) },
                { label: "Completed after the 1-hour SLA", value: String(late), status: late ? "action" : "ok" },
                { label: "Latency p50 / p95 / max", value: lat.length ? `${duration(percentile(lat, 0.5))} / ${duration(percentile(lat, 0.95))} / ${duration(lat[lat.length - 1])}` : "—" },
                { label: "Pending past the SLA now", value: live.overdue ? `${live.overdue} (oldest ${live.oldestOverdueMinutes} min overdue)` : "0", status: live.overdue ? "action" : "ok" },
            ],
        },
    ];
    if (lat.length) {
        blocks.push({
            kind: "chart",
            chart: {
                type: "bar",
                id: "chart-deletion-latency",
                title: `Deletion latency of requests completed in ${month}`,
                xLabel: "time from request to erasure",
                yLabel: "requests",
                bars: LATENCY_BUCKETS.map((b, i) => {
                    const lower = i ? LATENCY_BUCKETS[i - 1].upTo : -Infinity;
                    const n = lat.filter((s) => s >= lower && s < b.upTo).length;
                    return { label: b.label, value: n, status: b.upTo > 3600 ? (n ? "action" : "ok") : "ok" };
                }),
                note: "Bars past 1 h are requests erased after the SLA.",
            },
        });
    } else blocks.push({ kind: "no-source", text: `No deletion request was completed in ${month}: no latency distribution to chart.` });
    return {
        ...base,
        status,
        headline: status === "action" ? `${plural(late, "request")} erased late, ${live.overdue} pending past the SLA` : lat.length ? `all ${lat.length} erased within 1 h (p95 ${duration(percentile(lat, 0.95))})` : "no deletion requests completed",
        sources: ["compliance_deletion_latencies()", "compliance_deletion_summary()", "compliance_metrics() (pending now)"],
        blocks,
    };
}

const DSR_ARTICLE: Record<string, string> = {
    disclosure: "Art. 33",
    disclosure_of_provision_records: "Art. 33(5)",
    correction: "Art. 34",
    cessation_of_use: "Art. 35",
    cessation_of_provision: "Art. 35",
};

function dsrSection(db: DatabaseInputs, month: string): Section {
    const base = { id: "dsr", title: "Data-subject requests", articles: ["Art. 33 (disclosure)", "Art. 34 (correction)", "Art. 35 (cessation)"] };
    const overdue = db.dsr.reduce((n, r) => n + r.overdue, 0);
    const lateAnswers = db.dsr.reduce((n, r) => n + r.answeredLate, 0);
    const received = db.dsr.reduce((n, r) => n + r.received, 0);
    const answered = db.dsr.reduce((n, r) => n + r.answered, 0);
    const status: Status = overdue ? "action" : lateAnswers ? "attention" : "ok";
    return {
        ...base,
        status,
        headline: `${received} received, ${answered} answered (${lateAnswers} late), ${overdue} open past due`,
        sources: ["compliance_dsr_summary()"],
        blocks: [
            {
                kind: "table",
                caption: `Requests by type (${month}; open and past due as of the report)`,
                columns: ["Type", "Article", "Received", "Answered", "Answered late", "Rejected", "Open", "Past due", "Median response"],
                rows: db.dsr.map((r) => [
                    r.requestType,
                    DSR_ARTICLE[r.requestType] ?? "—",
                    String(r.received),
                    String(r.answered),
                    r.answeredLate ? { text: String(r.answeredLate), status: "attention" } : "0",
                    String(r.rejected),
                    String(r.open),
                    r.overdue ? { text: String(r.overdue), status: "action" } : "0",
                    r.medianResponseDays === null ? "—" : `${r.medianResponseDays} days`,
                ]),
                empty: `No data-subject requests received, answered or open in ${month}.`,
            },
        ],
    };
}

type Milestone = { text: string; status: Status };
function milestone(required: boolean, due: string, done: string | null, now: Date): Milestone {
    if (!required) return { text: "not required", status: "ok" };
    if (done) return new Date(done) <= new Date(due) ? { text: `${jst(done)} (on time)`, status: "ok" } : { text: `${jst(done)} (late; due ${jst(due)})`, status: "action" };
    if (new Date(due) < now) return { text: `OVERDUE since ${jst(due)}`, status: "action" };
    return { text: `due ${jst(due)}`, status: new Date(due).getTime() - now.getTime() < 86400_000 ? "attention" : "ok" };
}

function incidentSection(db: DatabaseInputs, month: string, now: Date): Section {
    const base = { id: "incidents", title: "Incidents and the Art. 26 timeline", articles: ["Art. 26 (report to the PPC and notice to individuals)"] };
    const rows = db.incidents.map((i) => ({ i, pre: milestone(i.reportRequired, i.preliminaryDueAt, i.preliminaryReportedAt, now), fin: milestone(i.reportRequired, i.finalDueAt, i.finalReportedAt, now) }));
    const status = worst(rows.flatMap((r) => [r.pre.status, r.fin.status, r.i.reportRequired && !r.i.individualsNotifiedAt ? "attention" : "ok"] as Status[]));
    const required = rows.filter((r) => r.i.reportRequired).length;
    const overdue = rows.filter((r) => r.pre.text.startsWith("OVERDUE") || r.fin.text.startsWith("OVERDUE")).length;
    const why = (i: IncidentRow) =>
        i.highLevelEncryption
            ? "high-level encryption (safe harbour)"
            : [i.specialCare ? "special care-required info" : "", i.financialLoss ? "risk of financial loss" : "", i.intentional ? "unauthorized purpose" : "", i.affectedCount > 1000 ? "over 1,000 people" : ""].filter(Boolean).join(", ") || "below the reporting thresholds";
    return {
        ...base,
        status,
        headline: rows.length ? `${plural(rows.length, "incident")}, ${required} reportable, ${overdue} with an overdue report` : `no incidents open or detected in ${month}`,
        sources: ["compliance_incident_timeline()"],
        blocks: [
            ...(required
                ? [
                      {
                          kind: "chart" as const,
                          chart: {
                              type: "timeline" as const,
                              id: "chart-incident-timeline",
                              title: "Art. 26 timeline of reportable incidents",
                              now: now.toISOString(),
                              rows: rows
                                  .filter((r) => r.i.reportRequired)
                                  .map(({ i, pre, fin }) => ({
                                      label: i.title,
                                      start: i.detectedAt,
                                      end: [i.finalDueAt, i.finalReportedAt].filter((t): t is string => t !== null).sort().at(-1)!,
                                      status: worst([pre.status, fin.status]),
                                      milestones: [
                                          { at: i.preliminaryReportedAt ?? i.preliminaryDueAt, label: `preliminary report: ${pre.text}`, done: i.preliminaryReportedAt !== null, status: pre.status },
                                          { at: i.finalReportedAt ?? i.finalDueAt, label: `final report: ${fin.text}`, done: i.finalReportedAt !== null, status: fin.status },
                                      ],
                                  })),
                              note: "Bar: detection to the final-report deadline. Filled dot: report made; open diamond: report due. Red: late or overdue. Vertical line: report time.",
                          },
                      },
                  ]
                : []),
            {
                kind: "table",
                caption: "Incidents detected in the month or still open: preliminary report (about 3-5 days), final report (30 days; 60 for an unauthorized purpose)",
                columns: ["Incident", "Detected", "Affected", "Report required", "Preliminary report", "Final report", "Individuals notified", "Status"],
                rows: rows.map(({ i, pre, fin }) => [
                    i.title,
                    jst(i.detectedAt),
                    String(i.affectedCount),
                    { text: `${i.reportRequired ? "yes" : "no"}: ${why(i)}`, status: i.reportRequired ? "attention" : "ok" },
                    pre,
                    fin,
                    i.reportRequired ? (i.individualsNotifiedAt ? { text: jst(i.individualsNotifiedAt), status: "ok" } : { text: "not yet", status: "attention" }) : "not required",
                    i.status,
                ]),
                empty: `No incident detected in ${month} and none open.`,
            },
        ],
    };
}

function provisionSection(db: DatabaseInputs, month: string): Section {
    const base = { id: "provisions", title: "Third-party provision records", articles: ["Art. 27 (third-party provision)", "Art. 28 (provision to a foreign country)", "Art. 29-30 (records)"] };
    const rows = db.provisions;
    const foreign = rows.filter((r) => r.recipientCountry !== "JP");
    const noConsent = rows.reduce((n, r) => n + r.withoutConsentRecord, 0);
    const pastRetention = db.live.thirdPartyProvisions.pastRetention;
    const status: Status = noConsent || pastRetention ? "action" : foreign.length ? "attention" : "ok";
    return {
        ...base,
        status,
        headline: `${rows.reduce((n, r) => n + r.records, 0)} records to ${plural(rows.length, "recipient")} (${foreign.length} abroad); ${noConsent} consent-based without a consent record; ${pastRetention} past retention`,
        sources: ["compliance_provision_summary()", "compliance_metrics() (past retention, now)"],
        blocks: [
            {
                kind: "facts",
                items: [
                    { label: "Consent-based records without a consent record", value: String(noConsent), status: noConsent ? "action" : "ok" },
                    { label: "Records past their retention period (all months, now)", value: `${pastRetention} of ${db.live.thirdPartyProvisions.total}`, status: pastRetention ? "action" : "ok" },
                    { label: "Recipients outside Japan (Art. 28)", value: String(foreign.length), status: foreign.length ? "attention" : "ok" },
                ],
            },
            {
                kind: "table",
                caption: `Provisions recorded in ${month}, by recipient`,
                columns: ["Recipient", "Country", "Legal basis", "Records", "Users", "Data categories", "No consent record"],
                rows: rows.map((r) => [
                    r.recipientName,
                    r.recipientCountry === "JP" ? r.recipientCountry : { text: `${r.recipientCountry} (abroad)`, status: "attention" },
                    r.legalBasis,
                    String(r.records),
                    String(r.users),
                    r.dataCategories.join(", "),
                    r.withoutConsentRecord ? { text: String(r.withoutConsentRecord), status: "action" } : "0",
                ]),
                empty: `No provision to a third party recorded in ${month}.`,
            },
        ],
    };
}

/** The report as data. Pure: the same inputs give the same model. */
export function buildReportModel(inputs: ReportInputs): ReportModel {
    const period = monthPeriod(inputs.month);
    const x = inputs.export;
    const db = inputs.database;
    const sections = [
        residencySection(x),
        findingsByArticleSection(x),
        encryptionSection(x, db, inputs.month),
        backupSection(x, db, inputs.month, period.from),
        accessSection(db, period.days),
        consentSection(db, inputs.month),
        deletionSection(db, inputs.month),
        dsrSection(db, inputs.month),
        incidentSection(db, inputs.month, inputs.generatedAt),
        provisionSection(db, inputs.month),
    ];
    const stack = inputs.stack ?? x?.stack;
    return {
        title: `APPI compliance report ${inputs.month}${stack ? ` (stack ${stack})` : ""}`,
        month: inputs.month,
        ...(stack ? { stack } : {}),
        period: { from: period.from.toISOString(), to: period.to.toISOString(), timeZone: REPORT_TIME_ZONE },
        generatedAt: inputs.generatedAt.toISOString(),
        status: worst(sections.map((s) => s.status)),
        summary: sections.map((s) => ({ section: s.id, title: s.title, status: s.status, headline: s.headline })),
        sections,
    };
}

/** Every chart of a model, in page order (the browser test checks each one rendered). */
export function chartsOf(model: ReportModel): Chart[] {
    return model.sections.flatMap((s) => s.blocks.flatMap((b) => (b.kind === "chart" ? [b.chart] : [])));
}
