// Key rotation re-encryption (lib/key-rotation.ts) in a users table of 1,000,000 rows (x scale).
// The cost is the Encryption SDK's decrypt + encrypt per field, so the figure that says whether the
// database part is right is the run's time per field beside the bare crypto of the same fields, in memory,
// in the same run. The Encryption SDK costs ~1-3 ms per field here, so by default 20,000 fields (x scale, or
// BENCH_ROTATION_FIELDS) are stale and re-encrypted, in the full 1M-row table (what the batch queries have to
// find them in), and the time for all 1M is projected from the measured rate, labelled as such.
// BENCH_ROTATION_FIELDS=1000000 re-encrypts every user's field in one run and reports the measured total
// (about an hour on 2 idle cores, most of it encrypting the 1M fields to set up).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { localKeySet, PiiCipher } from "../lib/crypto";
import { reencryptAll } from "../lib/key-rotation";
import { migrate } from "../db/migrate";
import { freshDatabase, stopTestServer } from "../test/support/postgres";
import { BenchOptions, BenchRow, BenchSection } from "./types";

const FULL_USERS = 1_000_000;
const DEFAULT_FIELDS = 20_000;
const REFERENCE_SAMPLE = 50_000;

function progress(message: string): void {
    process.stderr.write(`  [keys bench] ${message}\n`);
}

async function run(options: BenchOptions): Promise<BenchRow[]> {
    const users = Math.max(1000, Math.round(FULL_USERS * options.scale));
    const fields = Math.min(users, Number(process.env.BENCH_ROTATION_FIELDS ?? DEFAULT_FIELDS * Math.min(1, options.scale * 10)));
    const db = await freshDatabase("bench_keys");
    const client = new pg.Client({ connectionString: db.url });
    try {
        await migrate({ connectionString: db.url }, { log: () => undefined });
        await client.connect();
        let t = performance.now();
        await client.query(
            `INSERT INTO users (id, email, first_name, created_at, last_activity_at)
             SELECT md5(g::text)::uuid, 'user' || g || '@example.jp', 'name' || g, now(), now() FROM generate_series(1, $1) g`,
            [users],
        );
        progress(`${users.toLocaleString("en")} users loaded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

        const master = randomBytes(32);
        const v1 = new PiiCipher(localKeySet(master, 1));
        const v2 = new PiiCipher(localKeySet(master, 2));
        // Stale fields spread over the whole table (every k-th user), encrypted under version 1.
        const step = Math.floor(users / fields);
        const ids = (await client.query("SELECT md5((g * $2)::text)::uuid AS id FROM generate_series(1, $1) g", [fields, step])).rows.map((r) => r.id as string);
        t = performance.now();
        const sealed: Buffer[] = [];
        for (const id of ids) sealed.push((await v1.encrypt({ table: "users", column: "address_encrypted", userId: id }, `東京都千代田区千代田 ${id.slice(0, 4)}`, 2)).ciphertext);
        for (let i = 0; i < ids.length; i += 5000) {
            const part = ids.slice(i, i + 5000);
            await client.query("UPDATE users u SET address_encrypted = v.c FROM unnest($1::uuid[], $2::bytea[]) v(id, c) WHERE u.id = v.id", [part, sealed.slice(i, i + 5000)]);
            await client.query(
                `INSERT INTO encryption_metadata (user_id, field_name, encryption_level, kms_key_id, key_version)
                 SELECT id, 'address_encrypted', 2, 'pii-l2-v1', 1 FROM unnest($1::uuid[]) id`,
                [part],
            );
        }
        await client.query("VACUUM ANALYZE users");
        await client.query("VACUUM ANALYZE encryption_metadata");
        progress(`${fields.toLocaleString("en")} fields encrypted under v1 in ${((performance.now() - t) / 1000).toFixed(1)} s`);

        // Reference: the same decrypt + encrypt, in memory, no database; per field, so a run of every field of
        // 1M users measures it on an evenly spread sample of REFERENCE_SAMPLE of them rather than doubling the run.
        const referenceStep = Math.max(1, Math.floor(fields / REFERENCE_SAMPLE));
        let referenced = 0;
        t = performance.now();
        for (let i = 0; i < ids.length; i += referenceStep) {
            const ref = { table: "users", column: "address_encrypted", userId: ids[i] };
            const { plaintext } = await v2.decrypt(ref, sealed[i], 2);
            await v2.encrypt(ref, plaintext, 2);
            referenced++;
        }
        const cryptoMsPerField = (performance.now() - t) / referenced;
        sealed.length = 0;

        t = performance.now();
        const result = await reencryptAll(client, v2, { initiatedBy: "bench", batchSize: 500, verifySample: 100 });
        const runMs = performance.now() - t;
        if (result.reEncrypted !== fields) throw new Error(`re-encrypted ${result.reEncrypted} of ${fields} fields`);
        const runMsPerField = runMs / fields;
        progress(`re-encrypted ${fields.toLocaleString("en")} fields in ${(runMs / 1000).toFixed(1)} s (verified ${result.verified})`);

        const everyUser = fields === users;
        return [
            {
                name: `re-encrypt, per field (${fields.toLocaleString("en")} stale in ${users.toLocaleString("en")} users, batches of 500, checkpointed, audited)`,
                value: runMsPerField,
                unit: "ms",
                referenceLabel: `decrypt + encrypt in memory (${referenced.toLocaleString("en")} of the same fields)`,
                reference: cryptoMsPerField,
                goalRatio: 1.5,
            },
            everyUser
                ? {
                      name: `measured: every field of ${users.toLocaleString("en")} users (1 level-2 field each), one run, sample of ${result.verified} verified`,
                      value: runMs / 3_600_000,
                      unit: "h",
                      referenceLabel: "one night's maintenance window",
                      reference: 8,
                  }
                : {
                      name: `projected: every field of ${users.toLocaleString("en")} users (1 level-2 field each) at the measured rate`,
                      value: (runMsPerField * users) / 3_600_000,
                      unit: "h",
                      referenceLabel: "one night's maintenance window",
                      reference: 8,
                  },
        ];
    } finally {
        await client.end().catch(() => undefined);
        await db.drop();
        await stopTestServer();
    }
}

export const section: BenchSection = { title: "key rotation re-encryption (1M users)", run };
