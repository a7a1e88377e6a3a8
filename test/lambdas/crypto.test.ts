// lib/crypto.ts without a database: envelope format, layers, encryption context, rotation, configuration errors.
import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from "@aws-crypto/client-node";
import { currentKey, FieldRef, keySetFromEnv, kmsKeySet, localKeySet, PiiCipher, PiiDecryptError, PII_ALGORITHM_SUITE, rotatedKeySet } from "../../lib/crypto";

const master = randomBytes(32);
const field: FieldRef = { table: "users", column: "ssn_encrypted", userId: "7d0f0b8e-6c55-4c4b-9a57-0a3c1f5f2e11" };
const SECRET = "123-45-6789 Tōkyō secret";

describe("lib/crypto", () => {
    const cipher = new PiiCipher(localKeySet(master));

    it("round-trips level 2 and level 3 values, reporting the key versions used", async () => {
        const l2 = await cipher.encrypt({ ...field, column: "address_encrypted" }, SECRET, 2);
        assert.deepEqual(l2.keys.map((k) => `${k.layer}:v${k.version}`), ["l2:v1"]);
        const back2 = await cipher.decrypt({ ...field, column: "address_encrypted" }, l2.ciphertext, 2);
        assert.equal(back2.plaintext, SECRET);
        assert.deepEqual(back2.keys.map((k) => k.keyId), ["pii-l2-v1"]);

        const l3 = await cipher.encrypt(field, SECRET, 3);
        assert.deepEqual(l3.keys.map((k) => `${k.layer}:v${k.version}`), ["l2:v1", "l3:v1"]);
        const back3 = await cipher.decrypt(field, l3.ciphertext, 3);
        assert.equal(back3.plaintext, SECRET);
        assert.deepEqual(back3.keys.map((k) => k.keyId), ["pii-l2-v1", "pii-l3-v1"]);
    });

    it("produces ciphertext that contains no plaintext and differs on every encryption", async () => {
        const a = await cipher.encrypt(field, SECRET, 3);
        const b = await cipher.encrypt(field, SECRET, 3);
        for (const ct of [a.ciphertext, b.ciphertext]) {
            assert.equal(ct.includes(Buffer.from(SECRET, "utf8")), false);
            assert.equal(ct.includes(Buffer.from("123-45-6789")), false);
            assert.equal(ct.toString("latin1").includes("6789"), false);
        }
        assert.notDeepEqual(a.ciphertext, b.ciphertext);
    });

    it("nests level 3: the outer layer opens with the l2 key alone and yields another ESDK message, not plaintext", async () => {
        const { ciphertext } = await cipher.encrypt(field, SECRET, 3);
        const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
        const keys = localKeySet(master);
        const outer = await esdk.decrypt(keys.decryptKeyring("l2"), ciphertext);
        assert.equal(outer.messageHeader.suiteId, PII_ALGORITHM_SUITE);
        assert.equal(outer.messageHeader.encryptionContext.layer, "outer");
        assert.equal(outer.plaintext.includes(Buffer.from(SECRET)), false);
        // The inner message is not readable with the l2 key: the two layers use different keys.
        await assert.rejects(esdk.decrypt(keys.decryptKeyring("l2"), outer.plaintext));
        const inner = await esdk.decrypt(keys.decryptKeyring("l3"), outer.plaintext);
        assert.equal(inner.plaintext.toString("utf8"), SECRET);
        assert.equal(inner.messageHeader.encryptionContext.layer, "inner");
    });

    it("refuses a ciphertext under another user's, column's or level's encryption context", async () => {
        const { ciphertext } = await cipher.encrypt(field, SECRET, 3);
        await assert.rejects(cipher.decrypt({ ...field, userId: "00000000-0000-4000-8000-000000000000" }, ciphertext, 3), (err: Error) => {
            assert.ok(err instanceof PiiDecryptError);
            assert.match(err.message, /encryption context mismatch on user_id/);
            assert.equal(err.message.includes(SECRET), false);
            return true;
        });
        await assert.rejects(cipher.decrypt({ ...field, column: "bank_account_encrypted" }, ciphertext, 3), /mismatch on column/);
        await assert.rejects(cipher.decrypt({ ...field, table: "other" }, ciphertext, 3), /mismatch on table/);
        await assert.rejects(cipher.decrypt(field, ciphertext, 2), /mismatch on pii_level, layer/);
    });

    it("fails closed under a different master key or on a flipped byte", async () => {
        const { ciphertext } = await cipher.encrypt(field, SECRET, 2);
        const stranger = new PiiCipher(localKeySet(randomBytes(32)));
        await assert.rejects(stranger.decrypt(field, ciphertext, 2), PiiDecryptError);
        const tampered = Buffer.from(ciphertext);
        tampered[tampered.length - 40] ^= 0x01;
        await assert.rejects(cipher.decrypt(field, tampered, 2), PiiDecryptError);
    });

    it("refuses a message written with another (non-committing) algorithm suite", async () => {
        const keys = localKeySet(master);
        const legacy = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);
        const { result } = await legacy.encrypt(keys.encryptKeyring("l2"), "x", {
            encryptionContext: { table: field.table, column: field.column, user_id: field.userId, pii_level: "2", layer: "single" },
        });
        await assert.rejects(cipher.decrypt(field, result, 2), PiiDecryptError);
    });

    it("rotation: new writes use the newest version, old ciphertext stays readable", async () => {
        const v1 = localKeySet(master);
        const old = await new PiiCipher(v1).encrypt(field, SECRET, 3);
        const v2 = rotatedKeySet(v1, "l2", { masterKey: master });
        const rotated = new PiiCipher(v2);
        const fresh = await rotated.encrypt(field, SECRET, 3);
        assert.deepEqual(fresh.keys.map((k) => k.keyId), ["pii-l2-v2", "pii-l3-v2"]);
        assert.equal((await rotated.decrypt(field, fresh.ciphertext, 3)).plaintext, SECRET);
        const readOld = await rotated.decrypt(field, old.ciphertext, 3);
        assert.equal(readOld.plaintext, SECRET);
        assert.deepEqual(readOld.keys.map((k) => k.keyId), ["pii-l2-v1", "pii-l3-v1"]);
        // The old key set cannot read what the new version wrote.
        await assert.rejects(new PiiCipher(v1).decrypt(field, fresh.ciphertext, 3), PiiDecryptError);
    });

    it("derives distinct keys per layer and version from PII_LOCAL_KEY", async () => {
        const keys = localKeySet(master, 2);
        const wrapped = await new PiiCipher(keys).encrypt({ ...field, column: "address_encrypted" }, "x", 2);
        // A raw keyring holding the master key itself (not a derived key) cannot unwrap.
        const raw = new RawAesKeyringNode({
            keyNamespace: "appi-pii-local",
            keyName: "pii-l2-v2",
            unencryptedMasterKey: master,
            wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
        });
        await assert.rejects(buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT).decrypt(raw, wrapped.ciphertext));
    });

    it("reads its configuration from the environment and names what is wrong", () => {
        const b64 = master.toString("base64");
        assert.equal(keySetFromEnv({ PII_LOCAL_KEY: b64 }).provider, "local");
        assert.equal(keySetFromEnv({ PII_LOCAL_KEY: b64, PII_LOCAL_KEY_VERSION: "3" }).versions.l3.length, 3);
        assert.throws(() => keySetFromEnv({}), /set PII_KMS_KEY_ARN and PII_L3_KMS_KEY_ARN .* or PII_LOCAL_KEY/);
        assert.throws(() => keySetFromEnv({ PII_LOCAL_KEY: randomBytes(16).toString("base64") }), /32 bytes, got 16/);
        assert.throws(() => keySetFromEnv({ PII_LOCAL_KEY: "not base64!" }), /must be base64/);
        assert.throws(() => keySetFromEnv({ PII_LOCAL_KEY: b64, PII_LOCAL_KEY_VERSION: "0" }), /PII_LOCAL_KEY_VERSION/);
        assert.throws(() => keySetFromEnv({ PII_LOCAL_KEY: b64, PII_KMS_KEY_ARN: "arn" }), /not both/);
        assert.throws(() => keySetFromEnv({ PII_LOCAL_KEY: b64, AWS_LAMBDA_FUNCTION_NAME: "post-confirmation" }), /a Lambda must use PII_KMS_KEY_ARN/);
        const arn = (id: string) => `arn:aws:kms:ap-northeast-1:123456789012:key/${id}`;
        const kms = keySetFromEnv({ PII_KMS_KEY_ARN: arn("b"), PII_L3_KMS_KEY_ARN: arn("c"), PII_KMS_PREVIOUS_KEY_ARNS: arn("a") });
        assert.equal(kms.provider, "aws-kms");
        assert.deepEqual(kms.versions.l2.map((v) => [v.version, v.keyId]), [[1, arn("a")], [2, arn("b")]]);
        assert.throws(() => keySetFromEnv({ PII_KMS_KEY_ARN: arn("b") }), /set PII_L3_KMS_KEY_ARN/);
        assert.throws(() => kmsKeySet({ l2: [arn("a")], l3: [arn("a")] }), /two different keys/);
        assert.throws(() => kmsKeySet({ l2: ["alias/x"], l3: [arn("a")] }), /not a KMS key ARN/);
        assert.throws(() => kmsKeySet({ l2: ["arn:aws:kms:ap-northeast-1:123456789012:alias/pii"], l3: [arn("a")] }), /aliases cannot decrypt/);
        assert.deepEqual(rotatedKeySet(kms, "l3", { newKmsKeyArn: arn("d") }).versions.l3.map((v) => v.keyId), [arn("c"), arn("d")]);
    });
});

/**
 * A stand-in for AWS KMS (no cloud in tests): one AES key per key ARN; the data key is sealed with
 * AES-GCM bound to the encryption context, as KMS binds it. Records every call for the assertions.
 */
class FakeKms {
    readonly calls: { op: string; keyId: string; context: Record<string, string> }[] = [];
    private readonly keys = new Map<string, Buffer>();

    constructor(arns: string[]) {
        for (const arn of arns) this.keys.set(arn, randomBytes(32));
    }

    private seal(keyId: string, plaintext: Uint8Array, context: Record<string, string> = {}) {
        const key = this.keys.get(keyId);
        if (!key) throw Object.assign(new Error(`NotFoundException: ${keyId}`), { name: "NotFoundException" });
        const iv = randomBytes(12);
        const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(Buffer.from(JSON.stringify(Object.entries(context).sort())));
        const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
        const id = Buffer.from(keyId);
        return Buffer.concat([Buffer.from([id.length]), id, iv, cipher.getAuthTag(), body]);
    }

    async generateDataKey(args: { KeyId: string; EncryptionContext?: Record<string, string>; NumberOfBytes?: number }) {
        this.calls.push({ op: "generateDataKey", keyId: args.KeyId, context: args.EncryptionContext ?? {} });
        const plaintext = randomBytes(args.NumberOfBytes ?? 32);
        return { KeyId: args.KeyId, Plaintext: plaintext, CiphertextBlob: this.seal(args.KeyId, plaintext, args.EncryptionContext) };
    }

    async encrypt(args: { KeyId: string; Plaintext: Uint8Array; EncryptionContext?: Record<string, string> }) {
        this.calls.push({ op: "encrypt", keyId: args.KeyId, context: args.EncryptionContext ?? {} });
        return { KeyId: args.KeyId, CiphertextBlob: this.seal(args.KeyId, args.Plaintext, args.EncryptionContext) };
    }

    async decrypt(args: { KeyId?: string; CiphertextBlob: Uint8Array; EncryptionContext?: Record<string, string> }) {
        const blob = Buffer.from(args.CiphertextBlob);
        const keyId = blob.subarray(1, 1 + blob[0]).toString();
        this.calls.push({ op: "decrypt", keyId, context: args.EncryptionContext ?? {} });
        if (args.KeyId && args.KeyId !== keyId) throw Object.assign(new Error("IncorrectKeyException"), { name: "IncorrectKeyException" });
        const rest = blob.subarray(1 + blob[0]);
        const decipher = createDecipheriv("aes-256-gcm", this.keys.get(keyId)!, rest.subarray(0, 12)).setAAD(Buffer.from(JSON.stringify(Object.entries(args.EncryptionContext ?? {}).sort())));
        decipher.setAuthTag(rest.subarray(12, 28));
        return { KeyId: keyId, Plaintext: Buffer.concat([decipher.update(rest.subarray(28)), decipher.final()]) };
    }
}

describe("lib/crypto with KMS keyrings (a stand-in KMS client)", () => {
    const arn = (id: string) => `arn:aws:kms:ap-northeast-1:123456789012:key/${id}`;
    const L2 = arn("11111111-1111-4111-8111-111111111111");
    const L3 = arn("33333333-3333-4333-8333-333333333333");
    const L2_NEW = arn("22222222-2222-4222-8222-222222222222");

    it("level 3 asks KMS for two data keys under two different CMKs, each bound to the field's context", async () => {
        const kms = new FakeKms([L2, L3]);
        const regions: string[] = [];
        const keys = kmsKeySet({ l2: [L2], l3: [L3] }, { clientProvider: (region) => (regions.push(region), kms as never) });
        const cipher = new PiiCipher(keys);
        const encrypted = await cipher.encrypt(field, SECRET, 3);
        assert.deepEqual(encrypted.keys.map((k) => [k.keyId, k.version]), [[L2, 1], [L3, 1]]);
        assert.deepEqual(
            kms.calls.map((c) => [c.op, c.keyId, c.context.layer, c.context.user_id, c.context.column]),
            [
                ["generateDataKey", L3, "inner", field.userId, field.column],
                ["generateDataKey", L2, "outer", field.userId, field.column],
            ],
        );
        assert.ok(regions.every((r) => r === "ap-northeast-1"));
        assert.equal(encrypted.ciphertext.includes(Buffer.from(SECRET)), false);
        kms.calls.length = 0;
        const decrypted = await cipher.decrypt(field, encrypted.ciphertext, 3);
        assert.equal(decrypted.plaintext, SECRET);
        assert.deepEqual(kms.calls.map((c) => [c.op, c.keyId]), [["decrypt", L2], ["decrypt", L3]]);
        await assert.rejects(cipher.decrypt({ ...field, userId: "someone-else" }, encrypted.ciphertext, 3), /mismatch on user_id/);
    });

    it("rotating to a new CMK: new writes use it, old ciphertext still decrypts under the old one", async () => {
        const kms = new FakeKms([L2, L3, L2_NEW]);
        const clientProvider = () => kms as never;
        const v1 = kmsKeySet({ l2: [L2], l3: [L3] }, { clientProvider });
        const old = await new PiiCipher(v1).encrypt(field, SECRET, 2);
        const v2 = rotatedKeySet(v1, "l2", { newKmsKeyArn: L2_NEW, clientProvider });
        assert.deepEqual(currentKey(v2, "l2"), { layer: "l2", version: 2, keyId: L2_NEW, provider: "aws-kms" });
        const rotated = new PiiCipher(v2);
        const fresh = await rotated.encrypt(field, SECRET, 2);
        assert.deepEqual(fresh.keys.map((k) => k.keyId), [L2_NEW]);
        const readOld = await rotated.decrypt(field, old.ciphertext, 2);
        assert.equal(readOld.plaintext, SECRET);
        assert.deepEqual(readOld.keys.map((k) => [k.keyId, k.version]), [[L2, 1]]);
        await assert.rejects(new PiiCipher(v1).decrypt(field, fresh.ciphertext, 2), PiiDecryptError);
        assert.throws(() => rotatedKeySet(v2, "l2", { newKmsKeyArn: L2 }), /already a version/);
    });
});
