// Turns raw property bags from any runner (gRPC Struct, mocks, stack export)
// into PropValues: Pulumi's secret envelopes become SecretValue, its unknown
// sentinels become UNKNOWN, everything else stays plain JSON.
import { PropValue, Props, SecretValue, UNKNOWN, Unknown } from "./types";

/** Key Pulumi uses to mark special objects (secrets, outputs, assets, resource references). */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
export const RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e";

/**
 * The engine's unknown string, and @pulumi/policy's per-type unknown markers
 * (boolean, number, string, array, asset, archive, object).
 */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

const SENTINEL_MIN = Math.min(...[...UNKNOWN_SENTINELS].map((s) => s.length));
const SENTINEL_MAX = Math.max(...[...UNKNOWN_SENTINELS].map((s) => s.length));

/** True for the strings Pulumi writes for a value not known yet: UUIDs, so most strings are ruled out by their length alone. */
export function isUnknownSentinel(value: string): boolean {
    return value.length >= SENTINEL_MIN && value.length <= SENTINEL_MAX && UNKNOWN_SENTINELS.has(value);
}

export function isUnknown(value: unknown): value is Unknown {
    return value === UNKNOWN;
}

export function isSecret(value: unknown): value is SecretValue {
    return value instanceof SecretValue;
}

function isPlainObject(raw: unknown): raw is Record<string, unknown> {
    return typeof raw === "object" && raw !== null && !Array.isArray(raw);
}

export function normaliseValue(raw: unknown): PropValue {
    if (raw === UNKNOWN || raw instanceof SecretValue) return raw;
    if (raw === null || raw === undefined) return raw;
    switch (typeof raw) {
        case "string":
            return isUnknownSentinel(raw) ? UNKNOWN : raw;
        case "number":
        case "boolean":
            return raw;
        case "bigint":
            return Number(raw);
        case "object":
            break;
        default:
            // functions, symbols: nothing a rule can read
            return undefined;
    }
    if (Array.isArray(raw)) return raw.map(normaliseValue);
    const obj = raw as Record<string, unknown>;
    const sig = obj[SIG_KEY];
    if (sig === SECRET_SIG) {
        if ("ciphertext" in obj && !("value" in obj) && !("plaintext" in obj)) {
            return new SecretValue(undefined, false);
        }
        if ("value" in obj) return new SecretValue(normaliseValue(obj.value), true);
        if (typeof obj.plaintext === "string") {
            // Stack exports of decrypted state carry the value JSON-encoded.
            let parsed: unknown = obj.plaintext;
            try {
                parsed = JSON.parse(obj.plaintext);
            } catch {
                /* a bare string */
            }
            return new SecretValue(normaliseValue(parsed), true);
        }
        return new SecretValue(undefined, false);
    }
    if (sig === OUTPUT_SIG) {
        const inner = obj.known === false || !("value" in obj) ? UNKNOWN : normaliseValue(obj.value);
        return obj.secret === true && inner !== UNKNOWN ? new SecretValue(inner, true) : inner;
    }
    if (sig === RESOURCE_REF_SIG) {
        // A reference to another resource reads as its id (what an input would hold), else its URN.
        const id = normaliseValue(obj.id);
        return id !== undefined && id !== "" ? id : normaliseValue(obj.urn);
    }
    const out: { [key: string]: PropValue } = {};
    for (const key of Object.keys(obj)) out[key] = normaliseValue(obj[key]);
    return out;
}

export function normaliseProps(raw: Record<string, unknown>): Props {
    if (!isPlainObject(raw)) throw new TypeError(`normaliseProps: expected an object of properties, got ${raw === null ? "null" : Array.isArray(raw) ? "an array" : typeof raw}`);
    const value = normaliseValue(raw);
    return value as Props;
}
