// The restore drill at 1,000,000 users (x scale), for real on this machine (compliance/restore-drill-local.ts):
// pg_basebackup of a running PostgreSQL, the copy started as a second server, verified. Each figure beside a
// reference measured in the same run: the restore beside a raw copy of the same data directory's files (what any
// restore has to move), the verification beside its floor (count(*) of the same tables on both sides and the same
// number of level-2 decrypts in memory, on the source), and restore + verify beside the spec's 8-hour RTO.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { localKeySet, PiiCipher } from "../lib/crypto";
import { PERSONAL_DATA_TABLES, RTO_SECONDS } from "../compliance/restore-drill";
import { findPgBinDir, localRestoreDrill, makeWorkDir, prepareSourceDatabase, removeWorkDir, seedDrillData, startSourceCluster } from "../compliance/restore-drill-local";
import { BenchOptions, BenchRow, BenchSection } from "./types";

const FULL_USERS = 1_000_000;
const ENCRYPTED = 500;
const SAMPLE = 50;

function progress(message: string): void {
    process.stderr.write(`  [restore bench] ${message}\n`);
}

async function run({ scale }: BenchOptions): Promise<BenchRow[]> {
    const users = Math.max(1000, Math.round(FULL_USERS * scale));
    const cipher = new PiiCipher(localKeySet(randomBytes(32)));
    const workDir = makeWorkDir("appi-bench-restore-");
    const source = await startSourceCluster(findPgBinDir(), workDir);
    try {
        let t = performance.now();
        await prepareSourceDatabase(source, "appi");
        await seedDrillData(source.url("appi"), cipher, users, ENCRYPTED);
        const client = new pg.Client({ connectionString: source.url("appi") });
        await client.connect();
        let floorMs: number;
        let bytes: number;
        try {
            await client.query("CHECKPOINT");
            bytes = Number((await client.query("SELECT sum(pg_database_size(oid))::bigint AS b FROM pg_database")).rows[0].b);
            progress(`${users.toLocaleString("en")} users (${ENCRYPTED} with an encrypted address) loaded in ${((performance.now() - t) / 1000).toFixed(1)} s; ${(bytes / 2 ** 20).toFixed(0)} MiB`);
            // Floor of the verification: counting the same tables on both sides, and decrypting as many level-2
            // fields in memory, nothing else.
            const sample = (await client.query("SELECT user_id, field_name, ciphertext FROM restore_drill_sample($1)", [SAMPLE])).rows;
            t = performance.now();
            for (let side = 0; side < 2; side++) for (const table of PERSONAL_DATA_TABLES) await client.query(`SELECT count(*) FROM ${table}`);
            for (const f of sample) await cipher.decrypt({ table: "users", column: f.field_name, userId: f.user_id }, f.ciphertext, 2);
            floorMs = performance.now() - t;
        } finally {
            await client.end();
        }

        // Reference for the restore: the data directory's files copied as they are (no WAL, no consistency).
        const rawCopy = path.join(workDir, "raw-copy");
        t = performance.now();
        execFileSync("cp", ["-r", source.dataDir, rawCopy]);
        const copyMs = performance.now() - t;
        removeWorkDir(rawCopy);

        const drill = await localRestoreDrill({ source, database: "appi", workDir, cipher, record: true, sampleSize: SAMPLE });
        if (!drill.ok) throw new Error(`the drill failed: ${JSON.stringify(drill.verify.checks)}`);
        progress(`backup ${drill.backupSeconds.toFixed(1)} s, start ${drill.startSeconds.toFixed(1)} s, verify ${drill.verifySeconds.toFixed(1)} s (${drill.verify.checks.map((c) => `${c.name} ${c.ms} ms`).join(", ")})`);
        const label = `${users.toLocaleString("en")} users`;
        return [
            {
                name: `restore: pg_basebackup + start as a second server (${label}, ${(bytes / 2 ** 20).toFixed(0)} MiB)`,
                value: drill.backupSeconds + drill.startSeconds,
                unit: "s",
                referenceLabel: "cp -r of the same data directory",
                reference: copyMs / 1000,
                goalRatio: 3,
            },
            {
                name: `verify: migrations, row counts vs source, ${drill.verify.decrypted.sampled} decrypts, RLS, triggers (${label})`,
                value: drill.verifySeconds,
                unit: "s",
                referenceLabel: `count(*) of the same tables twice + ${SAMPLE} decrypts in memory`,
                reference: floorMs / 1000,
                goalRatio: 3,
            },
            {
                name: `restore + verify (recovery time, ${label})`,
                value: drill.recoverySeconds,
                unit: "s",
                referenceLabel: "RTO (spec)",
                reference: RTO_SECONDS,
            },
        ];
    } finally {
        source.stop();
        removeWorkDir(workDir);
    }
}

export const section: BenchSection = { title: "restore drill (pg_basebackup, 1M users)", run };
