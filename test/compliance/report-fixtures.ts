// Report inputs for the model, rendering and browser tests: a busy month with something wrong in every
// section, an empty month, and values shaped like an attack on the HTML (names come from the database).
import { ComplianceMetrics } from "../../compliance/metrics";
import { DatabaseInputs, ExportInputs, ReportInputs } from "../../compliance/report/model";

export const ATTACK = `<script>alert("x")</script><img src=http://evil.example/x.png onerror=alert(1)>`;

export function liveMetrics(over: Partial<ComplianceMetrics> = {}): ComplianceMetrics {
    return {
        generatedAt: "2026-12-01T01:00:00.000Z",
        consent: { noticeVersion: "v1", targetRate: 0.99, users: 0, usersCompliant: 0, usersMissingRequired: 0, complianceRate: 1, purposes: [] },
        deletion: { pending: 0, withinSla: 0, overdue: 0, oldestOverdueMinutes: 0, completedLast30Days: 0, completedLateLast30Days: 0 },
        dataSubjectRequests: { open: 0, overdue: 0, oldestOverdueDays: 0 },
        incidents: { open: 0, reportRequired: 0, overduePreliminary: 0, overdueFinal: 0, dueWithin24h: 0 },
        audit: { gaps: 0, tables: {} },
        thirdPartyProvisions: { pastRetention: 0, total: 0 },
        ...over,
    };
}

export function emptyDatabase(): DatabaseInputs {
    return {
        live: liveMetrics(),
        consentSnapshots: [],
        keyVersions: [
            { encryptionLevel: 2, currentKeyVersion: 1, latestRotatedVersion: null, rotationInProgress: false, fieldsByVersion: {} },
            { encryptionLevel: 3, currentKeyVersion: 1, latestRotatedVersion: null, rotationInProgress: false, fieldsByVersion: {} },
        ],
        keyRotations: [],
        drills: [],
        access: [],
        accessByHour: Array.from({ length: 24 }, (_, hour) => ({ hour, reads: 0, failed: 0 })),
        deletionLatencies: [],
        deletion: { received: 0, completed: 0, completedLate: 0, rejected: 0, pending: 0, pendingOverdue: 0, oldestOverdueMinutes: 0 },
        dsr: [],
        incidents: [],
        provisions: [],
    };
}

export const emptyMonth = (): ReportInputs => ({ month: "2026-11", generatedAt: new Date("2026-12-01T01:00:00Z"), database: emptyDatabase() });

const day = (d: number, h = 3) => new Date(Date.UTC(2026, 10, d, h)).toISOString();

export function busyDatabase(): DatabaseInputs {
    const purposes = (rate: number) => [
        { purpose: "privacy_notice", required: true, rate, usersGranted: Math.round(rate * 1000), usersMissing: 1000 - Math.round(rate * 1000) },
        { purpose: "service_provision", required: true, rate: 1, usersGranted: 1000, usersMissing: 0 },
        { purpose: "marketing_email", required: false, rate: 0.41, usersGranted: 410, usersMissing: 590 },
    ];
    const rates = [0.995, 0.994, 0.996, 0.991, 0.985, 0.982, 0.99, 0.993, 0.995, 0.997];
    return {
        live: liveMetrics({
            deletion: { pending: 1, withinSla: 0, overdue: 1, oldestOverdueMinutes: 95, completedLast30Days: 9, completedLateLast30Days: 1 },
            audit: { gaps: 2, tables: { users: { unauditedWrites: 2, unauditedDeletes: 0 } } },
            thirdPartyProvisions: { pastRetention: 1, total: 14 },
        }),
        consentSnapshots: rates.map((r, i) => ({ takenAt: day(1 + i * 3), complianceRate: r, targetRate: 0.99, users: 1000, usersMissingRequired: Math.round((1 - r) * 1000), purposes: purposes(r) })),
        keyVersions: [
            { encryptionLevel: 2, currentKeyVersion: 2, latestRotatedVersion: 2, rotationInProgress: false, fieldsByVersion: { "1": 12, "2": 1988 } },
            { encryptionLevel: 3, currentKeyVersion: 1, latestRotatedVersion: null, rotationInProgress: false, fieldsByVersion: { "1": 3000 } },
        ],
        keyRotations: [{ rotationId: "r-1", keyType: "level2", oldKeyVersion: 1, newKeyVersion: 2, status: "completed", recordsAffected: 1988, startedAt: day(10), lastLoggedAt: day(10, 4) }],
        drills: [
            { drill: "key_rotation", startedAt: day(24), finishedAt: day(24), succeeded: false, recoverySeconds: null, rtoSeconds: null, details: { keys: [{ keyId: "key-pii-l2", lastRotatedAt: day(2), problems: [] }, { keyId: "key-logs", lastRotatedAt: null, problems: ["key-logs: automatic rotation is off"] }], versions: [{ problems: ["level 2: 12 field(s) under version 1 with no rotation in progress (current 2)"] }] } },
            { drill: "restore", startedAt: day(20), finishedAt: day(20, 5), succeeded: true, recoverySeconds: 2.5 * 3600, rtoSeconds: 8 * 3600, details: { checks: [{ name: "migrations applied", ok: true }, { name: "row counts", ok: true, detail: "1000 users" }] } },
        ],
        access: [
            { dbRole: "pii_read", performedBy: "api:graphql", purpose: "service_provision", reads: 5400, usersRead: 980, failed: 0, offHoursReads: 0, busiestDay: "2026-11-12", busiestDayReads: 260 },
            { dbRole: "pii_read", performedBy: "support:agent-7", purpose: "disclosure_request", reads: 340, usersRead: 12, failed: 2, offHoursReads: 41, busiestDay: "2026-11-21", busiestDayReads: 300 },
            { dbRole: "pii_read", performedBy: "batch:export", purpose: "(none)", reads: 12, usersRead: 12, failed: 0, offHoursReads: 0, busiestDay: "2026-11-03", busiestDayReads: 12 },
        ],
        accessByHour: Array.from({ length: 24 }, (_, hour) => ({ hour, reads: hour >= 9 && hour < 19 ? 500 + hour * 10 : hour === 2 ? 41 : 0, failed: 0 })),
        deletionLatencies: [40, 90, 200, 400, 700, 1000, 1500, 2000, 3000, 5400].map((s) => ({ latencySeconds: s, withinSla: s <= 3600 })),
        deletion: { received: 11, completed: 10, completedLate: 1, rejected: 0, pending: 1, pendingOverdue: 1, oldestOverdueMinutes: 95 },
        dsr: [
            { requestType: "disclosure", received: 4, answered: 3, answeredLate: 1, rejected: 0, open: 1, overdue: 1, medianResponseDays: 6.5, maxResponseDays: 16 },
            { requestType: "correction", received: 2, answered: 2, answeredLate: 0, rejected: 0, open: 0, overdue: 0, medianResponseDays: 1.2, maxResponseDays: 2 },
        ],
        incidents: [
            { id: "i-1", title: "Misdirected e-mail batch", status: "contained", occurredAt: day(4), detectedAt: day(5), affectedCount: 1200, specialCare: false, financialLoss: false, intentional: false, highLevelEncryption: false, reportRequired: true, preliminaryDueAt: day(8), preliminaryReportedAt: day(7), finalDueAt: new Date(Date.UTC(2026, 11, 5, 3)).toISOString(), finalReportedAt: null, individualsNotifiedAt: day(9) },
            { id: "i-2", title: "Credential stuffing on login", status: "open", occurredAt: null, detectedAt: day(26), affectedCount: 30, specialCare: false, financialLoss: false, intentional: true, highLevelEncryption: false, reportRequired: true, preliminaryDueAt: day(29), preliminaryReportedAt: null, finalDueAt: new Date(Date.UTC(2027, 0, 25, 3)).toISOString(), finalReportedAt: null, individualsNotifiedAt: null },
            { id: "i-3", title: "Lost encrypted laptop", status: "closed", occurredAt: day(14), detectedAt: day(14), affectedCount: 50, specialCare: false, financialLoss: false, intentional: false, highLevelEncryption: true, reportRequired: false, preliminaryDueAt: day(17), preliminaryReportedAt: null, finalDueAt: new Date(Date.UTC(2026, 11, 14, 3)).toISOString(), finalReportedAt: null, individualsNotifiedAt: null },
        ],
        provisions: [
            { recipientName: "Yamato Logistics KK", recipientCountry: "JP", legalBasis: "outsourcing", records: 9, users: 9, dataCategories: ["address", "name"], withoutConsentRecord: 0, pastRetention: 0 },
            { recipientName: "Acme Analytics Inc.", recipientCountry: "US", legalBasis: "consent", records: 4, users: 4, dataCategories: ["email"], withoutConsentRecord: 1, pastRetention: 0 },
        ],
    };
}

export function busyExport(): ExportInputs {
    return {
        source: "prod.json",
        stack: "prod",
        resources: 42,
        allowedRegions: ["ap-northeast-1", "ap-northeast-3"],
        regions: [
            { region: "ap-northeast-1", resources: 41 },
            { region: "us-east-1", resources: 1 },
        ],
        kmsKeys: [
            { name: "pii-l2", keyId: "key-pii-l2", rotationEnabled: true, rotationPeriodDays: 365, multiRegion: false, region: "ap-northeast-1" },
            { name: "logs", keyId: "key-logs", rotationEnabled: false, multiRegion: false, region: "ap-northeast-1" },
        ],
        backups: [
            { name: "pii-db", type: "rds instance", retentionDays: 14 },
            { name: "cache", type: "elasticache replicationGroup", retentionDays: 1 },
        ],
        minBackupRetentionDays: 14,
        findings: [
            { ruleId: "region-allowed", title: "Resources and providers stay in the allowed regions", appi: "Art. 28 (cross-border provision)", severity: "critical", enforcement: "mandatory", outcome: "non-compliant", resource: "exports", message: "region us-east-1 is not allowed", exempted: false },
            { ruleId: "kms-key-rotation", title: "KMS keys rotate automatically", appi: "Art. 23 (security control measures)", severity: "medium", enforcement: "mandatory", outcome: "non-compliant", resource: "logs", message: "enableKeyRotation is false", exempted: false },
            { ruleId: "rds-multi-az", title: "Production RDS instances are Multi-AZ", appi: "Art. 22 (accuracy and availability of data) and Art. 23", severity: "medium", enforcement: "advisory", outcome: "non-compliant", resource: "pii-db", message: "multiAz is false", exempted: false },
            { ruleId: "cognito-mfa", title: "User pools offer multi-factor authentication", appi: "Art. 23 (security control measures: access control)", severity: "medium", enforcement: "advisory", outcome: "non-compliant", resource: "users", message: "mfa off", exempted: true },
        ],
        ruleArticles: ["Art. 22 (x)", "Art. 23 (x)", "Art. 24 (x)", "Art. 26 (x)", "Art. 28 (x)"],
        rulesEvaluated: 54,
    };
}

export const busyMonth = (): ReportInputs => ({ month: "2026-11", stack: "prod", generatedAt: new Date("2026-12-01T01:00:00Z"), database: busyDatabase(), export: busyExport() });

/** Every free-text value that reaches the report (names from the database and the export) carries the attack. */
export function attackMonth(): ReportInputs {
    const inputs = busyMonth();
    const db = inputs.database;
    db.access[0] = { ...db.access[0], dbRole: `role${ATTACK}`, performedBy: `reader${ATTACK}`, purpose: `purpose${ATTACK}` };
    db.incidents[0] = { ...db.incidents[0], title: `incident${ATTACK}` };
    db.provisions[0] = { ...db.provisions[0], recipientName: `recipient${ATTACK}`, dataCategories: [`cat${ATTACK}`] };
    db.consentSnapshots = db.consentSnapshots.map((s) => ({ ...s, purposes: s.purposes.map((p, i) => (i === 2 ? { ...p, purpose: `p${ATTACK}` } : p)) }));
    db.dsr[0] = { ...db.dsr[0], requestType: `type${ATTACK}` };
    db.keyRotations[0] = { ...db.keyRotations[0], keyType: `key${ATTACK}` };
    db.drills[0] = { ...db.drills[0], details: { keys: [{ keyId: `kid${ATTACK}`, lastRotatedAt: null, problems: [`problem${ATTACK}`] }] } };
    const x = inputs.export!;
    x.source = `export${ATTACK}.json`;
    x.kmsKeys[0] = { ...x.kmsKeys[0], name: `kms${ATTACK}` };
    x.findings[0] = { ...x.findings[0], resource: `res${ATTACK}`, message: `msg${ATTACK}` };
    x.regions[1] = { ...x.regions[1], region: `region${ATTACK}` };
    return inputs;
}
