// `npm run keys:reencrypt -- [--batch-size 500] [--verify-sample 100]`: after a PII key rotation (the new
// key version deployed: PII_LOCAL_KEY_VERSION locally, or the new ARN current and the old one in
// PII_*_PREVIOUS_KEY_ARNS), re-encrypts every field still under an old version. Resumes an interrupted run.
// Connection: DATABASE_URL (the schema owner / migration user); keys: the same environment as the Lambdas.
import pg from "pg";
import { connectionConfigFromEnv } from "../lib/db";
import { keySetFromEnv, PiiCipher } from "../lib/crypto";
import { progressPrinter, reencryptAll } from "../lib/key-rotation";

const USAGE = "usage: npm run keys:reencrypt -- [--batch-size N (1-10000, default 500)] [--verify-sample N (default 100)]";

export function parseKeysArgs(argv: string[]): { batchSize: number; verifySample: number } | { help: true } {
    const out = { batchSize: 500, verifySample: 100 };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--help" || arg === "-h") return { help: true };
        if (arg === "--batch-size" || arg === "--verify-sample") {
            const text = argv[++i];
            const value = Number(text);
            if (text === undefined || !/^\d+$/.test(text) || value < 1) throw new Error(`${arg} needs a positive integer, got ${text ?? "nothing"}`);
            if (arg === "--batch-size") out.batchSize = value;
            else out.verifySample = value;
            continue;
        }
        throw new Error(`unknown option ${arg}`);
    }
    return out;
}

if (require.main === module) {
    (async () => {
        let args;
        try {
            args = parseKeysArgs(process.argv.slice(2));
        } catch (err) {
            console.error(`keys:reencrypt: ${(err as Error).message}\n${USAGE}`);
            return 2;
        }
        if ("help" in args) {
            console.log(USAGE);
            return 0;
        }
        const cipher = new PiiCipher(keySetFromEnv(process.env));
        const client = new pg.Client(await connectionConfigFromEnv(process.env));
        await client.connect();
        try {
            const result = await reencryptAll(client, cipher, {
                initiatedBy: process.env.USER ?? process.env.CODEBUILD_BUILD_ID ?? "keys:reencrypt",
                batchSize: args.batchSize,
                verifySample: args.verifySample,
                onProgress: progressPrinter(process.stderr),
            });
            process.stderr.write("\n");
            console.log(`rotation ${result.rotationId}: ${result.reEncrypted} field(s) re-encrypted, ${result.skipped} skipped, ${result.verified} verified under the current keys alone${result.resumed ? " (resumed)" : ""}`);
            return 0;
        } finally {
            await client.end();
        }
    })().then(
        (code) => process.exit(code),
        (err) => {
            console.error(`\nkeys:reencrypt: ${err instanceof Error ? err.message : String(err)}`);
            process.exit(1);
        },
    );
}
