// Application-level PII encryption with the AWS Encryption SDK: the one crypto module shared by the
// Cognito Lambdas, the migration runner and the retention job.
//
// - Level 2: one ESDK message under the "l2" key.
// - Level 3: two nested ESDK messages under two different keys: the plaintext is encrypted under the
//   "l3" key (inner layer), and that whole message again under the "l2" key (outer layer). A
//   multi-keyring would only wrap ONE data key twice; nesting needs both keys to read.
// - Every message uses the non-signing committing suite under REQUIRE_ENCRYPT_REQUIRE_DECRYPT and is
//   bound to an encryption context {table, column, user_id, ...}; decrypt checks the context, so a
//   ciphertext copied to another user or column does not decrypt.
// - Keys: KMS keys in AWS (PII_KMS_KEY_ARN / PII_L3_KMS_KEY_ARN, previous versions readable from
//   PII_KMS_PREVIOUS_KEY_ARNS / PII_L3_KMS_PREVIOUS_KEY_ARNS); locally one PII_LOCAL_KEY (base64, 32
//   bytes) from which each layer's and version's AES key is derived with HKDF.
// - Rotation: new writes use the newest version of a layer, every older version stays readable.
import { hkdfSync } from "node:crypto";
import {
    AlgorithmSuiteIdentifier,
    buildClient,
    CommitmentPolicy,
    KeyringNode,
    KmsKeyringNode,
    KmsNodeClientSupplier,
    MultiKeyringNode,
    RawAesKeyringNode,
    RawAesWrappingSuiteIdentifier,
} from "@aws-crypto/client-node";
import type { Pool, PoolClient } from "pg";
import { withUserTransaction } from "./db";

/** The non-signing committing suite: key commitment without the cost of an ECDSA signature per field. */
export const PII_ALGORITHM_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
export const PII_COMMITMENT_POLICY = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT;

// One encrypted data key per message: we only ever encrypt under one wrapping key per layer, so a
// message carrying more was not written by us (and would cost one KMS call per key to try).
const esdk = buildClient({ commitmentPolicy: PII_COMMITMENT_POLICY, maxEncryptedDataKeys: 1 });

export type KeyLayer = "l2" | "l3";
export type PiiLevel = 2 | 3;
export type KeyProvider = "local" | "aws-kms";

/** One version of one layer's wrapping key. `keyId` is the KMS key ARN or the local key's name. */
export interface KeyVersion {
    layer: KeyLayer;
    version: number;
    keyId: string;
    provider: KeyProvider;
}

/** Where an encrypted value lives; the encryption context is derived from it. */
export interface FieldRef {
    table: string;
    column: string;
    userId: string;
}

export interface EncryptedField {
    ciphertext: Buffer;
    level: PiiLevel;
    /** The wrapping keys used, outermost layer first (level 2: [l2]; level 3: [l2, l3]). */
    keys: KeyVersion[];
}

export interface DecryptedField {
    plaintext: string;
    /** The wrapping keys that decrypted it, outermost layer first. */
    keys: KeyVersion[];
}

/** Raised when a value cannot be decrypted; the message names the field, never its content. */
export class PiiDecryptError extends Error {
    constructor(field: FieldRef, reason: string) {
        super(`cannot decrypt ${field.table}.${field.column} of user ${field.userId}: ${reason}`);
        this.name = "PiiDecryptError";
    }
}

export interface PiiKeySet {
    provider: KeyProvider;
    /** Every known version per layer, oldest first; the last one is the one new writes use. */
    versions: Record<KeyLayer, KeyVersion[]>;
    /** The keyring that encrypts under the newest version of a layer. */
    encryptKeyring(layer: KeyLayer): KeyringNode;
    /** A keyring that decrypts under any known version of a layer. */
    decryptKeyring(layer: KeyLayer): KeyringNode;
}

export function currentKey(keys: PiiKeySet, layer: KeyLayer): KeyVersion {
    const versions = keys.versions[layer];
    return versions[versions.length - 1];
}

// ---------------------------------------------------------------------------------------------
// Key sets

const LOCAL_KEY_NAMESPACE = "appi-pii-local";
const LOCAL_HKDF_SALT = Buffer.from("appi-infra/pii-local-keyring/v1");

function localKeyName(layer: KeyLayer, version: number): string {
    return `pii-${layer}-v${version}`;
}

/** Parses PII_LOCAL_KEY: base64 of exactly 32 random bytes. */
export function parseLocalMasterKey(value: string): Buffer {
    const trimmed = value.trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
        throw new Error("PII_LOCAL_KEY must be base64 (e.g. the output of `openssl rand -base64 32`)");
    }
    const key = Buffer.from(trimmed, "base64");
    if (key.length !== 32) {
        throw new Error(`PII_LOCAL_KEY must decode to 32 bytes, got ${key.length} (use \`openssl rand -base64 32\`)`);
    }
    return key;
}

/**
 * Local/test key set: each layer and version gets its own AES-256 key, derived from the one master key
 * with HKDF-SHA256 and a distinct info string, so the two layers of level 3 never share a key.
 */
export function localKeySet(masterKey: Buffer, currentVersion = 1): PiiKeySet {
    if (masterKey.length !== 32) throw new Error(`local master key must be 32 bytes, got ${masterKey.length}`);
    if (!Number.isInteger(currentVersion) || currentVersion < 1) {
        throw new Error(`local key version must be an integer >= 1, got ${currentVersion}`);
    }
    const layers: KeyLayer[] = ["l2", "l3"];
    const versions = {} as Record<KeyLayer, KeyVersion[]>;
    const keyrings = {} as Record<KeyLayer, RawAesKeyringNode[]>;
    for (const layer of layers) {
        versions[layer] = [];
        keyrings[layer] = [];
        for (let version = 1; version <= currentVersion; version++) {
            const keyName = localKeyName(layer, version);
            const derived = Buffer.from(hkdfSync("sha256", masterKey, LOCAL_HKDF_SALT, `appi-pii/${layer}/v${version}`, 32));
            versions[layer].push({ layer, version, keyId: keyName, provider: "local" });
            keyrings[layer].push(
                new RawAesKeyringNode({
                    keyNamespace: LOCAL_KEY_NAMESPACE,
                    keyName,
                    unencryptedMasterKey: derived,
                    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
                }),
            );
        }
    }
    // Raw AES keyrings only try the data key whose provider info names them, so a multi-keyring
    // over all versions costs one AES unwrap per decrypt.
    const decryptKeyrings = {
        l2: new MultiKeyringNode({ children: keyrings.l2 }),
        l3: new MultiKeyringNode({ children: keyrings.l3 }),
    };
    return {
        provider: "local",
        versions,
        encryptKeyring: (layer) => keyrings[layer][keyrings[layer].length - 1],
        decryptKeyring: (layer) => decryptKeyrings[layer],
    };
}

// Key ARNs only: in strict mode the SDK matches a message's data key by the key ARN KMS recorded, so a
// keyring configured with an alias could encrypt but never decrypt.
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/**
 * AWS key set: per layer, the KMS key ARNs oldest first (the last is current). With KMS automatic
 * rotation the ARN stays and KMS keeps old backing keys; moving to a new CMK adds a version here.
 */
export function kmsKeySet(arns: Record<KeyLayer, string[]>, options: { clientProvider?: KmsNodeClientSupplier } = {}): PiiKeySet {
    const versions = {} as Record<KeyLayer, KeyVersion[]>;
    const encrypt = {} as Record<KeyLayer, KeyringNode>;
    const decrypt = {} as Record<KeyLayer, KeyringNode>;
    for (const layer of ["l2", "l3"] as KeyLayer[]) {
        const list = arns[layer];
        if (!list.length) throw new Error(`no KMS key ARN for layer ${layer}`);
        for (const arn of list) {
            if (!KMS_KEY_ARN.test(arn)) {
                throw new Error(`not a KMS key ARN for layer ${layer}: ${arn} (expected arn:aws:kms:<region>:<account>:key/<id>; aliases cannot decrypt)`);
            }
        }
        versions[layer] = list.map((keyId, i) => ({ layer, version: i + 1, keyId, provider: "aws-kms" as const }));
        // The default client provider builds one KMS client per region (taken from the ARN) and caches it.
        const clientProvider = options.clientProvider;
        encrypt[layer] = new KmsKeyringNode({ generatorKeyId: list[list.length - 1], ...(clientProvider && { clientProvider }) });
        // Strict mode (named keys only, no discovery): a data key wrapped by any other CMK is refused.
        decrypt[layer] = new KmsKeyringNode({ keyIds: list, ...(clientProvider && { clientProvider }) });
    }
    if (arns.l2.some((arn) => arns.l3.includes(arn))) {
        throw new Error("level 3 needs two different keys: PII_L3_KMS_KEY_ARN must differ from PII_KMS_KEY_ARN");
    }
    return { provider: "aws-kms", versions, encryptKeyring: (l) => encrypt[l], decryptKeyring: (l) => decrypt[l] };
}

function splitList(value: string | undefined): string[] {
    return (value ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}

/**
 * Builds the key set from the environment: PII_LOCAL_KEY (+ optional PII_LOCAL_KEY_VERSION) for local
 * runs and tests, otherwise PII_KMS_KEY_ARN and PII_L3_KMS_KEY_ARN (+ optional *_PREVIOUS_KEY_ARNS).
 */
export function keySetFromEnv(env: NodeJS.ProcessEnv = process.env): PiiKeySet {
    const local = env.PII_LOCAL_KEY;
    const kmsSet = Boolean(env.PII_KMS_KEY_ARN || env.PII_L3_KMS_KEY_ARN);
    if (local && kmsSet) {
        throw new Error("set either PII_LOCAL_KEY (local runs) or PII_KMS_KEY_ARN/PII_L3_KMS_KEY_ARN (AWS), not both");
    }
    if (local && env.AWS_LAMBDA_FUNCTION_NAME) {
        // A raw key in a Lambda's environment would sit in its configuration in clear: KMS only there.
        throw new Error("PII_LOCAL_KEY is for local runs and tests; a Lambda must use PII_KMS_KEY_ARN and PII_L3_KMS_KEY_ARN");
    }
    if (local) {
        const versionText = env.PII_LOCAL_KEY_VERSION ?? "1";
        const version = Number(versionText);
        if (!/^\d+$/.test(versionText) || version < 1) {
            throw new Error(`PII_LOCAL_KEY_VERSION must be an integer >= 1, got "${versionText}"`);
        }
        return localKeySet(parseLocalMasterKey(local), version);
    }
    if (!env.PII_KMS_KEY_ARN || !env.PII_L3_KMS_KEY_ARN) {
        const missing = ["PII_KMS_KEY_ARN", "PII_L3_KMS_KEY_ARN"].filter((name) => !env[name]);
        throw new Error(
            `PII encryption keys are not configured: set ${missing.join(" and ")} (KMS key ARNs) in AWS, or PII_LOCAL_KEY (base64, 32 bytes) locally`,
        );
    }
    return kmsKeySet({
        l2: [...splitList(env.PII_KMS_PREVIOUS_KEY_ARNS), env.PII_KMS_KEY_ARN],
        l3: [...splitList(env.PII_L3_KMS_PREVIOUS_KEY_ARNS), env.PII_L3_KMS_KEY_ARN],
    });
}

/**
 * The key set after rotating one layer: locally the next HKDF-derived version, in AWS the given new
 * CMK ARN. Older versions stay in the set, so existing ciphertext stays readable.
 */
export function rotatedKeySet(
    keys: PiiKeySet,
    layer: KeyLayer,
    options: { masterKey?: Buffer; newKmsKeyArn?: string; clientProvider?: KmsNodeClientSupplier } = {},
): PiiKeySet {
    if (keys.provider === "local") {
        if (!options.masterKey) throw new Error("rotating a local key set needs the master key (PII_LOCAL_KEY)");
        // Local versions move together for both layers (one version number derives both keys).
        return localKeySet(options.masterKey, currentKey(keys, layer).version + 1);
    }
    if (!options.newKmsKeyArn) throw new Error(`rotating the ${layer} KMS key needs the new key's ARN`);
    const arns = { l2: keys.versions.l2.map((v) => v.keyId), l3: keys.versions.l3.map((v) => v.keyId) };
    if (arns[layer].includes(options.newKmsKeyArn)) throw new Error(`${options.newKmsKeyArn} is already a version of layer ${layer}`);
    arns[layer] = [...arns[layer], options.newKmsKeyArn];
    return kmsKeySet(arns, { clientProvider: options.clientProvider });
}

// ---------------------------------------------------------------------------------------------
// Field encryption

type EncryptionContext = Record<string, string>;

function contextFor(field: FieldRef, level: PiiLevel, layer: "single" | "outer" | "inner"): EncryptionContext {
    if (!field.table || !field.column || !field.userId) {
        throw new Error("an encrypted field needs table, column and userId for its encryption context");
    }
    return { table: field.table, column: field.column, user_id: field.userId, pii_level: String(level), layer };
}

export class PiiCipher {
    constructor(readonly keys: PiiKeySet) {}

    async encrypt(field: FieldRef, plaintext: string, level: PiiLevel): Promise<EncryptedField> {
        if (typeof plaintext !== "string") throw new Error(`${field.table}.${field.column}: plaintext must be a string`);
        const l2 = currentKey(this.keys, "l2");
        if (level === 2) {
            const ciphertext = await this.seal(this.keys.encryptKeyring("l2"), Buffer.from(plaintext, "utf8"), contextFor(field, 2, "single"));
            return { ciphertext, level, keys: [l2] };
        }
        if (level !== 3) throw new Error(`unknown PII level ${level as number} (2 or 3)`);
        const inner = await this.seal(this.keys.encryptKeyring("l3"), Buffer.from(plaintext, "utf8"), contextFor(field, 3, "inner"));
        const ciphertext = await this.seal(this.keys.encryptKeyring("l2"), inner, contextFor(field, 3, "outer"));
        return { ciphertext, level, keys: [l2, currentKey(this.keys, "l3")] };
    }

    async decrypt(field: FieldRef, ciphertext: Buffer | Uint8Array, level: PiiLevel): Promise<DecryptedField> {
        if (level === 2) {
            const single = await this.open(field, "l2", ciphertext, contextFor(field, 2, "single"));
            return { plaintext: single.plaintext.toString("utf8"), keys: [single.key] };
        }
        if (level !== 3) throw new Error(`unknown PII level ${level as number} (2 or 3)`);
        const outer = await this.open(field, "l2", ciphertext, contextFor(field, 3, "outer"));
        const inner = await this.open(field, "l3", outer.plaintext, contextFor(field, 3, "inner"));
        return { plaintext: inner.plaintext.toString("utf8"), keys: [outer.key, inner.key] };
    }

    private async seal(keyring: KeyringNode, plaintext: Buffer, encryptionContext: EncryptionContext): Promise<Buffer> {
        const { result } = await esdk.encrypt(keyring, plaintext, { encryptionContext, suiteId: PII_ALGORITHM_SUITE });
        return result;
    }

    private async open(field: FieldRef, layer: KeyLayer, ciphertext: Buffer | Uint8Array, expected: EncryptionContext): Promise<{ plaintext: Buffer; key: KeyVersion }> {
        let output;
        try {
            output = await esdk.decrypt(this.keys.decryptKeyring(layer), ciphertext);
        } catch (err) {
            // The SDK's messages name keys and formats, never plaintext.
            throw new PiiDecryptError(field, `${layer} layer: ${err instanceof Error ? err.message : String(err)}`);
        }
        const { plaintext, messageHeader } = output;
        if (messageHeader.suiteId !== PII_ALGORITHM_SUITE) {
            throw new PiiDecryptError(field, `unexpected algorithm suite ${messageHeader.suiteId}`);
        }
        // The SDK authenticates the context stored in the message; that it is the one we expect is ours to check.
        const actual = messageHeader.encryptionContext;
        const mismatched = Object.keys(expected).filter((k) => actual[k] !== expected[k]);
        const extra = Object.keys(actual).filter((k) => !(k in expected));
        if (mismatched.length || extra.length) {
            throw new PiiDecryptError(field, `encryption context mismatch on ${[...mismatched, ...extra].join(", ")}`);
        }
        return { plaintext, key: this.keyOf(layer, messageHeader.encryptedDataKeys[0]) };
    }

    /** Which key version wrapped a message's data key (raw AES: key name prefix; KMS: the ARN). */
    private keyOf(layer: KeyLayer, edk: { providerId: string; providerInfo: string }): KeyVersion {
        const candidates = this.keys.versions[layer];
        const found =
            this.keys.provider === "local"
                ? candidates.find((v) => edk.providerInfo.split("\u0000")[0] === v.keyId)
                : candidates.find((v) => v.keyId === edk.providerInfo);
        // Unreachable with strict keyrings (they only unwrap listed keys); version 0 marks "not in this key set".
        return found ?? { layer, version: 0, keyId: edk.providerInfo, provider: this.keys.provider };
    }
}

let memoCipher: { signature: string; cipher: PiiCipher } | undefined;

/** The cipher for this process's environment, built once and reused across warm Lambda invocations. */
export function getPiiCipher(env: NodeJS.ProcessEnv = process.env): PiiCipher {
    const signature = ["PII_LOCAL_KEY", "PII_LOCAL_KEY_VERSION", "PII_KMS_KEY_ARN", "PII_L3_KMS_KEY_ARN", "PII_KMS_PREVIOUS_KEY_ARNS", "PII_L3_KMS_PREVIOUS_KEY_ARNS"]
        .map((name) => env[name] ?? "")
        .join("\n");
    if (!memoCipher || memoCipher.signature !== signature) {
        memoCipher = { signature, cipher: new PiiCipher(keySetFromEnv(env)) };
    }
    return memoCipher.cipher;
}

// ---------------------------------------------------------------------------------------------
// The users table's encrypted columns, their audit trail and key rotation (schema: migrations/0001).

/** Every encrypted column of `users` and its level (the schema's CHECKs pin the same pairs). */
export const PII_COLUMNS = {
    address_encrypted: 2,
    date_of_birth_encrypted: 2,
    ip_address_encrypted: 2,
    ssn_encrypted: 3,
    bank_account_encrypted: 3,
    credit_card_encrypted: 3,
} as const satisfies Record<string, PiiLevel>;
export type PiiColumn = keyof typeof PII_COLUMNS;

export function isPiiColumn(name: string): name is PiiColumn {
    return Object.prototype.hasOwnProperty.call(PII_COLUMNS, name);
}

/** The key recorded as `kms_key_id` / `key_version`: the innermost layer's (l3 for level 3, l2 for level 2). */
function innerKey(keys: KeyVersion[]): KeyVersion {
    return keys[keys.length - 1];
}

type Queryable = Pick<PoolClient, "query">;

/** The encryption_metadata row of one field (inner key, and for level 3 the outer key), as signup_create_user takes it. */
export function encryptionMetadataRow(column: PiiColumn, field: EncryptedField) {
    const inner = innerKey(field.keys);
    const outer = field.level === 3 ? field.keys[0] : undefined;
    return {
        field_name: column,
        encryption_level: field.level,
        kms_key_id: inner.keyId,
        key_version: inner.version,
        outer_kms_key_id: outer?.keyId ?? null,
        outer_key_version: outer?.version ?? null,
        algorithm: "AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
    };
}

/** Upserts the encryption_metadata rows of a user's fields (inner key, and for level 3 the outer key), in one statement. */
export async function recordEncryptionMetadata(client: Queryable, userId: string, fields: { column: PiiColumn; field: EncryptedField }[]): Promise<void> {
    if (!fields.length) return;
    const values: unknown[] = [];
    const rows = fields.map(({ column, field }, i) => {
        const inner = innerKey(field.keys);
        const outer = field.level === 3 ? field.keys[0] : undefined;
        values.push(userId, column, field.level, inner.keyId, inner.version, outer?.keyId ?? null, outer?.version ?? null, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY");
        return `(${Array.from({ length: 8 }, (_, j) => `$${i * 8 + j + 1}`).join(", ")})`;
    });
    await client.query(
        `INSERT INTO encryption_metadata (user_id, field_name, encryption_level, kms_key_id, key_version, outer_kms_key_id, outer_key_version, algorithm)
         VALUES ${rows.join(", ")}
         ON CONFLICT (user_id, field_name) DO UPDATE SET
             encryption_level = EXCLUDED.encryption_level, kms_key_id = EXCLUDED.kms_key_id, key_version = EXCLUDED.key_version,
             outer_kms_key_id = EXCLUDED.outer_kms_key_id, outer_key_version = EXCLUDED.outer_key_version,
             algorithm = EXCLUDED.algorithm, encrypted_at = now()`,
        values,
    );
}

export interface AuditEntry {
    userId: string;
    column: PiiColumn;
    operation: "encrypt" | "decrypt" | "access" | "re_encrypt";
    level: PiiLevel;
    key?: KeyVersion;
    performedBy: string;
    purpose?: string;
    success: boolean;
    /** A class of error (e.g. PiiDecryptError), never a message that could hold data. */
    errorCode?: string;
    durationMs: number;
    requestId?: string;
}

/** Appends one row to encryption_audit (who did what to which field, when, how long, whether it worked). */
export async function recordEncryptionAudit(client: Queryable, entries: AuditEntry[]): Promise<void> {
    if (!entries.length) return;
    const values: unknown[] = [];
    const rows = entries.map((e, i) => {
        values.push(e.userId, e.column, e.operation, e.level, e.key?.keyId ?? null, e.key?.version ?? null, e.performedBy, e.purpose ?? null, e.success, e.errorCode ?? null, e.durationMs.toFixed(3), e.requestId ?? null);
        const base = i * 12;
        return `(${Array.from({ length: 12 }, (_, j) => `$${base + j + 1}`).join(", ")})`;
    });
    await client.query(
        `INSERT INTO encryption_audit (user_id, field_name, operation, encryption_level, kms_key_id, key_version, performed_by, purpose, success, error_code, duration_ms, request_id)
         VALUES ${rows.join(", ")}`,
        values,
    );
}

export interface AccessRequest {
    /** Signed identity token of the user whose fields are read (signIdentityToken). */
    token: string;
    columns: PiiColumn[];
    /** Who reads (application principal, staff id): recorded in encryption_audit. */
    performedBy: string;
    /** Why (e.g. "disclosure_request", "payment"): recorded in encryption_audit. */
    purpose: string;
    requestId?: string;
}

/**
 * Decrypts fields of one user for an authorized reader and records every attempt, successful or not,
 * in encryption_audit. Runs in its own transaction acting as the token's user (row-level security applies),
 * so the audit rows of a failed decryption are committed before the error is thrown.
 * Returns column -> plaintext; a column that is NULL (never provided, or erased) maps to null.
 */
export async function decryptUserFields(
    db: Pool,
    cipher: PiiCipher,
    request: AccessRequest,
): Promise<Record<string, string | null>> {
    if (!request.performedBy) throw new Error("decryptUserFields: performedBy (who reads) is required for the audit trail");
    if (!request.purpose) throw new Error("decryptUserFields: purpose (why) is required for the audit trail");
    const unknown = request.columns.filter((c) => !isPiiColumn(c));
    if (unknown.length || !request.columns.length) {
        throw new Error(`decryptUserFields: columns must be among ${Object.keys(PII_COLUMNS).join(", ")}; got ${unknown.length} unknown of ${request.columns.length}`);
    }
    const { token: _token, ...auditFields } = request;
    const outcome = await withUserTransaction(db, request.token, async (client, userId) => {
        const selected = request.columns.join(", "); // validated against PII_COLUMNS above
        const { rows } = await client.query(`SELECT ${selected} FROM users WHERE id = $1`, [userId]);
        if (!rows.length) return { error: new Error("decryptUserFields: the token's user is not visible to this session (erased, or never created)") };
        const values: Record<string, string | null> = {};
        const audit: AuditEntry[] = [];
        let firstError: Error | undefined;
        for (const column of request.columns) {
            const ciphertext: Buffer | null = rows[0][column];
            if (ciphertext === null) {
                values[column] = null;
                continue;
            }
            const level = PII_COLUMNS[column];
            const started = performance.now();
            const ref = { table: "users", column, userId };
            try {
                const decrypted = await cipher.decrypt(ref, ciphertext, level);
                values[column] = decrypted.plaintext;
                audit.push({ ...auditFields, userId, column, operation: "decrypt", level, key: innerKey(decrypted.keys), success: true, durationMs: performance.now() - started });
            } catch (err) {
                firstError ??= err instanceof Error ? err : new Error(String(err));
                audit.push({ ...auditFields, userId, column, operation: "decrypt", level, success: false, errorCode: err instanceof PiiDecryptError ? "decrypt_failed" : "error", durationMs: performance.now() - started });
            }
        }
        await recordEncryptionAudit(client, audit);
        return firstError ? { error: firstError } : { values };
    });
    if ("error" in outcome) throw outcome.error;
    return outcome.values;
}

export interface RotationResult {
    keys: PiiKeySet;
    rotationId: string;
    oldVersion: number;
    newVersion: number;
}

/**
 * Rotates one layer's key: returns the key set whose new writes use the new version (older versions stay
 * readable, nothing is re-encrypted) and records the rotation in key_rotation_log (started, then completed;
 * failed with the reason if the new key set cannot be built). Deploy the new configuration
 * (PII_LOCAL_KEY_VERSION, or the new ARN with the old one moved to *_PREVIOUS_KEY_ARNS) to make it current.
 */
export async function rotateKey(
    client: Queryable,
    keys: PiiKeySet,
    layer: KeyLayer,
    options: { initiatedBy: string; masterKey?: Buffer; newKmsKeyArn?: string; clientProvider?: KmsNodeClientSupplier },
): Promise<RotationResult> {
    if (!options.initiatedBy) throw new Error("rotateKey: initiatedBy is required for key_rotation_log");
    const old = currentKey(keys, layer);
    // Locally one version number derives both layers' keys, so both rotate together.
    const keyType = keys.provider === "local" ? "local" : layer === "l2" ? "level2" : "level3_inner";
    const { rows } = await client.query(
        `INSERT INTO key_rotation_log (key_type, kms_key_id, old_key_version, new_key_version, status, initiated_by)
         VALUES ($1, $2, $3, $4, 'started', $5) RETURNING rotation_id`,
        [keyType, options.newKmsKeyArn ?? old.keyId, old.version, old.version + 1, options.initiatedBy],
    );
    const rotationId: string = rows[0].rotation_id;
    let rotated: PiiKeySet;
    try {
        rotated = rotatedKeySet(keys, layer, options);
    } catch (err) {
        await client.query(
            `INSERT INTO key_rotation_log (rotation_id, key_type, kms_key_id, old_key_version, new_key_version, status, initiated_by, error_message)
             VALUES ($1, $2, $3, $4, $5, 'failed', $6, $7)`,
            [rotationId, keyType, options.newKmsKeyArn ?? old.keyId, old.version, old.version + 1, options.initiatedBy, err instanceof Error ? err.message : String(err)],
        );
        throw err;
    }
    const fresh = currentKey(rotated, layer);
    await client.query(
        `INSERT INTO key_rotation_log (rotation_id, key_type, kms_key_id, old_key_version, new_key_version, status, initiated_by)
         VALUES ($1, $2, $3, $4, $5, 'completed', $6)`,
        [rotationId, keyType, fresh.keyId, old.version, fresh.version, options.initiatedBy],
    );
    return { keys: rotated, rotationId, oldVersion: old.version, newVersion: fresh.version };
}

// Signed identity tokens (migrations/0005, 0021): lib/identity-token.ts, re-exported here for the callers that
// already import them from this module.
export { IDENTITY_TOKEN_MAX_TTL_SECONDS, identitySecretFromEnv, signIdentityToken } from "./identity-token";
