// Shared by the runner tests: fixture paths and running a CLI body in-process
// (spawning ts-node per case would cost seconds each).
import * as path from "node:path";
import { runCli } from "../../../policies/runners/cli-support";

export const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures");
export const fixture = (name: string) => path.join(FIXTURES, name);

export interface CliResult {
    code: number;
    stdout: string;
    stderr: string;
}

export async function runInProcess(name: string, body: () => Promise<number> | number): Promise<CliResult> {
    let stdout = "";
    let stderr = "";
    const out = process.stdout.write;
    const err = process.stderr.write;
    const saved = process.exitCode;
    process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
    try {
        await runCli(name, body);
        return { code: Number(process.exitCode ?? 0), stdout, stderr };
    } finally {
        process.stdout.write = out;
        process.stderr.write = err;
        process.exitCode = saved;
    }
}
