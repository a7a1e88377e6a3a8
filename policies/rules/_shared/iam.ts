// IAM policy documents as Pulumi programs write them: a JSON string (from
// JSON.stringify / pulumi.jsonStringify) or an object, with the usual
// single-item-or-list shapes normalised.
import { known } from "../../core/props";
import { PropValue } from "../../core/types";

export interface PolicyStatement {
    effect: string;
    actions: string[];
    /** Principal type (AWS, Federated, Service, *) to values; unknown values stay as the UNKNOWN marker. */
    principals: Record<string, PropValue[]>;
    /** Operator (e.g. StringEquals) to condition key (lower-cased) to values. */
    conditions: Record<string, Record<string, PropValue[]>>;
    /** The statement names NotPrincipal: with Allow, everyone except the listed principals. */
    notPrincipal: boolean;
}

function list(value: PropValue): PropValue[] {
    if (value === undefined || value === null) return [];
    return Array.isArray(value) ? value : [value];
}

/**
 * Documents already parsed, by path and text: a stack repeats the same trust and resource policies
 * across many roles, queues and buckets (read-only: callers never change the statements).
 */
const parsedDocuments = new Map<string, readonly PolicyStatement[]>();
const PARSED_DOCUMENTS_MAX = 2048;

/** Parses a policy document; throws CannotCheckError when it is unknown/secret and a clear error when it is not a policy. */
export function parsePolicyDocument(value: PropValue, path: string): readonly PolicyStatement[] {
    if (typeof value !== "string" || value === "") return parseDocument(value, path);
    const key = `${path}\u0000${value}`;
    let statements = parsedDocuments.get(key);
    if (statements === undefined) {
        statements = parseDocument(value, path);
        if (parsedDocuments.size >= PARSED_DOCUMENTS_MAX) parsedDocuments.clear();
        parsedDocuments.set(key, statements);
    }
    return statements;
}

function parseDocument(value: PropValue, path: string): PolicyStatement[] {
    let doc = known(value, path);
    if (doc === undefined || doc === null || doc === "") return [];
    if (typeof doc === "string") {
        try {
            doc = known(JSON.parse(doc) as PropValue, path);
        } catch (err) {
            throw new TypeError(`${path} is not valid JSON: ${(err as Error).message}`);
        }
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new TypeError(`${path} is not an IAM policy document (expected an object with Statement)`);
    const statements = list(known((doc as { [k: string]: PropValue }).Statement, `${path}.Statement`));
    return statements.map((raw, i) => {
        const s = known(raw, `${path}.Statement[${i}]`);
        if (typeof s !== "object" || s === null || Array.isArray(s)) throw new TypeError(`${path}.Statement[${i}] is not an object`);
        const st = s as { [k: string]: PropValue };
        const principals: Record<string, PropValue[]> = {};
        const principal = st.Principal;
        if (principal === "*") principals["*"] = ["*"];
        else if (principal !== undefined) {
            const p = known(principal, `${path}.Statement[${i}].Principal`);
            if (typeof p === "object" && p !== null && !Array.isArray(p)) {
                for (const [type, values] of Object.entries(p)) principals[type] = list(values);
            }
        }
        const conditions: Record<string, Record<string, PropValue[]>> = {};
        const condition = st.Condition === undefined ? undefined : known(st.Condition, `${path}.Statement[${i}].Condition`);
        if (condition && typeof condition === "object" && !Array.isArray(condition)) {
            for (const [operator, block] of Object.entries(condition)) {
                const b = known(block, `${path}.Statement[${i}].Condition.${operator}`);
                if (!b || typeof b !== "object" || Array.isArray(b)) continue;
                const keys: Record<string, PropValue[]> = {};
                for (const [key, values] of Object.entries(b)) keys[key.toLowerCase()] = list(values);
                conditions[operator] = keys;
            }
        }
        const actions = list(st.Action).map((a, j) => {
            const v = known(a, `${path}.Statement[${i}].Action[${j}]`);
            return typeof v === "string" ? v : String(v);
        });
        const effect = known(st.Effect, `${path}.Statement[${i}].Effect`);
        return { effect: typeof effect === "string" ? effect : "Allow", actions, principals, conditions, notPrincipal: st.NotPrincipal !== undefined };
    });
}

/** Values of one condition key across the given operators (key compared case-insensitively). */
export function conditionValues(statement: PolicyStatement, key: string, operators: readonly string[]): { operator: string; values: PropValue[] }[] {
    const out: { operator: string; values: PropValue[] }[] = [];
    for (const [operator, keys] of Object.entries(statement.conditions)) {
        if (!operators.includes(operator)) continue;
        const values = keys[key.toLowerCase()];
        if (values) out.push({ operator, values });
    }
    return out;
}


// ---- Who a resource policy lets in -------------------------------------------------

/**
 * Condition keys that tie a grant to callers the owner chose (an account, an
 * organisation, a source resource, a VPC or endpoint). aws:SourceIp is judged
 * separately: only private ranges restrict (a public range is still the internet).
 */
const RESTRICTING_KEYS = new Set(
    [
        "aws:SourceArn",
        "aws:SourceAccount",
        "aws:SourceOwner",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:userid",
        "aws:username",
        "kms:CallerAccount",
        "sns:Endpoint",
    ].map((k) => k.toLowerCase()),
);

/** Operators that require the key to be present and to match: the ...IfExists forms, Not... forms and Null let callers without the key in. */
const MATCHING_OPERATORS = /^(ForAnyValue:)?(StringEquals|StringEqualsIgnoreCase|StringLike|ArnEquals|ArnLike)$/i;

/**
 * A value that does not pin the caller: any wildcard, except in the resource part of an
 * ARN whose account is concrete ("arn:aws:sns:ap-northeast-1:123456789012:*" still pins the account).
 */
function isWildcardValue(value: string): boolean {
    if (!/[*?]/.test(value)) return false;
    const arn = /^arn:[^:]*:[^:]*:[^:]*:([^:]*):/.exec(value);
    return !(arn && /^\d{12}$/.test(arn[1]));
}

/** Why a statement's conditions restrict its callers, or undefined when they do not. */
export function restrictingCondition(statement: PolicyStatement, isPublicCidr: (cidr: string) => boolean): string | undefined {
    for (const [operator, keys] of Object.entries(statement.conditions)) {
        for (const [key, values] of Object.entries(keys)) {
            const strings = values.map((v) => known(v, `Condition.${operator}.${key}`)).filter((v): v is string => typeof v === "string");
            if (!strings.length) continue;
            if (RESTRICTING_KEYS.has(key) && MATCHING_OPERATORS.test(operator) && !strings.some(isWildcardValue)) return `${operator} ${key}`;
            if (key === "aws:sourceip" && /^IpAddress$/i.test(operator) && !strings.some(isPublicCidr)) return `${operator} ${key} (private ranges)`;
        }
    }
    return undefined;
}

/** True when an Allow statement lets in everyone: Principal "*", {"AWS": "*"} (or a list holding it), or NotPrincipal. */
export function grantsEveryone(statement: PolicyStatement): boolean {
    if (statement.effect !== "Allow") return false;
    if (statement.notPrincipal) return true;
    for (const [type, values] of Object.entries(statement.principals)) {
        if (type !== "*" && type !== "AWS" && type !== "CanonicalUser") continue;
        if (values.some((v) => known(v, `Principal.${type}`) === "*")) return true;
    }
    return false;
}
