// Rotation of the identity-token secret (migrations/0021): several accepted keys with validity windows, the
// rotation steps the Secrets Manager Lambda calls as identity_rotator, and what that login and the application
// roles must not be able to do. Windows are moved in the table as the owner: nothing sleeps.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { TEST_IDENTITY_SECRET, tokenFor } from "../support/identity";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { connect, INSUFFICIENT_PRIVILEGE, rejection, seedUser, SeededUser } from "./helpers";

const TOKEN_REJECTED = "28000";

describe("db: identity secret rotation (0021) and the identity_rotator login", function () {
    this.timeout(60_000);
    let db: TestDatabase;
    let admin: pg.Client;
    let rotator: pg.Client;
    let rotatorLogin: string;
    let reader: pg.Client;
    let writer: pg.Client;
    let signup: pg.Client;
    let audit: pg.Client;
    let alice: SeededUser;

    before(async function () {
        db = await migratedDatabase("rotation");
        admin = await connect(db.url);
        alice = await seedUser(admin, "alice");
        const rotatorUrl = await db.loginUrl("identity_rotator");
        rotatorLogin = decodeURIComponent(new URL(rotatorUrl).username);
        rotator = await connect(rotatorUrl);
        reader = await connect(await db.loginUrl("pii_read"));
        writer = await connect(await db.loginUrl("pii_write"));
        signup = await connect(await db.loginUrl("pii_signup"));
        audit = await connect(await db.loginUrl("pii_audit"));
    });

    after(async function () {
        await Promise.all([rotator, reader, writer, signup, audit, admin].map((c) => c?.end()));
        await db?.drop();
    });

    // Every test starts from one accepted key, the test secret, as a deploy leaves it.
    beforeEach(async function () {
        await admin.query("DELETE FROM app_identity_token_key");
        await admin.query("SELECT app_set_identity_secret($1)", [TEST_IDENTITY_SECRET]);
    });

    /** The users alice's token lets `client` see in a rolled-back transaction, or the rejection's code. */
    async function seenWith(client: pg.Client, token: string): Promise<string[] | string> {
        await client.query("BEGIN");
        try {
            await client.query("SELECT app_begin_identity($1)", [token]);
            return (await client.query("SELECT id FROM users")).rows.map((r) => r.id);
        } catch (err) {
            return (err as { code: string }).code;
        } finally {
            await client.query("ROLLBACK");
        }
    }

    const add = (version: string, secret: Buffer) => rotator.query("SELECT app_identity_key_add($1, $2) AS added", [version, secret]).then((r) => r.rows[0].added as boolean);
    const check = (version: string, token: string) => rotator.query("SELECT app_identity_key_check($1, $2) AS ok", [version, token]).then((r) => r.rows[0].ok as boolean);
    const finish = (version: string, grace = "2 hours") => rotator.query("SELECT app_identity_key_finish($1, $2::interval) AS n", [version, grace]).then((r) => r.rows[0].n as number);

    it("a full rotation: pending key verifies after add, both keys during the window, only the new one after it", async function () {
        const next = randomBytes(32);
        const version = randomUUID();
        const oldToken = tokenFor(alice.id);
        const newToken = tokenFor(alice.id, { secret: next });
        assert.equal(await seenWith(reader, newToken), TOKEN_REJECTED, "not accepted before setSecret");
        assert.equal(await add(version, next), true);
        assert.equal(await check(version, newToken), true, "testSecret");
        assert.equal(await check(version, oldToken), false, "the check names one key: the old token is not the pending key's");
        assert.deepEqual(await seenWith(reader, newToken), [alice.id]);
        assert.deepEqual(await seenWith(reader, oldToken), [alice.id]);
        assert.equal(await finish(version), 1, "the old key gets a retire time");
        const { rows } = await admin.query("SELECT version, is_current, retire_at > now() + interval '119 minutes' AS in_window FROM app_identity_token_key ORDER BY id");
        assert.deepEqual(rows.map((r) => [r.version === version, r.is_current, r.in_window]), [[false, false, true], [true, true, null]]);
        // During the grace window both verify, for both application roles.
        for (const c of [reader, writer]) {
            assert.deepEqual(await seenWith(c, oldToken), [alice.id]);
            assert.deepEqual(await seenWith(c, newToken), [alice.id]);
        }
        // The window ends (moved by the owner, no sleeping): old tokens fail, new ones keep working.
        await admin.query("UPDATE app_identity_token_key SET retire_at = clock_timestamp() - interval '1 second' WHERE NOT is_current");
        assert.equal(await seenWith(reader, oldToken), TOKEN_REJECTED);
        assert.equal(await seenWith(writer, tokenFor(alice.id)), TOKEN_REJECTED, "a fresh token from the old secret too");
        assert.deepEqual(await seenWith(reader, newToken), [alice.id]);
        const err = await rejection(reader.query("SELECT app_begin_identity($1)", [oldToken]));
        assert.equal(err.message, "identity token rejected: bad signature");
    });

    it("every step is idempotent on retry, and a retry never extends a window", async function () {
        const next = randomBytes(48);
        const version = randomUUID();
        assert.equal(await add(version, next), true);
        assert.equal(await add(version, next), false, "setSecret retried");
        const token = tokenFor(alice.id, { secret: next });
        assert.equal(await check(version, token), true);
        assert.equal(await check(version, token), true);
        assert.equal(await finish(version), 1);
        const before = (await admin.query("SELECT retire_at FROM app_identity_token_key WHERE NOT is_current")).rows[0].retire_at;
        assert.equal(await finish(version, "3 hours"), 0, "finishSecret retried");
        assert.equal(await add(version, next), false, "a late setSecret retry after finish changes nothing");
        const after = await admin.query("SELECT version, is_current, retire_at FROM app_identity_token_key ORDER BY id");
        assert.equal(after.rows[0].retire_at.getTime(), before.getTime());
        assert.deepEqual(after.rows.map((r) => r.is_current), [false, true]);
        assert.deepEqual(await seenWith(reader, token), [alice.id]);
    });

    it("refuses what a confused or hostile caller sends, naming the step's reason and never the key", async function () {
        const version = randomUUID();
        const key = randomBytes(32);
        await add(version, key);
        // One at a time: a pg client runs one query at a time (several at once is deprecated in pg 9).
        const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
            ["same version, another key", () => add(version, randomBytes(32)), /already holds another key/],
            ["an accepted key under another version", () => add(randomUUID(), TEST_IDENTITY_SECRET), /already accepted under another version/],
            ["a key too short", () => add(randomUUID(), randomBytes(16)), /32 to 64 bytes/],
            ["finish an unknown version", () => finish(randomUUID()), /is not accepted: add it first/],
            ["a grace shorter than token lifetime + re-read + skew", () => finish(version, "30 minutes"), /grace must be 80 minutes to 7 days/],
        ];
        for (const [label, attempt, message] of cases) {
            const err = await rejection(attempt());
            assert.match(err.message, message, label);
            assert.doesNotMatch(err.message, new RegExp(key.toString("hex").slice(0, 16)), label);
        }
        assert.equal(await check(randomUUID(), tokenFor(alice.id)), false, "check of an unknown version");
        assert.equal(await check(version, "v1.garbage"), false, "check of a malformed token");
    });

    it("holds at most 4 accepted keys, with a clear error; retired keys past their window make room", async function () {
        for (let i = 0; i < 3; i++) assert.equal(await add(`v${i}`, randomBytes(32)), true);
        const err = await rejection(add("v3", randomBytes(32)));
        assert.match(err.message, /already 4 accepted identity keys; finish the pending rotation/);
        assert.equal(err.code, "54000");
        assert.equal(await finish("v2"), 3);
        // Still 4 accepted during the window; once it ends, their key material goes and a new rotation fits.
        assert.match((await rejection(add("v3", randomBytes(32)))).message, /already 4 accepted/);
        await admin.query("UPDATE app_identity_token_key SET retire_at = clock_timestamp() - interval '1 second' WHERE NOT is_current");
        assert.equal(await add("v3", randomBytes(32)), true);
        const { rows } = await admin.query("SELECT version FROM app_identity_token_key ORDER BY id");
        assert.deepEqual(rows.map((r) => r.version), ["v2", "v3"]);
    });

    it("a transaction that began its identity before a rotation still sees its rows after it commits", async function () {
        await reader.query("BEGIN");
        try {
            await reader.query("SELECT app_begin_identity($1)", [tokenFor(alice.id)]);
            assert.deepEqual((await reader.query("SELECT id FROM users")).rows.map((r) => r.id), [alice.id]);
            const version = randomUUID();
            await add(version, randomBytes(32));
            await finish(version);
            await admin.query("UPDATE app_identity_token_key SET retire_at = clock_timestamp() - interval '1 second' WHERE NOT is_current");
            // Even the deploy path replacing every key at once leaves the running transaction its identity.
            await admin.query("SELECT app_set_identity_secret($1)", [randomBytes(32)]);
            assert.deepEqual((await reader.query("SELECT id FROM users")).rows.map((r) => r.id), [alice.id]);
            assert.equal((await reader.query("SELECT app_current_user_id() AS me")).rows[0].me, alice.id);
        } finally {
            await reader.query("ROLLBACK");
        }
    });

    it("the deploy path: the same value changes nothing, a new value replaces every key at once", async function () {
        const version = randomUUID();
        const next = randomBytes(32);
        await add(version, next);
        await finish(version);
        // A deploy carrying either accepted value (before or after AWSCURRENT moved) keeps the rotation as it is.
        const before = (await admin.query("SELECT version, is_current, retire_at FROM app_identity_token_key ORDER BY id")).rows;
        await admin.query("SELECT app_set_identity_secret($1)", [TEST_IDENTITY_SECRET]);
        await admin.query("SELECT app_set_identity_secret($1)", [next]);
        assert.deepEqual((await admin.query("SELECT version, is_current, retire_at FROM app_identity_token_key ORDER BY id")).rows, before);
        // A value never seen (the owner's override after a leak): only it verifies, at once.
        const leaked = randomBytes(32);
        await admin.query("SELECT app_set_identity_secret($1)", [leaked]);
        assert.equal(await seenWith(reader, tokenFor(alice.id)), TOKEN_REJECTED);
        assert.equal(await seenWith(reader, tokenFor(alice.id, { secret: next })), TOKEN_REJECTED);
        assert.deepEqual(await seenWith(reader, tokenFor(alice.id, { secret: leaked })), [alice.id]);
    });

    it("records every add, make-current, retire and install with the login and the time, no key material, append-only", async function () {
        const since = (await admin.query("SELECT coalesce(max(id), 0) AS id FROM app_identity_key_log")).rows[0].id;
        const version = randomUUID();
        await add(version, randomBytes(32));
        await add(version, randomBytes(32)).catch(() => undefined);
        await finish(version);
        await finish(version);
        const { rows } = await admin.query("SELECT action, version = $2 AS this_version, db_role, retire_at IS NOT NULL AS retires, logged_at > now() - interval '1 minute' AS recent FROM app_identity_key_log WHERE id > $1 ORDER BY id", [since, version]);
        assert.deepEqual(rows.map((r) => [r.action, r.this_version, r.db_role, r.retires, r.recent]), [
            ["add", true, rotatorLogin, false, true],
            ["make_current", true, rotatorLogin, false, true],
            ["retire", false, rotatorLogin, true, true],
        ]);
        const columns = (await admin.query("SELECT array_agg(column_name::text ORDER BY ordinal_position) AS c FROM information_schema.columns WHERE table_name = 'app_identity_key_log'")).rows[0].c;
        assert.deepEqual(columns, ["id", "logged_at", "action", "version", "retire_at", "db_role"]);
        for (const sql of ["UPDATE app_identity_key_log SET db_role = 'someone'", "DELETE FROM app_identity_key_log", "TRUNCATE app_identity_key_log"]) {
            assert.match((await rejection(admin.query(sql))).message, /append-only/, `owner: ${sql}`);
        }
        assert.ok((await audit.query("SELECT count(*)::int AS n FROM app_identity_key_log")).rows[0].n > 0, "pii_audit reads the log");
    });

    it("identity_rotator: no key, no identity, no user, no deploy path, no other role", async function () {
        for (const sql of [
            "SELECT * FROM app_identity_token_key",
            "SELECT * FROM app_identity_secret",
            "SELECT * FROM app_identity_key_log",
            "SELECT * FROM users",
            "SELECT * FROM consent_records",
            "SELECT * FROM audit_log",
            `SELECT app_begin_identity('${tokenFor(alice.id)}')`,
            "SELECT app_set_identity_secret('\\x00')",
            `SELECT app_set_verified_identity('${alice.id}')`,
            "SELECT app_identity_token_verify('v1.x.1.y', NULL)",
            "SELECT app_identity_mac('v1.x.1')",
            "SELECT app_identity_key_pads('\\x00')",
            "DELETE FROM app_identity_token_key",
            "UPDATE app_identity_token_key SET retire_at = NULL",
            "SET ROLE pii_read",
            "SET ROLE appi_owner",
            "CREATE TABLE public.rotator_table (x int)",
        ]) {
            const err = await rejection(rotator.query(sql));
            assert.equal(err.code, INSUFFICIENT_PRIVILEGE, sql);
        }
        // A check sets no identity, and a hand-set app.identity gives it nothing to read.
        const version = randomUUID();
        const key = randomBytes(32);
        await add(version, key);
        await rotator.query("BEGIN");
        try {
            assert.equal(await check(version, tokenFor(alice.id, { secret: key })), true);
            const { rows } = await rotator.query("SELECT coalesce(current_setting('app.identity', true), '') AS sealed");
            assert.deepEqual(rows[0], { sealed: "" });
            await rotator.query("SELECT set_config('app.identity', $1, true)", [`${alice.id}.${"0".repeat(64)}`]);
            assert.equal((await rejection(rotator.query("SELECT app_current_user_id() AS me"))).code, INSUFFICIENT_PRIVILEGE);
        } finally {
            await rotator.query("ROLLBACK");
        }
    });

    it("pii_read, pii_write, pii_signup and pii_audit cannot add, check or retire keys", async function () {
        for (const client of [reader, writer, signup, audit]) {
            for (const sql of [
                `SELECT app_identity_key_add('${randomUUID()}', '\\x${randomBytes(32).toString("hex")}')`,
                "SELECT app_identity_key_check('x', 'v1.x.1.y')",
                "SELECT app_identity_key_finish('x')",
                "SELECT app_identity_key_finish('x', interval '2 hours')",
                "SELECT * FROM app_identity_token_key",
                "SET ROLE identity_rotator",
            ]) {
                const err = await rejection(client.query(sql));
                assert.equal(err.code, INSUFFICIENT_PRIVILEGE, sql);
            }
        }
        assert.equal((await admin.query("SELECT count(*)::int AS n FROM app_identity_token_key")).rows[0].n, 1);
    });

    it("accepted keys only: a token verifies under any key inside its window, whatever other keys are accepted", async function () {
        // Three more keys accepted and one past its window: tokens of the current and of a pending key verify, the
        // expired key's do not, for app_begin_identity (0022's one-query check) and app_identity_key_check alike.
        const pending = randomBytes(32);
        const pendingVersion = randomUUID();
        await add(pendingVersion, pending);
        const expired = randomBytes(32);
        const expiredVersion = randomUUID();
        await add(expiredVersion, expired);
        await add(randomUUID(), randomBytes(32));
        await admin.query("UPDATE app_identity_token_key SET retire_at = clock_timestamp() - interval '1 second' WHERE version = $1", [expiredVersion]);
        assert.deepEqual(await seenWith(reader, tokenFor(alice.id)), [alice.id]);
        assert.deepEqual(await seenWith(reader, tokenFor(alice.id, { secret: pending })), [alice.id]);
        assert.equal(await seenWith(reader, tokenFor(alice.id, { secret: expired })), TOKEN_REJECTED);
        assert.equal(await check(pendingVersion, tokenFor(alice.id, { secret: pending })), true);
        assert.equal(await check(expiredVersion, tokenFor(alice.id, { secret: expired })), false);
        // app_identity_key_check's verification tries the current key first and stops at the first match.
        const src = (await admin.query("SELECT prosrc FROM pg_proc WHERE proname = 'app_identity_token_verify'")).rows[0].prosrc as string;
        assert.match(src, /ORDER BY t\.is_current DESC, t\.id DESC\s+LOOP[\s\S]*EXIT;/);
    });
});
