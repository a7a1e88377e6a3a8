// Cognito PreTokenGeneration trigger: each time Cognito issues tokens for a user (sign-in, a new password, and
// every refresh of the 60-minute access token), records that user's activity in the database
// (app_record_activity, migrations/0025: last_activity_at, at most once a minute). So inactivity-based erasure
// (3 years) never erases a user who is signed in and using the service: their last_activity_at is never more
// than an access token's lifetime behind. The database login (activity_recorder) may call that function and
// nothing else. The tokens are not changed: the handler returns the event as Cognito sent it.
// A failure fails the token issuance (Cognito retries, then refuses the sign-in): activity that cannot be
// recorded is never silently lost. No value of the event is logged.
import type { Context, PreTokenGenerationTriggerEvent } from "aws-lambda";
import type { Pool } from "pg";
import { getPool, isUuid } from "../../lib/db";
import { errorSummary, logEvent } from "../shared/log";

// Lets a bundle's user (tests, the benchmark) close the bundle's own copy of the pool.
export { closePool } from "../../lib/db";

export interface PreTokenGenerationDeps {
    pool: () => Pool;
}

/** Thrown for an event this function must not process; names the problem, never a value. */
export class MalformedEvent extends Error {
    constructor(problem: string) {
        super(`pre-token-generation: malformed event: ${problem}`);
        this.name = "MalformedEvent";
    }
}

const TOKEN_ISSUANCE = new Set(["TokenGeneration_HostedAuth", "TokenGeneration_Authentication", "TokenGeneration_NewPasswordChallenge", "TokenGeneration_AuthenticateDevice", "TokenGeneration_RefreshTokens"]);

export function createPreTokenGenerationHandler(deps: PreTokenGenerationDeps) {
    return async function preTokenGeneration(event: PreTokenGenerationTriggerEvent, context?: Pick<Context, "awsRequestId">): Promise<PreTokenGenerationTriggerEvent> {
        const requestId = context?.awsRequestId;
        const trigger = typeof event?.triggerSource === "string" ? event.triggerSource : "unknown";
        const started = performance.now();
        try {
            if (!TOKEN_ISSUANCE.has(trigger)) {
                throw new MalformedEvent(`unexpected triggerSource ${JSON.stringify(trigger).slice(0, 80)} (expected one of ${[...TOKEN_ISSUANCE].join(", ")})`);
            }
            const sub = event.request?.userAttributes?.sub;
            if (!sub) throw new MalformedEvent("request.userAttributes.sub is missing");
            if (!isUuid(sub)) throw new MalformedEvent("request.userAttributes.sub is not a UUID");
            try {
                await deps.pool().query({ name: "app_record_activity", text: "SELECT app_record_activity($1)", values: [sub.toLowerCase()] });
            } catch (err) {
                // pg errors may carry values in detail: keep the SQLSTATE only.
                const code = (err as { code?: unknown }).code;
                throw Object.assign(new Error(`pre-token-generation: database error ${typeof code === "string" ? code : "(no SQLSTATE)"}`), { code });
            }
            logEvent({ trigger, requestId, outcome: "ok", durationMs: Math.round(performance.now() - started) });
            return event;
        } catch (err) {
            logEvent({ trigger, requestId, outcome: "error", durationMs: Math.round(performance.now() - started), ...errorSummary(err) });
            throw err;
        }
    };
}

/** The Lambda entry point: pool (DATABASE_URL or RDS Proxy + IAM) from the environment, built once per container. */
export const handler = createPreTokenGenerationHandler({ pool: () => getPool() });
