// Building blocks for rule files: outcome constructors and `defineResourceRule`,
// which turns a CannotCheckError thrown by a prop reader into `cannot-check`.
import { CannotCheckError } from "./props";
import { Outcome, ResourceRule, ResourceView, RuleContext, RuleMetadata, StackRule } from "./types";

// The two outcomes without data are shared, read-only objects: a run records tens of
// thousands of them, and nothing ever changes an outcome once a rule has returned it.
const COMPLIANT: Outcome = Object.freeze({ kind: "compliant" });
const NOT_APPLICABLE: Outcome = Object.freeze({ kind: "not-applicable" });
export const compliant = (): Outcome => COMPLIANT;
export const notApplicable = (): Outcome => NOT_APPLICABLE;
export const cannotCheck = (message: string): Outcome => ({ kind: "cannot-check", message });

/** Non-compliant with the given messages; compliant when there are none. */
export function failIf(messages: readonly (string | false | undefined | null)[]): Outcome {
    // Almost every check passes: look before building the list of real messages.
    let any = false;
    for (let i = 0; i < messages.length && !any; i++) {
        const m = messages[i];
        any = typeof m === "string" && m !== "";
    }
    if (!any) return compliant();
    const real = messages.filter((m): m is string => typeof m === "string" && m !== "");
    return { kind: "non-compliant", messages: real };
}

export const fail = (...messages: string[]): Outcome => failIf(messages);

/** A CannotCheckError becomes `cannot-check`; anything else is rethrown (the engine reports it). */
function cannotCheckOr(err: unknown): Outcome {
    if (err instanceof CannotCheckError) return cannotCheck(err.message);
    throw err;
}

export interface ResourceRuleDefinition extends RuleMetadata {
    resourceTypes: readonly string[] | "*";
    check(resource: ResourceView, ctx: RuleContext): Outcome;
}

export function defineResourceRule(definition: ResourceRuleDefinition): ResourceRule {
    const check = definition.check.bind(definition);
    // Called once per (rule, resource): a plain two-argument wrapper, no rest/spread arrays.
    const guardedCheck = (resource: ResourceView, ctx: RuleContext): Outcome => {
        try {
            return check(resource, ctx);
        } catch (err) {
            return cannotCheckOr(err);
        }
    };
    return { ...definition, scope: "resource", check: guardedCheck };
}

export interface StackRuleDefinition extends RuleMetadata {
    check(ctx: RuleContext): Outcome;
}

export function defineStackRule(definition: StackRuleDefinition): StackRule {
    const check = definition.check.bind(definition);
    const guardedCheck = (ctx: RuleContext): Outcome => {
        try {
            return check(ctx);
        } catch (err) {
            return cannotCheckOr(err);
        }
    };
    return { ...definition, scope: "stack", check: guardedCheck };
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
        let outcome: Outcome;
        try {
            outcome = part();
        } catch (err) {
            outcome = cannotCheckOr(err);
        }
        if (outcome.kind === "non-compliant") messages.push(...outcome.messages);
        else if (outcome.kind === "cannot-check") unknowns.push(outcome.message);
        if (outcome.kind !== "not-applicable") applicable = true;
    }
    if (messages.length) return { kind: "non-compliant", messages: unknowns.length ? [...messages, ...unknowns.map((u) => `(also) ${u}`)] : messages };
    if (unknowns.length) return cannotCheck(unknowns.join("; "));
    return applicable ? compliant() : notApplicable();
}
