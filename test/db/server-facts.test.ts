// Compliance facts are the server's (migrations/0006): attempts by application roles to choose their own
// timestamps, actors or status changes, and the owner's attempts to break the state machines, must fail.
import assert from "node:assert/strict";
import pg from "pg";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { actingAs, committedAs, connect, INSUFFICIENT_PRIVILEGE, rejection, seedUser } from "./helpers";

const LONG_AGO = new Date("2001-01-01T00:00:00Z");
const FAR_FUTURE = new Date("2099-01-01T00:00:00Z");
const recent = (d: Date) => Math.abs(Date.now() - d.getTime()) < 60_000;

describe("db: server-controlled compliance facts (attacks that must fail)", function () {
    let db: TestDatabase;
    let admin: pg.Client;
    let writer: pg.Client;
    let auditor: pg.Client;
    let auditorRole: string;

    before(async function () {
        db = await migratedDatabase("server_facts");
        admin = await connect(db.url);
        writer = await connect(await db.loginUrl("pii_write"));
        const auditorUrl = await db.loginUrl("pii_audit");
        auditorRole = new URL(auditorUrl).username;
        auditor = await connect(auditorUrl);
    });
    after(async function () {
        await Promise.all([admin, writer, auditor].map((c) => c?.end()));
        await db?.drop();
    });

    describe("consent", function () {
        it("recorded_at and actor come from the server, whatever the application sends", async function () {
            const u = await seedUser(admin, "dated");
            const { rows } = await committedAs(writer, u.id, () =>
                writer.query(
                    "INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor, recorded_at) VALUES ($1, 'analytics', true, 'v1', 'staff:root', $2) RETURNING recorded_at, actor",
                    [u.id, FAR_FUTURE],
                ),
            );
            assert.ok(recent(rows[0].recorded_at), `recorded_at ${rows[0].recorded_at.toISOString()} is not the server's time`);
            assert.equal(rows[0].actor, "user");
        });

        it("a withdrawal is never shadowed by a future-dated grant, even one the owner wrote", async function () {
            const u = await seedUser(admin, "shadow");
            // The owner may write history (restores); a grant dated 2099 is then followed by the user's withdrawal.
            await admin.query("INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor, recorded_at) VALUES ($1, 'marketing_email', true, 'v1', 'user', $2)", [u.id, FAR_FUTURE]);
            await committedAs(writer, u.id, () =>
                writer.query("INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor) VALUES ($1, 'marketing_email', false, 'v1', 'user')", [u.id]),
            );
            const check = await actingAs(writer, u.id, () => writer.query("SELECT has_consent($1, 'marketing_email') AS ok", [u.id]));
            assert.equal(check.rows[0].ok, false);
            const current = await admin.query("SELECT granted FROM current_consents WHERE user_id = $1 AND purpose = 'marketing_email'", [u.id]);
            assert.equal(current.rows[0].granted, false);
        });

        it("consent history cannot be rewritten, not even by the owner", async function () {
            const u = await seedUser(admin, "rewrite");
            await admin.query("INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor) VALUES ($1, 'analytics', false, 'v1', 'user')", [u.id]);
            const err = await rejection(admin.query("UPDATE consent_records SET granted = true WHERE user_id = $1", [u.id]));
            assert.match(err.message, /append-only/);
        });
    });

    describe("requests", function () {
        it("a deletion request's received time and requester are the server's; the deadline follows", async function () {
            const u = await seedUser(admin, "deleter");
            const { rows } = await committedAs(writer, u.id, () =>
                writer.query(
                    "INSERT INTO deletion_requests (user_id, requested_at, requested_by, deadline_at) VALUES ($1, $2, 'support:someone', $3) RETURNING requested_at, requested_by, deadline_at",
                    [u.id, LONG_AGO, FAR_FUTURE],
                ),
            );
            assert.ok(recent(rows[0].requested_at));
            assert.equal(rows[0].requested_by, `user:${u.id}`);
            assert.equal(rows[0].deadline_at.getTime() - rows[0].requested_at.getTime(), 3600_000);
        });

        it("status changes follow the state machine for every role; completed_at / responded_at are the server's", async function () {
            const u = await seedUser(admin, "machine");
            const del = await admin.query("INSERT INTO deletion_requests (user_id) VALUES ($1) RETURNING id", [u.id]);
            const done = await admin.query("UPDATE deletion_requests SET status = 'completed', completed_at = $2 WHERE id = $1 RETURNING completed_at", [del.rows[0].id, LONG_AGO]);
            assert.ok(recent(done.rows[0].completed_at), "completed_at is the server's clock");
            const back = await rejection(admin.query("UPDATE deletion_requests SET status = 'pending', completed_at = NULL WHERE id = $1", [del.rows[0].id]));
            assert.match(back.message, /status completed cannot change to pending/);

            const dsr = await committedAs(writer, u.id, () =>
                writer.query("INSERT INTO data_subject_requests (user_id, request_type, received_at) VALUES ($1, 'disclosure', $2) RETURNING id, received_at", [u.id, LONG_AGO]),
            );
            assert.ok(recent(dsr.rows[0].received_at));
            const answered = await admin.query("UPDATE data_subject_requests SET status = 'completed' WHERE id = $1 RETURNING responded_at", [dsr.rows[0].id]);
            assert.ok(recent(answered.rows[0].responded_at));
            const reopen = await rejection(admin.query("UPDATE data_subject_requests SET status = 'in_progress', responded_at = NULL WHERE id = $1", [dsr.rows[0].id]));
            assert.match(reopen.message, /cannot change to in_progress/);
        });

        it("a third-party provision is recorded now, by the acting principal", async function () {
            const u = await seedUser(admin, "provided");
            const { rows } = await committedAs(writer, u.id, () =>
                writer.query(
                    "INSERT INTO third_party_provisions (user_id, recipient_name, recipient_country, data_categories, legal_basis, provided_at, recorded_by) VALUES ($1, 'Acme KK', 'JP', '{email}', 'consent', $2, 'someone-else') RETURNING provided_at, recorded_by, retain_until",
                    [u.id, LONG_AGO],
                ),
            );
            assert.ok(recent(rows[0].provided_at));
            assert.equal(rows[0].recorded_by, `user:${u.id}`);
            assert.ok(rows[0].retain_until > new Date(Date.now() + 2 * 365 * 86400_000));
        });
    });

    describe("incidents (pii_audit)", function () {
        const insert = (extra = "", values: unknown[] = []) =>
            auditor.query(`INSERT INTO incidents (title, detected_at, affected_count, risk_of_financial_loss${extra}) VALUES ('card data', now() - interval '1 hour', 3, true${values.map((_, i) => `, $${i + 1}`).join("")}) RETURNING *`, values);

        it("report times are the server's when first recorded and fixed afterwards; detected_at cannot move", async function () {
            const incident = (await insert(", preliminary_reported_at", [LONG_AGO])).rows[0];
            assert.ok(recent(incident.preliminary_reported_at), "a back-dated report time is replaced by the server's");
            const changed = await rejection(auditor.query("UPDATE incidents SET preliminary_reported_at = $2 WHERE id = $1", [incident.id, LONG_AGO]));
            assert.equal(changed.code, INSUFFICIENT_PRIVILEGE);
            const moved = await rejection(auditor.query("UPDATE incidents SET detected_at = now() WHERE id = $1", [incident.id]));
            assert.equal(moved.code, INSUFFICIENT_PRIVILEGE, "moving detected_at would move the Art. 26 deadlines");
            const future = await rejection(auditor.query("INSERT INTO incidents (title, detected_at, affected_count) VALUES ('x', now() + interval '1 day', 1)"));
            assert.match(future.message, /cannot be in the future/);
        });

        it("a reportable incident closes only after its final report, and a closed one stays closed", async function () {
            const incident = (await insert()).rows[0];
            const early = await rejection(auditor.query("UPDATE incidents SET status = 'closed' WHERE id = $1", [incident.id]));
            assert.match(early.message, /closes only after its final report/);
            await auditor.query("UPDATE incidents SET final_reported_at = now(), status = 'contained' WHERE id = $1", [incident.id]);
            await auditor.query("UPDATE incidents SET status = 'closed' WHERE id = $1", [incident.id]);
            const reopen = await rejection(auditor.query("UPDATE incidents SET status = 'open' WHERE id = $1", [incident.id]));
            assert.match(reopen.message, /status closed cannot change to open/);
            // Every change left an audit record naming the login role, with column names only.
            const trail = await admin.query("SELECT operation, db_role, changed_columns FROM audit_log WHERE table_name = 'incidents' AND row_id = $1 ORDER BY id", [incident.id]);
            assert.deepEqual(trail.rows.map((r) => r.operation), ["INSERT", "UPDATE", "UPDATE"]);
            assert.ok(trail.rows.every((r) => r.db_role === auditorRole));
            assert.deepEqual(trail.rows[2].changed_columns, ["status"]);
        });
    });

    it("configuration changes by the owner leave audit records too", async function () {
        await admin.query("UPDATE system_config SET value = '\"2 hours\"' WHERE key = 'deletion.sla'");
        await admin.query("UPDATE system_config SET value = '\"1 hour\"' WHERE key = 'deletion.sla'");
        const { rows } = await admin.query("SELECT count(*)::int AS n FROM audit_log WHERE table_name = 'system_config' AND row_id = 'deletion.sla' AND operation = 'UPDATE'");
        assert.equal(rows[0].n, 2);
    });
});
