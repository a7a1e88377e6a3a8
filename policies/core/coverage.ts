// Which AWS resource types in a stack the pack reviews, and which it does not.
//
// A pass is only as good as the rules that looked: a type no rule applies to is
// reported as "not reviewed by the APPI pack" (advisory) and counted in a coverage
// line, so a reviewer never mistakes silence for compliance.
//
// A type is reviewed when an enabled rule declares it: a resource rule's
// `resourceTypes` list, or the types any rule (stack rules too) names in `reviews` (resources it judges
// through references, e.g. the subnets and route tables of a DB subnet group). A rule
// that applies to every type ("*", e.g. region-allowed) reviews only where a resource
// lives, not what it holds or exposes, so it makes no type reviewed.
import { enforcementFor } from "./engine";
import { PackConfig, Rule } from "./types";

export const NOT_REVIEWED = "not reviewed by the APPI pack";

/** What coverage is about: AWS resource types (providers, components and other packages' types are not). */
export function isReviewableType(type: string): boolean {
    return type.startsWith("aws:");
}

/** Every type some rule of `rules` declares it reviews (disabled rules excluded when `config` is given). */
export function reviewedTypes(rules: readonly Rule[], config?: PackConfig): Set<string> {
    const reviewed = new Set<string>();
    for (const rule of rules) {
        if (config && enforcementFor(rule, config) === "disabled") continue;
        const declared = rule.scope === "resource" ? rule.resourceTypes : undefined;
        if (declared !== undefined && declared !== "*") for (const type of declared) reviewed.add(type);
        for (const type of rule.reviews ?? []) reviewed.add(type);
    }
    return reviewed;
}

export interface Coverage {
    /** AWS resource types in the stack, sorted. */
    types: string[];
    /** Of those, the ones no rule reviews, sorted, with how many resources each has. */
    unreviewed: { type: string; resources: number }[];
}

export function coverageOf(rules: readonly Rule[], resources: Iterable<{ type: string }>, config?: PackConfig): Coverage {
    const counts = new Map<string, number>();
    for (const { type } of resources) if (isReviewableType(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
    const reviewed = reviewedTypes(rules, config);
    const types = [...counts.keys()].sort();
    return { types, unreviewed: types.filter((t) => !reviewed.has(t)).map((type) => ({ type, resources: counts.get(type)! })) };
}

/** `41 of 43 resource types reviewed`. */
export function coverageLine(coverage: Coverage): string {
    const n = coverage.types.length;
    return `${n - coverage.unreviewed.length} of ${n} resource type${n === 1 ? "" : "s"} reviewed`;
}

/** The unreviewed types as one phrase: `aws:ec2/eip:Eip (3), aws:sqs/queue:Queue (1)`. */
export function unreviewedList(coverage: Coverage): string {
    return coverage.unreviewed.map((u) => `${u.type} (${u.resources})`).join(", ");
}
