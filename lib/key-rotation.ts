// Re-encryption after a PII key rotation: every level-2 and level-3 field still under an old key version is
// decrypted and encrypted again under the current keys, in batches. Each batch is one transaction (fields,
// encryption_metadata, encryption_audit and the checkpoint in key_rotation_progress), so the run resumes
// after a crash from its last committed batch and never re-encrypts a field twice or leaves one without
// its metadata. At the end a random sample is decrypted with the current keys ALONE (proof the old keys are
// no longer needed) and the outcome is recorded in key_rotation_log. Runs as the schema owner (it must
// reach every user's row); plaintext exists only in memory, one field at a time.
import type pg from "pg";
import { currentKey, KeyLayer, PiiCipher, PiiColumn, PiiKeySet, PII_COLUMNS, isPiiColumn } from "./crypto";

export interface ReencryptProgress {
    rotationId: string;
    done: number;
    skipped: number;
    total: number;
    resumed: boolean;
    elapsedMs: number;
}

export interface ReencryptOptions {
    initiatedBy: string;
    batchSize?: number;
    /** Fields decrypted with the current keys alone after the run (default 100). */
    verifySample?: number;
    onProgress?: (progress: ReencryptProgress) => void;
    /** Tests: stop (as a crash would) after this many committed batches. */
    stopAfterBatches?: number;
}

export interface ReencryptResult {
    rotationId: string;
    resumed: boolean;
    reEncrypted: number;
    skipped: number;
    verified: number;
    status: "completed" | "interrupted";
}

/** Thrown when the sample does not decrypt under the current keys alone; the run is recorded as failed. */
export class ReencryptVerificationError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ReencryptVerificationError";
    }
}

const LEVEL_OF = PII_COLUMNS as Record<PiiColumn, 2 | 3>;
const CIPHERTEXT_OF_FIELD = `CASE em.field_name ${Object.keys(PII_COLUMNS).map((c) => `WHEN '${c}' THEN u.${c}`).join(" ")} END`;
const STALE = `((em.encryption_level = 2 AND em.kms_key_id <> $1) OR (em.encryption_level = 3 AND (em.kms_key_id <> $2 OR em.outer_kms_key_id <> $1)))`;

/** The key set that holds only the current versions: what must decrypt everything after the run. */
export function currentOnly(keys: PiiKeySet): PiiKeySet {
    const layers: KeyLayer[] = ["l2", "l3"];
    return {
        provider: keys.provider,
        versions: Object.fromEntries(layers.map((l) => [l, [currentKey(keys, l)]])) as PiiKeySet["versions"],
        encryptKeyring: (layer) => keys.encryptKeyring(layer),
        // The current version's keyring: raw AES and KMS keyrings decrypt what they encrypt, nothing else.
        decryptKeyring: (layer) => keys.encryptKeyring(layer),
    };
}

function keyTypeOf(keys: PiiKeySet, staleLayers: Set<KeyLayer>): "local" | "level2" | "level3_inner" {
    if (keys.provider === "local") return "local";
    return staleLayers.has("l2") ? "level2" : "level3_inner";
}

async function inTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
    await client.query("BEGIN");
    try {
        const result = await fn();
        await client.query("COMMIT");
        return result;
    } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
    }
}

interface StaleField {
    id: string;
    userId: string;
    column: PiiColumn;
    level: 2 | 3;
    ciphertext: Buffer | null;
}

/**
 * Re-encrypts every field not under the current keys of `cipher.keys`. Resumes the unfinished run for the
 * same target keys if there is one. Returns when done (verified) or when stopped by stopAfterBatches.
 */
export async function reencryptAll(client: pg.ClientBase, cipher: PiiCipher, options: ReencryptOptions): Promise<ReencryptResult> {
    if (!options.initiatedBy) throw new Error("reencryptAll: initiatedBy is required for key_rotation_log");
    const batchSize = options.batchSize ?? 500;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error(`batch size must be an integer from 1 to 10000, got ${batchSize}`);
    const l2 = currentKey(cipher.keys, "l2");
    const l3 = currentKey(cipher.keys, "l3");
    const targets = [l2.keyId, l3.keyId];
    const started = Date.now();

    // Resume the unfinished run (at most one: a unique index), or start one.
    const running = await client.query("SELECT * FROM key_rotation_progress WHERE finished_at IS NULL");
    let rotationId: string;
    let cursor: string;
    let done: number;
    let skipped: number;
    let total: number;
    let keyType: string;
    const resumed = running.rowCount === 1;
    if (resumed) {
        const row = running.rows[0];
        if (row.target_l2_key_id !== l2.keyId || row.target_l3_key_id !== l3.keyId) {
            throw new Error(
                `an unfinished re-encryption (rotation ${row.rotation_id}) targets other keys (${row.target_l2_key_id}, ${row.target_l3_key_id}); ` +
                    "finish it with the key set it started with before starting another",
            );
        }
        ({ rotation_id: rotationId, last_metadata_id: cursor, key_type: keyType } = row);
        done = Number(row.fields_done);
        skipped = Number(row.fields_skipped);
        total = Number(row.fields_total);
    } else {
        const stale = await client.query(
            `SELECT count(*)::bigint AS n,
                    bool_or(em.kms_key_id <> $1 AND em.encryption_level = 2 OR em.outer_kms_key_id <> $1) AS l2,
                    bool_or(em.encryption_level = 3 AND em.kms_key_id <> $2) AS l3
             FROM encryption_metadata em WHERE ${STALE}`,
            targets,
        );
        total = Number(stale.rows[0].n);
        const staleLayers = new Set<KeyLayer>([...(stale.rows[0].l2 ? ["l2" as const] : []), ...(stale.rows[0].l3 ? ["l3" as const] : [])]);
        keyType = keyTypeOf(cipher.keys, staleLayers);
        const oldVersion = Math.max(1, Math.min(l2.version, l3.version) - 1);
        rotationId = await inTransaction(client, async () => {
            const log = await client.query(
                `INSERT INTO key_rotation_log (key_type, kms_key_id, old_key_version, new_key_version, status, records_affected, initiated_by)
                 VALUES ($1, $2, $3, $4, 'started', 0, $5) RETURNING rotation_id`,
                [keyType, keyType === "level3_inner" ? l3.keyId : l2.keyId, oldVersion, keyType === "level3_inner" ? l3.version : l2.version, options.initiatedBy],
            );
            const id = log.rows[0].rotation_id as string;
            await client.query(
                "INSERT INTO key_rotation_progress (rotation_id, key_type, target_l2_key_id, target_l3_key_id, fields_total) VALUES ($1, $2, $3, $4, $5)",
                [id, keyType, l2.keyId, l3.keyId, total],
            );
            return id;
        });
        cursor = "0";
        done = 0;
        skipped = 0;
    }
    let interrupted = false;
    const report = () => options.onProgress?.({ rotationId, done, skipped, total, resumed, elapsedMs: Date.now() - started });
    report();

    const recordFailure = (err: unknown) =>
        inTransaction(client, () =>
            client.query(
                `INSERT INTO key_rotation_log (rotation_id, key_type, kms_key_id, new_key_version, status, records_affected, initiated_by, error_message)
                 VALUES ($1, $2, $3, $4, 'failed', $5, $6, $7)`,
                [rotationId, keyType, l2.keyId, l2.version, done, options.initiatedBy, err instanceof Error ? `${err.name}: ${err.message}` : String(err)],
            ),
        );

    try {
        await reencryptBatches();
    } catch (err) {
        // The checkpoint stays unfinished: fix the cause (e.g. a missing old key version) and run again to resume.
        await recordFailure(err).catch(() => undefined);
        throw err;
    }
    async function reencryptBatches(): Promise<void> {
        for (let batches = 0; ; batches++) {
            if (options.stopAfterBatches !== undefined && batches >= options.stopAfterBatches) {
                interrupted = true;
                return;
            }
            const { rows } = await client.query(
                `SELECT em.id, em.user_id, em.field_name, em.encryption_level, ${CIPHERTEXT_OF_FIELD} AS ciphertext
                 FROM encryption_metadata em JOIN users u ON u.id = em.user_id
                 WHERE em.id > $3 AND ${STALE}
                 ORDER BY em.id LIMIT $4`,
                [...targets, cursor, batchSize],
            );
            if (!rows.length) break;
            const fields: StaleField[] = rows.map((r) => {
                if (!isPiiColumn(r.field_name)) throw new Error(`encryption_metadata row ${r.id}: unknown field ${r.field_name}`);
                return { id: String(r.id), userId: r.user_id, column: r.field_name, level: LEVEL_OF[r.field_name as PiiColumn], ciphertext: r.ciphertext };
            });
            // Crypto outside the transaction: KMS calls in AWS, none of them holding row locks.
            const sealed = await Promise.all(
                fields.map(async (f) => {
                    if (!f.ciphertext) return { f, fresh: null };
                    const ref = { table: "users", column: f.column, userId: f.userId };
                    const { plaintext } = await cipher.decrypt(ref, f.ciphertext, f.level);
                    return { f, fresh: (await cipher.encrypt(ref, plaintext, f.level)).ciphertext };
                }),
            );
            const batchResult = await inTransaction(client, async () => {
                let changed = 0;
                const updatedIds: string[] = [];
                for (const column of Object.keys(PII_COLUMNS) as PiiColumn[]) {
                    const group = sealed.filter((s) => s.f.column === column && s.fresh);
                    if (!group.length) continue;
                    // Only where the value is still the one we read: a field the application rewrote meanwhile is
                    // already under the current key, and must not be overwritten with the older value.
                    const updated = await client.query(
                        `UPDATE users u SET ${column} = v.fresh
                         FROM unnest($1::uuid[], $2::bytea[], $3::bytea[], $4::bigint[]) AS v(user_id, old, fresh, metadata_id)
                         WHERE u.id = v.user_id AND u.${column} = v.old
                         RETURNING v.metadata_id`,
                        [group.map((s) => s.f.userId), group.map((s) => s.f.ciphertext), group.map((s) => s.fresh), group.map((s) => s.f.id)],
                    );
                    changed += updated.rowCount ?? 0;
                    updatedIds.push(...updated.rows.map((r) => String(r.metadata_id)));
                }
                // Fields that are NULL (erased or never given) just take the current key in their metadata.
                const emptyIds = sealed.filter((s) => !s.fresh).map((s) => s.f.id);
                await client.query(
                    `UPDATE encryption_metadata SET
                         kms_key_id = CASE WHEN encryption_level = 3 THEN $2 ELSE $1 END,
                         key_version = CASE WHEN encryption_level = 3 THEN $4::int ELSE $3::int END,
                         outer_kms_key_id = CASE WHEN encryption_level = 3 THEN $1 END,
                         outer_key_version = CASE WHEN encryption_level = 3 THEN $3::int END,
                         encrypted_at = now(), updated_at = now()
                     WHERE id = ANY($5::bigint[])`,
                    [l2.keyId, l3.keyId, l2.version, l3.version, [...updatedIds, ...emptyIds]],
                );
                const audited = sealed.filter((s) => s.fresh && updatedIds.includes(s.f.id));
                if (audited.length) {
                    await client.query(
                        `INSERT INTO encryption_audit (user_id, field_name, operation, encryption_level, kms_key_id, key_version, performed_by, purpose, success, request_id)
                         SELECT u, f, 're_encrypt', lvl, CASE WHEN lvl = 3 THEN $4 ELSE $3 END, CASE WHEN lvl = 3 THEN $6::int ELSE $5::int END, $7, 'key_rotation', true, $8
                         FROM unnest($1::uuid[], $2::text[], $9::smallint[]) AS t(u, f, lvl)`,
                        [audited.map((s) => s.f.userId), audited.map((s) => s.f.column), l2.keyId, l3.keyId, l2.version, l3.version, options.initiatedBy, rotationId, audited.map((s) => s.f.level)],
                    );
                }
                const lastId = fields[fields.length - 1].id;
                const batchSkipped = sealed.length - changed - emptyIds.length;
                await client.query(
                    `UPDATE key_rotation_progress SET last_metadata_id = $2, fields_done = fields_done + $3, fields_skipped = fields_skipped + $4,
                            updated_at = clock_timestamp() WHERE rotation_id = $1`,
                    [rotationId, lastId, changed + emptyIds.length, batchSkipped],
                );
                return { lastId, changed: changed + emptyIds.length, batchSkipped };
            });
            cursor = batchResult.lastId;
            done += batchResult.changed;
            skipped += batchResult.batchSkipped;
            report();
        }
    }
    if (interrupted) return { rotationId, resumed, reEncrypted: done, skipped, verified: 0, status: "interrupted" };

    // Verification: nothing left under an old key, and a random sample decrypts with the current keys alone.
    const verifier = new PiiCipher(currentOnly(cipher.keys));
    const sampleSize = options.verifySample ?? 100;
    let verified = 0;
    try {
        const left = await client.query(`SELECT count(*)::int AS n FROM encryption_metadata em WHERE ${STALE}`, targets);
        if (left.rows[0].n > 0) throw new ReencryptVerificationError(`${left.rows[0].n} field(s) are still under an old key`);
        const sample = await client.query(
            `SELECT em.user_id, em.field_name, ${CIPHERTEXT_OF_FIELD} AS ciphertext
             FROM encryption_metadata em JOIN users u ON u.id = em.user_id
             WHERE ${CIPHERTEXT_OF_FIELD} IS NOT NULL ORDER BY random() LIMIT $1`,
            [sampleSize],
        );
        for (const r of sample.rows) {
            try {
                await verifier.decrypt({ table: "users", column: r.field_name, userId: r.user_id }, r.ciphertext, LEVEL_OF[r.field_name as PiiColumn]);
            } catch {
                throw new ReencryptVerificationError(`a sampled ${r.field_name} does not decrypt under the current keys alone`);
            }
            verified++;
        }
    } catch (err) {
        await recordFailure(err);
        await client.query("UPDATE key_rotation_progress SET finished_at = clock_timestamp() WHERE rotation_id = $1", [rotationId]);
        throw err;
    }
    await inTransaction(client, async () => {
        await client.query(
            `INSERT INTO key_rotation_log (rotation_id, key_type, kms_key_id, new_key_version, status, records_affected, initiated_by)
             VALUES ($1, $2, $3, $4, 'completed', $5, $6)`,
            [rotationId, keyType, keyType === "level3_inner" ? l3.keyId : l2.keyId, keyType === "level3_inner" ? l3.version : l2.version, done, options.initiatedBy],
        );
        await client.query("UPDATE key_rotation_progress SET finished_at = clock_timestamp() WHERE rotation_id = $1", [rotationId]);
    });
    return { rotationId, resumed, reEncrypted: done, skipped, verified, status: "completed" };
}

/** A progress printer: an updating line on a terminal, a line per 10% (or 10 s) otherwise. */
export function progressPrinter(stream: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): unknown }): (p: ReencryptProgress) => void {
    let lastDecile = -1;
    let lastAt = 0;
    return (p) => {
        const percent = p.total ? Math.min(100, (100 * (p.done + p.skipped)) / p.total) : 100;
        const rate = p.elapsedMs > 0 ? Math.round(((p.done + p.skipped) * 1000) / p.elapsedMs) : 0;
        const remaining = rate > 0 ? Math.round((p.total - p.done - p.skipped) / rate) : undefined;
        const line = `re-encrypt ${p.rotationId.slice(0, 8)}${p.resumed ? " (resumed)" : ""}: ${p.done.toLocaleString("en")} of ${p.total.toLocaleString("en")} fields (${percent.toFixed(1)}%), ${p.skipped} skipped, ${rate.toLocaleString("en")}/s${remaining !== undefined ? `, ~${remaining}s left` : ""}`;
        if (stream.isTTY) {
            stream.write(`\r\x1b[2K${line}`);
            return;
        }
        const decile = Math.floor(percent / 10);
        if (decile !== lastDecile || Date.now() - lastAt >= 10_000) {
            lastDecile = decile;
            lastAt = Date.now();
            stream.write(`${line}\n`);
        }
    };
}
