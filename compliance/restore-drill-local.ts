// The restore drill for real on this machine: a running PostgreSQL (a throw-away cluster of the local PostgreSQL
// binaries, started with pg_ctl), its base backup taken with pg_basebackup, that backup started as a second server
// on a free port (crash recovery from the backup label, as a restored instance does), and the same verification as
// in AWS (compliance/restore-drill.ts). Used by `npm run drill:restore -- --local`, the tests and the bench.
// The embedded PostgreSQL 16 ships no pg_basebackup, and pg_basebackup reads servers of its own major version or
// older: so the source is a cluster of the binaries that have one (pg_config --bindir, /usr/lib/postgresql/*/bin).
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { migrate } from "../db/migrate";
import { PiiCipher, encryptionMetadataRow } from "../lib/crypto";
import { RTO_SECONDS, VerifyResult, recordAndPublish, verifyRestoredDatabase } from "./restore-drill";

const TOOLS = ["initdb", "pg_ctl", "pg_basebackup", "postgres"];

/** A directory with initdb, pg_ctl, pg_basebackup and postgres: PG_BINDIR, `pg_config --bindir`, /usr/lib/postgresql/<newest>/bin. */
export function findPgBinDir(env: NodeJS.ProcessEnv = process.env): string {
    const candidates: string[] = [];
    if (env.PG_BINDIR) candidates.push(env.PG_BINDIR);
    try {
        candidates.push(execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim());
    } catch {
        /* no pg_config on the PATH */
    }
    if (existsSync("/usr/lib/postgresql")) {
        const versions = readdirSync("/usr/lib/postgresql").filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
        candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
    }
    const found = candidates.find((dir) => TOOLS.every((t) => existsSync(path.join(dir, t))));
    if (!found) throw new Error(`no PostgreSQL binaries with ${TOOLS.join(", ")} found (looked in ${candidates.join(", ") || "nothing"}); set PG_BINDIR`);
    return found;
}

/** PostgreSQL refuses to run as root: as root, the servers run as the `postgres` system user. */
function runAs(): { uid: number; gid: number } | undefined {
    if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
    try {
        const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
        const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
        return { uid, gid };
    } catch {
        throw new Error("running as root and there is no `postgres` system user to run PostgreSQL as");
    }
}

function run(binDir: string, tool: string, args: string[]): string {
    const user = runAs();
    const out = spawnSync(path.join(binDir, tool), args, { encoding: "utf8", ...(user ?? {}), env: { ...process.env, LC_ALL: "C", PGTZ: "UTC" } });
    if (out.status !== 0) throw new Error(`${tool} failed (exit ${out.status ?? out.signal}): ${(out.stderr || out.stdout || "").trim().split("\n").slice(-5).join(" | ")}`);
    return out.stdout;
}

function ownDir(dir: string, mode = 0o700): void {
    mkdirSync(dir, { recursive: true });
    const user = runAs();
    if (user) chownSync(dir, user.uid, user.gid);
    chmodSync(dir, mode);
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
        });
    });
}

export interface LocalServer {
    dataDir: string;
    port: number;
    binDir: string;
    url(database: string): string;
    stop(): void;
}

/** Starts the server of a data directory on a free port (TCP on loopback only, no unix socket). */
export async function startServer(binDir: string, dataDir: string, settings: Record<string, string> = {}): Promise<LocalServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 4; attempt++) {
        const port = await freePort();
        const flags = Object.entries({ port: String(port), listen_addresses: "127.0.0.1", unix_socket_directories: "''", fsync: "off", ...settings })
            .map(([k, v]) => `-c ${k}=${v}`)
            .join(" ");
        try {
            run(binDir, "pg_ctl", ["-D", dataDir, "-o", flags, "-l", path.join(dataDir, "server.log"), "-w", "-t", "600", "start"]);
        } catch (err) {
            lastError = err;
            continue;
        }
        let stopped = false;
        return {
            dataDir,
            port,
            binDir,
            url: (database) => `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`,
            stop: () => {
                if (stopped) return;
                stopped = true;
                try {
                    run(binDir, "pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
                } catch {
                    /* already down */
                }
            },
        };
    }
    throw new Error(`PostgreSQL did not start in ${dataDir}: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}

/** A throw-away source cluster (trust on loopback, replication allowed) in `<workDir>/source`. */
export async function startSourceCluster(binDir: string, workDir: string): Promise<LocalServer> {
    const dataDir = path.join(workDir, "source");
    ownDir(dataDir);
    run(binDir, "initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    return startServer(binDir, dataDir, { wal_level: "replica", max_wal_senders: "4" });
}

/** pg_basebackup of a running server into `targetDir` (WAL streamed alongside, fast checkpoint). */
export function baseBackup(source: LocalServer, targetDir: string): void {
    ownDir(path.dirname(targetDir), 0o755);
    run(source.binDir, "pg_basebackup", ["-h", "127.0.0.1", "-p", String(source.port), "-U", "postgres", "-D", targetDir, "-X", "stream", "-c", "fast", "--no-sync"]);
}

/** A work directory the postgres system user can enter (when the servers run as it). */
export function makeWorkDir(label = "appi-drill-"): string {
    const dir = mkdtempSync(path.join(tmpdir(), label));
    chmodSync(dir, 0o755);
    return dir;
}

export function removeWorkDir(dir: string): void {
    if (existsSync(dir) && statSync(dir).isDirectory()) rmSync(dir, { recursive: true, force: true });
}

/**
 * The application's data for a drill: `users` users (bulk, through the audit triggers) and a level-2 address
 * for `encrypted` of them, encrypted with the given cipher as the application does, with its metadata row.
 */
export async function seedDrillData(url: string, cipher: PiiCipher, users: number, encrypted: number): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
        await client.query(
            `INSERT INTO users (id, email, first_name, created_at, last_activity_at)
             SELECT md5('drill' || g)::uuid, 'drill' || g || '@example.jp', 'name' || g, now(), now() FROM generate_series(1, $1) g`,
            [users],
        );
        const { rows } = await client.query("SELECT md5('drill' || g)::uuid AS id FROM generate_series(1, $1) g", [Math.min(users, encrypted)]);
        for (let i = 0; i < rows.length; i += 500) {
            const part = rows.slice(i, i + 500).map((r) => r.id as string);
            const sealed = await Promise.all(part.map((id) => cipher.encrypt({ table: "users", column: "address_encrypted", userId: id }, `東京都千代田区 ${id.slice(0, 6)}`, 2)));
            await client.query("UPDATE users u SET address_encrypted = v.c FROM unnest($1::uuid[], $2::bytea[]) v(id, c) WHERE u.id = v.id", [part, sealed.map((s) => s.ciphertext)]);
            const meta = sealed.map((s) => encryptionMetadataRow("address_encrypted", s));
            await client.query(
                `INSERT INTO encryption_metadata (user_id, field_name, encryption_level, kms_key_id, key_version, algorithm)
                 SELECT v.id, 'address_encrypted', 2, v.k, v.ver, $4 FROM unnest($1::uuid[], $2::text[], $3::int[]) v(id, k, ver)`,
                [part, meta.map((m) => m.kms_key_id), meta.map((m) => m.key_version), meta[0].algorithm],
            );
        }
        await client.query("VACUUM ANALYZE users");
    } finally {
        await client.end();
    }
}

export interface LocalDrillResult {
    ok: boolean;
    /** pg_basebackup of the source. */
    backupSeconds: number;
    /** Start of the copy as a server (recovery from the backup) until it accepts connections. */
    startSeconds: number;
    verifySeconds: number;
    /** Backup start to verified: the figure recorded against the RTO. */
    recoverySeconds: number;
    rtoSeconds: number;
    verify: VerifyResult;
    recordId?: number;
}

/**
 * Base backup of `source` (database `database`), started as a second server, verified against the source, and the
 * result recorded in the source's drill_results. `tamper` runs against the restored copy before verifying (tests).
 */
export async function localRestoreDrill(options: {
    source: LocalServer;
    database: string;
    workDir: string;
    cipher: PiiCipher;
    record?: boolean;
    sampleSize?: number;
    tamper?: (restoredUrl: string) => Promise<void>;
}): Promise<LocalDrillResult> {
    const restoredDir = path.join(options.workDir, `restored-${Date.now()}`);
    const t0 = performance.now();
    const startedAt = new Date();
    baseBackup(options.source, restoredDir);
    const t1 = performance.now();
    const restored = await startServer(options.source.binDir, restoredDir);
    try {
        const t2 = performance.now();
        if (options.tamper) await options.tamper(restored.url(options.database));
        const t3 = performance.now();
        const verify = await verifyRestoredDatabase({ connectionString: restored.url(options.database) }, {
            source: { connectionString: options.source.url(options.database) },
            cipher: options.cipher,
            sampleSize: options.sampleSize,
        });
        const t4 = performance.now();
        const recoverySeconds = (t2 - t0 + (t4 - t3)) / 1000;
        const result: LocalDrillResult = {
            ok: verify.ok && recoverySeconds <= RTO_SECONDS,
            backupSeconds: (t1 - t0) / 1000,
            startSeconds: (t2 - t1) / 1000,
            verifySeconds: (t4 - t3) / 1000,
            recoverySeconds,
            rtoSeconds: RTO_SECONDS,
            verify,
        };
        if (options.record ?? true) {
            const record = {
                ok: result.ok,
                startedAt: startedAt.toISOString(),
                finishedAt: new Date(startedAt.getTime() + recoverySeconds * 1000).toISOString(),
                recoverySeconds: Math.round(recoverySeconds * 1000) / 1000,
                rtoSeconds: RTO_SECONDS,
                mode: "local-basebackup",
                checks: verify.checks,
                rowCounts: verify.rowCounts,
                decrypted: verify.decrypted,
            } as Parameters<typeof recordAndPublish>[0] & Record<string, unknown>;
            await recordAndPublish(record, { source: { connectionString: options.source.url(options.database) }, stack: "local", at: new Date() });
            result.recordId = record.recordId;
        }
        return result;
    } finally {
        restored.stop();
        rmSync(restoredDir, { recursive: true, force: true });
    }
}

/** Creates `database` on the source and applies every migration to it. */
export async function prepareSourceDatabase(source: LocalServer, database: string): Promise<string> {
    const admin = new pg.Client({ connectionString: source.url("postgres") });
    await admin.connect();
    try {
        await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
    } finally {
        await admin.end();
    }
    await migrate({ connectionString: source.url(database) }, { log: () => undefined });
    return source.url(database);
}
