// Telling a customer-managed KMS key from an AWS-managed one (alias/aws/*).
import { read } from "../../core/props";
import { resolveOfType } from "../../core/stack-view";
import { PropValue, Props, ResourceView, StackView } from "../../core/types";

export const KMS_KEY = "aws:kms/key:Key";
export const KMS_ALIAS = "aws:kms/alias:Alias";

export type KeyKind = { kind: "none" } | { kind: "aws-managed"; ref: string } | { kind: "customer-managed"; ref: string };

/** `alias/aws/rds`, or an ARN `arn:aws:kms:<region>:<acct>:alias/aws/rds`. */
export function isAwsManagedAlias(ref: string): boolean {
    // Same as /(^|:)alias\/aws\//, without a regular expression per call.
    return ref.startsWith("alias/aws/") || ref.includes(":alias/aws/");
}

/**
 * Classifies the key a property names. Unset is "none" (the service then uses
 * its AWS-managed or AWS-owned key). An alias in this stack is followed to its
 * target. Throws CannotCheckError for unknown/secret values.
 */
export function classifyKey(props: Props, path: string, stack: StackView): KeyKind {
    const value: PropValue = read(props, path);
    if (value === undefined || value === null || value === "") return { kind: "none" };
    if (typeof value !== "string") throw new TypeError(`${path} should be a KMS key id, ARN or alias, got ${JSON.stringify(value)}`);
    if (isAwsManagedAlias(value)) return { kind: "aws-managed", ref: value };
    const alias = resolveOfType(stack, value, [KMS_ALIAS]);
    if (alias) {
        const target = alias.props.targetKeyId;
        if (typeof target === "string" && isAwsManagedAlias(target)) return { kind: "aws-managed", ref: value };
    }
    return { kind: "customer-managed", ref: value };
}

/** The violation message for a store of personal data not on a customer-managed key, or undefined when it is. */
export function cmkProblem(what: string, key: KeyKind, property: string): string | undefined {
    if (key.kind === "customer-managed") return undefined;
    if (key.kind === "aws-managed") return `${what} is encrypted with the AWS-managed key ${key.ref}; set ${property} to a customer-managed KMS key`;
    return `${what} sets no ${property}, so it uses an AWS-managed key; set ${property} to a customer-managed KMS key`;
}

/**
 * Whether a key reference provably names a customer-managed key:
 * - `customer-managed`: a key created in this stack (by id, ARN or key id), an alias in this stack whose
 *   target is such a key, or a key listed in the pack config's `externalKmsKeys`;
 * - `aws-managed`: an `alias/aws/*` alias (or an alias in the stack pointing at one);
 * - `unproven`: anything else (a literal ARN of a key nobody can see, an alias of an unknown target):
 *   it may be the AWS-managed default, so it does not count.
 */
export type KeyProof =
    | { kind: "customer-managed"; ref: string; how: "key in this stack" | "alias in this stack" | "externalKmsKeys" }
    | { kind: "aws-managed"; ref: string }
    | { kind: "unproven"; ref: string; why: string };

const externalSets = new WeakMap<readonly string[], ReadonlySet<string>>();
const NO_EXTERNAL: ReadonlySet<string> = new Set();

/** The config's external keys as a set (built once per config list), each also by its key id / alias name. */
function externalKeys(list: readonly string[] | undefined): ReadonlySet<string> {
    if (!list || !list.length) return NO_EXTERNAL;
    let set = externalSets.get(list);
    if (!set) {
        const all = new Set<string>();
        for (const ref of list) {
            all.add(ref);
            const short = shortForm(ref);
            if (short !== ref) all.add(short);
        }
        externalSets.set(list, (set = all));
    }
    return set;
}

/** `arn:aws:kms:r:acct:key/<id>` -> `<id>`; `arn:aws:kms:r:acct:alias/<name>` -> `alias/<name>`; anything else as it is. */
export function shortForm(ref: string): string {
    if (!ref.startsWith("arn:")) return ref;
    const key = ref.indexOf(":key/");
    if (key >= 0) return ref.slice(key + 5);
    const alias = ref.indexOf(":alias/");
    return alias >= 0 ? ref.slice(alias + 1) : ref;
}

const KEY_TYPES = [KMS_KEY] as const;
const ALIAS_TYPES = [KMS_ALIAS] as const;

function stackKey(stack: StackView, ref: string): ResourceView | undefined {
    const found = resolveOfType(stack, ref, KEY_TYPES);
    if (found) return found;
    const short = shortForm(ref);
    return short !== ref ? resolveOfType(stack, short, KEY_TYPES) : undefined;
}

function stackAlias(stack: StackView, ref: string): ResourceView | undefined {
    const found = resolveOfType(stack, ref, ALIAS_TYPES);
    if (found) return found;
    const short = shortForm(ref);
    return short !== ref ? resolveOfType(stack, short, ALIAS_TYPES) : undefined;
}

/** Classifies a known key reference (see KeyProof). Throws CannotCheckError when an alias's target is not known. */
export function proveKey(ref: string, stack: StackView, external: readonly string[] | undefined): KeyProof {
    if (isAwsManagedAlias(ref)) return { kind: "aws-managed", ref };
    const listed = externalKeys(external);
    if (listed.size && (listed.has(ref) || listed.has(shortForm(ref)))) return { kind: "customer-managed", ref, how: "externalKmsKeys" };
    if (stackKey(stack, ref)) return { kind: "customer-managed", ref, how: "key in this stack" };
    const alias = stackAlias(stack, ref);
    if (alias) {
        const target = read(alias.props, "targetKeyId");
        if (typeof target === "string") {
            if (isAwsManagedAlias(target)) return { kind: "aws-managed", ref };
            if (stackKey(stack, target) || listed.has(target) || listed.has(shortForm(target))) return { kind: "customer-managed", ref, how: "alias in this stack" };
            return { kind: "unproven", ref, why: `alias ${alias.name} targets ${target}, which is neither a key in this stack nor listed in externalKmsKeys` };
        }
        if (alias.dependsOn?.targetKeyId?.some((urn) => resolveOfType(stack, urn, [KMS_KEY]))) return { kind: "customer-managed", ref, how: "alias in this stack" };
        return { kind: "unproven", ref, why: `alias ${alias.name} has no known targetKeyId` };
    }
    return { kind: "unproven", ref, why: "it is neither a KMS key or alias created in this stack nor listed in the pack config's externalKmsKeys, so it may be an AWS-managed key" };
}

/** During preview: an unknown key value is proven only when its property was computed from a KMS key or alias in this stack. */
export function provenByDependency(resource: ResourceView, topLevelProp: string, stack: StackView): boolean {
    const urns = resource.dependsOn?.[topLevelProp];
    if (!urns || !urns.length) return false;
    return urns.some((urn) => resolveOfType(stack, urn, [KMS_KEY, KMS_ALIAS]) !== undefined);
}
