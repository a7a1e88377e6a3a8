// PostConfirmation against real PostgreSQL, connecting as a pii_write member (row-level security applies),
// with events shaped as Cognito sends them.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createPostConfirmationHandler, handler as exportedHandler } from "../../lambdas/post-confirmation";
import { CONSENT_PURPOSES } from "../../lambdas/shared/signup";
import { decryptUserFields, localKeySet, PII_COLUMNS, PiiCipher, PiiColumn, PiiDecryptError, rotateKey } from "../../lib/crypto";
import { getPool } from "../../lib/db";
import { tokenFor } from "../support/identity";
import { checkLambdaLogs, closeLambdaTestDb, FULL_METADATA, LambdaTestDb, lambdaTestDb, LOCAL_KEY, postConfirmationEvent } from "./support";

const COLUMNS = Object.keys(PII_COLUMNS) as PiiColumn[];

describe("lambdas/post-confirmation (PostgreSQL, pii_write login)", function () {
    let t: LambdaTestDb;
    let cipher: PiiCipher;
    let handler: ReturnType<typeof createPostConfirmationHandler>;
    const logs = checkLambdaLogs();

    before(async () => {
        t = await lambdaTestDb();
        cipher = new PiiCipher(localKeySet(LOCAL_KEY));
        handler = createPostConfirmationHandler({ pool: () => t.signup, cipher: () => cipher, principal: "post-confirmation-test" });
    });
    after(closeLambdaTestDb);

    async function counts(userId: string) {
        const q = async (sql: string) => Number((await t.admin.query(sql, [userId])).rows[0].n);
        return {
            users: await q("SELECT count(*) AS n FROM users WHERE id = $1"),
            metadata: await q("SELECT count(*) AS n FROM encryption_metadata WHERE user_id = $1"),
            consents: await q("SELECT count(*) AS n FROM consent_records WHERE user_id = $1"),
            encryptAudit: await q("SELECT count(*) AS n FROM encryption_audit WHERE user_id = $1 AND operation = 'encrypt'"),
        };
    }

    async function totalUsers(): Promise<number> {
        return Number((await t.admin.query("SELECT count(*) AS n FROM users")).rows[0].n);
    }

    it("creates the user: level 1 in clear, level 2 and 3 encrypted, metadata, consents, audit; returns the event", async () => {
        const event = postConfirmationEvent();
        const sub = event.request.userAttributes.sub;
        const result = await handler(event, { awsRequestId: "req-happy" });
        assert.equal(result, event);

        const { rows } = await t.admin.query("SELECT * FROM users WHERE id = $1", [sub]);
        assert.equal(rows.length, 1);
        const user = rows[0];
        assert.equal(user.email, event.request.userAttributes.email);
        assert.equal(user.first_name, "Hanako");
        assert.equal(user.last_name, "Yamada");
        assert.equal(user.phone, "+81312345678");
        for (const column of COLUMNS) assert.ok(Buffer.isBuffer(user[column]) && user[column].length > 100, `${column} holds ciphertext`);

        const metadata = await t.admin.query(
            "SELECT field_name, encryption_level, kms_key_id, key_version, outer_kms_key_id, outer_key_version FROM encryption_metadata WHERE user_id = $1 ORDER BY field_name",
            [sub],
        );
        assert.deepEqual(
            metadata.rows.map((r) => [r.field_name, r.encryption_level, r.kms_key_id, r.key_version, r.outer_kms_key_id, r.outer_key_version]),
            [
                ["address_encrypted", 2, "pii-l2-v1", 1, null, null],
                ["bank_account_encrypted", 3, "pii-l3-v1", 1, "pii-l2-v1", 1],
                ["credit_card_encrypted", 3, "pii-l3-v1", 1, "pii-l2-v1", 1],
                ["date_of_birth_encrypted", 2, "pii-l2-v1", 1, null, null],
                ["ip_address_encrypted", 2, "pii-l2-v1", 1, null, null],
                ["ssn_encrypted", 3, "pii-l3-v1", 1, "pii-l2-v1", 1],
            ],
        );

        const consents = await t.admin.query("SELECT purpose, granted, notice_version, actor, source FROM consent_records WHERE user_id = $1 ORDER BY purpose", [sub]);
        assert.deepEqual(
            consents.rows.map((r) => [r.purpose, r.granted, r.notice_version, r.actor, r.source]),
            ["marketing_email", "privacy_notice", "service_provision"].map((p) => [p, true, "2025-04-01", "user", "signup"]),
        );

        const audit = await t.admin.query("SELECT field_name, operation, performed_by, purpose, success, request_id FROM encryption_audit WHERE user_id = $1 ORDER BY field_name", [sub]);
        assert.deepEqual(
            audit.rows.map((r) => [r.field_name, r.operation, r.performed_by, r.purpose, r.success, r.request_id]),
            [...COLUMNS].sort().map((c) => [c, "encrypt", "post-confirmation-test", "signup", true, "req-happy"]),
        );
        // The row-change trail (database triggers) saw the insert as this user, with column names only.
        const trail = await t.admin.query("SELECT operation, app_user_id, changed_columns FROM audit_log WHERE table_name = 'users' AND user_id = $1", [sub]);
        assert.equal(trail.rows.length, 1);
        assert.equal(trail.rows[0].app_user_id, sub);
        assert.ok(trail.rows[0].changed_columns.includes("ssn_encrypted"));
        assert.deepEqual(logs.lines.map((l) => JSON.parse(l)).map((l) => [l.outcome, l.fieldsEncrypted, l.consentsRecorded, l.requestId]), [["ok", 6, 3, "req-happy"]]);
    });

    it("stores ciphertext that contains none of the plaintext", async () => {
        const event = postConfirmationEvent();
        await handler(event);
        const { rows } = await t.admin.query(`SELECT ${COLUMNS.join(", ")} FROM users WHERE id = $1`, [event.request.userAttributes.sub]);
        const plaintexts = ["1-2-3 Chiyoda", "Chiyoda", "1990-04-01", FULL_METADATA.source_ip, FULL_METADATA.ssn, "6789", FULL_METADATA.bank_account, "7654321", FULL_METADATA.credit_card, "41111111"];
        for (const column of COLUMNS) {
            for (const text of plaintexts) {
                const bytes: Buffer = rows[0][column];
                assert.equal(bytes.includes(Buffer.from(text, "utf8")), false, `${column} contains "${text}"`);
                assert.equal(bytes.toString("hex").includes(Buffer.from(text).toString("hex")), false);
            }
        }
    });

    it("decrypts every field for an authorized reader and records who read what in encryption_audit", async () => {
        const event = postConfirmationEvent();
        const sub = event.request.userAttributes.sub;
        await handler(event);
        const values = await decryptUserFields(t.writer, cipher, { token: tokenFor(sub), columns: COLUMNS, performedBy: "support:agent-7", purpose: "disclosure_request", requestId: "req-read" });
        assert.deepEqual(values, {
            address_encrypted: "1-2-3 Chiyoda, Chiyoda-ku, Tokyo 100-0001",
            date_of_birth_encrypted: "1990-04-01",
            ip_address_encrypted: "203.0.113.42",
            ssn_encrypted: FULL_METADATA.ssn,
            bank_account_encrypted: FULL_METADATA.bank_account,
            credit_card_encrypted: FULL_METADATA.credit_card,
        });
        const audit = await t.admin.query(
            "SELECT field_name, encryption_level, kms_key_id, key_version, performed_by, purpose, success FROM encryption_audit WHERE user_id = $1 AND operation = 'decrypt' ORDER BY field_name",
            [sub],
        );
        assert.equal(audit.rows.length, 6);
        for (const row of audit.rows) {
            assert.equal(row.performed_by, "support:agent-7");
            assert.equal(row.purpose, "disclosure_request");
            assert.equal(row.success, true);
            assert.equal(row.kms_key_id, row.encryption_level === 3 ? "pii-l3-v1" : "pii-l2-v1");
        }
        // Row-level security: reading another user's fields through this login finds nothing.
        const stranger = randomUUID();
        await assert.rejects(decryptUserFields(t.writer, cipher, { token: tokenFor(stranger), columns: ["ssn_encrypted"], performedBy: "x", purpose: "y" }), /not visible to this session/);
        await assert.rejects(decryptUserFields(t.writer, cipher, { token: tokenFor(sub), columns: ["email" as PiiColumn], performedBy: "x", purpose: "y" }), /columns must be among/);
    });

    it("refuses ciphertext moved to another user or column (encryption context), and audits the failed read", async () => {
        const a = postConfirmationEvent();
        const b = postConfirmationEvent();
        await handler(a);
        await handler(b);
        const subA = a.request.userAttributes.sub;
        const subB = b.request.userAttributes.sub;
        // An attacker with write access to the table copies A's SSN into B's row, and A's address into A's IP column.
        await t.admin.query("UPDATE users SET ssn_encrypted = (SELECT ssn_encrypted FROM users WHERE id = $1) WHERE id = $2", [subA, subB]);
        await t.admin.query("UPDATE users SET ip_address_encrypted = address_encrypted WHERE id = $1", [subA]);
        await assert.rejects(
            decryptUserFields(t.writer, cipher, { token: tokenFor(subB), columns: ["ssn_encrypted"], performedBy: "support:agent-7", purpose: "payment" }),
            (err: Error) => err instanceof PiiDecryptError && /encryption context mismatch on user_id/.test(err.message) && !err.message.includes(FULL_METADATA.ssn),
        );
        await assert.rejects(
            decryptUserFields(t.writer, cipher, { token: tokenFor(subA), columns: ["ip_address_encrypted"], performedBy: "support:agent-7", purpose: "fraud_check" }),
            /encryption context mismatch on column/,
        );
        const failed = await t.admin.query(
            "SELECT user_id, field_name, success, error_code FROM encryption_audit WHERE operation = 'decrypt' AND user_id = ANY($1) ORDER BY field_name",
            [[subA, subB]],
        );
        assert.deepEqual(
            failed.rows.map((r) => [r.user_id, r.field_name, r.success, r.error_code]),
            [
                [subA, "ip_address_encrypted", false, "decrypt_failed"],
                [subB, "ssn_encrypted", false, "decrypt_failed"],
            ],
        );
    });

    it("is idempotent: the same event twice (and twice at once) leaves one user, one set of consents", async () => {
        const event = postConfirmationEvent();
        const sub = event.request.userAttributes.sub;
        await handler(event);
        const first = await counts(sub);
        assert.deepEqual(first, { users: 1, metadata: 6, consents: 3, encryptAudit: 6 });
        const retried = await handler(structuredClone(event));
        assert.equal(retried.request.userAttributes.sub, sub);
        assert.deepEqual(await counts(sub), first);
        assert.equal(JSON.parse(logs.lines[1]).outcome, "already_processed");

        const concurrent = postConfirmationEvent();
        await Promise.all([handler(concurrent), handler(structuredClone(concurrent)), handler(structuredClone(concurrent))]);
        assert.deepEqual(await counts(concurrent.request.userAttributes.sub), first);
    });

    it("writes nothing for PostConfirmation_ConfirmForgotPassword", async () => {
        const signUp = postConfirmationEvent();
        const sub = signUp.request.userAttributes.sub;
        await handler(signUp);
        const before = await counts(sub);
        const { rows: beforeRows } = await t.admin.query("SELECT updated_at, ssn_encrypted FROM users WHERE id = $1", [sub]);
        const forgot = postConfirmationEvent({ sub, clientMetadata: {} }, "PostConfirmation_ConfirmForgotPassword");
        assert.equal(await handler(forgot), forgot);
        assert.deepEqual(await counts(sub), before);
        const { rows: afterRows } = await t.admin.query("SELECT updated_at, ssn_encrypted FROM users WHERE id = $1", [sub]);
        assert.deepEqual(afterRows, beforeRows);
        // A forgot-password confirmation for a user we have never seen creates nothing either.
        const unknown = postConfirmationEvent({}, "PostConfirmation_ConfirmForgotPassword");
        await handler(unknown);
        assert.equal((await counts(unknown.request.userAttributes.sub)).users, 0);
    });

    it("throws a clear error and writes nothing for malformed events", async () => {
        const usersBefore = await totalUsers();
        const cases: [string, (e: ReturnType<typeof postConfirmationEvent>) => void, RegExp][] = [
            ["no sub", (e) => delete e.request.userAttributes.sub, /userAttributes\.sub is missing/],
            ["sub not a UUID", (e) => (e.request.userAttributes.sub = "not-a-uuid"), /userAttributes\.sub is not a UUID/],
            ["no e-mail", (e) => delete e.request.userAttributes.email, /userAttributes\.email is missing/],
            ["wrong trigger", (e) => ((e as { triggerSource: string }).triggerSource = "PreSignUp_SignUp"), /unexpected triggerSource "PreSignUp_SignUp"/],
            ["no attributes", (e) => delete (e.request as { userAttributes?: unknown }).userAttributes, /request\.userAttributes is missing/],
            ["no consent", (e) => (e.request.clientMetadata = {}), /malformed event: .*privacy notice/],
            ["bad e-mail", (e) => (e.request.userAttributes.email = "user@@example.jp"), /malformed event: enter a valid e-mail/],
        ];
        for (const [label, mutate, expected] of cases) {
            const event = postConfirmationEvent();
            mutate(event);
            await assert.rejects(handler(event), (err: Error) => {
                assert.match(err.message, expected, label);
                assert.equal(err.message.includes("example.jp"), false, `${label}: message holds the e-mail`);
                return true;
            });
        }
        assert.equal(await totalUsers(), usersBefore);
        assert.ok(logs.lines.every((l) => JSON.parse(l).outcome === "error"));
    });

    it("refuses a second account with the same e-mail without revealing it, writing nothing", async () => {
        const first = postConfirmationEvent({ email: "same@example.jp" });
        await handler(first);
        const second = postConfirmationEvent({ email: "same@example.jp" });
        await assert.rejects(handler(second), (err: Error) => /already belongs to another account/.test(err.message) && !err.message.includes("same@"));
        assert.deepEqual(await counts(second.request.userAttributes.sub), { users: 0, metadata: 0, consents: 0, encryptAudit: 0 });
    });

    it("stores only what was given: no level-3 data, no address, no phone", async () => {
        const event = postConfirmationEvent({ clientMetadata: { privacy_notice_version: "2025-04-01", consents: "privacy_notice,service_provision" } });
        delete event.request.userAttributes.address;
        delete event.request.userAttributes.phone_number;
        const sub = event.request.userAttributes.sub;
        await handler(event);
        const { rows } = await t.admin.query(`SELECT phone, ${COLUMNS.join(", ")} FROM users WHERE id = $1`, [sub]);
        assert.equal(rows[0].phone, null);
        assert.deepEqual(
            COLUMNS.filter((c) => rows[0][c] !== null),
            ["date_of_birth_encrypted"],
        );
        assert.deepEqual(await counts(sub), { users: 1, metadata: 1, consents: 2, encryptAudit: 1 });
    });

    it("reads consent from the pool's custom attributes when ClientMetadata does not carry it, but never level-3 data", async () => {
        const event = postConfirmationEvent({
            clientMetadata: {},
            // custom:ssn is not an attribute the pool defines; level-3 data must not travel through Cognito.
            attributes: { "custom:notice_version": "2025-04-01", "custom:consents": "privacy_notice,service_provision,analytics", "custom:ssn": "987-65-4321" },
        });
        const sub = event.request.userAttributes.sub;
        await handler(event);
        const values = await decryptUserFields(t.writer, cipher, { token: tokenFor(sub), columns: ["ssn_encrypted", "ip_address_encrypted"], performedBy: "test", purpose: "test" });
        assert.deepEqual(values, { ssn_encrypted: null, ip_address_encrypted: null });
        assert.equal((await counts(sub)).consents, 3);
    });

    it("rotation: new writes use the new key version, old ciphertext stays readable, key_rotation_log records it", async () => {
        const before = postConfirmationEvent();
        await handler(before);
        const client = await t.writer.connect();
        let rotation;
        try {
            rotation = await rotateKey(client, cipher.keys, "l2", { initiatedBy: "ops:rotation-test", masterKey: LOCAL_KEY });
        } finally {
            client.release();
        }
        assert.deepEqual([rotation.oldVersion, rotation.newVersion], [1, 2]);
        const log = await t.admin.query("SELECT key_type, kms_key_id, old_key_version, new_key_version, status, initiated_by FROM key_rotation_log WHERE rotation_id = $1 ORDER BY id", [
            rotation.rotationId,
        ]);
        assert.deepEqual(
            log.rows.map((r) => [r.key_type, r.old_key_version, r.new_key_version, r.status, r.initiated_by]),
            [
                ["local", 1, 2, "started", "ops:rotation-test"],
                ["local", 1, 2, "completed", "ops:rotation-test"],
            ],
        );
        assert.equal(log.rows[1].kms_key_id, "pii-l2-v2");

        const rotatedCipher = new PiiCipher(rotation.keys);
        const rotatedHandler = createPostConfirmationHandler({ pool: () => t.signup, cipher: () => rotatedCipher, principal: "post-confirmation-test" });
        const after = postConfirmationEvent();
        await rotatedHandler(after);
        const versions = await t.admin.query("SELECT DISTINCT key_version, outer_key_version FROM encryption_metadata WHERE user_id = $1", [after.request.userAttributes.sub]);
        assert.ok(versions.rows.length > 0);
        assert.ok(versions.rows.every((r) => r.key_version === 2 && (r.outer_key_version === null || r.outer_key_version === 2)));

        // The user written before the rotation is still readable with the rotated key set, and still on version 1.
        const old = await decryptUserFields(t.writer, rotatedCipher, { token: tokenFor(before.request.userAttributes.sub), columns: COLUMNS, performedBy: "test", purpose: "rotation-check" });
        assert.equal(old.ssn_encrypted, FULL_METADATA.ssn);
        const oldVersions = await t.admin.query("SELECT DISTINCT key_version FROM encryption_metadata WHERE user_id = $1", [before.request.userAttributes.sub]);
        assert.deepEqual(oldVersions.rows, [{ key_version: 1 }]);
        // The key set from before the rotation cannot read what the new version wrote.
        await assert.rejects(decryptUserFields(t.writer, cipher, { token: tokenFor(after.request.userAttributes.sub), columns: ["address_encrypted"], performedBy: "test", purpose: "test" }), PiiDecryptError);
    });

    it("when encryption fails (KMS unreachable) writes no user, audits the failed attempts and throws", async () => {
        class KmsDown extends PiiCipher {
            override async encrypt(...args: Parameters<PiiCipher["encrypt"]>) {
                if (args[2] === 3) throw new Error("KMS unreachable (simulated)");
                return super.encrypt(...args);
            }
        }
        const broken = new KmsDown(localKeySet(LOCAL_KEY));
        const failing = createPostConfirmationHandler({ pool: () => t.signup, cipher: () => broken, principal: "post-confirmation-test" });
        const event = postConfirmationEvent();
        const sub = event.request.userAttributes.sub;
        await assert.rejects(failing(event, { awsRequestId: "req-kms-down" }), /KMS unreachable/);
        assert.deepEqual(await counts(sub), { users: 0, metadata: 0, consents: 0, encryptAudit: 3 });
        const audit = await t.admin.query("SELECT field_name, success, error_code, request_id FROM encryption_audit WHERE user_id = $1 ORDER BY field_name", [sub]);
        assert.deepEqual(
            audit.rows.map((r) => [r.field_name, r.success, r.error_code, r.request_id]),
            ["bank_account_encrypted", "credit_card_encrypted", "ssn_encrypted"].map((f) => [f, false, "encrypt_failed", "req-kms-down"]),
        );
        // Cognito's retry, once KMS is back, creates the user.
        await handler(event);
        assert.equal((await counts(sub)).users, 1);
    });

    it("lists the same consent purposes as the database", async () => {
        const { rows } = await t.admin.query("SELECT purpose, required FROM consent_purposes ORDER BY purpose");
        assert.deepEqual(
            rows.map((r) => [r.purpose, r.required]),
            Object.entries(CONSENT_PURPOSES)
                .map(([p, v]) => [p, v.required])
                .sort(),
        );
    });

    it("the exported handler takes its pool and keys from the environment (DATABASE_URL, PII_LOCAL_KEY)", async () => {
        const saved = { DATABASE_URL: process.env.DATABASE_URL, PII_LOCAL_KEY: process.env.PII_LOCAL_KEY };
        const env = { DATABASE_URL: t.signupUrl, PII_LOCAL_KEY: LOCAL_KEY.toString("base64") };
        Object.assign(process.env, env);
        const event = postConfirmationEvent();
        try {
            await exportedHandler(event, { awsRequestId: "req-env" });
            await exportedHandler(structuredClone(event), { awsRequestId: "req-env-retry" });
            // Warm invocations reuse one pool.
            assert.equal(getPool(process.env), getPool({ ...process.env }));
        } finally {
            await getPool(process.env).end();
            for (const [k, v] of Object.entries(saved)) {
                if (v === undefined) delete process.env[k];
                else process.env[k] = v;
            }
        }
        assert.deepEqual(await counts(event.request.userAttributes.sub), { users: 1, metadata: 6, consents: 3, encryptAudit: 6 });
        const values = await decryptUserFields(t.writer, cipher, { token: tokenFor(event.request.userAttributes.sub), columns: ["credit_card_encrypted"], performedBy: "test", purpose: "test" });
        assert.equal(values.credit_card_encrypted, FULL_METADATA.credit_card);
    });
});
