// Database command line: `npm run db:migrate | db:status | db:test | db:retention`.
// Connection: DATABASE_URL, or in AWS the RDS Proxy variables (see lib/db.ts); with neither, the local
// embedded PostgreSQL 16 under .data/pg16, so a newcomer needs nothing installed.
import path from "node:path";
import pg from "pg";
import { identitySecretFromEnv } from "../lib/crypto";
import { connectionConfigFromEnv } from "../lib/db";
import { CommandSpec, parseCommandLine } from "../policies/runners/cli-support";
import { InputError } from "../policies/runners/errors";
import { checkPostgres, checkRedis, formatResults } from "./connectivity";
import { startLocalCluster } from "./embedded";
import { actAsOwner, DEFAULT_OWNER_ROLE, migrate, migrationStatus } from "./migrate";
import { runRetention } from "./retention";

const LOCAL_DATABASE = "appi";
const COMMANDS = ["migrate", "status", "test", "retention"] as const;
type Command = (typeof COMMANDS)[number];

interface Target {
    config: pg.ClientConfig;
    description: string;
    close(): Promise<void>;
}

async function resolveTarget(env: NodeJS.ProcessEnv): Promise<Target> {
    if (env.DATABASE_URL || env.DB_PROXY_ENDPOINT) {
        const config = await connectionConfigFromEnv(env);
        const description = env.DATABASE_URL ? "DATABASE_URL" : `RDS Proxy ${env.DB_PROXY_ENDPOINT}`;
        return { config, description, close: async () => undefined };
    }
    // DB_LOCAL_DATA_DIR: somewhere else than the repository's .data (the tests use a temporary folder).
    const dataRoot = env.DB_LOCAL_DATA_DIR ? path.resolve(env.DB_LOCAL_DATA_DIR) : path.resolve(__dirname, "..", ".data");
    const server = await startLocalCluster(dataRoot);
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
        const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [LOCAL_DATABASE]);
        if (!exists.rowCount) await admin.query(`CREATE DATABASE ${LOCAL_DATABASE}`);
    } finally {
        await admin.end();
    }
    const url = new URL(server.url);
    url.pathname = `/${LOCAL_DATABASE}`;
    return {
        config: { connectionString: url.toString() },
        description: `embedded PostgreSQL 16 in ${path.relative(process.cwd(), path.join(dataRoot, "pg16")) || dataRoot} (port ${server.port}; DATABASE_URL not set)`,
        close: () => server.stop(),
    };
}

/**
 * The schema owner the tasks act as (SET ROLE): DB_OWNER_ROLE, by default appi_owner (migrations/0015);
 * DB_OWNER_ROLE= (empty) acts as the login itself. migrator inherits nothing: without it, it reads nothing.
 */
export function ownerRoleFromEnv(env: NodeJS.ProcessEnv): string | undefined {
    const role = env.DB_OWNER_ROLE ?? DEFAULT_OWNER_ROLE;
    if (!role) return undefined;
    if (!/^[a-z_][a-z0-9_$]{0,62}$/.test(role)) throw new InputError(`DB_OWNER_ROLE=${JSON.stringify(role)} is not a role name (lowercase letters, digits, _)`);
    return role;
}

/** A connected client acting as the schema owner when it exists (the tasks other than migrate). */
async function ownerClient(config: pg.ClientConfig, ownerRole: string | undefined): Promise<pg.Client> {
    const client = new pg.Client(config);
    await client.connect();
    try {
        if (ownerRole && !(await actAsOwner(client, ownerRole))) console.log(`${ownerRole} does not own this database's schema (yet): acting as the login (npm run db:migrate hands it over)`);
        return client;
    } catch (err) {
        await client.end();
        throw err;
    }
}

async function run(command: Command, env: NodeJS.ProcessEnv): Promise<number> {
    const ownerRole = ownerRoleFromEnv(env);
    const target = await resolveTarget(env);
    console.log(`database: ${target.description}`);
    try {
        switch (command) {
            case "migrate": {
                const applied = await migrate(target.config, { ownerRole });
                console.log(`${applied.length} migration(s) applied`);
                // The identity-token secret the API and Lambdas share with the database (migrations/0005).
                if (env.APP_IDENTITY_SECRET) {
                    const client = await ownerClient(target.config, ownerRole);
                    try {
                        await client.query("SELECT app_set_identity_secret($1)", [identitySecretFromEnv(env)]);
                    } finally {
                        await client.end();
                    }
                    console.log("identity secret installed from APP_IDENTITY_SECRET");
                } else {
                    console.log("APP_IDENTITY_SECRET not set: identity tokens verify only once it is installed (db/README.md)");
                }
                return 0;
            }
            case "status": {
                const status = await migrationStatus(target.config, { ownerRole });
                for (const a of status.applied) console.log(`applied  ${a.name}  ${a.appliedAt.toISOString()}  ${a.checksum.slice(0, 12)}`);
                for (const r of status.repairs) console.log(`superseded  ${r.name}  ${r.oldChecksum.slice(0, 12)} accepted, recorded as ${r.newChecksum.slice(0, 12)} at the next migrate: ${r.reason}`);
                for (const p of status.pending) console.log(`pending  ${p.name}`);
                console.log(`${status.applied.length} applied, ${status.pending.length} pending`);
                return 0;
            }
            case "test": {
                const results = [...(await checkPostgres(target.config)), ...(await checkRedis(env.REDIS_URL))];
                console.log(formatResults(results));
                const failed = results.filter((r) => r.status === "fail");
                console.log(failed.length ? `${failed.length} check(s) failed` : "all checks passed");
                return failed.length ? 1 : 0;
            }
            case "retention": {
                const client = await ownerClient(target.config, ownerRole);
                try {
                    const summary = await runRetention(client);
                    console.log(
                        `retention: ${summary.deletionRequestsCompleted} deletion request(s) completed, ` +
                            `${summary.usersErasedForRetention} user(s) erased past retention, ` +
                            `${summary.auditRowsPurged} audit row(s) and ${summary.provisionRecordsPurged} provision record(s) purged`,
                    );
                } finally {
                    await client.end();
                }
                return 0;
            }
        }
    } finally {
        await target.close();
    }
}

export const DB_COMMAND = {
    invocation: "ts-node db/cli.ts",
    positionals: { name: COMMANDS.join("|"), min: 1, max: 1, description: "what to do (npm run db:migrate, db:status, db:test, db:retention)" },
    summary:
        "Database tasks. Connects with DATABASE_URL, or in AWS the RDS Proxy variables (DB_PROXY_ENDPOINT, see lib/db.ts); with neither, an embedded PostgreSQL 16 under .data/pg16.",
    options: {},
    epilogue: ["Exit codes: 0 done, 1 a check or task failed, 2 bad usage."],
} satisfies CommandSpec;

/** The command to run, or undefined when --help was asked; InputError on bad usage. */
export function parseDbCommandLine(argv: string[]): { help: string } | { command: Command } {
    const line = parseCommandLine(DB_COMMAND, argv);
    if (line.help) return { help: line.usage };
    const command = line.positionals[0];
    if (!COMMANDS.includes(command as Command)) throw new InputError(`unknown command "${command}" (one of ${COMMANDS.join(", ")}); see ts-node db/cli.ts --help`);
    return { command: command as Command };
}

if (require.main === module) {
    let parsed: ReturnType<typeof parseDbCommandLine>;
    try {
        parsed = parseDbCommandLine(process.argv.slice(2));
    } catch (err) {
        console.error(`db: ${(err as Error).message}`);
        process.exit(2);
    }
    if ("help" in parsed) {
        process.stdout.write(parsed.help);
        process.exit(0);
    }
    const { command } = parsed;
    run(command, process.env).then(
        (code) => process.exit(code),
        (err) => {
            console.error(`db:${command}: ${err instanceof Error ? err.message : String(err)}`);
            process.exit(1);
        },
    );
}

export { resolveTarget, run };
export type { Target };
