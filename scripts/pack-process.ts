// Starts a policy pack exactly as the Pulumi engine's Node.js analyzer plugin does:
// `node node_modules/@pulumi/pulumi/cmd/run-policy-pack <engine-address> <pack-dir>`
// with the pack directory as cwd; the pack prints its gRPC port as the first line on
// stdout. Shared by the pack tests and `npm run bench -- --only pack`.
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";

export interface StartedPack {
    port: number;
    /** Milliseconds from spawn to the port line: what the engine waits for. */
    readyMs: number;
    child: ChildProcess;
    stderr(): string;
    stop(): Promise<void>;
}

/** The run-policy-pack the engine would use: the pack's own @pulumi/pulumi when it has one. */
export function runPolicyPackFor(packDir: string): string {
    const own = path.join(packDir, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
    if (fs.existsSync(own)) return own;
    return path.join(path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [packDir] })), "cmd", "run-policy-pack");
}

export async function startPack(packDir: string, options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<StartedPack> {
    // No ts-node settings leak in from a test runner: the pack starts as it would under the CLI.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TS_NODE_")));
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [runPolicyPackFor(packDir), "127.0.0.1:1", packDir], {
        cwd: packDir,
        env: { ...env, ...options.env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += String(d)));
    const stop = () =>
        new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
        });
    const timeoutMs = options.timeoutMs ?? 60_000;
    try {
        const port = await new Promise<number>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`policy pack printed no port within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
            readline.createInterface({ input: child.stdout! }).once("line", (line) => {
                clearTimeout(timer);
                const port = Number(line.trim());
                if (Number.isInteger(port) && port > 0) resolve(port);
                else reject(new Error(`first stdout line must be the port, got ${JSON.stringify(line)}:\n${stderr}`));
            });
            child.once("exit", (code) => {
                clearTimeout(timer);
                reject(new Error(`policy pack exited with ${code} before printing its port:\n${stderr}`));
            });
        });
        const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
        return { port, readyMs, child, stderr: () => stderr, stop };
    } catch (err) {
        await stop();
        throw err;
    }
}
