// Audit triggers, consent history, deadlines (deletion SLA, data-subject requests, Art. 26 incidents,
// Art. 30 provision records) and the retention job.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { runRetention } from "../../db/retention";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { actingAs, committedAs, connect, grantConsent, seedUser } from "./helpers";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe("db: APPI data model", function () {
    let db: TestDatabase;
    let admin: pg.Client;
    let writer: pg.Client;
    let writerRole: string;

    before(async function () {
        db = await migratedDatabase("appi_model");
        admin = await connect(db.url);
        const writerUrl = await db.loginUrl("pii_write");
        writerRole = decodeURIComponent(new URL(writerUrl).username);
        writer = await connect(writerUrl);
    });
    after(async function () {
        await Promise.all([writer, admin].map((c) => c?.end()));
        await db?.drop();
    });

    describe("audit triggers", function () {
        it("record insert, update and delete of a user's rows with column names only, never values", async function () {
            const id = randomUUID();
            const email = `trail-${id}@example.jp`;
            await committedAs(writer, id, async () => {
                await writer.query("INSERT INTO users (id, email, first_name, phone, address_encrypted) VALUES ($1, $2, 'Hanako', '+81-3-1234-5678', $3)", [
                    id,
                    email,
                    Buffer.from("ciphertext"),
                ]);
                await writer.query("UPDATE users SET first_name = 'Yuki' WHERE id = $1", [id]);
                await writer.query("UPDATE users SET first_name = 'Yuki' WHERE id = $1", [id]); // no change: no entry
                await writer.query("INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor) VALUES ($1, 'analytics', true, 'v3', 'user')", [id]);
            });
            await admin.query("INSERT INTO deletion_requests (user_id) VALUES ($1)", [id]);
            await admin.query("SELECT complete_due_deletion_requests()");
            // The stores outside the database report back (the erasure worker does this in AWS).
            for (const store of ["cognito", "cache"]) {
                await admin.query("SELECT erasure_record_step(d.id, $2, true) FROM deletion_requests d WHERE d.user_id = $1", [id, store]);
            }

            const { rows } = await admin.query("SELECT * FROM audit_log WHERE user_id = $1 ORDER BY id", [id]);
            // The erasure statement's parts run in no defined order: compare sorted.
            const summary = rows.map((r) => `${r.table_name} ${r.operation}`);
            assert.deepEqual([...summary].sort(), [
                "consent_records DELETE",
                "consent_records INSERT",
                "deletion_requests INSERT",
                "deletion_requests UPDATE",
                "erasure_steps INSERT",
                "erasure_steps INSERT",
                "erasure_steps INSERT",
                "erasure_steps UPDATE",
                "erasure_steps UPDATE",
                "erasure_steps UPDATE",
                "users DELETE",
                "users INSERT",
                "users UPDATE",
            ]);
            const [insert, update] = rows;
            assert.ok(insert.changed_columns.includes("email") && insert.changed_columns.includes("address_encrypted"));
            assert.ok(!insert.changed_columns.includes("ssn_encrypted"), "only columns that were given");
            assert.deepEqual(update.changed_columns, ["first_name"], "updated_at did not move: same transaction");
            assert.equal(insert.db_role, writerRole);
            assert.equal(insert.app_user_id, id);
            assert.equal(insert.row_id, id);

            const text = JSON.stringify(rows);
            for (const secret of [email, "Hanako", "Yuki", "+81-3-1234-5678", "ciphertext", Buffer.from("ciphertext").toString("hex")]) {
                assert.ok(!text.includes(secret), `audit trail contains ${secret}`);
            }
        });

        it("keeps updated_at current", async function () {
            const u = await seedUser(admin, "touch", { updated_at: new Date(Date.now() - DAY) });
            await admin.query("UPDATE users SET last_name = 'x' WHERE id = $1", [u.id]);
            const { rows } = await admin.query("SELECT now() - updated_at < interval '1 minute' AS fresh FROM users WHERE id = $1", [u.id]);
            assert.equal(rows[0].fresh, true);
        });
    });

    describe("consent", function () {
        it("keeps the full history and answers with the latest record", async function () {
            const u = await seedUser(admin, "consent");
            const check = async () =>
                (await actingAs(writer, u.id, () => writer.query("SELECT has_consent($1, 'marketing_email') AS ok", [u.id]))).rows[0].ok;
            assert.equal(await check(), false, "no record: no consent");
            const record = (granted: boolean, version: string) =>
                committedAs(writer, u.id, () =>
                    writer.query("INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor, source) VALUES ($1, 'marketing_email', $2, $3, 'user', 'settings')", [
                        u.id,
                        granted,
                        version,
                    ]),
                );
            await record(true, "2026-01");
            assert.equal(await check(), true);
            await record(false, "2026-01");
            assert.equal(await check(), false, "withdrawn");
            await record(true, "2026-06");
            assert.equal(await check(), true, "granted again under a newer notice");

            const history = await actingAs(writer, u.id, () =>
                writer.query("SELECT granted, notice_version, actor FROM consent_records WHERE user_id = $1 AND purpose = 'marketing_email' ORDER BY id", [u.id]),
            );
            assert.deepEqual(history.rows, [
                { granted: true, notice_version: "2026-01", actor: "user" },
                { granted: false, notice_version: "2026-01", actor: "user" },
                { granted: true, notice_version: "2026-06", actor: "user" },
            ]);
            const current = await actingAs(writer, u.id, () => writer.query("SELECT purpose, granted, notice_version FROM current_consents WHERE user_id = $1", [u.id]));
            assert.deepEqual(current.rows, [{ purpose: "marketing_email", granted: true, notice_version: "2026-06" }]);
        });

        it("consent to one purpose says nothing about another", async function () {
            const u = await seedUser(admin, "purpose");
            await grantConsent(admin, u.id, "analytics");
            const { rows } = await admin.query("SELECT has_consent($1, 'analytics') AS a, has_consent($1, 'third_party_provision') AS t", [u.id]);
            assert.deepEqual(rows[0], { a: true, t: false });
        });

        it("rejects unknown purposes and records a retried event once (idempotency key)", async function () {
            const u = await seedUser(admin, "retry");
            await assert.rejects(grantConsent(admin, u.id, "selling_data"), /foreign key/);
            const insert = () =>
                committedAs(writer, u.id, () =>
                    writer.query(
                        `INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor, source, idempotency_key)
                         VALUES ($1, 'privacy_notice', true, 'v1', 'user', 'signup', 'cognito-event-1')
                         ON CONFLICT (user_id, purpose, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`,
                        [u.id],
                    ),
                );
            assert.equal((await insert()).rowCount, 1);
            assert.equal((await insert()).rowCount, 0);
            const { rows } = await admin.query("SELECT count(*)::int AS n FROM consent_records WHERE user_id = $1", [u.id]);
            assert.equal(rows[0].n, 1);
        });
    });

    describe("deadlines", function () {
        it("a deletion request is due one hour after it is received (spec SLA)", async function () {
            const requestedAt = new Date("2026-03-01T10:00:00Z");
            const { rows } = await admin.query("INSERT INTO deletion_requests (user_id, requested_at) VALUES ($1, $2) RETURNING deadline_at, status", [
                randomUUID(),
                requestedAt,
            ]);
            assert.equal(rows[0].deadline_at.getTime() - requestedAt.getTime(), HOUR);
            assert.equal(rows[0].status, "pending");
            // The deadline cannot be forged on insert.
            const forged = await admin.query("INSERT INTO deletion_requests (user_id, requested_at, deadline_at) VALUES ($1, $2, $3) RETURNING deadline_at", [
                randomUUID(),
                requestedAt,
                new Date("2030-01-01T00:00:00Z"),
            ]);
            assert.equal(forged.rows[0].deadline_at.getTime() - requestedAt.getTime(), HOUR);
        });

        it("data-subject requests are due per system_config (14 days)", async function () {
            const receivedAt = new Date("2026-03-01T00:00:00Z");
            const { rows } = await admin.query(
                "INSERT INTO data_subject_requests (user_id, request_type, received_at) VALUES ($1, 'correction', $2) RETURNING due_at",
                [randomUUID(), receivedAt],
            );
            assert.equal(rows[0].due_at.getTime() - receivedAt.getTime(), 14 * DAY);
            await assert.rejects(
                admin.query("INSERT INTO data_subject_requests (user_id, request_type) VALUES ($1, 'sell_my_data')", [randomUUID()]),
                /check constraint/,
            );
        });

        it("incident report deadlines follow Art. 26: preliminary promptly, final 30 days, 60 when intentional", async function () {
            const detectedAt = new Date("2026-04-01T09:00:00Z");
            const insert = async (intentional: boolean, affected: number, extra = "") =>
                (
                    await admin.query(
                        `INSERT INTO incidents (title, detected_at, affected_count, intentional${extra ? ", " + extra : ""})
                         VALUES ('lost laptop', $1, $2, $3${extra ? ", true" : ""})
                         RETURNING id, preliminary_report_due_at, final_report_due_at, report_required`,
                        [detectedAt, affected, intentional],
                    )
                ).rows[0];
            const accident = await insert(false, 1001);
            assert.equal(accident.preliminary_report_due_at.getTime() - detectedAt.getTime(), 3 * DAY);
            assert.equal(accident.final_report_due_at.getTime() - detectedAt.getTime(), 30 * DAY);
            assert.equal(accident.report_required, true, "more than 1,000 people");

            const attack = await insert(true, 10);
            assert.equal(attack.final_report_due_at.getTime() - detectedAt.getTime(), 60 * DAY);
            assert.equal(attack.report_required, true, "unauthorized purpose");

            assert.equal((await insert(false, 1000)).report_required, false, "1,000 people or fewer, nothing sensitive");
            assert.equal((await insert(false, 5000, "high_level_encryption")).report_required, false, "encryption safe harbour");
            assert.equal((await insert(false, 1, "involves_special_care_info")).report_required, true);

            // Learning later that it was an attack moves the final deadline.
            const { rows } = await admin.query("UPDATE incidents SET intentional = true WHERE id = $1 RETURNING final_report_due_at", [accident.id]);
            assert.equal(rows[0].final_report_due_at.getTime() - detectedAt.getTime(), 60 * DAY);

            const statusOf = async () =>
                (await admin.query("SELECT preliminary_overdue, notification_status FROM incident_report_status WHERE id = $1", [accident.id])).rows[0];
            assert.deepEqual(await statusOf(), { preliminary_overdue: true, notification_status: "not_reported" }, "detected months ago");
            await admin.query("UPDATE incidents SET preliminary_reported_at = $2 WHERE id = $1", [accident.id, new Date("2026-04-03T00:00:00Z")]);
            assert.deepEqual(await statusOf(), { preliminary_overdue: false, notification_status: "preliminary_reported" });
            await assert.rejects(
                admin.query("INSERT INTO incidents (title, detected_at, occurred_at, affected_count) VALUES ('x', $1, $2, 1)", [detectedAt, new Date("2026-05-01")]),
                /check constraint/,
            );
        });

        it("an overdue preliminary report shows in incident_report_status", async function () {
            const { rows } = await admin.query(
                "INSERT INTO incidents (title, detected_at, affected_count, risk_of_financial_loss) VALUES ('card data', now() - interval '4 days', 3, true) RETURNING id",
            );
            const status = await admin.query("SELECT preliminary_overdue, final_overdue FROM incident_report_status WHERE id = $1", [rows[0].id]);
            assert.deepEqual(status.rows[0], { preliminary_overdue: true, final_overdue: false });
        });

        it("third-party provision records are kept for the Art. 30 period (3 years)", async function () {
            const providedAt = new Date("2026-02-01T00:00:00Z");
            const { rows } = await admin.query(
                `INSERT INTO third_party_provisions (user_id, recipient_name, recipient_country, data_categories, legal_basis, provided_at)
                 VALUES ($1, 'Partner KK', 'JP', '{email,first_name}', 'consent', $2) RETURNING retain_until`,
                [randomUUID(), providedAt],
            );
            assert.equal(rows[0].retain_until.toISOString(), "2029-02-01T00:00:00.000Z");
            await assert.rejects(
                admin.query(
                    "INSERT INTO third_party_provisions (user_id, recipient_name, recipient_country, data_categories, legal_basis) VALUES ($1, 'X', 'Japan', '{email}', 'consent')",
                    [randomUUID()],
                ),
                /check constraint/,
            );
        });
    });

    describe("retention job", function () {
        // A database of its own: counts must not include other tests' requests.
        let retentionDb: TestDatabase;
        before(async function () {
            retentionDb = await migratedDatabase("retention");
            await admin.end();
            admin = await connect(retentionDb.url);
        });
        after(async function () {
            await admin.end();
            await retentionDb?.drop();
            admin = await connect(db.url);
        });

        it("erases expired and requested users, purges expired audit rows, keeps the rest, leaves no PII behind", async function () {
            const now = new Date();
            const inactive = await seedUser(admin, "inactive", { last_activity_at: new Date(now.getTime() - 4 * 365 * DAY) });
            const leaving = await seedUser(admin, "leaving");
            const staying = await seedUser(admin, "staying");
            const futureRequester = await seedUser(admin, "future");
            for (const u of [inactive, leaving, staying]) await grantConsent(admin, u.id, "analytics");
            const request = (
                await admin.query("INSERT INTO deletion_requests (user_id, requested_at) VALUES ($1, now() - interval '10 minutes') RETURNING id, deadline_at", [leaving.id])
            ).rows[0];
            await admin.query("INSERT INTO deletion_requests (user_id, requested_at) VALUES ($1, now() + interval '1 day')", [futureRequester.id]);
            // audit_log is partitioned by month (0007): a back-dated row needs its month to exist.
            await admin.query("SELECT audit_log_create_partitions(now() - interval '4 years', now())");
            await admin.query("INSERT INTO audit_log (user_id, table_name, operation, occurred_at) VALUES ($1, 'users', 'UPDATE', now() - interval '4 years')", [staying.id]);
            await admin.query(
                "INSERT INTO encryption_audit (user_id, operation, performed_by, success, accessed_at) VALUES ($1, 'decrypt', 'x', true, now() - interval '4 years'), ($1, 'decrypt', 'x', true, now())",
                [staying.id],
            );
            await admin.query(
                `INSERT INTO third_party_provisions (user_id, recipient_name, recipient_country, data_categories, legal_basis, provided_at)
                 VALUES ($1, 'Old KK', 'JP', '{email}', 'consent', now() - interval '4 years'), ($1, 'New KK', 'JP', '{email}', 'consent', now())`,
                [staying.id],
            );

            const summary = await runRetention(admin);
            // The database is erased at once, but the request waits for Cognito and the cache (test/erasure).
            assert.equal(summary.deletionRequestsCompleted, 0);
            const waiting = await admin.query("SELECT store, status FROM erasure_steps WHERE deletion_request_id = $1 ORDER BY store", [request.id]);
            assert.deepEqual(waiting.rows, [
                { store: "cache", status: "pending" },
                { store: "cognito", status: "pending" },
                { store: "database", status: "done" },
            ]);
            for (const store of ["cognito", "cache"]) await admin.query("SELECT erasure_record_step($1, $2, true)", [request.id, store]);
            assert.ok(summary.usersErasedForRetention >= 1);
            assert.ok(summary.auditRowsPurged >= 2);
            assert.ok(summary.provisionRecordsPurged >= 1);

            const remaining = await admin.query("SELECT id FROM users WHERE id = ANY($1)", [[inactive.id, leaving.id, staying.id, futureRequester.id]]);
            assert.deepEqual(new Set(remaining.rows.map((r) => r.id)), new Set([staying.id, futureRequester.id]));
            const consents = await admin.query("SELECT DISTINCT user_id FROM consent_records WHERE user_id = ANY($1)", [[inactive.id, leaving.id, staying.id]]);
            assert.deepEqual(consents.rows.map((r) => r.user_id), [staying.id]);

            const done = await admin.query("SELECT status, completed_at, deadline_at FROM deletion_requests WHERE id = $1", [request.id]);
            assert.equal(done.rows[0].status, "completed");
            assert.ok(done.rows[0].completed_at <= done.rows[0].deadline_at, "completed within the 1-hour SLA");
            const future = await admin.query("SELECT status FROM deletion_requests WHERE user_id = $1", [futureRequester.id]);
            assert.equal(future.rows[0].status, "pending", "not yet due");

            const erasures = await admin.query("SELECT user_id, reason, deletion_request_id FROM erasure_log WHERE user_id = ANY($1) ORDER BY reason", [[inactive.id, leaving.id]]);
            assert.deepEqual(erasures.rows, [
                { user_id: leaving.id, reason: "deletion_request", deletion_request_id: request.id },
                { user_id: inactive.id, reason: "retention_expired", deletion_request_id: null },
            ]);
            const ea = await admin.query("SELECT count(*)::int AS n FROM encryption_audit WHERE user_id = $1", [staying.id]);
            assert.equal(ea.rows[0].n, 1, "the recent encryption_audit row stays");
            const tpp = await admin.query("SELECT recipient_name FROM third_party_provisions WHERE user_id = $1", [staying.id]);
            assert.deepEqual(tpp.rows, [{ recipient_name: "New KK" }]);

            const trail = JSON.stringify(
                (await admin.query("SELECT a.*, e.*, r.* FROM audit_log a, erasure_log e, retention_runs r WHERE a.user_id IN ($1, $2)", [inactive.id, leaving.id])).rows,
            );
            for (const u of [inactive, leaving]) {
                assert.ok(!trail.includes(u.email), "no e-mail address in the audit trail");
                assert.ok(!trail.includes("-first"), "no name in the audit trail");
            }
            const run = await admin.query("SELECT deletion_requests_completed FROM retention_runs ORDER BY id DESC LIMIT 1");
            assert.equal(run.rows[0].deletion_requests_completed, 0);

            const again = await runRetention(admin);
            assert.deepEqual([again.deletionRequestsCompleted, again.usersErasedForRetention, again.auditRowsPurged], [0, 0, 0]);
            // The purge switch does not outlive the job: the trail is append-only again.
            await assert.rejects(admin.query("DELETE FROM audit_log"), /append-only/);
        });

        it("refuses to run as an application role, with a message saying who may run it", async function () {
            const application = await connect(await retentionDb.loginUrl("pii_write"));
            try {
                await assert.rejects(runRetention(application), /must run as the schema owner/);
            } finally {
                await application.end();
            }
        });
    });
});
