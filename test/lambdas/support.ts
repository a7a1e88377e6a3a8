// Shared by the Lambda tests: one migrated database per mocha process, a pii_signup login for the sign-up
// Lambda and a pii_write login (so row-level security applies exactly as in AWS), and Cognito events shaped as Cognito sends them.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import type { PostConfirmationTriggerEvent, PreSignUpTriggerEvent } from "aws-lambda";
import pg from "pg";
import { migratedDatabase, TestDatabase } from "../support/postgres";

export interface LambdaTestDb {
    db: TestDatabase;
    /** Connects as the database owner: sees every row (for assertions and for tampering). */
    admin: pg.Pool;
    /** Connects as a LOGIN member of pii_write: a reader/writer acting for a user with a signed token. */
    writer: pg.Pool;
    writerUrl: string;
    /** Connects as a LOGIN member of pii_signup: what the PostConfirmation Lambda uses (creates users, nothing else). */
    signup: pg.Pool;
    signupUrl: string;
}

let shared: Promise<LambdaTestDb> | undefined;

export function lambdaTestDb(): Promise<LambdaTestDb> {
    shared ??= (async () => {
        const db = await migratedDatabase("lambdas");
        const writerUrl = await db.loginUrl("pii_write");
        const signupUrl = await db.loginUrl("pii_signup");
        return {
            db,
            admin: new pg.Pool({ connectionString: db.url, max: 2 }),
            writer: new pg.Pool({ connectionString: writerUrl, max: 4 }),
            writerUrl,
            signup: new pg.Pool({ connectionString: signupUrl, max: 4 }),
            signupUrl,
        };
    })();
    return shared;
}

export async function closeLambdaTestDb(): Promise<void> {
    if (!shared) return;
    const { db, admin, writer, signup } = await shared;
    shared = undefined;
    await Promise.all([admin.end(), writer.end(), signup.end()]);
    await db.drop();
}

export const LOCAL_KEY = randomBytes(32);

const POOL_ID = "ap-northeast-1_Ab12Cd34E";
const CLIENT_ID = "4l1b2c3d4e5f6g7h8i9j0k1l2m";

export interface SignUpInput {
    sub?: string;
    email?: string;
    attributes?: Record<string, string>;
    clientMetadata?: Record<string, string>;
}

export const FULL_METADATA = {
    privacy_notice_version: "2025-04-01",
    consents: "privacy_notice,service_provision,marketing_email",
    source_ip: "203.0.113.42",
    ssn: "123-45-6789",
    bank_account: "0001-123-7654321",
    credit_card: "4111111111111111",
};

/** A PostConfirmation event as Cognito sends it for a confirmed e-mail sign-up. */
export function postConfirmationEvent(input: SignUpInput = {}, triggerSource: PostConfirmationTriggerEvent["triggerSource"] = "PostConfirmation_ConfirmSignUp"): PostConfirmationTriggerEvent {
    const sub = input.sub ?? randomUUID();
    return {
        version: "1",
        region: "ap-northeast-1",
        userPoolId: POOL_ID,
        userName: sub,
        callerContext: { awsSdkVersion: "aws-sdk-unknown-unknown", clientId: CLIENT_ID },
        triggerSource,
        request: {
            userAttributes: {
                sub,
                "cognito:email_alias": input.email ?? `user-${sub.slice(0, 8)}@example.jp`,
                "cognito:user_status": "CONFIRMED",
                email_verified: "true",
                email: input.email ?? `user-${sub.slice(0, 8)}@example.jp`,
                given_name: "Hanako",
                family_name: "Yamada",
                phone_number: "+81312345678",
                address: "1-2-3 Chiyoda, Chiyoda-ku, Tokyo 100-0001",
                birthdate: "1990-04-01",
                ...input.attributes,
            },
            clientMetadata: input.clientMetadata ?? { ...FULL_METADATA },
        },
        response: {},
    } as PostConfirmationTriggerEvent;
}

/** A PreSignUp event as Cognito sends it for SignUp (validationData null when the client sends none). */
export function preSignUpEvent(
    attributes: Record<string, string>,
    options: { validationData?: Record<string, string> | null; clientMetadata?: Record<string, string>; triggerSource?: string } = {},
): PreSignUpTriggerEvent {
    return {
        version: "1",
        region: "ap-northeast-1",
        userPoolId: POOL_ID,
        userName: randomUUID(),
        callerContext: { awsSdkVersion: "aws-sdk-unknown-unknown", clientId: CLIENT_ID },
        triggerSource: options.triggerSource ?? "PreSignUp_SignUp",
        request: {
            userAttributes: attributes,
            validationData: options.validationData === undefined ? null : options.validationData,
            ...(options.clientMetadata ? { clientMetadata: options.clientMetadata } : {}),
        },
        response: { autoConfirmUser: false, autoVerifyEmail: false, autoVerifyPhone: false },
    } as unknown as PreSignUpTriggerEvent;
}

/** Values of the fixtures that must never reach a log line. */
const PII_IN_FIXTURES = ["Hanako", "Yamada", "+81312345678", "Chiyoda", "1990-04-01", "example.jp", ...Object.values(FULL_METADATA).filter((v) => v !== FULL_METADATA.consents && v !== FULL_METADATA.privacy_notice_version)];

/**
 * Inside a describe(): captures what the handlers log (keeping test output readable) and fails a test
 * whose log lines contain any fixture PII or anything that is not one JSON object per line.
 */
export function checkLambdaLogs(extraPii: () => string[] = () => []): { lines: string[] } {
    const captured = { lines: [] as string[] };
    const original = console.log;
    beforeEach(() => {
        captured.lines = [];
        console.log = (...args: unknown[]) => {
            captured.lines.push(args.map(String).join(" "));
        };
    });
    afterEach(() => {
        console.log = original;
        const forbidden = [...PII_IN_FIXTURES, ...extraPii()];
        for (const line of captured.lines) {
            assert.doesNotThrow(() => JSON.parse(line), `log line is not JSON: ${line}`);
            for (const value of forbidden) assert.equal(line.includes(value), false, `log line contains PII (${value}): ${line}`);
        }
    });
    return captured;
}
