// Building blocks for rule files: outcome constructors and `defineResourceRule`,
// which turns a CannotCheckError thrown by a prop reader into `cannot-check`.
import { CannotCheckError } from "./props";
import { Outcome, ResourceRule, ResourceView, RuleContext, RuleMetadata, StackRule } from "./types";

export const compliant = (): Outcome => ({ kind: "compliant" });
export const notApplicable = (): Outcome => ({ kind: "not-applicable" });
export const cannotCheck = (message: string): Outcome => ({ kind: "cannot-check", message });

/** Non-compliant with the given messages; compliant when there are none. */
export function failIf(messages: readonly (string | false | undefined | null)[]): Outcome {
    const real = messages.filter((m): m is string => typeof m === "string" && m !== "");
    return real.length ? { kind: "non-compliant", messages: real } : compliant();
}

export const fail = (...messages: string[]): Outcome => failIf(messages);

function guarded<A extends unknown[]>(check: (...args: A) => Outcome): (...args: A) => Outcome {
    return (...args: A) => {
        try {
            return check(...args);
        } catch (err) {
            if (err instanceof CannotCheckError) return cannotCheck(err.message);
            throw err;
        }
    };
}

export interface ResourceRuleDefinition extends RuleMetadata {
    resourceTypes: readonly string[] | "*";
    check(resource: ResourceView, ctx: RuleContext): Outcome;
}

export function defineResourceRule(definition: ResourceRuleDefinition): ResourceRule {
    return { ...definition, scope: "resource", check: guarded(definition.check.bind(definition)) };
}

export interface StackRuleDefinition extends RuleMetadata {
    check(ctx: RuleContext): Outcome;
}

export function defineStackRule(definition: StackRuleDefinition): StackRule {
    return { ...definition, scope: "stack", check: guarded(definition.check.bind(definition)) };
}

/**
 * Runs several independent checks on one resource and merges them: any
 * violation makes the outcome non-compliant (with every message), an unknown
 * makes it cannot-check only when nothing definite failed.
 */
export function combine(parts: readonly (() => Outcome)[]): Outcome {
    const messages: string[] = [];
    const unknowns: string[] = [];
    let applicable = false;
    for (const part of parts) {
        const outcome = guarded(part)();
        if (outcome.kind === "non-compliant") messages.push(...outcome.messages);
        else if (outcome.kind === "cannot-check") unknowns.push(outcome.message);
        if (outcome.kind !== "not-applicable") applicable = true;
    }
    if (messages.length) return { kind: "non-compliant", messages: unknowns.length ? [...messages, ...unknowns.map((u) => `(also) ${u}`)] : messages };
    if (unknowns.length) return cannotCheck(unknowns.join("; "));
    return applicable ? compliant() : notApplicable();
}
