// Runs a rule set over a stack view: every applicable (rule, resource) pair,
// with the enforcement level from config overrides else the rule's default.
import { ConfigError } from "./config";
import { EnforcementLevel, Finding, Outcome, PackConfig, ResourceRule, Rule, StackView } from "./types";

export function enforcementFor(rule: Rule, config: PackConfig): EnforcementLevel {
    return config.enforcement[rule.id] ?? rule.defaultEnforcement;
}

/** Throws ConfigError when an enforcement override names no rule of the set (a typo must not silently keep a rule on). */
export function checkEnforcementKeys(rules: readonly Rule[], config: PackConfig): void {
    const ids = new Set(rules.map((r) => r.id));
    const unknown = Object.keys(config.enforcement).filter((id) => !ids.has(id));
    if (unknown.length) throw new ConfigError(`enforcement names unknown rule(s): ${unknown.join(", ")}`);
}

function errorOutcome(rule: Rule, err: unknown): Outcome {
    const detail = err instanceof Error ? err.message : String(err);
    return { kind: "non-compliant", messages: [`rule ${rule.id} failed with an error and could not decide: ${detail}`] };
}

/** URN a stack-level finding is reported on: the stack resource when present. */
function stackUrn(stack: StackView): string {
    const root = stack.resources.find((r) => r.type === "pulumi:pulumi:Stack");
    return root?.urn ?? `stack:${stack.stack ?? "unknown"}`;
}

export function evaluate(rules: readonly Rule[], stack: StackView, config: PackConfig): Finding[] {
    checkEnforcementKeys(rules, config);
    const active = rules.filter((rule) => enforcementFor(rule, config) !== "disabled");
    const forEveryType: ResourceRule[] = [];
    const byType = new Map<string, ResourceRule[]>();
    for (const rule of active) {
        if (rule.scope !== "resource") continue;
        if (rule.resourceTypes === "*") forEveryType.push(rule);
        else
            for (const type of rule.resourceTypes) {
                const list = byType.get(type);
                if (list) list.push(rule);
                else byType.set(type, [rule]);
            }
    }
    const ctx = { stack, config };
    const findings: Finding[] = [];
    const record = (rule: Rule, urn: string, resourceType: string, outcome: Outcome) => {
        if (outcome.kind === "not-applicable") return;
        findings.push({ ruleId: rule.id, urn, resourceType, outcome, enforcementLevel: enforcementFor(rule, config) });
    };
    for (const resource of stack.resources) {
        const typed = byType.get(resource.type);
        const applicable = typed ? [...forEveryType, ...typed] : forEveryType;
        for (const rule of applicable) {
            let outcome: Outcome;
            try {
                outcome = rule.check(resource, ctx);
            } catch (err) {
                outcome = errorOutcome(rule, err);
            }
            record(rule, resource.urn, resource.type, outcome);
        }
    }
    for (const rule of active) {
        if (rule.scope !== "stack") continue;
        let outcome: Outcome;
        try {
            outcome = rule.check(ctx);
        } catch (err) {
            outcome = errorOutcome(rule, err);
        }
        record(rule, stackUrn(stack), "pulumi:pulumi:Stack", outcome);
    }
    return findings;
}
