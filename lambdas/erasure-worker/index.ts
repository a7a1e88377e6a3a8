// Erasure worker, run every minute by EventBridge (components/erasure-worker.ts): carries deletion requests
// to every store outside the database (Cognito, the Redis cache), reports each step to the database, and
// publishes the erasure metrics the alarms read. Logs counts and error codes only.
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import type { Pool } from "pg";
import { createClient } from "redis";
import { getPool } from "../../lib/db";
import { cacheEraser, cognitoEraser, Eraser, ErasureRunSummary, errorCode, publishErasureMetrics, runErasurePass } from "../../lib/erasure";
import type { CacheClient } from "../../lib/cache-keys";

export { closePool } from "../../lib/db";

export interface ErasureWorkerDeps {
    pool: () => Pool;
    erasers: () => Promise<Record<string, Eraser>>;
    cloudwatch: () => CloudWatchClient;
    stack: string;
}

function required(name: string): string {
    const value = process.env[name];
    if (!value) throw new Error(`erasure-worker: environment variable ${name} is not set`);
    return value;
}

let cache: (CacheClient & { isOpen: boolean; connect(): Promise<unknown> }) | undefined;

/** The production wiring: the Cognito pool and Redis (TLS, AUTH token) from the environment. */
async function awsErasers(): Promise<Record<string, Eraser>> {
    if (!cache) {
        const client = createClient({
            socket: { host: required("REDIS_HOST"), port: 6379, tls: true, connectTimeout: 5_000 },
            password: required("REDIS_AUTH_TOKEN"),
        });
        client.on("error", () => undefined); // reconnects; a failing step records the error code
        cache = client as unknown as typeof cache;
    }
    if (!cache!.isOpen) await cache!.connect();
    return {
        cognito: cognitoEraser(new CognitoIdentityProviderClient({}), required("USER_POOL_ID")),
        cache: cacheEraser(cache!),
    };
}

export function makeHandler(deps: ErasureWorkerDeps): () => Promise<ErasureRunSummary> {
    return async () => {
        const started = Date.now();
        try {
            const run = await runErasurePass(deps.pool(), await deps.erasers());
            await publishErasureMetrics(deps.cloudwatch(), run, deps.stack);
            console.log(JSON.stringify({ level: run.failed ? "warn" : "info", job: "erasure-worker", durationMs: Date.now() - started,
                claimed: run.claimed, done: run.done, failed: run.failed, ...run.status }));
            return run;
        } catch (err) {
            console.log(JSON.stringify({ level: "error", job: "erasure-worker", durationMs: Date.now() - started, errorCode: errorCode(err) }));
            throw err;
        }
    };
}

export const handler = makeHandler({
    pool: () => getPool(),
    erasers: awsErasers,
    cloudwatch: () => new CloudWatchClient({}),
    stack: process.env.STACK_NAME ?? "unknown",
});
