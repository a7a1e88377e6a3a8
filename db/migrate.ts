// Migration runner: plain SQL files from migrations/, applied in order, each in its own transaction,
// recorded in schema_migrations with a sha256 checksum. A session advisory lock makes concurrent runs
// (two CodeBuild jobs, two developers) safe: the second waits, then finds nothing left to do.
//
// Why not node-pg-migrate: it applies SQL files and takes an advisory lock, but records no checksum, so an
// edited, already-applied migration goes unnoticed; bending it to checksums means wrapping its internals.
// This is ~150 lines on `pg` with exactly the behaviour we need.
//
// Superseded checksums (Flyway's "repair", checked in): migrations/superseded-checksums.json lists, per file,
// earlier contents (sha256) that were applied somewhere and are accepted, with the reason. A database that
// recorded one of them gets the current checksum recorded, a log line and a row in schema_migration_repairs;
// any other difference still stops the run.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";

export const DEFAULT_MIGRATIONS_DIR = path.resolve(__dirname, "..", "migrations");
export const SUPERSEDED_CHECKSUMS_FILE = "superseded-checksums.json";
/** The schema owner migrations 0015+ run as (migrator and the master user SET ROLE to it); see ownerRole. */
export const DEFAULT_OWNER_ROLE = "appi_owner";
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
    /** lock_timeout of each migration's transaction: a migration waiting longer for a lock is retried. */
    lockTimeoutMs?: number;
    /** How many times a migration that timed out on a lock is retried (with a growing pause) before failing. */
    lockRetries?: number;
    /**
     * The schema owner to act as (SET ROLE): from the start if it already owns this database's schema, else as
     * soon as a migration has handed the schema to it (0015); until then the login itself runs them (the first
     * deploy, as the master user). An owner the login cannot SET ROLE to is an error.
     */
    ownerRole?: string;
}

/** An applied migration whose recorded checksum is a superseded content of its file (accepted, then updated). */
export interface MigrationRepair {
    name: string;
    oldChecksum: string;
    newChecksum: string;
    reason: string;
}

export type SupersededChecksums = Map<string, Map<string, string>>;

const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
const DEFAULT_LOCK_RETRIES = 5;
const LOCK_NOT_AVAILABLE = "55P03";

// Statements that would end the runner's transaction early (leaving a half-applied, half-recorded migration).
const TRANSACTION_CONTROL = /^(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE\s+TRANSACTION|COMMIT\s+PREPARED|ROLLBACK\s+PREPARED)\b/i;

/**
 * The first transaction-control statement of a migration's SQL (outside comments, string literals,
 * quoted identifiers and dollar-quoted bodies such as DO blocks and functions), with its line; null if none.
 */
export function findTransactionControl(sql: string): { statement: string; line: number } | null {
    let i = 0;
    let statementStart = -1;
    let atomicDepth = 0; // inside BEGIN ATOMIC ... END of a SQL-standard function body
    const lineAt = (index: number) => sql.slice(0, index).split("\n").length;
    while (i < sql.length) {
        const c = sql[i];
        const rest = sql.slice(i);
        if (rest.startsWith("--")) {
            const end = sql.indexOf("\n", i);
            i = end < 0 ? sql.length : end + 1;
            continue;
        }
        if (rest.startsWith("/*")) {
            const end = sql.indexOf("*/", i + 2);
            i = end < 0 ? sql.length : end + 2;
            continue;
        }
        if (c === "'" || c === '"') {
            let j = i + 1;
            while (j < sql.length && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1;
            if (statementStart < 0) statementStart = i;
            i = j + 1;
            continue;
        }
        const dollar = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(rest);
        if (dollar) {
            const end = sql.indexOf(dollar[0], i + dollar[0].length);
            if (statementStart < 0) statementStart = i;
            i = end < 0 ? sql.length : end + dollar[0].length;
            continue;
        }
        if (c === ";") {
            statementStart = -1;
            i++;
            continue;
        }
        if (/\s/.test(c)) {
            i++;
            continue;
        }
        if (statementStart < 0) {
            statementStart = i;
            const head = rest.slice(0, 40);
            if (atomicDepth > 0) {
                if (/^END\b/i.test(head)) atomicDepth--;
            } else if (TRANSACTION_CONTROL.test(head)) {
                return { statement: head.split(/[\s;]/)[0].toUpperCase(), line: lineAt(i) };
            }
        }
        const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
        if (word) {
            if (/^BEGIN$/i.test(word[0]) && /^BEGIN\s+ATOMIC\b/i.test(rest)) atomicDepth++;
            i += word[0].length;
            continue;
        }
        i++;
    }
    return null;
}

export interface MigrationStatus {
    applied: AppliedMigration[];
    pending: MigrationFile[];
    /** Applied files recorded with a superseded checksum: the next migrate records the current one. */
    repairs: MigrationRepair[];
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
        const control = findTransactionControl(sql);
        if (control) {
            throw new Error(
                `migration file ${name} contains transaction control (${control.statement} on line ${control.line}): the runner applies ` +
                    "each file in one transaction of its own; remove it (split the work into several files if it must commit in between)",
            );
        }
        return { name, version, sql, checksum: sha256(sql) };
    });
}

/**
 * The accepted earlier checksums of each file (migrations/superseded-checksums.json; none if absent):
 * `{ "<file>": [{ "sha256": "<64 hex>", "reason": "<why the file changed>" }] }`.
 */
export function loadSupersededChecksums(dir: string = DEFAULT_MIGRATIONS_DIR, files: MigrationFile[] = loadMigrations(dir)): SupersededChecksums {
    const file = path.join(dir, SUPERSEDED_CHECKSUMS_FILE);
    const result: SupersededChecksums = new Map();
    if (!existsSync(file)) return result;
    let parsed: unknown;
    try {
        parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
        throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`${file}: must be an object of migration file name -> [{ sha256, reason }]`);
    const byName = new Map(files.map((f) => [f.name, f]));
    for (const [name, entries] of Object.entries(parsed as Record<string, unknown>)) {
        const migration = byName.get(name);
        if (!migration) throw new Error(`${file}: ${JSON.stringify(name)} is not a migration file in ${dir}`);
        if (!Array.isArray(entries) || !entries.length) throw new Error(`${file}: ${name} must list at least one { sha256, reason }`);
        const accepted = new Map<string, string>();
        for (const entry of entries as Array<Record<string, unknown>>) {
            const { sha256: checksum, reason } = entry ?? {};
            if (typeof checksum !== "string" || !/^[0-9a-f]{64}$/.test(checksum)) throw new Error(`${file}: ${name}: sha256 must be 64 lowercase hex digits, got ${JSON.stringify(checksum)}`);
            if (typeof reason !== "string" || !reason.trim()) throw new Error(`${file}: ${name}: entry ${checksum.slice(0, 12)}… needs a reason`);
            if (checksum === migration.checksum) throw new Error(`${file}: ${name}: ${checksum.slice(0, 12)}… is the file's current checksum, not a superseded one`);
            accepted.set(checksum, reason.trim());
        }
        result.set(name, accepted);
    }
    return result;
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
    name        text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    applied_by  text NOT NULL DEFAULT current_user,
    duration_ms integer NOT NULL
);
CREATE TABLE IF NOT EXISTS schema_migration_repairs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    old_checksum text NOT NULL,
    new_checksum text NOT NULL,
    reason       text NOT NULL,
    repaired_at  timestamptz NOT NULL DEFAULT now(),
    repaired_by  text NOT NULL DEFAULT session_user
)`;

async function readApplied(client: pg.ClientBase): Promise<AppliedMigration[]> {
    const exists = await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS exists");
    if (!exists.rows[0].exists) return [];
    const { rows } = await client.query("SELECT name, checksum, applied_at FROM schema_migrations ORDER BY name");
    return rows.map((r) => ({ name: r.name, checksum: r.checksum, appliedAt: r.applied_at }));
}

/** Compares the database with the files; throws on an edited (and not superseded) or vanished applied migration. */
function compare(files: MigrationFile[], applied: AppliedMigration[], superseded: SupersededChecksums): { pending: MigrationFile[]; repairs: MigrationRepair[] } {
    const byName = new Map(files.map((f) => [f.name, f]));
    const repairs: MigrationRepair[] = [];
    for (const a of applied) {
        const file = byName.get(a.name);
        if (!file) throw new Error(`migration ${a.name} is applied in the database but missing from the migrations folder`);
        const reason = superseded.get(a.name)?.get(a.checksum);
        if (file.checksum !== a.checksum && reason !== undefined) {
            repairs.push({ name: a.name, oldChecksum: a.checksum, newChecksum: file.checksum, reason });
        } else if (file.checksum !== a.checksum) {
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
    return { pending, repairs };
}

// Statements that need CREATEROLE (or ADMIN on a role), or a superuser (event triggers): appi_owner has
// neither, by design.
const ROLE_MANAGEMENT = /\b(CREATE|ALTER|DROP)\s+(ROLE|USER|GROUP)\b|\bCREATE\s+EVENT\s+TRIGGER\b/i;

/** True if the migration creates, alters or drops roles, or creates event triggers (anywhere, DO blocks included). */
export function managesRoles(sql: string): boolean {
    return ROLE_MANAGEMENT.test(sql.replace(/--[^\n]*/g, ""));
}

/**
 * Hands what the login created in the schema to the owner, as migrations/0015 did for everything: relations
 * (sequences owned by a column follow their table), functions, stand-alone types, and policies written for
 * the login by name. Kept here (not in a database function) so a login with more rights never runs code the
 * owner could have replaced. $1: the owner role.
 */
const HAND_OVER = `
DO $hand_over$
DECLARE
    me oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
    owner_name text := current_setting('appi.hand_over_to');
    ns oid := 'public'::regnamespace;
    obj record;
BEGIN
    FOR obj IN
        SELECT p.polname, p.polrelid::regclass AS rel,
               (SELECT string_agg(CASE WHEN r = me THEN quote_ident(owner_name) WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ', ')
                  FROM unnest(p.polroles) AS r) AS roles
        FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
        WHERE c.relnamespace = ns AND me = ANY (p.polroles)
    LOOP
        EXECUTE format('ALTER POLICY %I ON %s TO %s', obj.polname, obj.rel, obj.roles);
    END LOOP;
    FOR obj IN
        SELECT c.oid, c.relkind FROM pg_class c
        WHERE c.relnamespace = ns AND c.relowner = me AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i') AND d.refobjid <> c.oid)))
        ORDER BY c.oid
    LOOP
        CONTINUE WHEN (SELECT relowner FROM pg_class WHERE oid = obj.oid) <> me;
        EXECUTE format('ALTER %s %s OWNER TO %I',
                       CASE obj.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                                        WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                       obj.oid::regclass, owner_name);
    END LOOP;
    FOR obj IN
        SELECT p.oid, p.prokind FROM pg_proc p
        WHERE p.pronamespace = ns AND p.proowner = me
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', CASE obj.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
                       obj.oid::regprocedure, owner_name);
    END LOOP;
    FOR obj IN
        SELECT t.oid FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
        WHERE t.typnamespace = ns AND t.typowner = me
          AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND c.relkind = 'c'))
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO %I', obj.oid::regtype, owner_name);
    END LOOP;
END $hand_over$`;

/**
 * SET ROLE to the schema owner once it is the owner in this database (it owns schema_migrations: 0015 ran
 * here; the role itself is cluster-wide and may exist before that) and this session is not acting as it
 * already; false while it is not. Errors name the role when the login may not become it.
 */
export async function actAsOwner(client: pg.ClientBase, role: string): Promise<boolean> {
    const { rows } = await client.query(
        "SELECT current_user AS current, (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass('schema_migrations')) = $1 AS owns",
        [role],
    );
    if (!rows[0].owns) return false;
    if (rows[0].current === role) return true;
    try {
        await client.query(`SET ROLE ${client.escapeIdentifier(role)}`);
    } catch (err) {
        const e = err as { code?: string; message?: string };
        throw Object.assign(new Error(`cannot act as the schema owner ${role} (SET ROLE): ${e.message}; the login must be granted it (migrations/0015, db/README.md)`), { code: e.code });
    }
    return true;
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
    const superseded = loadSupersededChecksums(options.dir, files);
    return withClient(config, async (client) => {
        if (options.ownerRole) await actAsOwner(client, options.ownerRole);
        const applied = await readApplied(client);
        return { applied, ...compare(files, applied, superseded) };
    });
}

/** Applies the pending migrations; returns the names applied by this run. */
export async function migrate(config: pg.ClientConfig, options: MigrateOptions = {}): Promise<string[]> {
    const log = options.log ?? ((line: string) => console.log(line));
    const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    const lockRetries = options.lockRetries ?? DEFAULT_LOCK_RETRIES;
    const files = loadMigrations(options.dir);
    const superseded = loadSupersededChecksums(options.dir, files);
    const ownerRole = options.ownerRole;
    return withClient(config, async (client) => {
        let actingAsOwner = ownerRole ? await actAsOwner(client, ownerRole) : false;
        if (ownerRole && !actingAsOwner) log(`${ownerRole} does not own this database's schema yet: migrating as the login until a migration hands it over (0015)`);
        const login = await client.query("SELECT session_user AS name, (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = session_user) AS manages_roles");
        const loginName: string = login.rows[0].name;
        const loginManagesRoles: boolean = login.rows[0].manages_roles;
        await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
        try {
            await client.query(CREATE_TABLE);
            const { pending, repairs } = compare(files, await readApplied(client), superseded);
            if (repairs.length) {
                await client.query("BEGIN");
                try {
                    for (const r of repairs) {
                        await client.query("UPDATE schema_migrations SET checksum = $2 WHERE name = $1 AND checksum = $3", [r.name, r.newChecksum, r.oldChecksum]);
                        await client.query("INSERT INTO schema_migration_repairs (name, old_checksum, new_checksum, reason) VALUES ($1, $2, $3, $4)", [
                            r.name,
                            r.oldChecksum,
                            r.newChecksum,
                            r.reason,
                        ]);
                    }
                    await client.query("COMMIT");
                } catch (err) {
                    await client.query("ROLLBACK").catch(() => undefined);
                    throw err;
                }
                for (const r of repairs) {
                    log(`${r.name}: applied as ${r.oldChecksum.slice(0, 12)}…, a superseded content (${r.reason}); now recorded as ${r.newChecksum.slice(0, 12)}… (schema_migration_repairs)`);
                }
            }
            const done: string[] = [];
            for (const file of pending) {
                const started = Date.now();
                for (let attempt = 0; ; attempt++) {
                    try {
                        await client.query("BEGIN");
                        // Never queue behind a long transaction while blocking everyone queued behind us.
                        await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
                        // A file that manages roles runs with the login's own rights when it has them (the master
                        // user, a local superuser): appi_owner may not create roles. What it creates is then handed
                        // to the owner in the same transaction. migrator has no such rights: the file fails.
                        const asLogin = actingAsOwner && managesRoles(file.sql) && loginManagesRoles;
                        if (asLogin) await client.query("SET LOCAL ROLE NONE");
                        try {
                            await client.query(file.sql);
                        } catch (err) {
                            if ((err as { code?: string }).code === "42501" && actingAsOwner && managesRoles(file.sql) && !loginManagesRoles) {
                                const e = err as Error;
                                throw Object.assign(new Error(`${e.message} (${file.name} creates or alters roles or event triggers, which ${ownerRole} may not: run it once with the master user's login)`), { code: "42501" });
                            }
                            throw err;
                        }
                        if (asLogin) {
                            await client.query("SELECT set_config('appi.hand_over_to', $1, true)", [ownerRole]);
                            await client.query(HAND_OVER); // SET LOCAL ends with the transaction: back to the owner
                            log(`${file.name} manages roles: applied as ${loginName}, its objects handed to ${ownerRole}`);
                        }
                        await client.query("INSERT INTO schema_migrations (name, checksum, duration_ms) VALUES ($1, $2, $3)", [
                            file.name,
                            file.checksum,
                            Date.now() - started,
                        ]);
                        await client.query("COMMIT");
                        break;
                    } catch (err) {
                        await client.query("ROLLBACK").catch(() => undefined);
                        const code = (err as { code?: string }).code;
                        if (code === LOCK_NOT_AVAILABLE && attempt < lockRetries) {
                            const pauseMs = Math.min(30_000, 500 * 2 ** attempt);
                            log(`${file.name}: a lock was not granted within ${lockTimeoutMs} ms; retrying in ${pauseMs} ms (${attempt + 1}/${lockRetries})`);
                            await new Promise((resolve) => setTimeout(resolve, pauseMs));
                            continue;
                        }
                        const message = err instanceof Error ? err.message : String(err);
                        const hint = code === LOCK_NOT_AVAILABLE ? ` (still waiting for a lock after ${lockRetries + 1} attempts: a long transaction holds it)` : "";
                        throw Object.assign(new Error(`migration ${file.name} failed and was rolled back: ${message}${hint}`), { code });
                    }
                }
                log(`applied ${file.name} (${Date.now() - started} ms)`);
                done.push(file.name);
                // Follow a hand-over: the configured owner took the schema (0015 on a first deploy), or the owner we
                // act as handed it on (a database migrated before 0015, whose owner was the master user).
                if (ownerRole) {
                    const { rows } = await client.query(
                        "SELECT current_user AS current, (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass('schema_migrations')) AS owner",
                    );
                    const { current, owner } = rows[0];
                    if (owner && owner !== current && (owner === ownerRole || actingAsOwner) && (await actAsOwner(client, owner))) {
                        actingAsOwner = true;
                        log(`acting as ${owner} from here on`);
                    }
                }
            }
            if (!pending.length) log("database is up to date");
            return done;
        } finally {
            await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => undefined);
        }
    });
}
