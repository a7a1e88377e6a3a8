// Reading properties inside a rule. Every reader turns an UNKNOWN (preview) or
// an unreadable secret into a CannotCheckError, which `defineResourceRule`
// converts into a `cannot-check` outcome: a rule never passes or fails on a
// value nobody knows yet, and never prints secret content.
import { PropValue, Props, SecretValue, UNKNOWN } from "./types";

export class CannotCheckError extends Error {
    /** `reason` is "unknown", "secret", or a full sentence saying why the rule could not decide. */
    constructor(readonly path: string, reason: "unknown" | "secret" | string) {
        super(
            reason === "unknown"
                ? `${path} is not known yet (computed during preview), so it could not be checked yet`
                : reason === "secret"
                  ? `${path} is a secret this runner cannot read, so it could not be checked`
                  : reason,
        );
        this.name = "CannotCheckError";
    }
}

type Path = string | readonly (string | number)[];

/** Parsed dotted paths: rules read the same few paths for every resource, so each is split once. */
const parsedPaths = new Map<string, readonly string[]>();
const PARSED_PATHS_MAX = 4096;

function pathParts(path: Path): readonly (string | number)[] {
    if (typeof path !== "string") return path;
    let parts = parsedPaths.get(path);
    if (parts === undefined) {
        // Paths built at run time (e.g. with an index) must not grow the cache without bound.
        if (parsedPaths.size >= PARSED_PATHS_MAX) parsedPaths.clear();
        parts = Object.freeze(path.split("."));
        parsedPaths.set(path, parts);
    }
    return parts;
}

function pathText(parts: readonly (string | number)[]): string {
    return parts.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

/** Unwraps readable secrets; throws CannotCheckError for UNKNOWN and unreadable secrets. */
export function known(value: PropValue, path: string): Exclude<PropValue, SecretValue | typeof UNKNOWN> {
    if (value === UNKNOWN) throw new CannotCheckError(path, "unknown");
    if (value instanceof SecretValue) {
        if (!value.readable || value.plaintext === undefined) throw new CannotCheckError(path, "secret");
        return known(value.plaintext as PropValue, path);
    }
    return value;
}

/**
 * `known(value, <text of the first n parts of the path>)`, with the path text built only
 * when it is needed (an error, or a secret to unwrap): `read` is called for every resource
 * and rule, and almost every value on the way is plain.
 */
function knownAt(value: PropValue, parts: readonly (string | number)[], n: number): Exclude<PropValue, SecretValue | typeof UNKNOWN> {
    if (value !== UNKNOWN && !(value instanceof SecretValue)) return value;
    return known(value, n === parts.length ? pathText(parts) : pathText(parts.slice(0, n)) || "(resource)");
}

/**
 * The value at `path` ("a.b", or ["a", 0, "b"]), secrets unwrapped. Missing
 * levels give undefined; an UNKNOWN or unreadable secret on the way throws.
 */
export function read(props: Props | PropValue, path: Path): PropValue {
    // Most reads name one top-level property ("engine", "kmsKeyId"): the loop below, unrolled.
    if (typeof path === "string" && path.indexOf(".") === -1) {
        let current: PropValue = props as PropValue;
        if (current === UNKNOWN || current instanceof SecretValue) current = known(current, "(resource)");
        if (current === null || current === undefined || typeof current !== "object" || Array.isArray(current)) return undefined;
        const value = (current as { [key: string]: PropValue })[path];
        return value === UNKNOWN || value instanceof SecretValue ? known(value, path) : value;
    }
    const parts = pathParts(path);
    let current: PropValue = props as PropValue;
    for (let i = 0; i < parts.length; i++) {
        current = knownAt(current, parts, i);
        if (current === null || current === undefined) return undefined;
        const part = parts[i];
        if (Array.isArray(current)) {
            if (typeof part !== "number") return undefined;
            current = current[part];
        } else if (typeof current === "object") {
            current = (current as { [key: string]: PropValue })[typeof part === "string" ? part : String(part)];
        } else {
            return undefined;
        }
    }
    return knownAt(current, parts, parts.length);
}

/** Like `read` but never throws: UNKNOWN and secrets come back as they are. */
export function peek(props: Props | PropValue, path: Path): PropValue {
    let current: PropValue = props as PropValue;
    for (const part of pathParts(path)) {
        if (current instanceof SecretValue && current.readable) current = current.plaintext as PropValue;
        if (current === null || current === undefined || typeof current !== "object" || current instanceof SecretValue) return undefined;
        current = Array.isArray(current) ? (typeof part === "number" ? current[part] : undefined) : (current as { [key: string]: PropValue })[String(part)];
    }
    return current;
}

function typeError(path: Path, expected: string, value: PropValue): Error {
    return new TypeError(`${pathText(pathParts(path))} should be ${expected}, got ${JSON.stringify(value)}`);
}

/** A boolean; `awsDefault` when unset. Accepts "true"/"false" strings (some state files hold them). */
export function readBool(props: Props | PropValue, path: Path, awsDefault: boolean): boolean {
    const value = read(props, path);
    if (value === undefined || value === null) return awsDefault;
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    throw typeError(path, "a boolean", value);
}

export function readNumber(props: Props | PropValue, path: Path): number | undefined;
export function readNumber(props: Props | PropValue, path: Path, awsDefault: number): number;
export function readNumber(props: Props | PropValue, path: Path, awsDefault?: number): number | undefined {
    const value = read(props, path);
    if (value === undefined || value === null || value === "") return awsDefault;
    if (typeof value === "number") return value;
    if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
    throw typeError(path, "a number", value);
}

export function readString(props: Props | PropValue, path: Path): string | undefined {
    const value = read(props, path);
    if (value === undefined || value === null) return undefined;
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    throw typeError(path, "a string", value);
}

/** An array (unset: empty) whose elements are each checked for UNKNOWN / secrets. */
export function readArray(props: Props | PropValue, path: Path): PropValue[] {
    const value = read(props, path);
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) return [value];
    // The element's path text is built only for an element that needs it (UNKNOWN, secret).
    return value.map((item, i) => (item === UNKNOWN || item instanceof SecretValue ? known(item, `${pathText(pathParts(path))}[${i}]`) : item));
}

/** An array of strings (unset: empty); a single string counts as a one-element list. */
export function readStrings(props: Props | PropValue, path: Path): string[] {
    // readArray's answer is a fresh array: checked where it is rather than copied again
    // (a hole, which `map` would have skipped, is let through as before).
    const items = readArray(props, path);
    for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (typeof item !== "string" && (item !== undefined || i in items)) throw typeError(`${pathText(pathParts(path))}[${i}]`, "a string", item);
    }
    return items as string[];
}

/** An object (unset: undefined). A one-element array counts as that element (state sometimes keeps blocks as lists). */
export function readObject(props: Props | PropValue, path: Path): Props | undefined {
    let value = read(props, path);
    if (Array.isArray(value)) {
        if (value.length === 0) return undefined;
        const first = value[0];
        value = first === UNKNOWN || first instanceof SecretValue ? known(first, `${pathText(pathParts(path))}[0]`) : first;
    }
    if (value === undefined || value === null) return undefined;
    if (typeof value === "object") return value as Props;
    throw typeError(path, "an object", value);
}

/** A list of blocks (objects); a single object counts as a one-element list. */
export function readObjects(props: Props | PropValue, path: Path): Props[] {
    const items = readArray(props, path);
    for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (item !== null && typeof item === "object" && !Array.isArray(item)) continue;
        if (item !== undefined || i in items) throw typeError(`${pathText(pathParts(path))}[${i}]`, "an object", item);
    }
    return items as Props[];
}

/** A key-value map (tags): unset gives {}. */
export function readTags(props: Props | PropValue, path: Path = "tags"): Record<string, PropValue> {
    const value = readObject(props, path);
    return value ? { ...value } : {};
}
