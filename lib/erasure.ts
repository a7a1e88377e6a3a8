// The erasure worker's logic, shared by the Lambda (lambdas/erasure-worker) and the tests: claim the due
// steps from the database (erasure_claim_steps), erase each in its store, report each outcome back
// (erasure_record_step). The database decides when a deletion request is completed (all steps done) and
// sets every timestamp; this module never sees PII (user ids are pseudonymous Cognito subs) and reports
// failures as error codes only.
import type pg from "pg";
import {
    AdminDeleteUserCommand,
    CognitoIdentityProviderClient,
    ListUsersCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { CacheClient, eraseUserCache } from "./cache-keys";

/** Erases one user's data in one store; throws on failure (the error's name/code is recorded). */
export type Eraser = (userId: string) => Promise<void>;

export interface ClaimedStep {
    deletionRequestId: string;
    userId: string;
    store: string;
    attempt: number;
}

export interface ErasureStatus {
    pendingRequests: number;
    overdueRequests: number;
    oldestOverdueMinutes: number | null;
    stuckSteps: number;
    failingSteps: number;
}

export interface ErasureRunSummary {
    claimed: number;
    done: number;
    failed: number;
    /** Steps of a store this worker has no eraser for (a configuration error: alarmed as stuck later). */
    unknownStore: number;
    status: ErasureStatus;
}

/** The error code recorded for a failed step: the SDK's exception name or a Node/pg code, never a message. */
export function errorCode(err: unknown): string {
    const e = err as { name?: unknown; code?: unknown };
    const raw = typeof e?.code === "string" ? e.code : typeof e?.name === "string" ? e.name : "Unknown";
    return /^[A-Za-z0-9_.:-]{1,100}$/.test(raw) ? raw : "Unknown";
}

/** Deletes the Cognito user whose sub is userId; a user already gone counts as erased. */
export function cognitoEraser(client: CognitoIdentityProviderClient, userPoolId: string): Eraser {
    return async (userId) => {
        // The pool signs users in by e-mail, so its usernames are generated: find the username by sub.
        const found = await client.send(new ListUsersCommand({ UserPoolId: userPoolId, Filter: `sub = "${userId}"`, Limit: 2, AttributesToGet: [] }));
        for (const user of found.Users ?? []) {
            if (!user.Username) continue;
            try {
                await client.send(new AdminDeleteUserCommand({ UserPoolId: userPoolId, Username: user.Username }));
            } catch (err) {
                if (errorCode(err) !== "UserNotFoundException") throw err; // deleted meanwhile: done
            }
        }
    };
}

/** Removes the user's cached entries (lib/cache-keys.ts scheme). */
export function cacheEraser(redis: CacheClient): Eraser {
    return async (userId) => {
        await eraseUserCache(redis, userId);
    };
}

export async function erasureStatus(db: pg.Pool | pg.ClientBase): Promise<ErasureStatus> {
    const { rows } = await db.query("SELECT * FROM erasure_status()");
    const r = rows[0];
    return {
        pendingRequests: r.pending_requests,
        overdueRequests: r.overdue_requests,
        oldestOverdueMinutes: r.oldest_overdue_minutes === null ? null : Number(r.oldest_overdue_minutes),
        stuckSteps: r.stuck_steps,
        failingSteps: r.failing_steps,
    };
}

/**
 * One pass: claims up to `limit` due steps, runs them (a few at a time) and records each outcome.
 * A failing store never stops the others; the database schedules the retry.
 */
export async function runErasurePass(
    db: pg.Pool,
    erasers: Record<string, Eraser>,
    options: { limit?: number; concurrency?: number } = {},
): Promise<ErasureRunSummary> {
    const { rows } = await db.query("SELECT * FROM erasure_claim_steps($1)", [options.limit ?? 100]);
    const steps: ClaimedStep[] = rows.map((r) => ({ deletionRequestId: r.deletion_request_id, userId: r.user_id, store: r.store, attempt: r.attempt }));
    const summary = { claimed: steps.length, done: 0, failed: 0, unknownStore: 0 };
    const queue = [...steps];
    const worker = async (): Promise<void> => {
        for (let step = queue.shift(); step; step = queue.shift()) {
            const erase = erasers[step.store];
            let code: string | null = null;
            if (!erase) {
                code = "NoEraserForStore";
                summary.unknownStore++;
            } else {
                try {
                    await erase(step.userId);
                } catch (err) {
                    code = errorCode(err);
                }
            }
            await db.query("SELECT erasure_record_step($1, $2, $3, $4)", [step.deletionRequestId, step.store, code === null, code]);
            if (code === null) summary.done++;
            else summary.failed++;
        }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
    return { ...summary, status: await erasureStatus(db) };
}

export const METRIC_NAMESPACE = "APPI/Compliance";

/** Publishes what the erasure alarms read (components/erasure-worker.ts). */
export async function publishErasureMetrics(cloudwatch: CloudWatchClient, run: ErasureRunSummary, stack: string): Promise<void> {
    const dimensions = [{ Name: "Stack", Value: stack }];
    await cloudwatch.send(
        new PutMetricDataCommand({
            Namespace: METRIC_NAMESPACE,
            MetricData: [
                { MetricName: "ErasureStepsStuck", Value: run.status.stuckSteps, Unit: "Count", Dimensions: dimensions },
                { MetricName: "ErasureStepsFailed", Value: run.failed, Unit: "Count", Dimensions: dimensions },
                { MetricName: "DeletionRequestsOverdue", Value: run.status.overdueRequests, Unit: "Count", Dimensions: dimensions },
                { MetricName: "DeletionOldestOverdueMinutes", Value: run.status.oldestOverdueMinutes ?? 0, Unit: "None", Dimensions: dimensions },
            ],
        }),
    );
}
