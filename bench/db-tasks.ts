// `npm run bench -- --only db-tasks`: what the 15-minute retention build starts, the db-tasks bundle
// (`npm run build:db-tasks`), against what it started before, the TypeScript CLI through ts-node after
// `npm ci`: start time (median of three `--help` starts, same machine, same run) and what has to be
// present on the build host (the bundle's bytes against the installed node_modules').
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildDbTasks, DB_TASKS_ENTRY } from "../db/build-tasks";
import { median } from "./stats";
import { BenchRow, BenchSection } from "./types";

const ROOT = path.resolve(__dirname, "..");

function startSeconds(args: string[], cwd: string): number {
    const started = performance.now();
    execFileSync(process.execPath, args, { cwd, stdio: "ignore", env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    return (performance.now() - started) / 1000;
}

/** Bytes under a folder (files only; symlinks not followed). */
function folderBytes(dir: string): number {
    let total = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) total += folderBytes(full);
        else if (entry.isFile()) total += statSync(full).size;
    }
    return total;
}

export const section: BenchSection = {
    title: "db-tasks bundle (what the migration and 15-minute retention builds run)",
    async run(): Promise<BenchRow[]> {
        const outDir = mkdtempSync(path.join(tmpdir(), "appi-db-tasks-bench-"));
        try {
            const bundle = await buildDbTasks(outDir);
            const tsNode = require.resolve("ts-node/dist/bin.js");
            const bundled = median([0, 1, 2].map(() => startSeconds([DB_TASKS_ENTRY, "--help"], outDir)));
            const viaTsNode = median([0, 1, 2].map(() => startSeconds([tsNode, "--transpile-only", path.join("db", "cli.ts"), "--help"], ROOT)));
            const bundleBytes = folderBytes(outDir);
            const installedBytes = folderBytes(path.join(ROOT, "node_modules"));
            return [
                { name: "db task start (bundle, median of 3)", value: bundled, unit: "s", referenceLabel: "ts-node db/cli.ts after npm ci", reference: viaTsNode, goalRatio: 0.5 },
                { name: `bundle on the build host (${bundle.migrations.length} migrations)`, value: bundleBytes / 1e6, unit: "MB", referenceLabel: "node_modules npm ci installs", reference: installedBytes / 1e6, goalRatio: 0.05 },
            ];
        } finally {
            rmSync(outDir, { recursive: true, force: true });
        }
    },
};
