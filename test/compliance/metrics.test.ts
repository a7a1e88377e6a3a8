// Compliance metrics on a real PostgreSQL with seeded facts: consent rates, deletion SLA, data-subject
// requests, Art. 26 deadlines, provision records, and audit gaps found by looking at the rows (a superuser
// who bypasses the triggers leaves row versions without an audit record).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { ComplianceMetrics, complianceProblems, formatMetricsText, readComplianceMetrics } from "../../compliance/metrics";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { committedAs, connect, grantConsent, INSUFFICIENT_PRIVILEGE, rejection, seedUser } from "../db/helpers";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const run = promisify(execFile);
const TS_NODE = require.resolve("ts-node/dist/bin.js");
const CLI = path.resolve(__dirname, "../../compliance/metrics-cli.ts");

describe("compliance: metrics from the database", function () {
    let db: TestDatabase;
    let admin: pg.Client;
    const now = new Date("2026-11-30T12:00:00Z");

    beforeEach(async function () {
        db = await migratedDatabase("compliance_metrics");
        admin = await connect(db.url);
    });
    afterEach(async function () {
        await admin?.end();
        await db?.drop();
    });

    const metrics = (client: pg.ClientBase = admin, at = now) => readComplianceMetrics(client, { now: at });

    it("an empty database is fully compliant, with every key the issue names", async function () {
        const m = await metrics();
        assert.equal(m.consent.complianceRate, 1);
        assert.equal(m.consent.usersMissingRequired, 0);
        assert.equal(m.deletion.overdue, 0);
        assert.equal(m.deletion.oldestOverdueMinutes, 0);
        assert.equal(m.dataSubjectRequests.overdue, 0);
        assert.equal(m.incidents.overduePreliminary, 0);
        assert.equal(m.incidents.overdueFinal, 0);
        assert.equal(m.incidents.dueWithin24h, 0);
        assert.equal(m.audit.gaps, 0);
        // Every table with the audit trigger is checked, found in the catalog (a later migration's tables too).
        for (const table of ["users", "encryption_metadata", "consent_records", "deletion_requests", "data_subject_requests", "third_party_provisions", "erasure_steps"]) {
            assert.ok(table in m.audit.tables, `audit completeness checks ${table}`);
        }
        assert.deepEqual(complianceProblems(m), []);
    });

    it("consent compliance: every required consent, latest record decides, current notice version when one is set", async function () {
        const full = await seedUser(admin, "full");
        const partial = await seedUser(admin, "partial");
        const withdrawn = await seedUser(admin, "withdrawn");
        for (const u of [full, withdrawn]) {
            await grantConsent(admin, u.id, "privacy_notice");
            await grantConsent(admin, u.id, "service_provision");
        }
        await grantConsent(admin, partial.id, "privacy_notice");
        await grantConsent(admin, withdrawn.id, "service_provision", false); // withdrawn later: the latest record decides
        await grantConsent(admin, full.id, "analytics");

        let m = await metrics();
        assert.equal(m.consent.users, 3);
        assert.equal(m.consent.usersCompliant, 1);
        assert.equal(m.consent.usersMissingRequired, 2);
        assert.equal(m.consent.complianceRate, 0.333333);
        const byPurpose = Object.fromEntries(m.consent.purposes.map((p) => [p.purpose, p]));
        assert.deepEqual([byPurpose.service_provision.usersGranted, byPurpose.service_provision.usersMissing], [1, 2]);
        assert.deepEqual([byPurpose.privacy_notice.usersGranted, byPurpose.analytics.usersGranted, byPurpose.marketing_email.usersGranted], [3, 1, 0]);
        assert.ok(complianceProblems(m).some((p) => /consent compliance 33\.33% below target 99\.00%/.test(p)));

        // A new notice version: consents given under v1 no longer count for the required purposes.
        await admin.query(`UPDATE system_config SET value = '"v2"' WHERE key = 'consent.current_notice_version'`);
        m = await metrics();
        assert.equal(m.consent.usersCompliant, 0);
        await admin.query("INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor) VALUES ($1, 'privacy_notice', true, 'v2', 'user'), ($1, 'service_provision', true, 'v2', 'user')", [full.id]);
        m = await metrics();
        assert.equal(m.consent.usersCompliant, 1);
        assert.equal(m.consent.noticeVersion, "v2");
    });

    it("deletion SLA, data-subject requests past due, provision records past retention", async function () {
        const late = randomUUID();
        await admin.query("INSERT INTO deletion_requests (user_id, requested_at) VALUES ($1, $2), ($3, $4)", [late, new Date(now.getTime() - 2.5 * HOUR), randomUUID(), new Date(now.getTime() - 10 * 60_000)]);
        await admin.query("INSERT INTO data_subject_requests (user_id, request_type, received_at) VALUES ($1, 'disclosure', $2), ($1, 'correction', $3)", [
            randomUUID(),
            new Date(now.getTime() - 20 * DAY),
            new Date(now.getTime() - 2 * DAY),
        ]);
        await admin.query(
            "INSERT INTO third_party_provisions (user_id, recipient_name, recipient_country, data_categories, legal_basis, provided_at) VALUES ($1, 'Old Partner KK', 'JP', '{email}', 'consent', $2), ($1, 'New Partner KK', 'JP', '{email}', 'consent', $3)",
            [randomUUID(), new Date(now.getTime() - 4 * 365 * DAY), new Date(now.getTime() - DAY)],
        );
        const m = await metrics();
        assert.deepEqual([m.deletion.pending, m.deletion.overdue, m.deletion.withinSla, m.deletion.oldestOverdueMinutes], [2, 1, 1, 90]);
        assert.deepEqual([m.dataSubjectRequests.open, m.dataSubjectRequests.overdue, m.dataSubjectRequests.oldestOverdueDays], [2, 1, 6]);
        assert.deepEqual(m.thirdPartyProvisions, { pastRetention: 1, total: 2 });
        // An hour earlier the first request was still within its hour.
        const earlier = await metrics(admin, new Date(now.getTime() - 1.6 * HOUR));
        assert.equal(earlier.deletion.overdue, 0);
    });

    it("incidents: Art. 26 preliminary / final reports overdue and due within 24 hours; exempt incidents do not count", async function () {
        const incident = (title: string, detectedDaysAgo: number, extra: string) =>
            admin.query(`INSERT INTO incidents (title, detected_at, affected_count, ${extra.split("=")[0]}) VALUES ($1, $2, 5, ${extra.split("=")[1]})`, [
                title,
                new Date(now.getTime() - detectedDaysAgo * DAY),
            ]);
        await incident("prelim overdue", 4, "intentional=true"); // preliminary due after 3 days: overdue
        await incident("prelim due soon", 2.5, "risk_of_financial_loss=true"); // due in 12 h
        await incident("encrypted leak", 40, "high_level_encryption=true"); // safe harbour: no report required
        await incident("final overdue", 31, "involves_special_care_info=true"); // final after 30 days: overdue
        await admin.query("UPDATE incidents SET preliminary_reported_at = detected_at + interval '1 day' WHERE title = 'final overdue'");
        const m = await metrics();
        assert.equal(m.incidents.reportRequired, 3);
        assert.equal(m.incidents.overduePreliminary, 1);
        assert.equal(m.incidents.overdueFinal, 1);
        assert.equal(m.incidents.dueWithin24h, 1);
        await admin.query("UPDATE incidents SET preliminary_reported_at = $1 WHERE title = 'prelim due soon'", [now]);
        assert.equal((await metrics()).incidents.dueWithin24h, 0);
    });

    describe("audit completeness (gaps found in the data, not assumed)", function () {
        it("changes through the application and the retention job leave no gap", async function () {
            const writer = await connect(await db.loginUrl("pii_write"));
            try {
                const id = randomUUID();
                await committedAs(writer, id, async () => {
                    await writer.query("INSERT INTO users (id, email) VALUES ($1, $2)", [id, `${id}@example.jp`]);
                    await writer.query("INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor) VALUES ($1, 'privacy_notice', true, 'v1', 'user')", [id]);
                });
                await committedAs(writer, id, () => writer.query("UPDATE users SET first_name = 'Hanako' WHERE id = $1", [id]));
                await committedAs(writer, id, () => writer.query("INSERT INTO deletion_requests (user_id) VALUES ($1)", [id]));
                await admin.query("SELECT run_retention(now() + interval '2 hours')");
                const other = await seedUser(admin, "kept");
                await admin.query("UPDATE users SET phone = '+81-3-0000-0000' WHERE id = $1", [other.id]);
            } finally {
                await writer.end();
            }
            const m = await metrics();
            assert.equal(m.audit.gaps, 0, JSON.stringify(m.audit));
        });

        it("a superuser's update and delete with the triggers bypassed (session_replication_role = replica) are found", async function () {
            const user = await seedUser(admin, "tampered");
            await grantConsent(admin, user.id, "analytics");
            await grantConsent(admin, user.id, "marketing_email");
            assert.equal((await metrics()).audit.gaps, 0);

            await admin.query("BEGIN");
            await admin.query("SET LOCAL session_replication_role = replica");
            await admin.query("UPDATE users SET first_name = 'quietly changed' WHERE id = $1", [user.id]);
            await admin.query("DELETE FROM consent_records WHERE user_id = $1 AND purpose = 'analytics'", [user.id]);
            await admin.query("COMMIT");

            const m = await metrics();
            assert.equal(m.audit.gaps, 2);
            assert.deepEqual(m.audit.tables.users, { unauditedWrites: 1, unauditedDeletes: 0 });
            assert.deepEqual(m.audit.tables.consent_records, { unauditedWrites: 0, unauditedDeletes: 1 });
            assert.ok(complianceProblems(m).includes("2 change(s) without an audit record"));
            assert.match(formatMetricsText(m), /users: 1 unaudited write\(s\), 0 unaudited delete\(s\)/);
        });

        it("a superuser disabling the audit trigger to insert a row is found too (an attacker's other route)", async function () {
            // The owner cannot (event-trigger guard, migrations/0018); a superuser can switch the guard off first.
            await admin.query("ALTER EVENT TRIGGER appi_audit_ddl_guard DISABLE");
            await admin.query("ALTER TABLE encryption_metadata DISABLE TRIGGER encryption_metadata_audit");
            const user = await seedUser(admin, "owner");
            await admin.query("INSERT INTO encryption_metadata (user_id, field_name, encryption_level, kms_key_id, key_version) VALUES ($1, 'address_encrypted', 2, 'alias/appi-pii', 1)", [user.id]);
            await admin.query("ALTER TABLE encryption_metadata ENABLE TRIGGER encryption_metadata_audit");
            await admin.query("ALTER EVENT TRIGGER appi_audit_ddl_guard ENABLE");
            const m = await metrics();
            assert.deepEqual(m.audit.tables.encryption_metadata, { unauditedWrites: 1, unauditedDeletes: 0 });
            assert.equal(m.audit.gaps, 1);
        });
    });

    describe("who may read them", function () {
        it("the compliance job and auditors read the aggregates but no personal-data table", async function () {
            await seedUser(admin, "private");
            const job = await connect(await db.loginUrl("compliance_job"));
            const auditor = await connect(await db.loginUrl("pii_audit"));
            try {
                for (const client of [job, auditor]) {
                    const m = await metrics(client);
                    assert.equal(m.consent.users, 1);
                    const err = await rejection(client.query("SELECT email FROM users"));
                    assert.equal(err.code, INSUFFICIENT_PRIVILEGE);
                }
                const recorded = await readComplianceMetrics(job, { now, record: true });
                assert.equal(recorded.consent.users, 1);
                const { rows } = await auditor.query("SELECT taken_at, metrics -> 'consent' ->> 'users' AS users FROM compliance_snapshots");
                assert.deepEqual(rows.map((r) => [r.taken_at.toISOString(), r.users]), [[now.toISOString(), "1"]]);
                // The snapshot trail is append-only, even for the job that writes it.
                assert.equal((await rejection(job.query("DELETE FROM compliance_snapshots"))).code, INSUFFICIENT_PRIVILEGE);
            } finally {
                await Promise.all([job.end(), auditor.end()]);
            }
        });

        it("an application role cannot call them (they run with the owner's rights)", async function () {
            const writer = await connect(await db.loginUrl("pii_write"));
            try {
                const err = await rejection(readComplianceMetrics(writer, { now }));
                assert.match(err.message, /may not read compliance metrics/);
                assert.equal((await rejection(writer.query("SELECT * FROM compliance_audit_gaps()"))).code, INSUFFICIENT_PRIVILEGE);
            } finally {
                await writer.end();
            }
        });
    });

    it("npm run compliance:metrics -- --format json prints one document with the issue's keys; bad usage exits 2", async function () {
        const user = await seedUser(admin, "cli");
        await grantConsent(admin, user.id, "privacy_notice");
        const env = { ...process.env, DATABASE_URL: db.url };
        const result = await run(process.execPath, [TS_NODE, "--transpile-only", CLI, "--format", "json"], { env }).catch((err: { code: number; stdout: string }) => err);
        const m = JSON.parse(result.stdout) as ComplianceMetrics;
        for (const key of ["consent.complianceRate", "consent.usersMissingRequired", "deletion.overdue", "deletion.oldestOverdueMinutes", "dataSubjectRequests.overdue", "incidents.overduePreliminary", "incidents.overdueFinal", "incidents.dueWithin24h", "audit.gaps"]) {
            const value = key.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], m);
            assert.equal(typeof value, "number", `${key} is a number`);
        }
        assert.equal(m.consent.usersMissingRequired, 1);
        assert.equal((result as { code?: number }).code, 1, "exit 1: a user misses a required consent");

        const bad = await run(process.execPath, [TS_NODE, "--transpile-only", CLI, "--format", "xml"], { env }).catch((err: { code: number; stderr: string }) => err);
        assert.equal((bad as { code: number }).code, 2);
        assert.match((bad as { stderr: string }).stderr, /--format must be json or text \(got xml\)/);
    });
});
