// `npm run bench -- --only lambdas`: the PostConfirmation handler's warm latency against local PostgreSQL
// (beside the 50 ms goal and Cognito's 5 s trigger limit) and each esbuild bundle's size (beside 1 MB).
// Local PostgreSQL: DATABASE_URL when set, else an embedded PostgreSQL 16, as the tests use.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { buildLambdas } from "../lambdas/build";
import { createPostConfirmationHandler } from "../lambdas/post-confirmation";
import { localKeySet, PiiCipher } from "../lib/crypto";
import { migratedDatabase, stopTestServer } from "../test/support/postgres";
import { postConfirmationEvent } from "../test/lambdas/support";
import { BenchRow, BenchSection } from "./types";
import { percentile } from "./stats";

const COGNITO_LIMIT_MS = 5_000;
const GOAL_P99_MS = 50;
const BUNDLE_GOAL_BYTES = 1_000_000;

async function measurePostConfirmation(invocations: number): Promise<{ p50: number; p99: number }> {
    const db = await migratedDatabase("bench_lambdas");
    // As in AWS: a pii_write login under row-level security, a pool of 2 as lib/db gives a Lambda.
    const pool = new pg.Pool({ connectionString: await db.loginUrl("pii_write"), max: 2 });
    try {
        const cipher = new PiiCipher(localKeySet(randomBytes(32)));
        const handler = createPostConfirmationHandler({ pool: () => pool, cipher: () => cipher, principal: "bench" });
        const silence = console.log;
        console.log = () => undefined; // the handler's one log line per invocation
        const times: number[] = [];
        try {
            // Warm-up: connections opened, code paths compiled, as in a warm Lambda container.
            for (let i = 0; i < 20; i++) await handler(postConfirmationEvent());
            for (let i = 0; i < invocations; i++) {
                // Every invocation a new sign-up with all six encrypted fields (three of them level 3).
                const event = postConfirmationEvent();
                const started = performance.now();
                await handler(event);
                times.push(performance.now() - started);
            }
        } finally {
            console.log = silence;
        }
        times.sort((a, b) => a - b);
        return { p50: percentile(times, 50), p99: percentile(times, 99) };
    } finally {
        await pool.end();
        await db.drop();
        await stopTestServer();
    }
}

export const section: BenchSection = {
    title: "Cognito Lambdas (PostConfirmation warm latency, bundle sizes)",
    async run({ scale }): Promise<BenchRow[]> {
        const invocations = Math.max(100, Math.round(1_000 * scale));
        const { p50, p99 } = await measurePostConfirmation(invocations);
        const outDir = mkdtempSync(path.join(tmpdir(), "appi-lambda-bench-"));
        let bundles;
        try {
            bundles = await buildLambdas(outDir);
        } finally {
            rmSync(outDir, { recursive: true, force: true });
        }
        const goalRatio = GOAL_P99_MS / COGNITO_LIMIT_MS;
        return [
            { name: `PostConfirmation warm p50 (${invocations} sign-ups, 6 encrypted fields)`, value: p50, unit: "ms", referenceLabel: "Cognito trigger limit", reference: COGNITO_LIMIT_MS, goalRatio },
            { name: `PostConfirmation warm p99 (${invocations} sign-ups, 6 encrypted fields)`, value: p99, unit: "ms", referenceLabel: "Cognito trigger limit", reference: COGNITO_LIMIT_MS, goalRatio },
            ...bundles.map((b) => ({ name: `${b.name} bundle size (esbuild, minified)`, value: b.bytes / 1_000, unit: "kB", referenceLabel: "goal 1 MB", reference: BUNDLE_GOAL_BYTES / 1_000 })),
        ];
    },
};
