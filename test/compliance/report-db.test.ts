// The monthly report from a real PostgreSQL: a month seeded through the application's paths (users and
// consents, the metrics job's snapshots, the drills' record function, reads audited by the application's
// recordEncryptionAudit as a real login) and the command end to end, run as the auditor and the compliance job.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { recordDrillResult } from "../../compliance/jobs";
import { main as reportMain } from "../../compliance/report-cli";
import { InputError } from "../../policies/runners/errors";
import { readComplianceMetrics } from "../../compliance/metrics";
import { buildReportModel, DatabaseInputs, monthPeriod } from "../../compliance/report/model";
import { readDatabaseInputs } from "../../compliance/report/sources";
import { recordEncryptionAudit } from "../../lib/crypto";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { committedAs, connect, grantConsent, rejection, seedUser } from "../db/helpers";

const run = promisify(execFile);
const TS_NODE = require.resolve("ts-node/dist/bin.js");
const CLI = path.resolve(__dirname, "../../compliance/report-cli.ts");
const FIXTURES = path.resolve(__dirname, "../fixtures");
const MONTH = "2026-11";
const { from } = monthPeriod(MONTH);
const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** An instant in the report month: day d (1-based) at hour h Japan time. */
const at = (d: number, h = 12, m = 0) => new Date(from.getTime() + (d - 1) * DAY + h * HOUR + m * 60_000);
const NOW = new Date("2026-12-01T01:00:00Z"); // 10:00 JST the day after the month

describe("compliance report: from the database", function () {
    let db: TestDatabase;
    let admin: pg.Client;
    let outDir: string;

    beforeEach(async function () {
        db = await migratedDatabase("compliance_report");
        admin = await connect(db.url);
        outDir = mkdtempSync(path.join(tmpdir(), "appi-report-"));
    });
    afterEach(async function () {
        await admin?.end();
        await db?.drop();
        rmSync(outDir, { recursive: true, force: true });
    });

    async function seedMonth(): Promise<void> {
        // Consent: two users, one missing a required consent on the 3rd; fixed by the 20th. The metrics job records snapshots.
        const alice = await seedUser(admin, "alice");
        const bob = await seedUser(admin, "bob");
        for (const p of ["privacy_notice", "service_provision"]) await grantConsent(admin, alice.id, p);
        await grantConsent(admin, bob.id, "privacy_notice");
        await readComplianceMetrics(admin, { now: at(3), record: true });
        await grantConsent(admin, bob.id, "service_provision");
        await readComplianceMetrics(admin, { now: at(20), record: true });
        await readComplianceMetrics(admin, { now: new Date(from.getTime() - DAY), record: true }); // October: not charted

        // Deletion: erased in 10 min, in 40 min, and one after 2 hours (late); one still pending since the 30th.
        const deletions: [Date, number | null][] = [[at(2), 10], [at(5), 40], [at(9), 120], [at(30, 8), null]];
        for (const [requested, minutes] of deletions) {
            const { rows } = await admin.query("INSERT INTO deletion_requests (user_id, requested_at) VALUES ($1, $2) RETURNING id", [randomUUID(), requested]);
            if (minutes === null) continue;
            // Completing stamps the server's clock (0006); the owner then backdates it into the month.
            await admin.query("UPDATE deletion_requests SET status = 'completed' WHERE id = $1", [rows[0].id]);
            await admin.query("UPDATE deletion_requests SET completed_at = requested_at + $2 * interval '1 minute' WHERE id = $1", [rows[0].id, minutes]);
        }

        // Data-subject requests: a disclosure answered after 20 days (late), a correction answered in 2, one still open past due.
        const dsr = async (type: string, received: Date, answeredAfterDays: number | null) => {
            const { rows } = await admin.query("INSERT INTO data_subject_requests (user_id, request_type, received_at) VALUES ($1, $2, $3) RETURNING id", [randomUUID(), type, received]);
            if (answeredAfterDays === null) return;
            await admin.query("UPDATE data_subject_requests SET status = 'completed' WHERE id = $1", [rows[0].id]);
            await admin.query("UPDATE data_subject_requests SET responded_at = received_at + $2 * interval '1 day' WHERE id = $1", [rows[0].id, answeredAfterDays]);
        };
        await dsr("disclosure", at(1), 20);
        await dsr("correction", at(4), 2);
        await dsr("disclosure", at(10), null);

        // Incidents: one reportable with the preliminary report overdue; one under the encryption safe harbour.
        await admin.query("INSERT INTO incidents (title, detected_at, affected_count, intentional) VALUES ('Credential stuffing on login', $1, 40, true)", [at(26)]);
        await admin.query("INSERT INTO incidents (title, detected_at, affected_count, high_level_encryption, status) VALUES ('Lost encrypted laptop', $1, 2000, true, 'closed')", [at(12)]);
        await admin.query("INSERT INTO incidents (title, detected_at, affected_count, status) VALUES ('Closed last year', '2025-06-01', 3, 'closed')");

        // Provision records: a courier in Japan (outsourcing) and an analytics firm abroad on consent without the consent record.
        await admin.query(
            `INSERT INTO third_party_provisions (user_id, recipient_name, recipient_country, data_categories, legal_basis, provided_at) VALUES
                ($1, 'Yamato Logistics KK', 'JP', '{name,address}', 'outsourcing', $3), ($2, 'Yamato Logistics KK', 'JP', '{name}', 'outsourcing', $3),
                ($1, 'Acme Analytics Inc.', 'US', '{email}', 'consent', $4)`,
            [alice.id, bob.id, at(6), at(7)],
        );

        // Drills: a restore drill within the RTO, and the weekly key-rotation validation (as compliance/jobs.ts records them).
        await recordDrillResult(admin, { drill: "restore", startedAt: at(15, 2), finishedAt: at(15, 5), succeeded: true, recoverySeconds: 3 * 3600, rtoSeconds: 8 * 3600, details: { checks: [{ name: "row counts", ok: true }] } });
        await recordDrillResult(admin, { drill: "key_rotation", startedAt: at(22, 3), finishedAt: at(22, 3), succeeded: true, details: { keys: [{ keyId: "alias/pii-l2", lastRotatedAt: at(1).toISOString(), problems: [] }], versions: [] } });
        await recordDrillResult(admin, { drill: "key_rotation", startedAt: new Date(NOW.getTime() + DAY), finishedAt: new Date(NOW.getTime() + DAY), succeeded: false, details: {} }); // after the month: not this report's

        // Reads of personal data: office-hours reads and two at 03:00 JST, written as the timestamped audit rows the month holds.
        const read = (userId: string, performedBy: string, purpose: string | null, when: Date, success = true) =>
            admin.query("INSERT INTO encryption_audit (user_id, field_name, operation, encryption_level, performed_by, purpose, success, db_role, accessed_at) VALUES ($1, 'address_encrypted', 'decrypt', 2, $2, $3, $4, 'pii_read', $5)", [userId, performedBy, purpose, success, when]);
        for (let d = 1; d <= 5; d++) await read(alice.id, "api:graphql", "service_provision", at(d, 10));
        await read(bob.id, "support:agent-7", "disclosure_request", at(8, 3));
        await read(alice.id, "support:agent-7", "disclosure_request", at(8, 3, 30), false);
    }

    it("a seeded month: every section reads its aggregate; open items are judged at the report time", async function () {
        await seedMonth();
        const inputs = await readDatabaseInputs(admin, MONTH, NOW);

        assert.deepEqual(inputs.consentSnapshots.map((s) => [s.takenAt, s.complianceRate]), [[at(3).toISOString(), 0.5], [at(20).toISOString(), 1]]);
        assert.deepEqual(inputs.deletionLatencies.map((l) => [l.latencySeconds, l.withinSla]), [[600, true], [2400, true], [7200, false]]);
        assert.deepEqual(inputs.deletion, { received: 4, completed: 3, completedLate: 1, rejected: 0, pending: 1, pendingOverdue: 1, oldestOverdueMinutes: 25 * 60 });
        const dsr = Object.fromEntries(inputs.dsr.map((r) => [r.requestType, r]));
        assert.deepEqual([dsr.disclosure.received, dsr.disclosure.answered, dsr.disclosure.answeredLate, dsr.disclosure.open, dsr.disclosure.overdue], [2, 1, 1, 1, 1]);
        assert.deepEqual([dsr.correction.answered, dsr.correction.answeredLate, dsr.correction.medianResponseDays], [1, 0, 2]);
        assert.deepEqual(inputs.incidents.map((i) => [i.title, i.reportRequired]), [["Lost encrypted laptop", false], ["Credential stuffing on login", true]]);
        assert.deepEqual(
            inputs.provisions.map((p) => [p.recipientName, p.recipientCountry, p.records, p.users, p.dataCategories, p.withoutConsentRecord]),
            [["Yamato Logistics KK", "JP", 2, 2, ["address", "name"], 0], ["Acme Analytics Inc.", "US", 1, 1, ["email"], 1]],
        );
        assert.deepEqual(inputs.drills.map((d) => [d.drill, d.succeeded]), [["key_rotation", true], ["restore", true]]);
        const agent = inputs.access.find((a) => a.performedBy === "support:agent-7")!;
        assert.deepEqual([agent.reads, agent.usersRead, agent.failed, agent.offHoursReads, agent.busiestDay], [2, 2, 1, 2, "2026-11-08"]);
        assert.equal(inputs.accessByHour.length, 24);
        assert.deepEqual([inputs.accessByHour[3].reads, inputs.accessByHour[10].reads, inputs.accessByHour[3].failed], [2, 5, 1]);

        const model = buildReportModel({ month: MONTH, generatedAt: NOW, database: inputs });
        const status = Object.fromEntries(model.sections.map((s) => [s.id, s.status]));
        assert.deepEqual(status, {
            residency: "no-source",
            findings: "no-source",
            encryption: "ok",
            backups: "ok",
            access: "attention",
            consent: "attention", // at target by month end, below it on the 3rd
            deletion: "action",
            dsr: "action",
            incidents: "action",
            provisions: "action",
        });
    });

    it("the auditor and the compliance job can build it; an application role cannot", async function () {
        await seedMonth();
        const asAdmin = await readDatabaseInputs(admin, MONTH, NOW);
        for (const group of ["pii_audit", "compliance_job"]) {
            const client = await connect(await db.loginUrl(group));
            try {
                const inputs: DatabaseInputs = await readDatabaseInputs(client, MONTH, NOW);
                assert.deepEqual(inputs, asAdmin, `${group} reads the same aggregates`);
            } finally {
                await client.end();
            }
        }
        const reader = await connect(await db.loginUrl("pii_read"));
        try {
            const err = await rejection(readDatabaseInputs(reader, MONTH, NOW));
            assert.match(err.message, /may not read (compliance metrics|the report's aggregates)/);
        } finally {
            await reader.end();
        }
    });

    it("reads audited by the application (recordEncryptionAudit as a login) appear under that login's role, reader and purpose", async function () {
        const user = await seedUser(admin, "carol");
        const writer = await connect(await db.loginUrl("pii_write"));
        const role = (await writer.query("SELECT current_user AS r")).rows[0].r as string;
        try {
            for (const purpose of ["payment", "payment", "fraud_check"]) {
                await committedAs(writer, user.id, () => recordEncryptionAudit(writer, [{ userId: user.id, column: "address_encrypted", operation: "decrypt", level: 2, performedBy: "api:checkout", purpose, success: true, durationMs: 1.5 }]));
            }
        } finally {
            await writer.end();
        }
        // The rows carry the server's clock: report the month they landed in.
        const { rows } = await admin.query("SELECT to_char(max(accessed_at) AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM') AS month FROM encryption_audit");
        const inputs = await readDatabaseInputs(admin, rows[0].month, new Date());
        assert.deepEqual(
            inputs.access.map((a) => [a.dbRole, a.performedBy, a.purpose, a.reads, a.usersRead]),
            [[role, "api:checkout", "payment", 2, 1], [role, "api:checkout", "fraud_check", 1, 1]],
        );
    });

    it("npm run compliance:report writes both files from the database and a stack export; exit 1 when a section needs action", async function () {
        await seedMonth();
        const env = { ...process.env, DATABASE_URL: db.url };
        const out = path.join(outDir, "reports");
        const { stdout, code } = await run(process.execPath, [TS_NODE, "--transpile-only", CLI, "--month", MONTH, "--stack", "prod", "--export", path.join(FIXTURES, "export-noncompliant.json"), "--out", out], { env }).then(
            (r) => ({ ...r, code: 0 }),
            (e) => ({ stdout: e.stdout as string, code: e.code as number }),
        );
        assert.equal(code, 1, stdout);
        assert.match(stdout, /^ACTION NEEDED: APPI compliance report 2026-11 \(stack prod\)/);
        const html = fs.readFileSync(path.join(out, "appi-compliance-2026-11.html"), "utf8");
        const markdown = fs.readFileSync(path.join(out, "appi-compliance-2026-11.md"), "utf8");
        // Self-contained: nothing to fetch, nothing to run.
        assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(|\b(src|href)=/i);
        assert.match(html, /<svg id="chart-findings-by-article"/);
        assert.match(html, /region-allowed/);
        assert.match(html, /Credential stuffing on login/);
        assert.match(markdown, /^# APPI compliance report 2026-11 \(stack prod\)$/m);
        assert.match(markdown, /## 1\. Data residency and policy audit \*\*ACTION NEEDED\*\*/);
    });

    it("usage: --help exits 0; bad input exits 2 naming the problem, before any file is written", async function () {
        const env = { ...process.env, DATABASE_URL: db.url };
        const cli = (...args: string[]) =>
            run(process.execPath, [TS_NODE, "--transpile-only", CLI, ...args], { env }).then(
                (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
                (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
            );
        const out = path.join(outDir, "never");
        const help = await cli("--help");
        assert.equal(help.code, 0);
        assert.match(help.stdout, /--month YYYY-MM/);
        const unknown = await cli("--month", "2026-11", "--out", out, "--colour");
        assert.deepEqual([unknown.code, unknown.stderr.trim()], [2, "compliance:report: unknown option --colour; see npm run compliance:report -- --help"]);
        // The rest in-process: main() throws the InputError runCli turns into exit 2 and one line on stderr.
        const cases: [string[], RegExp][] = [
            [["--out", out], /--month YYYY-MM is required/],
            [["--month", "2026-13", "--out", out], /--month must be YYYY-MM/],
            [["--month", "2026-11"], /--out DIR is required/],
            [["--month", "2026-11", "--out", out, "--export", path.join(FIXTURES, "missing.json")], /cannot read --export .*missing\.json: no such file/],
            [["--month", "2026-11", "--out", out, "--export", path.join(FIXTURES, "not-json.json")], /not JSON/],
            [["--month", "2026-11", "--out", out, "--stack", "dev", "--export", path.join(FIXTURES, "export-compliant.json")], /is stack "prod", not --stack dev/],
        ];
        for (const [args, message] of cases) {
            await assert.rejects(reportMain(args, env), (err: Error) => err instanceof InputError && message.test(err.message), args.join(" "));
        }
        assert.equal(fs.existsSync(out), false, "nothing written on bad input");
    });
});
