// `npm run db:test`: the spec's connectivity validation. Each check says what it found and, when it
// fails, how to fix it.
import pg from "pg";
import { createClient } from "redis";
import { migrationStatus } from "./migrate";

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface CheckResult {
    name: string;
    status: CheckStatus;
    detail: string;
    fix?: string;
}

export const REQUIRED_ROLES = ["pii_read", "pii_write", "pii_audit"];
const MIN_SERVER_VERSION = 150000;

function message(err: unknown): string {
    return err instanceof Error ? err.message || err.constructor.name : String(err);
}

export async function checkPostgres(config: pg.ClientConfig, options: { migrationsDir?: string } = {}): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    const client = new pg.Client({ ...config, connectionTimeoutMillis: config.connectionTimeoutMillis ?? 10_000 });
    client.on("error", () => undefined);
    try {
        await client.connect();
    } catch (err) {
        return [
            {
                name: "PostgreSQL connection",
                status: "fail",
                detail: message(err),
                fix: "check DATABASE_URL (or DB_PROXY_ENDPOINT / DB_USER / DB_NAME / AWS_REGION in AWS), that the server is up and that the security group admits this host",
            },
        ];
    }
    try {
        const info = await client.query(
            "SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS num, current_user AS who, current_database() AS db",
        );
        const { version, num, who, db } = info.rows[0];
        results.push({ name: "PostgreSQL connection", status: "ok", detail: `connected to ${db} as ${who}` });
        results.push(
            num >= MIN_SERVER_VERSION
                ? { name: "PostgreSQL version", status: "ok", detail: version }
                : { name: "PostgreSQL version", status: "fail", detail: version, fix: "PostgreSQL 15 or newer is required (RDS engine version 16)" },
        );

        const ssl = await client.query("SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
        const tls = ssl.rows[0] ?? { ssl: false };
        const asked = Boolean(config.ssl);
        if (tls.ssl) {
            const weak = !["TLSv1.2", "TLSv1.3"].includes(tls.version);
            results.push({
                name: "TLS",
                status: weak ? "fail" : "ok",
                detail: `${tls.version} (${tls.cipher})`,
                fix: weak ? "set ssl_min_protocol_version = 'TLSv1.2' (TLSv1.3 on PostgreSQL 16) in the parameter group" : undefined,
            });
        } else {
            results.push({
                name: "TLS",
                status: asked ? "fail" : "warn",
                detail: "connection is not encrypted",
                fix: asked
                    ? "the server accepted a plaintext connection although TLS was requested: enable ssl on the server (rds.force_ssl = 1)"
                    : "add ?sslmode=verify-full (or require) to DATABASE_URL for any non-local database",
            });
        }

        try {
            const status = await migrationStatus(config, { dir: options.migrationsDir });
            results.push(
                status.pending.length
                    ? {
                          name: "migrations",
                          status: "fail",
                          detail: `${status.applied.length} applied, pending: ${status.pending.map((f) => f.name).join(", ")}`,
                          fix: "run npm run db:migrate",
                      }
                    : { name: "migrations", status: "ok", detail: `${status.applied.length} applied, none pending` },
            );
        } catch (err) {
            results.push({ name: "migrations", status: "fail", detail: message(err), fix: "see the message; never edit an applied migration" });
        }

        const rls = await client.query(`
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition  -- months of audit_log: owner-only, read through the parent
              AND (c.relname = 'users' OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped))
            ORDER BY c.relname`);
        const unprotected = rls.rows.filter((r) => !r.relrowsecurity || !r.relforcerowsecurity).map((r) => r.relname);
        if (!rls.rows.length) {
            results.push({ name: "row-level security", status: "fail", detail: "no user tables found", fix: "run npm run db:migrate" });
        } else if (unprotected.length) {
            results.push({
                name: "row-level security",
                status: "fail",
                detail: `not enabled and forced on: ${unprotected.join(", ")}`,
                fix: `ALTER TABLE <table> ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY with policies on user_id, in a new migration`,
            });
        } else {
            results.push({ name: "row-level security", status: "ok", detail: `enabled and forced on ${rls.rows.length} user tables` });
        }

        const roles = await client.query("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1)", [REQUIRED_ROLES]);
        const present = new Map(roles.rows.map((r) => [r.rolname as string, r.rolcanlogin as boolean]));
        const missing = REQUIRED_ROLES.filter((r) => !present.has(r));
        const canLogin = REQUIRED_ROLES.filter((r) => present.get(r));
        if (missing.length) {
            results.push({ name: "roles", status: "fail", detail: `missing: ${missing.join(", ")}`, fix: "run npm run db:migrate (it creates the group roles)" });
        } else if (canLogin.length) {
            results.push({ name: "roles", status: "fail", detail: `group roles that can log in: ${canLogin.join(", ")}`, fix: `ALTER ROLE ${canLogin[0]} NOLOGIN; applications log in as members` });
        } else {
            results.push({ name: "roles", status: "ok", detail: `${REQUIRED_ROLES.join(", ")} present (NOLOGIN)` });
        }
    } finally {
        await client.end().catch(() => undefined);
    }
    return results;
}

export async function checkRedis(redisUrl: string | undefined): Promise<CheckResult[]> {
    if (!redisUrl) {
        return [{ name: "Redis", status: "skip", detail: "REDIS_URL is not set", fix: "set REDIS_URL (rediss://:token@host:6379 for ElastiCache with TLS and AUTH)" }];
    }
    let url: URL;
    try {
        url = new URL(redisUrl);
    } catch {
        return [{ name: "Redis", status: "fail", detail: "REDIS_URL is not a valid URL", fix: "use redis://host:6379 or rediss://:token@host:6379" }];
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
        return [{ name: "Redis", status: "fail", detail: `REDIS_URL scheme ${url.protocol} is not redis: or rediss:`, fix: "use redis://host:6379 or rediss://:token@host:6379" }];
    }
    const tls = url.protocol === "rediss:";
    let lastError: unknown;
    const client = createClient({ url: redisUrl, socket: { connectTimeout: 5_000, reconnectStrategy: false } });
    client.on("error", (err) => (lastError = err));
    try {
        await client.connect();
        const pong = await client.ping();
        const info = await client.info("server");
        const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
        const results: CheckResult[] = [
            { name: "Redis", status: pong === "PONG" ? "ok" : "fail", detail: `Redis ${version} at ${url.host} answered ${pong}` },
            tls
                ? { name: "Redis TLS", status: "ok", detail: "rediss:// (TLS)" }
                : { name: "Redis TLS", status: "warn", detail: "redis:// is not encrypted", fix: "use rediss:// with ElastiCache transit encryption for any non-local Redis" },
        ];
        if (url.password) results.push({ name: "Redis AUTH", status: "ok", detail: "authenticated with the token from REDIS_URL" });
        return results;
    } catch (err) {
        return [
            {
                name: "Redis",
                status: "fail",
                detail: message(lastError ?? err),
                fix: tls
                    ? "check REDIS_URL host, port and AUTH token, and that the security group admits this host"
                    : "check REDIS_URL host and port; ElastiCache with transit encryption needs rediss://",
            },
        ];
    } finally {
        if (client.isOpen) await client.quit().catch(() => undefined);
    }
}

export function formatResults(results: CheckResult[]): string {
    const mark: Record<CheckStatus, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL", skip: "skip" };
    return results
        .map((r) => `${mark[r.status]}  ${r.name}: ${r.detail}${r.fix && r.status !== "ok" ? `\n      fix: ${r.fix}` : ""}`)
        .join("\n");
}
