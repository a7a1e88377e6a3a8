// Runs a rule set over a stack view: every applicable (rule, resource) pair,
// with the enforcement level from config overrides else the rule's default.
import { applyAcknowledgement } from "../acknowledgements";
import { aliasOf } from "../rules/aliases";
import { ConfigError } from "./config";
import { EnforcementLevel, Finding, Outcome, PackConfig, ResourceRule, Rule, StackView } from "./types";

export function enforcementFor(rule: Rule, config: PackConfig): EnforcementLevel {
    return config.enforcement[rule.id] ?? rule.defaultEnforcement;
}

/** Throws ConfigError when an enforcement override names no rule of the set (a typo must not silently keep a rule on). */
export function checkEnforcementKeys(rules: readonly Rule[], config: PackConfig): void {
    const ids = new Set(rules.map((r) => r.id));
    const unknown = Object.keys(config.enforcement).filter((id) => !ids.has(id));
    // A retired id (rules/aliases.ts): a level for it cannot apply to the other types of the rule it was folded into.
    const retired = unknown.filter((id) => aliasOf(id) && ids.has(aliasOf(id)!.foldedInto));
    if (retired.length) throw new ConfigError(`enforcement names retired rule id(s): ${retired.map((id) => `${id} (folded into ${aliasOf(id)!.foldedInto}; set its level there)`).join(", ")}`);
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

/** The rules that apply to one resource type, in rule-set order, with their enforcement levels. */
interface Applicable {
    rules: readonly ResourceRule[];
    levels: readonly EnforcementLevel[];
}

export function evaluate(rules: readonly Rule[], stack: StackView, config: PackConfig): Finding[] {
    checkEnforcementKeys(rules, config);
    const active = rules.filter((rule) => enforcementFor(rule, config) !== "disabled");
    const forEveryType: ResourceRule[] = [];
    const typedRules = new Map<string, ResourceRule[]>();
    for (const rule of active) {
        if (rule.scope !== "resource") continue;
        if (rule.resourceTypes === "*") forEveryType.push(rule);
        else
            for (const type of rule.resourceTypes) {
                const list = typedRules.get(type);
                if (list) list.push(rule);
                else typedRules.set(type, [rule]);
            }
    }
    // Worked out once per type rather than once per resource: the rules for every type
    // first, then the type's own, in rule-set order.
    const applicableOf = (list: readonly ResourceRule[]): Applicable => ({ rules: list, levels: list.map((rule) => enforcementFor(rule, config)) });
    const untyped = applicableOf(forEveryType);
    const byType = new Map<string, Applicable>();
    for (const [type, typed] of typedRules) byType.set(type, applicableOf([...forEveryType, ...typed]));

    const ctx = { stack, config };
    const findings: Finding[] = [];
    for (const resource of stack.resources) {
        const applicable = byType.get(resource.type) ?? untyped;
        const applicableRules = applicable.rules;
        for (let i = 0; i < applicableRules.length; i++) {
            const rule = applicableRules[i];
            let outcome: Outcome;
            try {
                outcome = rule.check(resource, ctx);
            } catch (err) {
                outcome = errorOutcome(rule, err);
            }
            if (outcome.kind === "not-applicable") continue;
            if (outcome.kind === "non-compliant") {
                // An acknowledgement tag beside the resource: exempted, or (unusable) mandatory with the reason.
                const acked = applyAcknowledgement(resource, rule.id, outcome);
                // Built as the compliant findings are (no spread): every finding the reports walk has one shape.
                const finding: Finding = { ruleId: rule.id, urn: resource.urn, resourceType: resource.type, outcome: acked.outcome, enforcementLevel: acked.mandatory ? "mandatory" : applicable.levels[i] };
                if (acked.exemption) finding.exemption = acked.exemption;
                findings.push(finding);
                continue;
            }
            findings.push({ ruleId: rule.id, urn: resource.urn, resourceType: resource.type, outcome, enforcementLevel: applicable.levels[i] });
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
        if (outcome.kind === "not-applicable") continue;
        findings.push({ ruleId: rule.id, urn: stackUrn(stack), resourceType: "pulumi:pulumi:Stack", outcome, enforcementLevel: enforcementFor(rule, config) });
    }
    return findings;
}
