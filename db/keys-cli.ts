// `npm run keys:reencrypt -- [--batch-size 500] [--verify-sample 100]`: after a PII key rotation (the new
// key version deployed: PII_LOCAL_KEY_VERSION locally, or the new ARN current and the old one in
// PII_*_PREVIOUS_KEY_ARNS), re-encrypts every field still under an old version. Resumes an interrupted run.
// Connection: DATABASE_URL (the schema owner / migration user); keys: the same environment as the Lambdas.
import pg from "pg";
import { connectionConfigFromEnv } from "../lib/db";
import { keySetFromEnv, PiiCipher } from "../lib/crypto";
import { progressPrinter, reencryptAll } from "../lib/key-rotation";
import { CommandSpec, parseCommandLine, printHelp, runCli } from "../policies/runners/cli-support";
import { InputError } from "../policies/runners/errors";

export const KEYS_REENCRYPT_COMMAND = {
    invocation: "npm run keys:reencrypt --",
    summary: "Re-encrypts every PII field still under an old key version, in batches; resumes an interrupted run.",
    options: {
        "batch-size": { type: "string", value: "N", description: "fields per batch, 1-10000 (default 500)" },
        "verify-sample": { type: "string", value: "N", description: "fields decrypted with the current keys alone afterwards (default 100)" },
    },
    epilogue: ["Connection: DATABASE_URL (the schema owner / migration user); keys: the same environment as the Lambdas.", "Exit codes: 0 done, 1 failed (resume by running it again), 2 bad usage."],
} satisfies CommandSpec;

function positiveInteger(option: string, text: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1 || value > max) throw new InputError(`--${option} needs a positive integer${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ""}, got ${text}`);
    return value;
}

export function parseKeysArgs(argv: string[]): { batchSize: number; verifySample: number } | { help: true; usage: string } {
    const line = parseCommandLine(KEYS_REENCRYPT_COMMAND, argv);
    if (line.help) return { help: true, usage: line.usage };
    return { batchSize: positiveInteger("batch-size", line.values["batch-size"], 500, 10_000), verifySample: positiveInteger("verify-sample", line.values["verify-sample"], 100) };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
    const args = parseKeysArgs(argv);
    if ("help" in args) return printHelp(args.usage);
    let keys;
    try {
        keys = keySetFromEnv(env);
    } catch (err) {
        // Missing or contradictory key settings are bad input (exit 2), not a crash.
        throw new InputError(`key settings: ${(err as Error).message}`);
    }
    const cipher = new PiiCipher(keys);
    const client = new pg.Client(await connectionConfigFromEnv(env));
    try {
        await client.connect();
        const result = await reencryptAll(client, cipher, {
            initiatedBy: env.USER ?? env.CODEBUILD_BUILD_ID ?? "keys:reencrypt",
            batchSize: args.batchSize,
            verifySample: args.verifySample,
            onProgress: progressPrinter(process.stderr),
        });
        process.stderr.write("\n");
        console.log(`rotation ${result.rotationId}: ${result.reEncrypted} field(s) re-encrypted, ${result.skipped} skipped, ${result.verified} verified under the current keys alone${result.resumed ? " (resumed)" : ""}`);
        return 0;
    } catch (err) {
        // A failed run is recorded and resumable: say so, without a stack trace.
        process.stderr.write(`\nkeys:reencrypt: ${err instanceof Error ? err.message : String(err)} (run it again to resume)\n`);
        return 1;
    } finally {
        await client.end().catch(() => undefined);
    }
}

if (require.main === module) void runCli("keys:reencrypt", () => main(process.argv.slice(2)));
