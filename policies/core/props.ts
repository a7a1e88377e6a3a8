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

function pathParts(path: Path): readonly (string | number)[] {
    return typeof path === "string" ? path.split(".") : path;
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
 * The value at `path` ("a.b", or ["a", 0, "b"]), secrets unwrapped. Missing
 * levels give undefined; an UNKNOWN or unreadable secret on the way throws.
 */
export function read(props: Props | PropValue, path: Path): PropValue {
    const parts = pathParts(path);
    let current: PropValue = props as PropValue;
    for (let i = 0; i < parts.length; i++) {
        current = known(current, pathText(parts.slice(0, i)) || "(resource)");
        if (current === null || current === undefined) return undefined;
        const part = parts[i];
        if (Array.isArray(current)) {
            if (typeof part !== "number") return undefined;
            current = current[part];
        } else if (typeof current === "object") {
            current = (current as { [key: string]: PropValue })[String(part)];
        } else {
            return undefined;
        }
    }
    return known(current, pathText(parts));
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
    const base = pathText(pathParts(path));
    return value.map((item, i) => known(item, `${base}[${i}]`));
}

/** An array of strings (unset: empty); a single string counts as a one-element list. */
export function readStrings(props: Props | PropValue, path: Path): string[] {
    return readArray(props, path).map((item, i) => {
        if (typeof item === "string") return item;
        throw typeError(`${pathText(pathParts(path))}[${i}]`, "a string", item);
    });
}

/** An object (unset: undefined). A one-element array counts as that element (state sometimes keeps blocks as lists). */
export function readObject(props: Props | PropValue, path: Path): Props | undefined {
    let value = read(props, path);
    if (Array.isArray(value)) {
        if (value.length === 0) return undefined;
        value = known(value[0], `${pathText(pathParts(path))}[0]`);
    }
    if (value === undefined || value === null) return undefined;
    if (typeof value === "object") return value as Props;
    throw typeError(path, "an object", value);
}

/** A list of blocks (objects); a single object counts as a one-element list. */
export function readObjects(props: Props | PropValue, path: Path): Props[] {
    return readArray(props, path).map((item, i) => {
        if (item !== null && typeof item === "object" && !Array.isArray(item)) return item as Props;
        throw typeError(`${pathText(pathParts(path))}[${i}]`, "an object", item);
    });
}

/** A key-value map (tags): unset gives {}. */
export function readTags(props: Props | PropValue, path: Path = "tags"): Record<string, PropValue> {
    const value = readObject(props, path);
    return value ? { ...value } : {};
}
