// Secrets Manager rotation of APP_IDENTITY_SECRET (components/identity-secret-rotation.ts attaches it to the secret;
// db/README.md "Rotating the identity secret"). Secrets Manager invokes it once per step with
// { SecretId, ClientRequestToken, Step }; the token is the version id of the new value.
//   createSecret   stages a random 48-byte value (base64) as AWSPENDING under the token (once per token)
//   setSecret      app_identity_key_add(token, value): the database accepts it beside the current key
//   testSecret     a token minted with the pending value must verify under it (app_identity_key_check)
//   finishSecret   AWSCURRENT moves to the token, then app_identity_key_finish(token, grace): every other key
//                  is retired at now() + grace (IDENTITY_KEY_GRACE_MINUTES, default 120; the API host re-reads
//                  the secret every 10 minutes and a token lives at most 1 hour)
// Every step is safe to run again. It connects as identity_rotator through the RDS Proxy with an IAM token
// (lib/db.ts: DB_PROXY_ENDPOINT, DB_USER, DB_NAME, AWS_REGION). Errors name the step and the reason, never a value.
import { randomBytes, randomUUID } from "node:crypto";
import {
    DescribeSecretCommand,
    GetSecretValueCommand,
    PutSecretValueCommand,
    SecretsManagerClient,
    UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import type { Pool } from "pg";
import { getPool } from "../../lib/db";
import { identitySecretFromEnv, signIdentityToken } from "../../lib/identity-token";

export const STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;
export type Step = (typeof STEPS)[number];

export interface RotationEvent {
    SecretId: string;
    ClientRequestToken: string;
    Step: string;
}

export class RotationError extends Error {
    constructor(readonly step: string, reason: string) {
        super(`identity-secret-rotation ${step}: ${reason}`);
        this.name = "RotationError";
    }
}

const DEFAULT_GRACE_MINUTES = 120;

let client: SecretsManagerClient | undefined;

/** Tests inject their own client (aws-sdk-client-mock mocks every SecretsManagerClient anyway). */
export function setClientForTest(c: SecretsManagerClient | undefined): void {
    client = c;
}

function graceMinutes(env: NodeJS.ProcessEnv): number {
    const text = env.IDENTITY_KEY_GRACE_MINUTES;
    if (text === undefined || text === "") return DEFAULT_GRACE_MINUTES;
    const n = Number(text);
    // The database refuses less than 80 minutes (token lifetime + re-read + skew) and more than 7 days.
    if (!Number.isInteger(n) || n < 80 || n > 7 * 24 * 60) throw new Error(`IDENTITY_KEY_GRACE_MINUTES must be an integer from 80 to 10080, got ${JSON.stringify(text)}`);
    return n;
}

/** The value of a version as a key, or why not (never the value). */
function keyOf(step: string, value: string | undefined): Buffer {
    try {
        return identitySecretFromEnv({ APP_IDENTITY_SECRET: value ?? "" });
    } catch {
        throw new RotationError(step, "the pending value is not base64 of 32 to 64 bytes");
    }
}

function awsReason(err: unknown): string {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    return `${e?.name ?? "Error"}${e?.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : ""}`;
}

function dbReason(err: unknown): string {
    // Messages of the rotation functions name the version and the reason only; anything else by SQLSTATE.
    const e = err as { code?: string; message?: string };
    if (e?.code && /^identity key|^identity secret/.test(e.message ?? "")) return `database refused (${e.code}): ${e.message}`;
    return `database error${e?.code ? ` ${e.code}` : ""}`;
}

export async function handler(event: RotationEvent, env: NodeJS.ProcessEnv = process.env): Promise<void> {
    const step = event?.Step;
    if (!STEPS.includes(step as Step)) throw new RotationError(String(step), `unknown step; expected one of ${STEPS.join(", ")}`);
    const { SecretId: secretId, ClientRequestToken: token } = event;
    if (!secretId || !token) throw new RotationError(step, "the event has no SecretId or ClientRequestToken");
    client ??= new SecretsManagerClient({});
    const sm = client;

    const aws = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
        try {
            return await call();
        } catch (err) {
            throw new RotationError(step, `${what} failed: ${awsReason(err)}`);
        }
    };
    const db = async <T>(call: (pool: Pool) => Promise<T>): Promise<T> => {
        try {
            return await call(getPool(env));
        } catch (err) {
            throw new RotationError(step, dbReason(err));
        }
    };

    const described = await aws("DescribeSecret", () => sm.send(new DescribeSecretCommand({ SecretId: secretId })));
    if (!described.RotationEnabled) throw new RotationError(step, "rotation is not enabled on the secret");
    const versions = described.VersionIdsToStages ?? {};
    const stages = versions[token];
    if (!stages) throw new RotationError(step, `version ${token} is not a version of the secret`);
    const isCurrent = stages.includes("AWSCURRENT");
    if (!isCurrent && !stages.includes("AWSPENDING")) throw new RotationError(step, `version ${token} is not staged AWSPENDING`);
    // A version already AWSCURRENT has been rotated to: nothing left to do before finishSecret, whose database
    // step is repeated (idempotent) in case an earlier attempt moved the label and then failed.
    if (isCurrent && step !== "finishSecret") {
        log(step, token, "already AWSCURRENT");
        return;
    }

    const pendingValue = async (): Promise<Buffer> => {
        const v = await aws("GetSecretValue (AWSPENDING)", () =>
            sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: token, VersionStage: isCurrent ? "AWSCURRENT" : "AWSPENDING" })),
        );
        return keyOf(step, v.SecretString);
    };

    switch (step as Step) {
        case "createSecret": {
            await aws("GetSecretValue (AWSCURRENT)", () => sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSCURRENT" })));
            try {
                await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: token, VersionStage: "AWSPENDING" }));
                log(step, token, "pending value already staged");
                return;
            } catch (err) {
                if ((err as { name?: string })?.name !== "ResourceNotFoundException") throw new RotationError(step, `GetSecretValue (AWSPENDING) failed: ${awsReason(err)}`);
            }
            // 48 random bytes: 64 base64 characters, what identitySecretFromEnv and the host's fetch script accept.
            const value = randomBytes(48).toString("base64");
            await aws("PutSecretValue", () =>
                sm.send(new PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: token, SecretString: value, VersionStages: ["AWSPENDING"] })),
            );
            log(step, token, "pending value staged");
            return;
        }
        case "setSecret": {
            const key = await pendingValue();
            const added = await db((pool) => pool.query("SELECT app_identity_key_add($1, $2) AS added", [token, key]));
            log(step, token, added.rows[0].added ? "key accepted by the database" : "key was already accepted");
            return;
        }
        case "testSecret": {
            const key = await pendingValue();
            // A token for a random user nobody has: verifying it proves the key, and acts for no one.
            const probe = signIdentityToken(key, randomUUID(), { ttlSeconds: 60 });
            const checked = await db((pool) => pool.query("SELECT app_identity_key_check($1, $2) AS ok", [token, probe]));
            if (checked.rows[0].ok !== true) throw new RotationError(step, `a token signed with version ${token} does not verify in the database (was setSecret run?)`);
            log(step, token, "a token signed with the pending value verifies");
            return;
        }
        case "finishSecret": {
            const grace = graceMinutes(env);
            if (!isCurrent) {
                const current = Object.entries(versions).find(([, s]) => s.includes("AWSCURRENT"))?.[0];
                await aws("UpdateSecretVersionStage", () =>
                    sm.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: "AWSCURRENT", MoveToVersionId: token, RemoveFromVersionId: current })),
                );
            }
            const retired = await db((pool) => pool.query("SELECT app_identity_key_finish($1, make_interval(mins => $2)) AS n", [token, grace]));
            log(step, token, `AWSCURRENT is ${token}; ${retired.rows[0].n} other key(s) retired in ${grace} minutes`);
            return;
        }
    }
}

function log(step: string, version: string, what: string): void {
    // Structured, never a value.
    console.log(JSON.stringify({ rotation: "identity-secret", step, version, result: what }));
}
