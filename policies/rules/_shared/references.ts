// Reverse references ("which route table associations name this subnet?"),
// indexed once per stack so cross-resource rules stay linear in stack size.
import { CannotCheckError } from "../../core/props";
import { IndexedStackView } from "../../core/stack-view";
import { PropValue, ResourceView, SecretValue, StackView, UNKNOWN } from "../../core/types";

interface ReferrerIndex {
    byTarget: Map<ResourceView, ResourceView[]>;
    /** Referrers whose reference is not known yet (preview) or an unreadable secret. */
    unresolved: ResourceView[];
}

/** Per stack: referrer type -> property -> index (nested maps: no key string built per question). */
const indexes = new WeakMap<StackView, Map<string, Map<string, ReferrerIndex>>>();

function resolveAll(stack: StackView, ref: string): readonly ResourceView[] {
    const indexed = stack as Partial<IndexedStackView>;
    if (typeof indexed.resolveAll === "function") return indexed.resolveAll(ref);
    const one = stack.resolve(ref);
    return one ? [one] : [];
}

function refsIn(value: PropValue): (string | typeof UNKNOWN)[] {
    if (value instanceof SecretValue) return value.readable ? refsIn(value.plaintext as PropValue) : [UNKNOWN];
    if (value === UNKNOWN) return [UNKNOWN];
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(refsIn);
    return [];
}

function buildIndex(stack: StackView, referrerType: string, prop: string): ReferrerIndex {
    const byTarget = new Map<ResourceView, ResourceView[]>();
    const unresolved: ResourceView[] = [];
    for (const referrer of stack.ofType(referrerType)) {
        for (const ref of refsIn(referrer.props[prop])) {
            if (ref === UNKNOWN) {
                // During preview: the property's dependencies (CrossGuard's propertyDependencies) name the resource it was computed from.
                const named = (referrer.dependsOn?.[prop] ?? []).flatMap((urn) => resolveAll(stack, urn));
                if (!named.length) unresolved.push(referrer);
                for (const target of named) {
                    const list = byTarget.get(target);
                    if (!list) byTarget.set(target, [referrer]);
                    else if (!list.includes(referrer)) list.push(referrer);
                }
                continue;
            }
            for (const target of resolveAll(stack, ref)) {
                const list = byTarget.get(target);
                if (!list) byTarget.set(target, [referrer]);
                else if (!list.includes(referrer)) list.push(referrer);
            }
        }
    }
    return { byTarget, unresolved };
}

/**
 * Resources of `referrerType` whose `prop` names `target`. When none does but
 * some reference is still unknown, the answer is not known: CannotCheckError.
 */
export function referrersOf(stack: StackView, referrerType: string, prop: string, target: ResourceView): ResourceView[] {
    let perStack = indexes.get(stack);
    if (!perStack) indexes.set(stack, (perStack = new Map()));
    let perType = perStack.get(referrerType);
    if (!perType) perStack.set(referrerType, (perType = new Map()));
    let index = perType.get(prop);
    if (!index) perType.set(prop, (index = buildIndex(stack, referrerType, prop)));
    const found = index.byTarget.get(target);
    if (found?.length) return found;
    if (index.unresolved.length) {
        const first = index.unresolved[0];
        throw new CannotCheckError(`${first.name}.${prop}`, `${first.name}.${prop} is not known yet (computed during preview), so whether it applies to ${target.name} could not be checked yet`);
    }
    return [];
}
