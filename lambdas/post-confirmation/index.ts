// Cognito PostConfirmation trigger: creates the user's row (id = Cognito sub) once the sign-up is confirmed.
//  - level 1 in clear: email, given_name -> first_name, family_name -> last_name, phone_number -> phone;
//  - level 2 (one layer): address, birthdate, source IP;  level 3 (two layers, two keys): SSN, bank account, card;
//  - encryption_metadata per encrypted field, the initial consents, an encryption_audit entry per field;
//  - all in one call of signup_create_user (SECURITY DEFINER): the Lambda's database login is a pii_signup
//    member that can create a new user and nothing else (no read or change of any existing user).
// Cognito retries a trigger that fails or takes over 5 s: a second run of the same event finds the row and
// writes nothing (ON CONFLICT on the user id, idempotency key on the consents). Forgot-password confirmations
// write nothing. The handler returns the event, as Cognito requires.
import type { Context, PostConfirmationTriggerEvent } from "aws-lambda";
import type { Pool } from "pg";
import { encryptionMetadataRow, getPiiCipher, PII_COLUMNS, PiiCipher, PiiColumn } from "../../lib/crypto";
import { getPool, isUuid } from "../../lib/db";

// Lets a bundle's user (tests, the benchmark) close the bundle's own copy of the pool.
export { closePool } from "../../lib/db";
import { errorSummary, logEvent } from "../shared/log";
import { parseSignUp, SignUpData, SignUpRejected } from "../shared/signup";


export interface PostConfirmationDeps {
    pool: () => Pool;
    cipher: () => PiiCipher;
    /** Recorded as performed_by / actor in the audit trail. */
    principal: string;
}

/** Thrown for an event this function must not process; names the problem, never a value. */
export class MalformedEvent extends Error {
    constructor(problem: string) {
        super(`post-confirmation: malformed event: ${problem}`);
        this.name = "MalformedEvent";
    }
}

type Outcome = { status: "created"; fieldsEncrypted: number; consentsRecorded: number } | { status: "already_processed" };

function plaintextFields(data: SignUpData): Partial<Record<PiiColumn, string>> {
    const fields: Partial<Record<PiiColumn, string>> = {
        address_encrypted: data.address,
        date_of_birth_encrypted: data.birthdate,
        ip_address_encrypted: data.sourceIp,
        ssn_encrypted: data.ssn,
        bank_account_encrypted: data.bankAccount,
        credit_card_encrypted: data.creditCard,
    };
    for (const key of Object.keys(fields) as PiiColumn[]) if (fields[key] === undefined) delete fields[key];
    return fields;
}

/** pg errors carry the offending values in `detail` (e.g. the duplicate e-mail): keep only code and constraint. */
function withoutDetail(err: unknown): Error {
    const e = err as { code?: string; constraint?: string; message?: string };
    if (e?.code === "23505" && e.constraint === "idx_users_email") {
        return Object.assign(new Error("post-confirmation: this e-mail address already belongs to another account"), { code: e.code });
    }
    if (typeof e?.code === "string") {
        return Object.assign(new Error(`post-confirmation: database error ${e.code}${e.constraint ? ` on ${e.constraint}` : ""}`), { code: e.code });
    }
    return err instanceof Error ? err : new Error(String(err));
}

async function createUser(deps: PostConfirmationDeps, userId: string, data: SignUpData, requestId: string | undefined): Promise<Outcome> {
    const cipher = deps.cipher();
    // Encrypt before touching the database (KMS calls in AWS), all fields in parallel.
    const plaintexts = Object.entries(plaintextFields(data)) as [PiiColumn, string][];
    const attempts = await Promise.allSettled(
        plaintexts.map(async ([column, plaintext]) => {
            const started = performance.now();
            try {
                const field = await cipher.encrypt({ table: "users", column, userId }, plaintext, PII_COLUMNS[column]);
                return { column, field, durationMs: performance.now() - started };
            } catch (err) {
                throw Object.assign(err instanceof Error ? err : new Error(String(err)), { column, durationMs: performance.now() - started });
            }
        }),
    );
    const failures = attempts.flatMap((a) => (a.status === "rejected" ? [a.reason as Error & { column: PiiColumn; durationMs: number }] : []));
    if (failures.length) {
        // Failed encryptions belong in the audit trail too (e.g. KMS unreachable); the user row is not written.
        await deps
            .pool()
            .query("SELECT signup_record_encryption_failures($1, $2)", [
                userId,
                JSON.stringify(
                    failures.map((f) => ({
                        field_name: f.column,
                        encryption_level: PII_COLUMNS[f.column],
                        performed_by: deps.principal,
                        error_code: "encrypt_failed",
                        duration_ms: Number(f.durationMs.toFixed(3)),
                        request_id: requestId ?? null,
                    })),
                ),
            ])
            .catch(() => undefined); // the encryption error below is the one to report
        throw failures[0];
    }
    const encrypted = attempts.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
    // The sign-up login may only call signup_create_user (migrations/0005): one statement creates the row,
    // its encryption metadata, the consents and the encryption audit, or nothing if the user exists already.
    const { rows } = await deps.pool().query(
        "SELECT signup_create_user($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS created",
        [
            userId,
            data.email,
            data.firstName,
            data.lastName,
            data.phone ?? null,
            encrypted.map((e) => e.column),
            encrypted.map((e) => e.field.ciphertext),
            JSON.stringify(encrypted.map(({ column, field }) => encryptionMetadataRow(column, field))),
            data.consents,
            data.privacyNoticeVersion,
            `cognito:PostConfirmation_ConfirmSignUp:${userId}`,
            JSON.stringify(
                encrypted.map(({ column, field, durationMs }) => {
                    const key = field.keys[field.keys.length - 1];
                    return {
                        field_name: column,
                        encryption_level: field.level,
                        kms_key_id: key.keyId,
                        key_version: key.version,
                        performed_by: deps.principal,
                        success: true,
                        duration_ms: Number(durationMs.toFixed(3)),
                        request_id: requestId ?? null,
                    };
                }),
            ),
        ],
    );
    if (!rows[0].created) return { status: "already_processed" };
    return { status: "created", fieldsEncrypted: encrypted.length, consentsRecorded: data.consents.length };
}

export function createPostConfirmationHandler(deps: PostConfirmationDeps) {
    return async function postConfirmation(
        event: PostConfirmationTriggerEvent,
        context?: Pick<Context, "awsRequestId">,
    ): Promise<PostConfirmationTriggerEvent> {
        const requestId = context?.awsRequestId;
        const trigger = typeof event?.triggerSource === "string" ? event.triggerSource : "unknown";
        const started = performance.now();
        try {
            if (trigger === "PostConfirmation_ConfirmForgotPassword") {
                // The user exists already; a password reset changes nothing we store.
                logEvent({ trigger, requestId, outcome: "skipped" });
                return event;
            }
            if (trigger !== "PostConfirmation_ConfirmSignUp") {
                throw new MalformedEvent(
                    `unexpected triggerSource ${JSON.stringify(trigger).slice(0, 80)} (expected PostConfirmation_ConfirmSignUp or PostConfirmation_ConfirmForgotPassword)`,
                );
            }
            const attributes = event.request?.userAttributes;
            if (!attributes || typeof attributes !== "object") throw new MalformedEvent("request.userAttributes is missing");
            const sub = attributes.sub;
            if (!sub) throw new MalformedEvent("userAttributes.sub is missing");
            if (!isUuid(sub)) throw new MalformedEvent("userAttributes.sub is not a UUID");
            if (!attributes.email) throw new MalformedEvent("userAttributes.email is missing");
            let data: SignUpData;
            try {
                data = parseSignUp(attributes, [event.request.clientMetadata ?? {}]);
            } catch (err) {
                if (err instanceof SignUpRejected) throw new MalformedEvent(err.problems.join("; "));
                throw err;
            }
            let outcome: Outcome;
            try {
                outcome = await createUser(deps, sub.toLowerCase(), data, requestId);
            } catch (err) {
                throw withoutDetail(err);
            }
            logEvent({
                trigger,
                requestId,
                outcome: outcome.status === "created" ? "ok" : "already_processed",
                durationMs: Math.round(performance.now() - started),
                ...(outcome.status === "created" ? { fieldsEncrypted: outcome.fieldsEncrypted, consentsRecorded: outcome.consentsRecorded } : {}),
            });
            return event;
        } catch (err) {
            logEvent({ trigger, requestId, outcome: "error", durationMs: Math.round(performance.now() - started), ...errorSummary(err) });
            throw err;
        }
    };
}

/** The Lambda entry point: pool (DATABASE_URL or RDS Proxy + IAM) and keys from the environment, built once per container. */
export const handler = createPostConfirmationHandler({
    pool: () => getPool(),
    cipher: () => getPiiCipher(),
    principal: process.env.AWS_LAMBDA_FUNCTION_NAME ?? "post-confirmation",
});
