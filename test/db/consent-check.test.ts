// migrations/0022, 0024 and 0026: the consent check as the application runs it, one statement (lib/db.ts checkConsent →
// app_check_consent(token, purpose)): the token verified in the database, then the newest consent record of the
// user the signature vouches for, and nobody else's. The right answers, and the attempts that must give nothing,
// through the one-query path (a current-key token within its lifetime) and the fallback (everything else).
import assert from "node:assert/strict";
import pg from "pg";
import { signIdentityToken } from "../../lib/crypto";
import { checkConsent } from "../../lib/db";
import { signedWithTestSecret, tokenFor } from "../support/identity";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { connect, grantConsent, INSUFFICIENT_PRIVILEGE, rejection, seedUser, SeededUser } from "./helpers";

const TOKEN_REJECTED = "28000";

describe("db: the consent check in one round trip (0022, 0024, 0026, lib/db checkConsent)", function () {
    this.timeout(60_000);
    let db: TestDatabase;
    let admin: pg.Client;
    let reader: pg.Client;
    let writer: pg.Client;
    let pool: pg.Pool;
    let alice: SeededUser;
    let bob: SeededUser;
    let carol: SeededUser;

    before(async function () {
        db = await migratedDatabase("consent_check");
        admin = await connect(db.url);
        [alice, bob, carol] = [await seedUser(admin, "alice"), await seedUser(admin, "bob"), await seedUser(admin, "carol")];
        // alice: marketing granted; analytics granted then withdrawn. bob: analytics granted, nothing else. carol: nothing.
        await grantConsent(admin, alice.id, "marketing_email");
        await grantConsent(admin, alice.id, "analytics");
        await grantConsent(admin, alice.id, "analytics", false);
        await grantConsent(admin, bob.id, "analytics");
        const readerUrl = await db.loginUrl("pii_read");
        reader = await connect(readerUrl);
        writer = await connect(await db.loginUrl("pii_write"));
        pool = new pg.Pool({ connectionString: readerUrl, max: 1 });
    });

    after(async function () {
        await pool?.end();
        await Promise.all([reader, writer, admin].map((c) => c?.end()));
        await db?.drop();
    });

    const check = (client: pg.ClientBase, token: string, purpose: string) =>
        client.query("SELECT app_check_consent($1, $2) AS ok", [token, purpose]).then((r) => r.rows[0].ok as boolean);

    it("answers from the newest record: granted, withdrawn, never asked (pool through lib/db, and both application roles)", async function () {
        assert.equal(await checkConsent(pool, tokenFor(alice.id), "marketing_email"), true);
        assert.equal(await checkConsent(pool, tokenFor(alice.id), "analytics"), false, "withdrawn after the grant");
        assert.equal(await checkConsent(pool, tokenFor(alice.id), "third_party_provision"), false, "never asked");
        assert.equal(await checkConsent(pool, tokenFor(carol.id), "marketing_email"), false, "a user with no record at all");
        assert.equal(await checkConsent(pool, tokenFor(alice.id), "no_such_purpose"), false);
        for (const client of [reader, writer]) {
            assert.equal(await check(client, tokenFor(alice.id), "marketing_email"), true);
            assert.equal(await check(client, tokenFor(bob.id), "analytics"), true);
            assert.equal(await check(client, tokenFor(alice.id), "analytics"), false);
        }
    });

    it("a withdrawal is not shadowed by a dated grant: server order decides, not recorded_at", async function () {
        const dave = await seedUser(admin, "dave");
        await grantConsent(admin, dave.id, "analytics");
        // A withdrawal that claims to be older than the grant (the owner may write dates) still wins: it came later.
        await admin.query(
            "INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor, recorded_at) VALUES ($1, 'analytics', false, 'v1', 'user', now() - interval '1 year')",
            [dave.id],
        );
        assert.equal(await checkConsent(pool, tokenFor(dave.id), "analytics"), false);
        // And an application writing a back-dated grant after that gets its date replaced by the server's (0006): still newest.
        await writer.query("BEGIN");
        await writer.query("SELECT app_begin_identity($1)", [tokenFor(dave.id)]);
        await writer.query("INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor, source, recorded_at) VALUES ($1, 'analytics', true, 'v2', 'user', 'app', now() - interval '2 years')", [dave.id]);
        await writer.query("COMMIT");
        assert.equal(await checkConsent(pool, tokenFor(dave.id), "analytics"), true);
    });

    it("a token answers for its own user only: no argument names another user", async function () {
        const { rows } = await admin.query("SELECT pg_get_function_identity_arguments('app_check_consent'::regproc) AS args, prosecdef FROM pg_proc WHERE oid = 'app_check_consent'::regproc");
        // SECURITY DEFINER (0024): the signature, not row-level security, is its gate; it takes no user id.
        assert.deepEqual(rows[0], { args: "p_token text, p_purpose text", prosecdef: true });
        // bob's token, alice's granted purpose: bob's answer (never asked), not alice's.
        assert.equal(await checkConsent(pool, tokenFor(bob.id), "marketing_email"), false);
        // SQL in the purpose is a value, not SQL.
        assert.equal(await checkConsent(pool, tokenFor(bob.id), "marketing_email' OR true --"), false);
        // The pooled connection keeps no identity after the check.
        const after = await pool.query("SELECT app_current_user_id() AS me, count(*)::int AS n FROM consent_records");
        assert.deepEqual(after.rows[0], { me: null, n: 0 });
    });

    it("forged, altered and expired tokens are refused with 28000, the same errors as app_begin_identity, never echoing the token", async function () {
        const valid = tokenFor(bob.id);
        const [, , expiry, mac] = valid.split(".");
        const longSigned = `v1.${alice.id}.${Math.floor(Date.now() / 1000) + 7200}`;
        const cases: Record<string, [string, RegExp]> = {
            "signed with another secret": [signIdentityToken(Buffer.alloc(32, 1), alice.id), /bad signature/],
            "user id swapped to alice": [`v1.${alice.id}.${expiry}.${mac}`, /bad signature/],
            "expiry extended": [`v1.${bob.id}.${Number(expiry) + 60}.${mac}`, /bad signature/],
            "expired": [tokenFor(alice.id, { now: new Date(Date.now() - 10 * 60_000) }), /expired/],
            "lifetime over an hour": [signedWithTestSecret(longSigned), /lifetime over one hour/],
            "upper-case user id (never minted)": [
                signedWithTestSecret(`v1.${alice.id.toUpperCase()}.${expiry}`),
                /malformed/,
            ],
            "extra field": [`${valid}.x`, /malformed/],
            "a megabyte (never hashed)": [`${valid}${"0".repeat(1 << 20)}`, /malformed/],
            // Signed by the real key but not as the minter writes (a minter's bug): the casts fail after the
            // signature matched, and the answer is still a 28000, not the cast's error echoing the field.
            "signed, user id not a UUID": [signedWithTestSecret(`v1.${"z".repeat(36)}.${expiry}`), /malformed/],
            "signed, expiry not a number": [signedWithTestSecret(`v1.${alice.id}.17x9`), /malformed/],
            "signed, expiry in the year 33658": [signedWithTestSecret(`v1.${alice.id}.${"9".repeat(12)}`), /lifetime over one hour/],
            "signed, expiry past the last timestamp": [signedWithTestSecret(`v1.${alice.id}.${"9".repeat(18)}`), /malformed/],
            "null": [null as unknown as string, /malformed/],
        };
        for (const [label, [token, reason]] of Object.entries(cases)) {
            const err = await rejection(check(reader, token, "marketing_email"));
            assert.equal(err.code, TOKEN_REJECTED, `${label}: ${err.message}`);
            assert.match(err.message, /^identity token rejected: (malformed|bad signature|expired|lifetime over one hour)$/, label);
            assert.match(err.message, reason, label);
            if (token) assert.ok(!err.message.includes(token.split(".")[3] ?? token), `${label}: the token is not echoed`);
        }
        // Through lib/db: the same SQLSTATE, no token in the message; a malformed token never reaches the database.
        const err = await rejection(checkConsent(pool, `v1.${alice.id}.${expiry}.${mac}`, "marketing_email"));
        assert.equal(err.code, TOKEN_REJECTED);
        assert.ok(!err.message.includes(mac));
        await assert.rejects(checkConsent(pool, "v1.' OR true --.1.x", "analytics"), /checkConsent: the identity token is malformed/);
    });

    it("a token's lifetime has exact edges: a second to go and a full hour answer; expired and over an hour are refused", async function () {
        const signedWith = (expiresAt: number) => signedWithTestSecret(`v1.${alice.id}.${expiresAt}`);
        const now = Math.floor(Date.now() / 1000);
        assert.equal(await check(reader, signedWith(now + 2), "marketing_email"), true);
        assert.equal(await check(reader, signedWith(now + 3598), "marketing_email"), true);
        for (const [expiresAt, reason] of [[now - 1, /expired/], [now - 3600, /expired/], [now + 3602, /lifetime over one hour/], [now + 86_400, /lifetime over one hour/]] as const) {
            const err = await rejection(check(reader, signedWith(expiresAt), "marketing_email"));
            assert.equal(err.code, TOKEN_REJECTED, String(expiresAt - now));
            assert.match(err.message, reason);
        }
    });

    it("a hand-set app.identity or app.user_id gives nothing, and a check inside a transaction leaves its identity as it was", async function () {
        // alice's real seal, copied from another session's transaction: useless here.
        await writer.query("BEGIN");
        await writer.query("SELECT app_begin_identity($1)", [tokenFor(alice.id)]);
        const sealed = (await writer.query("SELECT current_setting('app.identity') AS s")).rows[0].s as string;
        await writer.query("ROLLBACK");
        await reader.query("BEGIN");
        try {
            await reader.query("SELECT set_config('app.identity', $1, true), set_config('app.user_id', $2, true)", [sealed, alice.id]);
            // With bob's token the answer is bob's (alice granted marketing, bob did not).
            assert.equal(await check(reader, tokenFor(bob.id), "marketing_email"), false);
            // The hand-set value is put back, and still acts for nobody.
            const state = await reader.query("SELECT current_setting('app.identity') AS s, app_current_user_id() AS me, (SELECT count(*)::int FROM consent_records) AS n");
            assert.deepEqual(state.rows[0], { s: sealed, me: null, n: 0 });
        } finally {
            await reader.query("ROLLBACK");
        }
        await reader.query("BEGIN");
        try {
            await reader.query("SELECT set_config('app.identity', $1, true)", [sealed]);
            const err = await rejection(check(reader, `v1.${alice.id}.1.${"0".repeat(64)}`, "marketing_email"));
            assert.equal(err.code, TOKEN_REJECTED, "a forged token with a copied seal in place");
        } finally {
            await reader.query("ROLLBACK");
        }
        // Acting for alice, a check with bob's token answers for bob; afterwards the transaction still acts for alice only.
        await reader.query("BEGIN");
        try {
            await reader.query("SELECT app_begin_identity($1)", [tokenFor(alice.id)]);
            assert.equal(await check(reader, tokenFor(bob.id), "analytics"), true);
            const me = await reader.query("SELECT app_current_user_id() AS me, array_agg(DISTINCT user_id::text) AS seen FROM consent_records");
            assert.deepEqual(me.rows[0], { me: alice.id, seen: [alice.id] });
        } finally {
            await reader.query("ROLLBACK");
        }
    });

    it("only the application roles can call it, and a login with EXECUTE alone learns one boolean about a signed user", async function () {
        for (const group of ["pii_audit", "pii_signup"]) {
            const client = await connect(await db.loginUrl(group));
            try {
                const err = await rejection(check(client, tokenFor(alice.id), "marketing_email"));
                assert.equal(err.code, INSUFFICIENT_PRIVILEGE, group);
            } finally {
                await client.end();
            }
        }
        const { rows } = await admin.query(
            "SELECT array_agg(r.rolname::text ORDER BY r.rolname) AS callers FROM pg_roles r WHERE r.rolname IN ('pii_read', 'pii_write', 'pii_audit', 'pii_signup', 'identity_rotator') AND has_function_privilege(r.oid, 'app_check_consent(text, text)', 'EXECUTE')",
        );
        assert.deepEqual(rows[0].callers, ["pii_read", "pii_write"]);
        // Whoever holds EXECUTE still needs a token the database's key signed, and gets the answer for its user only.
        const url = await db.loginUrl();
        const role = new URL(url).username;
        await admin.query(`GRANT EXECUTE ON FUNCTION app_check_consent(text, text) TO ${role}`);
        const bare = await connect(url);
        try {
            assert.equal(await check(bare, tokenFor(alice.id), "marketing_email"), true);
            assert.equal(await check(bare, tokenFor(bob.id), "marketing_email"), false);
            const err = await rejection(check(bare, signIdentityToken(Buffer.alloc(32, 7), alice.id), "marketing_email"));
            assert.equal(err.code, TOKEN_REJECTED);
            // ... and nothing else: no table, no identity.
            assert.equal((await rejection(bare.query("SELECT count(*) FROM consent_records"))).code, INSUFFICIENT_PRIVILEGE);
        } finally {
            await bare.end();
        }
    });

    it("a caller's session settings change no answer: custom plans, standard_conforming_strings off, row_security off", async function () {
        const client = await connect(await db.loginUrl("pii_read"));
        try {
            // Custom plans put the parameters into the plan as constants; the casts of 0026 sit behind a subquery,
            // so a garbage user id is not cast while planning, before any signature is checked.
            await client.query("SET plan_cache_mode = force_custom_plan");
            await client.query("SET standard_conforming_strings = off");
            for (let i = 0; i < 7; i++) {
                assert.equal(await check(client, tokenFor(alice.id), "marketing_email"), true);
                assert.equal(await check(client, tokenFor(bob.id), "marketing_email"), false);
                assert.equal((await rejection(check(client, `v1.${"z".repeat(36)}.1796122391.${"0".repeat(64)}`, "analytics"))).code, TOKEN_REJECTED);
            }
            // row_security off does not lift the owner's forced policies inside the function: the call fails (42501).
            await client.query("SET row_security = off");
            assert.equal((await rejection(check(client, tokenFor(bob.id), "marketing_email"))).code, INSUFFICIENT_PRIVILEGE);
        } finally {
            await client.end();
        }
    });

    it("a caller's search_path cannot redirect it: look-alike tables, functions and types placed first change nothing", async function () {
        // Application roles cannot create objects anywhere (0008); here the admin plays a role that could, to show
        // that the function resolves every name in pg_catalog and public regardless of the caller's path.
        const evilSecret = Buffer.alloc(32, 9);
        await admin.query("CREATE SCHEMA evil");
        try {
            await admin.query(`CREATE TABLE evil.consent_records (id bigint, user_id uuid, purpose text, granted boolean);
                               INSERT INTO evil.consent_records VALUES (1, '${bob.id}', 'marketing_email', true);
                               CREATE TABLE evil.app_identity_token_key (LIKE public.app_identity_token_key);
                               CREATE TABLE evil.users (id uuid, last_activity_at timestamptz);
                               CREATE FUNCTION evil.sha256(bytea) RETURNS bytea LANGUAGE sql AS 'SELECT ''\\x00''::bytea';
                               CREATE FUNCTION evil.decode(text, text) RETURNS bytea LANGUAGE sql AS 'SELECT ''\\x00''::bytea';
                               CREATE FUNCTION evil.encode(bytea, text) RETURNS text LANGUAGE sql AS 'SELECT ''forged''::text';
                               CREATE FUNCTION evil.right(text, integer) RETURNS text LANGUAGE sql AS 'SELECT ''forged''::text';
                               CREATE FUNCTION evil.width_bucket(double precision, double precision, double precision, integer) RETURNS integer LANGUAGE sql AS 'SELECT 1';
                               CREATE DOMAIN evil.uuid AS text CHECK (false);
                               CREATE DOMAIN evil.text AS text CHECK (false);`);
            await admin.query("INSERT INTO evil.app_identity_token_key SELECT * FROM public.app_identity_token_key");
            await admin.query("UPDATE evil.app_identity_token_key SET inner_pad = p.inner_pad, outer_pad = p.outer_pad FROM app_identity_key_pads($1) p", [evilSecret]);
            await admin.query("GRANT USAGE ON SCHEMA evil TO PUBLIC; GRANT SELECT ON ALL TABLES IN SCHEMA evil TO PUBLIC");
            const client = await connect(await db.loginUrl("pii_read"));
            try {
                await client.query("SET search_path = evil, pg_catalog, public");
                assert.equal(await check(client, tokenFor(bob.id), "marketing_email"), false, "bob never granted marketing: the look-alike row is not read");
                assert.equal(await check(client, tokenFor(alice.id), "marketing_email"), true);
                const err = await rejection(check(client, signIdentityToken(evilSecret, bob.id), "marketing_email"));
                assert.equal(err.code, TOKEN_REJECTED, "a token signed with the look-alike key table's key");
                // encode and right that agree on anything, and a width_bucket that calls every token fresh: unused.
                const forged = `v1.${bob.id}.${Math.floor(Date.now() / 1000) + 60}.${"0".repeat(64)}`;
                assert.equal((await rejection(check(client, forged, "marketing_email"))).code, TOKEN_REJECTED, "a forged signature");
                const expired = tokenFor(alice.id, { now: new Date(Date.now() - 10 * 60_000) });
                assert.match((await rejection(check(client, expired, "marketing_email"))).message, /expired/);
            } finally {
                await client.end();
            }
        } finally {
            await admin.query("DROP SCHEMA evil CASCADE");
        }
    });

    it("writes nothing: activity is recorded where tokens are issued (0025), not by the check; read-only transactions get the same answers", async function () {
        const state = async () =>
            (await admin.query("SELECT u.last_activity_at, (SELECT count(*)::int FROM audit_log a WHERE a.row_id = u.id::text) AS audited FROM users u WHERE u.id = $1", [carol.id])).rows[0];
        await admin.query("UPDATE users SET last_activity_at = now() - interval '4 years' WHERE id = $1", [carol.id]);
        const before = await state();
        assert.equal(await checkConsent(pool, tokenFor(carol.id), "analytics"), false);
        await reader.query("BEGIN READ ONLY");
        try {
            assert.equal(await check(reader, tokenFor(alice.id), "marketing_email"), true);
            assert.equal(await check(reader, tokenFor(carol.id), "analytics"), false);
        } finally {
            await reader.query("COMMIT");
        }
        assert.deepEqual(await state(), before, "no activity, no audit row: the check changed nothing");
        // Both functions are STABLE (they read with the caller's statement snapshot), and the fallback is not for callers.
        const { rows } = await admin.query("SELECT proname, provolatile, prosecdef FROM pg_proc WHERE proname IN ('app_check_consent', 'app_check_consent_fallback') ORDER BY proname");
        assert.deepEqual(rows, [{ proname: "app_check_consent", provolatile: "s", prosecdef: true }, { proname: "app_check_consent_fallback", provolatile: "s", prosecdef: true }]);
        assert.equal((await rejection(reader.query("SELECT app_check_consent_fallback($1, 'analytics')", [tokenFor(alice.id)]))).code, INSUFFICIENT_PRIVILEGE);
    });

    // Last: it rotates the database's token key.
    it("during a rotation's grace window, tokens of the current and the previous key both answer; after it, only the current key's", async function () {
        const nextSecret = Buffer.alloc(48, 5);
        await admin.query("SELECT app_identity_key_add('consent-check-next', $1)", [nextSecret]);
        // Added, not yet current (setSecret): both verify.
        assert.equal(await checkConsent(pool, signIdentityToken(nextSecret, alice.id), "marketing_email"), true);
        assert.equal(await checkConsent(pool, tokenFor(alice.id), "marketing_email"), true);
        await admin.query("SELECT app_identity_key_finish('consent-check-next', interval '2 hours')");
        // Current (finishSecret): the previous key still answers until its retirement.
        assert.equal(await checkConsent(pool, signIdentityToken(nextSecret, alice.id), "marketing_email"), true);
        assert.equal(await checkConsent(pool, tokenFor(alice.id), "marketing_email"), true);
        assert.equal(await checkConsent(pool, tokenFor(bob.id), "marketing_email"), false);
        // The grace window ends: the previous key's tokens are refused, by the check and by app_begin_identity alike.
        await admin.query("UPDATE app_identity_token_key SET retire_at = clock_timestamp() - interval '1 second' WHERE NOT is_current");
        const err = await rejection(checkConsent(pool, tokenFor(alice.id), "marketing_email"));
        assert.equal(err.code, TOKEN_REJECTED);
        assert.equal((await rejection(reader.query("SELECT app_begin_identity($1)", [tokenFor(alice.id)]))).code, TOKEN_REJECTED);
        assert.equal(await checkConsent(pool, signIdentityToken(nextSecret, alice.id), "marketing_email"), true);
    });
});
