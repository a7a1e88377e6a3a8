// What a sign-up must carry, shared by PreSignUp (validates, writes nothing) and PostConfirmation
// (writes what PreSignUp accepted). Error messages name the problem and what to do, never the value:
// Cognito shows a PreSignUp error to the user, and the Lambda runtime logs every thrown error.
//
// Client contract (SignUp ValidationData or ClientMetadata, and ConfirmSignUp ClientMetadata; the
// pool's CONSENT_ATTRIBUTES below are read as a fallback, since ClientMetadata is not stored):
//   privacy_notice_version  the version of the privacy notice the user was shown and accepted (required)
//   consents                comma-separated purposes the user granted; must include every required one
//   source_ip               the client's IP address as the app backend saw it (optional, level 2)
//   ssn, bank_account, credit_card   optional level-3 data (never put these in user attributes)
import { isIP } from "node:net";

/**
 * The Cognito custom attributes the user pool defines for the consent fallback (components/identity.ts
 * reads this map too). Cognito caps custom attribute names at 20 characters, hence notice_version.
 */
export const CONSENT_ATTRIBUTES = {
    privacy_notice_version: "custom:notice_version",
    consents: "custom:consents",
} as const;

/** consent_purposes rows of migrations/0002 (test/lambdas checks this list against the database). */
export const CONSENT_PURPOSES = {
    privacy_notice: { required: true },
    service_provision: { required: true },
    marketing_email: { required: false },
    analytics: { required: false },
    third_party_provision: { required: false },
    cross_border_transfer: { required: false },
} as const;
export type ConsentPurpose = keyof typeof CONSENT_PURPOSES;
export const REQUIRED_PURPOSES = (Object.keys(CONSENT_PURPOSES) as ConsentPurpose[]).filter((p) => CONSENT_PURPOSES[p].required);

type StringMap = Record<string, string | undefined>;

/** A sign-up the user must fix: the message is shown to them as is. */
export class SignUpRejected extends Error {
    constructor(readonly problems: string[]) {
        super(`Sign-up could not be completed: ${problems.join("; ")}.`);
        this.name = "SignUpRejected";
    }
}

// The WHATWG HTML e-mail grammar, plus a dot in the domain: what browsers accept in <input type=email>.
const EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;
const E164 = /^\+[1-9]\d{6,14}$/;
const NOTICE_VERSION = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_NAME = 256;
const MAX_ADDRESS = 2048;
const MAX_LEVEL3 = 256;

export interface SignUpData {
    email: string;
    firstName: string;
    lastName: string;
    phone?: string;
    address?: string;
    birthdate?: string;
    sourceIp?: string;
    privacyNoticeVersion: string;
    consents: ConsentPurpose[];
    ssn?: string;
    bankAccount?: string;
    creditCard?: string;
}

function present(value: string | undefined): string | undefined {
    const trimmed = value?.trim();
    return trimmed ? trimmed : undefined;
}

function isValidBirthdate(value: string, now: Date): boolean {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    if (!match) return false;
    const [y, m, d] = match.slice(1).map(Number);
    const date = new Date(Date.UTC(y, m - 1, d));
    return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d && y >= 1900 && date.getTime() <= now.getTime();
}

/**
 * Validates the attributes and the client's metadata of a sign-up; throws SignUpRejected listing every
 * problem at once (so the user fixes them in one go). `sources` are searched in order for each key.
 */
export function parseSignUp(userAttributes: StringMap, sources: StringMap[], now = new Date()): SignUpData {
    const problems: string[] = [];
    const fromSources = (key: string) => {
        for (const source of sources) {
            const value = present(source[key]);
            if (value !== undefined) return value;
        }
        const attribute = (CONSENT_ATTRIBUTES as Record<string, string>)[key];
        return attribute === undefined ? undefined : present(userAttributes[attribute]);
    };

    const email = present(userAttributes.email)?.toLowerCase();
    if (!email) problems.push("an e-mail address is required");
    else if (email.length > 254 || !EMAIL.test(email)) problems.push("enter a valid e-mail address (for example name@example.com)");

    const firstName = present(userAttributes.given_name);
    const lastName = present(userAttributes.family_name);
    if (!firstName) problems.push("a given name is required");
    else if (firstName.length > MAX_NAME) problems.push(`the given name must be at most ${MAX_NAME} characters`);
    if (!lastName) problems.push("a family name is required");
    else if (lastName.length > MAX_NAME) problems.push(`the family name must be at most ${MAX_NAME} characters`);

    const phone = present(userAttributes.phone_number);
    if (phone && !E164.test(phone)) problems.push("enter the phone number in international format, e.g. +81312345678");

    const address = present(userAttributes.address);
    if (address && address.length > MAX_ADDRESS) problems.push(`the address must be at most ${MAX_ADDRESS} characters`);

    const birthdate = present(userAttributes.birthdate);
    if (birthdate && !isValidBirthdate(birthdate, now)) problems.push("enter the birth date as YYYY-MM-DD (a real date, not in the future)");

    const sourceIp = fromSources("source_ip");
    if (sourceIp && !isIP(sourceIp)) problems.push("source_ip must be an IPv4 or IPv6 address");

    const privacyNoticeVersion = fromSources("privacy_notice_version");
    if (!privacyNoticeVersion) problems.push("please read and accept the privacy notice (privacy_notice_version is missing)");
    else if (!NOTICE_VERSION.test(privacyNoticeVersion)) problems.push("privacy_notice_version must be a short version label such as 2025-04-01");

    const consentList = (fromSources("consents") ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    const unknownPurposes = consentList.filter((p) => !(p in CONSENT_PURPOSES));
    if (unknownPurposes.length) {
        // Counted, not quoted: the value is the client's, and thrown errors end up in the Lambda's log.
        problems.push(`${unknownPurposes.length} unknown consent purpose(s); known: ${Object.keys(CONSENT_PURPOSES).join(", ")}`);
    }
    const consents = [...new Set(consentList.filter((p): p is ConsentPurpose => p in CONSENT_PURPOSES))];
    const missingRequired = REQUIRED_PURPOSES.filter((p) => !consents.includes(p));
    if (missingRequired.length) {
        problems.push(`please accept the privacy notice and the terms of use to continue (consent missing for ${missingRequired.join(", ")})`);
    }

    const level3: Record<"ssn" | "bank_account" | "credit_card", string | undefined> = {
        ssn: fromSources("ssn"),
        bank_account: fromSources("bank_account"),
        credit_card: fromSources("credit_card"),
    };
    for (const [key, value] of Object.entries(level3)) {
        if (value && value.length > MAX_LEVEL3) problems.push(`${key} must be at most ${MAX_LEVEL3} characters`);
    }

    if (problems.length) throw new SignUpRejected(problems);
    return {
        email: email!,
        firstName: firstName!,
        lastName: lastName!,
        phone,
        address,
        birthdate,
        sourceIp,
        privacyNoticeVersion: privacyNoticeVersion!,
        consents,
        ssn: level3.ssn,
        bankAccount: level3.bank_account,
        creditCard: level3.credit_card,
    };
}
