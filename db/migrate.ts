// Migration runner: plain SQL files from migrations/, applied in order, each in its own transaction,
// recorded in schema_migrations with a sha256 checksum. A session advisory lock makes concurrent runs
// (two CodeBuild jobs, two developers) safe: the second waits, then finds nothing left to do.
//
// Why not node-pg-migrate: it applies SQL files and takes an advisory lock, but records no checksum, so an
// edited, already-applied migration goes unnoticed; bending it to checksums means wrapping its internals.
// This is ~150 lines on `pg` with exactly the behaviour we need.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";

export const DEFAULT_MIGRATIONS_DIR = path.resolve(__dirname, "..", "migrations");
const FILE_PATTERN = /^(\d{4})_[a-z0-9_]+\.sql$/;
// Arbitrary constant: the advisory lock key of this project's migrations (per database).
const LOCK_KEY = 727_001_611;

export interface MigrationFile {
    name: string;
    version: number;
    sql: string;
    checksum: string;
}

export interface AppliedMigration {
    name: string;
    checksum: string;
    appliedAt: Date;
}

export interface MigrateOptions {
    dir?: string;
    log?: (line: string) => void;
}

export interface MigrationStatus {
    applied: AppliedMigration[];
    pending: MigrationFile[];
}

export function sha256(text: string): string {
    return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The migration files in order; names must be NNNN_lower_snake.sql with unique numbers. */
export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
    const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
    const seen = new Map<number, string>();
    return files.map((name) => {
        const match = FILE_PATTERN.exec(name);
        if (!match) throw new Error(`migration file ${name} in ${dir}: name must look like 0004_short_description.sql`);
        const version = Number(match[1]);
        const clash = seen.get(version);
        if (clash) throw new Error(`migration files ${clash} and ${name} share the number ${match[1]}`);
        seen.set(version, name);
        const sql = readFileSync(path.join(dir, name), "utf8");
        return { name, version, sql, checksum: sha256(sql) };
    });
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
    name        text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    applied_by  text NOT NULL DEFAULT current_user,
    duration_ms integer NOT NULL
)`;

async function readApplied(client: pg.ClientBase): Promise<AppliedMigration[]> {
    const exists = await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS exists");
    if (!exists.rows[0].exists) return [];
    const { rows } = await client.query("SELECT name, checksum, applied_at FROM schema_migrations ORDER BY name");
    return rows.map((r) => ({ name: r.name, checksum: r.checksum, appliedAt: r.applied_at }));
}

/** Compares the database with the files; throws on an edited or vanished applied migration. */
function compare(files: MigrationFile[], applied: AppliedMigration[]): MigrationFile[] {
    const byName = new Map(files.map((f) => [f.name, f]));
    for (const a of applied) {
        const file = byName.get(a.name);
        if (!file) throw new Error(`migration ${a.name} is applied in the database but missing from the migrations folder`);
        if (file.checksum !== a.checksum) {
            throw new Error(
                `migration ${a.name} was changed after it was applied (checksum ${a.checksum.slice(0, 12)}… in the database, ` +
                    `${file.checksum.slice(0, 12)}… on disk): restore the file and put the change in a new migration`,
            );
        }
    }
    const appliedNames = new Set(applied.map((a) => a.name));
    const pending = files.filter((f) => !appliedNames.has(f.name));
    const lastApplied = applied.map((a) => a.name).sort().at(-1);
    const outOfOrder = lastApplied ? pending.filter((f) => f.name < lastApplied) : [];
    if (outOfOrder.length) {
        throw new Error(`migration ${outOfOrder[0].name} sorts before the already applied ${lastApplied}: renumber it after ${lastApplied}`);
    }
    return pending;
}

async function withClient<T>(config: pg.ClientConfig, fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client(config);
    await client.connect();
    try {
        return await fn(client);
    } finally {
        await client.end();
    }
}

export async function migrationStatus(config: pg.ClientConfig, options: MigrateOptions = {}): Promise<MigrationStatus> {
    const files = loadMigrations(options.dir);
    return withClient(config, async (client) => {
        const applied = await readApplied(client);
        return { applied, pending: compare(files, applied) };
    });
}

/** Applies the pending migrations; returns the names applied by this run. */
export async function migrate(config: pg.ClientConfig, options: MigrateOptions = {}): Promise<string[]> {
    const log = options.log ?? ((line: string) => console.log(line));
    const files = loadMigrations(options.dir);
    return withClient(config, async (client) => {
        await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
        try {
            await client.query(CREATE_TABLE);
            const pending = compare(files, await readApplied(client));
            const done: string[] = [];
            for (const file of pending) {
                const started = Date.now();
                try {
                    await client.query("BEGIN");
                    await client.query(file.sql);
                    await client.query("INSERT INTO schema_migrations (name, checksum, duration_ms) VALUES ($1, $2, $3)", [
                        file.name,
                        file.checksum,
                        Date.now() - started,
                    ]);
                    await client.query("COMMIT");
                } catch (err) {
                    await client.query("ROLLBACK").catch(() => undefined);
                    const message = err instanceof Error ? err.message : String(err);
                    throw new Error(`migration ${file.name} failed and was rolled back: ${message}`);
                }
                log(`applied ${file.name} (${Date.now() - started} ms)`);
                done.push(file.name);
            }
            if (!pending.length) log("database is up to date");
            return done;
        } finally {
            await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => undefined);
        }
    });
}
