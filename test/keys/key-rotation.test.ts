// Re-encryption after a key rotation, on real PostgreSQL with the Encryption SDK's raw AES keyrings
// (lib/crypto.ts local key set: one HKDF-derived key per layer and version). No AWS.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { localKeySet, PiiCipher, PiiColumn, PII_COLUMNS, recordEncryptionMetadata } from "../../lib/crypto";
import { currentOnly, progressPrinter, reencryptAll, ReencryptVerificationError } from "../../lib/key-rotation";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { connect } from "../db/helpers";
import { main as keysMain, parseKeysArgs } from "../../db/keys-cli";
import { runInProcess } from "../policies/runners/helpers";

const MASTER = randomBytes(32);
const v1 = new PiiCipher(localKeySet(MASTER, 1));
const v2 = new PiiCipher(localKeySet(MASTER, 2));
const FIELDS: PiiColumn[] = ["address_encrypted", "ssn_encrypted"];

async function seed(admin: pg.ClientBase, cipher: PiiCipher, users: number): Promise<Map<string, Record<string, string>>> {
    const plaintexts = new Map<string, Record<string, string>>();
    for (let i = 0; i < users; i++) {
        const id = randomUUID();
        const values: Record<string, string> = { address_encrypted: `東京都千代田区 ${i}`, ssn_encrypted: `ssn-${i}` };
        const encrypted = await Promise.all(FIELDS.map(async (column) => ({ column, field: await cipher.encrypt({ table: "users", column, userId: id }, values[column], PII_COLUMNS[column]) })));
        await admin.query("INSERT INTO users (id, email, address_encrypted, ssn_encrypted) VALUES ($1, $2, $3, $4)", [
            id, `rot-${i}-${id.slice(0, 6)}@example.jp`, encrypted[0].field.ciphertext, encrypted[1].field.ciphertext,
        ]);
        await recordEncryptionMetadata(admin, id, encrypted);
        plaintexts.set(id, values);
    }
    return plaintexts;
}

async function decryptAll(admin: pg.ClientBase, cipher: PiiCipher): Promise<Map<string, Record<string, string>>> {
    const { rows } = await admin.query("SELECT id, address_encrypted, ssn_encrypted FROM users WHERE address_encrypted IS NOT NULL");
    const out = new Map<string, Record<string, string>>();
    for (const r of rows) {
        const values: Record<string, string> = {};
        for (const column of FIELDS) values[column] = (await cipher.decrypt({ table: "users", column, userId: r.id }, r[column], PII_COLUMNS[column])).plaintext;
        out.set(r.id, values);
    }
    return out;
}

describe("key rotation re-encrypts every field", function () {
    let db: TestDatabase;
    let admin: pg.Client;

    beforeEach(async function () {
        db = await migratedDatabase("rotation");
        admin = await connect(db.url);
    });
    afterEach(async function () {
        await admin?.end();
        await db?.drop();
    });

    it("moves every level-2 and level-3 field to the current keys, in batches, audited, logged and verified", async function () {
        const original = await seed(admin, v1, 12);
        const seen: number[] = [];
        const result = await reencryptAll(admin, v2, { initiatedBy: "test", batchSize: 5, onProgress: (p) => seen.push(p.done) });
        assert.deepEqual([result.status, result.reEncrypted, result.skipped, result.resumed], ["completed", 24, 0, false]);
        assert.equal(result.verified, 24);
        assert.deepEqual(seen, [0, 5, 10, 15, 20, 24], "progress after every batch");

        // The current keys alone decrypt everything; the old key alone decrypts nothing any more.
        assert.deepEqual(await decryptAll(admin, new PiiCipher(currentOnly(v2.keys))), original);
        await assert.rejects(decryptAll(admin, v1), /cannot decrypt/);

        const meta = await admin.query("SELECT DISTINCT encryption_level, kms_key_id, key_version, outer_kms_key_id, outer_key_version FROM encryption_metadata ORDER BY 1");
        assert.deepEqual(meta.rows, [
            { encryption_level: 2, kms_key_id: "pii-l2-v2", key_version: 2, outer_kms_key_id: null, outer_key_version: null },
            { encryption_level: 3, kms_key_id: "pii-l3-v2", key_version: 2, outer_kms_key_id: "pii-l2-v2", outer_key_version: 2 },
        ]);
        const audit = await admin.query("SELECT count(*)::int AS n FROM encryption_audit WHERE operation = 're_encrypt' AND request_id = $1", [result.rotationId]);
        assert.equal(audit.rows[0].n, 24);
        const log = await admin.query("SELECT status, records_affected::int AS n, key_type FROM key_rotation_log WHERE rotation_id = $1 ORDER BY id", [result.rotationId]);
        assert.deepEqual(log.rows, [
            { status: "started", n: 0, key_type: "local" },
            { status: "completed", n: 24, key_type: "local" },
        ]);
        // Nothing left: a second run finds no field and completes at once.
        const again = await reencryptAll(admin, v2, { initiatedBy: "test" });
        assert.equal(again.reEncrypted, 0);
    });

    it("resumes after a crash from its last committed batch and re-encrypts no field twice", async function () {
        const original = await seed(admin, v1, 10);
        const first = await reencryptAll(admin, v2, { initiatedBy: "test", batchSize: 3, stopAfterBatches: 2 });
        assert.deepEqual([first.status, first.reEncrypted], ["interrupted", 6]);
        const checkpoint = (await admin.query("SELECT fields_done::int, finished_at FROM key_rotation_progress WHERE rotation_id = $1", [first.rotationId])).rows[0];
        assert.deepEqual(checkpoint, { fields_done: 6, finished_at: null });

        const resumed = await reencryptAll(admin, v2, { initiatedBy: "test", batchSize: 3 });
        assert.equal(resumed.rotationId, first.rotationId);
        assert.deepEqual([resumed.status, resumed.resumed, resumed.reEncrypted], ["completed", true, 20]);
        const audit = await admin.query("SELECT count(*)::int AS n, count(DISTINCT (user_id, field_name))::int AS distinct_fields FROM encryption_audit WHERE operation = 're_encrypt'");
        assert.deepEqual(audit.rows[0], { n: 20, distinct_fields: 20 }, "every field re-encrypted exactly once");
        assert.deepEqual(await decryptAll(admin, new PiiCipher(currentOnly(v2.keys))), original);
    });

    it("refuses to start a run for other keys while one is unfinished", async function () {
        await seed(admin, v1, 4);
        await reencryptAll(admin, v2, { initiatedBy: "test", batchSize: 2, stopAfterBatches: 1 });
        const v3 = new PiiCipher(localKeySet(MASTER, 3));
        await assert.rejects(reencryptAll(admin, v3, { initiatedBy: "test" }), /unfinished re-encryption .* targets other keys/);
    });

    it("fails, logged and resumable, on a field no known key decrypts; its plaintext never reaches the log", async function () {
        await seed(admin, v1, 3);
        const stranger = new PiiCipher(localKeySet(randomBytes(32), 1));
        const [victim] = (await admin.query("SELECT id FROM users LIMIT 1")).rows;
        const foreign = await stranger.encrypt({ table: "users", column: "address_encrypted", userId: victim.id }, "secret address", 2);
        await admin.query("UPDATE users SET address_encrypted = $2 WHERE id = $1", [victim.id, foreign.ciphertext]);

        await assert.rejects(reencryptAll(admin, v2, { initiatedBy: "test", batchSize: 100 }), /cannot decrypt users.address_encrypted/);
        const log = await admin.query("SELECT status, error_message FROM key_rotation_log ORDER BY id");
        assert.deepEqual(log.rows.map((r) => r.status), ["started", "failed"]);
        assert.ok(!log.rows[1].error_message.includes("secret address"));
        const progress = await admin.query("SELECT finished_at FROM key_rotation_progress");
        assert.equal(progress.rows[0].finished_at, null, "left resumable");
    });

    it("catches, in verification, a field whose metadata claims the new key but whose ciphertext is still old", async function () {
        await seed(admin, v1, 3);
        const [liar] = (await admin.query("SELECT id FROM users LIMIT 1")).rows;
        // Metadata says current, ciphertext says v1: the batches skip it; only decryption with the new keys alone tells.
        await admin.query(
            "UPDATE encryption_metadata SET kms_key_id = CASE WHEN encryption_level = 3 THEN 'pii-l3-v2' ELSE 'pii-l2-v2' END, outer_kms_key_id = CASE WHEN encryption_level = 3 THEN 'pii-l2-v2' END WHERE user_id = $1",
            [liar.id],
        );
        await assert.rejects(reencryptAll(admin, v2, { initiatedBy: "test", verifySample: 1000 }), ReencryptVerificationError);
        const log = await admin.query("SELECT status FROM key_rotation_log ORDER BY id");
        assert.deepEqual(log.rows.map((r) => r.status), ["started", "failed"]);
    });

    it("prints an updating line on a terminal and a line per 10% elsewhere", function () {
        const written: string[] = [];
        const tty = progressPrinter({ isTTY: true, write: (s: string) => written.push(s) });
        tty({ rotationId: "12345678-aaaa", done: 50, skipped: 0, total: 100, resumed: false, elapsedMs: 1000 });
        assert.match(written[0], /^\r\x1b\[2Kre-encrypt 12345678: 50 of 100 fields \(50\.0%\), 0 skipped, 50\/s, ~1s left$/);
        const lines: string[] = [];
        const pipe = progressPrinter({ isTTY: false, write: (s: string) => lines.push(s) });
        for (let done = 0; done <= 100; done += 5) pipe({ rotationId: "12345678-aaaa", done, skipped: 0, total: 100, resumed: true, elapsedMs: 1000 });
        assert.equal(lines.length, 11, "0%, 10%, ... 100%");
        assert.ok(lines.every((l) => l.endsWith("\n") && l.includes("(resumed)")));
    });
});

describe("keys:reencrypt command line", function () {
    it("takes its two options, names anything else, and offers help", function () {
        assert.deepEqual(parseKeysArgs([]), { batchSize: 500, verifySample: 100 });
        assert.deepEqual(parseKeysArgs(["--batch-size", "50", "--verify-sample", "7"]), { batchSize: 50, verifySample: 7 });
        assert.throws(() => parseKeysArgs(["--batch-size", "0"]), /positive integer/);
        assert.throws(() => parseKeysArgs(["--batch", "5"]), /unknown option --batch/);
        assert.throws(() => parseKeysArgs(["--batch-size", "20000"]), /--batch-size needs a positive integer up to 10000, got 20000/);
        assert.throws(() => parseKeysArgs(["--verify-sample"]), /option --verify-sample needs a value/);
        const help = parseKeysArgs(["--help"]);
        assert.ok("help" in help && help.usage.startsWith("usage: npm run keys:reencrypt -- [--batch-size N] [--verify-sample N]"));
    });
});

describe("keys:reencrypt without key settings", function () {
    it("exits 2 naming the settings, before connecting anywhere", async function () {
        const r = await runInProcess("keys:reencrypt", () => keysMain([], { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" }));
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /^keys:reencrypt: key settings: .*PII_LOCAL_KEY/);
        assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    });
});
