// Signed identity (migrations/0005) and the sign-up role, attacked the way a holder of one application
// credential would: every attempt to act as another user must give nothing.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { signIdentityToken } from "../../lib/crypto";
import { withUserTransaction } from "../../lib/db";
import { signedWithTestSecret, tokenFor } from "../support/identity";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { actingAs, connect, grantConsent, INSUFFICIENT_PRIVILEGE, rejection, seedUser, SeededUser } from "./helpers";

const TOKEN_REJECTED = "28000";

describe("db: signed identity and the sign-up role (attacks that must fail)", function () {
    let db: TestDatabase;
    let admin: pg.Client;
    let reader: pg.Client;
    let writer: pg.Client;
    let signup: pg.Client;
    let alice: SeededUser;
    let bob: SeededUser;
    let writerUrlForErrors: string;

    before(async function () {
        db = await migratedDatabase("identity");
        admin = await connect(db.url);
        [alice, bob] = [await seedUser(admin, "alice"), await seedUser(admin, "bob")];
        for (const u of [alice, bob]) await grantConsent(admin, u.id, "marketing_email");
        reader = await connect(await db.loginUrl("pii_read"));
        writerUrlForErrors = await db.loginUrl("pii_write");
        writer = await connect(writerUrlForErrors);
        signup = await connect(await db.loginUrl("pii_signup"));
    });

    after(async function () {
        await Promise.all([reader, writer, signup, admin].map((c) => c?.end()));
        await db?.drop();
    });

    /** Runs fn in a rolled-back transaction after beginIdentity, returning the rows of users it sees. */
    async function visibleUsers(client: pg.Client, setup: (c: pg.Client) => Promise<unknown>): Promise<string[]> {
        await client.query("BEGIN");
        try {
            await setup(client);
            const { rows } = await client.query("SELECT id FROM users ORDER BY id");
            return rows.map((r) => r.id);
        } finally {
            await client.query("ROLLBACK");
        }
    }

    it("a valid token (minted in Node, verified in the database) acts for its user only, for this transaction only", async function () {
        assert.deepEqual(await visibleUsers(reader, (c) => c.query("SELECT app_begin_identity($1)", [tokenFor(alice.id)])), [alice.id]);
        const consent = await actingAs(reader, alice.id, () => reader.query("SELECT has_consent($1, 'marketing_email') AS own, has_consent($2, 'marketing_email') AS other", [alice.id, bob.id]));
        assert.deepEqual(consent.rows[0], { own: true, other: false });
        // The next transaction on the same session has no identity.
        assert.deepEqual(await visibleUsers(reader, async () => undefined), []);
    });

    it("setting app.user_id (0003's identity) by hand gives nothing", async function () {
        const seen = await visibleUsers(reader, (c) => c.query("SELECT set_config('app.user_id', $1, true)", [bob.id]));
        assert.deepEqual(seen, []);
        const consent = await actingAs(reader, null, async () => {
            await reader.query("SELECT set_config('app.user_id', $1, true)", [bob.id]);
            return reader.query("SELECT has_consent($1, 'marketing_email') AS ok, app_current_user_id() AS me", [bob.id]);
        });
        assert.deepEqual(consent.rows[0], { ok: false, me: null });
    });

    it("forging, copying or editing the sealed app.identity gives nothing", async function () {
        // A seal copied from a real transaction, replayed in a later one (same session) or with another user's id.
        await reader.query("BEGIN");
        await reader.query("SELECT app_begin_identity($1)", [tokenFor(alice.id)]);
        const sealed: string = (await reader.query("SELECT current_setting('app.identity') AS v")).rows[0].v;
        await reader.query("ROLLBACK");
        assert.match(sealed, new RegExp(`^${alice.id}\\.[0-9a-f]{64}$`));
        const seal = sealed.split(".")[1];
        for (const value of [sealed, `${bob.id}.${seal}`, `${bob.id}.${"0".repeat(64)}`, bob.id, `${bob.id}.`]) {
            assert.deepEqual(await visibleUsers(reader, (c) => c.query("SELECT set_config('app.identity', $1, true)", [value])), [], value);
        }
        // Inside the very transaction that verified alice, rewriting the id to bob's keeps nothing either.
        const swapped = await visibleUsers(reader, async (c) => {
            await c.query("SELECT app_begin_identity($1)", [tokenFor(alice.id)]);
            await c.query("SELECT set_config('app.identity', $1 || '.' || split_part(current_setting('app.identity'), '.', 2), true)", [bob.id]);
        });
        assert.deepEqual(swapped, []);
        // Another session cannot use this session's seal.
        await reader.query("BEGIN");
        await reader.query("SELECT app_begin_identity($1)", [tokenFor(alice.id)]);
        const live: string = (await reader.query("SELECT current_setting('app.identity') AS v")).rows[0].v;
        const elsewhere = await visibleUsers(writer, (c) => c.query("SELECT set_config('app.identity', $1, true)", [live]));
        await reader.query("ROLLBACK");
        assert.deepEqual(elsewhere, []);
    });

    it("forged, altered, expired and over-long tokens are refused without echoing the token", async function () {
        const valid = tokenFor(alice.id);
        const [, , expiry, mac] = valid.split(".");
        const cases: Record<string, string> = {
            "signed with another secret": signIdentityToken(Buffer.alloc(32, 1), bob.id),
            "user id swapped": `v1.${bob.id}.${expiry}.${mac}`,
            "expiry extended": `v1.${alice.id}.${Number(expiry) + 60}.${mac}`,
            "signature truncated": valid.slice(0, -2),
            "expired": tokenFor(alice.id, { now: new Date(Date.now() - 10 * 60_000) }),
            "extra field": `${valid}.x`,
            "empty": "",
        };
        // Correctly signed, but for two hours.
        const longSigned = `v1.${alice.id}.${Math.floor(Date.now() / 1000) + 7200}`;
        cases["lifetime over an hour"] = signedWithTestSecret(longSigned);
        for (const [label, token] of Object.entries(cases)) {
            await reader.query("BEGIN");
            const err = await rejection(reader.query("SELECT app_begin_identity($1)", [token]));
            await reader.query("ROLLBACK");
            assert.equal(err.code, TOKEN_REJECTED, `${label}: ${err.message}`);
            assert.match(err.message, /^identity token rejected: (malformed|bad signature|expired|lifetime over one hour)$/, label);
        }
    });

    it("no application role can read the secret or call the owner's identity functions", async function () {
        for (const client of [reader, writer, signup]) {
            for (const sql of [
                "SELECT * FROM app_identity_secret",
                "SELECT app_identity_mac('v1.x.1')",
                `SELECT app_set_verified_identity('${bob.id}')`,
                "SELECT app_set_identity_secret('\\x00')",
                `SELECT app_identity_seal_message('${bob.id}')`,
            ]) {
                const err = await rejection(client.query(sql));
                assert.equal(err.code, INSUFFICIENT_PRIVILEGE, sql);
            }
        }
    });

    it("SET ROLE / RESET ROLE / SET SESSION AUTHORIZATION cannot reach another role's rights", async function () {
        const owner: string = (await admin.query("SELECT current_user AS u")).rows[0].u;
        for (const sql of ["SET ROLE pii_write", "SET ROLE pii_audit", `SET ROLE ${owner}`, "SET ROLE cognito_trigger", `SET SESSION AUTHORIZATION ${owner}`]) {
            const err = await rejection(reader.query(sql));
            assert.equal(err.code, INSUFFICIENT_PRIVILEGE, sql);
        }
        // After beginning alice's identity, resetting the role changes nothing: still alice's rows only.
        const seen = await visibleUsers(reader, async (c) => {
            await c.query("SELECT app_begin_identity($1)", [tokenFor(alice.id)]);
            await c.query("RESET ROLE");
            await c.query("RESET ALL");
        });
        assert.deepEqual(seen, []);
        const kept = await visibleUsers(reader, async (c) => {
            await c.query("SELECT app_begin_identity($1)", [tokenFor(alice.id)]);
            await c.query("RESET ROLE");
        });
        assert.deepEqual(kept, [alice.id]);
    });

    it("token use records activity (last_activity_at), so inactivity erasure spares active users", async function () {
        await admin.query("UPDATE users SET last_activity_at = now() - interval '4 years' WHERE id = $1", [alice.id]);
        await writer.query("BEGIN");
        await writer.query("SELECT app_begin_identity($1)", [tokenFor(alice.id)]);
        await writer.query("COMMIT");
        const { rows } = await admin.query("SELECT last_activity_at > now() - interval '1 minute' AS recent FROM users WHERE id = $1", [alice.id]);
        assert.equal(rows[0].recent, true);
        const erased = await admin.query("SELECT erase_expired_users() AS n");
        assert.equal(erased.rows[0].n, 0);
        assert.equal((await admin.query("SELECT count(*)::int AS n FROM users WHERE id = $1", [alice.id])).rows[0].n, 1);
    });

    it("errors thrown by withUserTransaction quote no value the user typed", async function () {
        const pool = new pg.Pool({ connectionString: writerUrlForErrors, max: 1 });
        try {
            const err = await rejection(
                withUserTransaction(pool, tokenFor(alice.id), (c) => c.query("UPDATE users SET email = $1 WHERE id = $2", [bob.email, alice.id])),
            );
            assert.equal(err.code, "23505");
            assert.doesNotMatch(`${err.message} ${JSON.stringify(err)}`, new RegExp(bob.email.replace(/[.+]/g, "\\$&")));
            assert.match(err.message, /database error 23505 on idx_users_email/);
            const typed = await rejection(withUserTransaction(pool, tokenFor(alice.id), (c) => c.query("SELECT $1::uuid", ["my-secret-typed-value"])));
            assert.doesNotMatch(typed.message, /my-secret-typed-value/);
        } finally {
            await pool.end();
        }
    });

    describe("pii_signup", function () {
        const signupArgs = (id: string, email: string) => [
            id, email, "Hanako", "Yamada", null,
            ["address_encrypted"], [Buffer.from("ciphertext")],
            JSON.stringify([{ field_name: "address_encrypted", encryption_level: 2, kms_key_id: "k", key_version: 1 }]),
            ["privacy_notice", "service_provision"], "2025-04-01", `cognito:${id}`,
            JSON.stringify([{ field_name: "address_encrypted", encryption_level: 2, kms_key_id: "k", key_version: 1, performed_by: "signup-test", success: true, duration_ms: 1.5 }]),
        ];
        const CALL = "SELECT signup_create_user($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS created";

        it("creates a new user with metadata, consents and audit, and reports a repeat as not created", async function () {
            const id = randomUUID();
            assert.equal((await signup.query(CALL, signupArgs(id, `${id}@example.jp`))).rows[0].created, true);
            assert.equal((await signup.query(CALL, signupArgs(id, `${id}@example.jp`))).rows[0].created, false);
            const { rows } = await admin.query(
                `SELECT (SELECT count(*)::int FROM users WHERE id = $1) AS users,
                        (SELECT count(*)::int FROM encryption_metadata WHERE user_id = $1) AS metadata,
                        (SELECT count(*)::int FROM consent_records WHERE user_id = $1) AS consents,
                        (SELECT count(*)::int FROM encryption_audit WHERE user_id = $1 AND db_role = session_user) AS audit_as_owner,
                        (SELECT count(*)::int FROM encryption_audit WHERE user_id = $1) AS audit,
                        (SELECT array_agg(DISTINCT app_user_id) FROM audit_log WHERE user_id = $1) AS acted_as`,
                [id],
            );
            assert.deepEqual(rows[0], { users: 1, metadata: 1, consents: 2, audit_as_owner: 0, audit: 1, acted_as: [id] });
        });

        it("cannot touch an existing user through the function (another user's id changes nothing)", async function () {
            const before = (await admin.query("SELECT to_jsonb(u) AS row FROM users u WHERE id = $1", [bob.id])).rows[0].row;
            const consentsBefore = (await admin.query("SELECT count(*)::int AS n FROM consent_records WHERE user_id = $1", [bob.id])).rows[0].n;
            assert.equal((await signup.query(CALL, signupArgs(bob.id, "attacker@example.jp"))).rows[0].created, false);
            assert.deepEqual((await admin.query("SELECT to_jsonb(u) AS row FROM users u WHERE id = $1", [bob.id])).rows[0].row, before);
            assert.equal((await admin.query("SELECT count(*)::int AS n FROM consent_records WHERE user_id = $1", [bob.id])).rows[0].n, consentsBefore);
        });

        it("reads, changes and begins nothing: no table, no identity, no other function", async function () {
            for (const sql of [
                "SELECT * FROM users",
                "SELECT * FROM consent_records",
                "SELECT * FROM encryption_metadata",
                `UPDATE users SET email = 'x@example.jp' WHERE id = '${bob.id}'`,
                `INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor) VALUES ('${bob.id}', 'analytics', true, 'v1', 'user')`,
                `SELECT app_begin_identity('${tokenFor(bob.id)}')`,
                `SELECT has_consent('${bob.id}', 'marketing_email')`,
                "SELECT * FROM audit_log",
            ]) {
                const err = await rejection(signup.query(sql));
                assert.equal(err.code, INSUFFICIENT_PRIVILEGE, sql);
            }
        });

        it("refuses unknown or duplicated encrypted columns", async function () {
            const id = randomUUID();
            const args = signupArgs(id, `${id}@example.jp`);
            args[5] = ["email"];
            const err = await rejection(signup.query(CALL, args));
            assert.match(err.message, /encrypted columns must be distinct names among/);
            assert.equal((await admin.query("SELECT count(*)::int AS n FROM users WHERE id = $1", [id])).rows[0].n, 0);
        });
    });
});
