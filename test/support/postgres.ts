// Real PostgreSQL for tests: DATABASE_URL when set (CI points it at the machine's PostgreSQL 15),
// otherwise one embedded PostgreSQL 16 per mocha process. Every test gets a database of its own,
// so several mocha processes (and several engineers) can share one server.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "pg";
import { startEmbeddedPostgres, EmbeddedServer } from "../../db/embedded";
import { DEFAULT_OWNER_ROLE, migrate } from "../../db/migrate";
import { TEST_IDENTITY_SECRET } from "./identity";

let serverUrlPromise: Promise<string> | undefined;
let embedded: EmbeddedServer | undefined;
let embeddedSettings: Record<string, string> = {};
const liveDatabases = new Set<{ drop(): Promise<void> }>();

/** Settings of the embedded server this process starts (before its first use; the benchmarks size its buffers). */
export function setTestServerSettings(settings: Record<string, string>): void {
    if (embedded || serverUrlPromise) throw new Error("setTestServerSettings: the test server is already running");
    embeddedSettings = { ...settings };
}

/** Server URL for tests: DATABASE_URL if set, else one embedded PostgreSQL 16 per mocha process (temp data dir, free port picked at runtime, stopped at process exit). */
export async function testServerUrl(): Promise<string> {
    if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
    serverUrlPromise ??= (async () => {
        const dataDir = mkdtempSync(path.join(tmpdir(), "appi-test-pg16-"));
        embedded = await startEmbeddedPostgres({ dataDir, persistent: false, settings: embeddedSettings });
        // A killed mocha cannot run async hooks: at least stop the server and remove its files.
        process.once("exit", () => {
            embedded?.killSync();
            rmSync(dataDir, { recursive: true, force: true });
        });
        return embedded.url;
    })();
    return serverUrlPromise;
}

/** Stops the embedded server (if this process started one) after dropping databases the tests left behind. */
export async function stopTestServer(): Promise<void> {
    for (const db of [...liveDatabases]) await db.drop().catch(() => undefined);
    if (embedded) {
        const server = embedded;
        embedded = undefined;
        serverUrlPromise = undefined;
        await server.stop();
    }
}

// Mocha keeps running while the postgres child process is alive: stop it after the last test.
// `after` at module level registers a root-suite hook (only when loaded by mocha).
declare const after: ((fn: () => Promise<void>) => void) | undefined;
if (typeof after === "function") after(stopTestServer);

function withDatabase(url: string, database: string): string {
    const u = new URL(url);
    u.pathname = `/${encodeURIComponent(database)}`;
    return u.toString();
}

function uniqueName(prefix: string, label: string): string {
    const slug = label.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 30);
    return `${prefix}_${slug || "db"}_${process.pid}_${randomBytes(4).toString("hex")}`.slice(0, 63);
}

async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: await testServerUrl() });
    await client.connect();
    try {
        return await fn(client);
    } finally {
        await client.end();
    }
}

export interface TestDatabase {
    /** URL of the new database, connecting as the server's admin (owner of everything the migrations create). */
    url: string;
    name: string;
    /**
     * A LOGIN role (unique name, random password) that is a member of the given group roles and
     * may connect to this database: the way applications log in, so row-level security applies.
     * Dropped together with the database.
     */
    loginUrl(...groups: string[]): Promise<string>;
    drop(): Promise<void>;
}

/** A brand-new empty database on that server (unique name), dropped by drop(). */
export async function freshDatabase(label: string): Promise<TestDatabase> {
    const serverUrl = await testServerUrl();
    const name = uniqueName("t", label);
    const roles: string[] = [];
    await withAdmin((c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
    const db: TestDatabase = {
        url: withDatabase(serverUrl, name),
        name,
        async loginUrl(...groups: string[]): Promise<string> {
            const role = uniqueName("login", groups.join("_"));
            const password = randomBytes(12).toString("hex");
            await withAdmin(async (c) => {
                await c.query(`CREATE ROLE ${c.escapeIdentifier(role)} LOGIN PASSWORD ${c.escapeLiteral(password)}`);
                roles.push(role);
                for (const group of groups) await c.query(`GRANT ${c.escapeIdentifier(group)} TO ${c.escapeIdentifier(role)}`);
                await c.query(`GRANT CONNECT ON DATABASE ${c.escapeIdentifier(name)} TO ${c.escapeIdentifier(role)}`);
            });
            const u = new URL(db.url);
            u.username = role;
            u.password = password;
            return u.toString();
        },
        async drop(): Promise<void> {
            liveDatabases.delete(db);
            await withAdmin(async (c) => {
                // pool.end() resolves before its sockets finish closing; terminating such a backend makes
                // the server's FATAL reach a client that no longer listens for errors (an uncaught error
                // in the test process). Let graceful closes finish first; FORCE only what remains after 5 s.
                for (let waited = 0; waited < 5000; waited += 50) {
                    const { rows } = await c.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]);
                    if (rows[0].n === 0) break;
                    await new Promise((resolve) => setTimeout(resolve, 50));
                }
                await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
                for (const role of roles) await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(role)}`);
            });
        },
    };
    liveDatabases.add(db);
    return db;
}

/** Installs the identity-token secret (owner only), as the deploy does with APP_IDENTITY_SECRET. */
export async function installIdentitySecret(url: string, secret: Buffer): Promise<void> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
        await client.query("SELECT app_set_identity_secret($1)", [secret]);
    } finally {
        await client.end();
    }
}

/** freshDatabase + all migrations applied + the test identity secret installed. */
export async function migratedDatabase(label: string): Promise<TestDatabase> {
    const db = await freshDatabase(label);
    try {
        // As production does: 0015 onwards as the schema owner appi_owner, not as the superuser.
        await migrate({ connectionString: db.url }, { log: () => undefined, ownerRole: DEFAULT_OWNER_ROLE });
        await installIdentitySecret(db.url, TEST_IDENTITY_SECRET);
    } catch (err) {
        await db.drop();
        throw err;
    }
    return db;
}
