import { NOT_REVIEWED, coverageLine, coverageOf, unreviewedList } from "../../core/coverage";
import { compliant, defineStackRule, fail, notApplicable } from "../../core/rule";
import { Rule, StackRule } from "../../core/types";
import { APPI } from "../_shared/appi";

/**
 * The stack's AWS resource types that none of `reviewers` reviews, as one advisory
 * finding on the stack: the three runners report coverage through the same rule.
 * Built from the rule set it reports on (rules/index.ts passes every other rule).
 */
export function resourceTypesReviewed(reviewers: readonly Rule[]): StackRule {
    return defineStackRule({
        id: "resource-types-reviewed",
        title: "Every AWS resource type in the stack is reviewed by some rule",
        description: `Lists the AWS resource types in the stack that no enabled rule of the pack applies to (${NOT_REVIEWED}), with a coverage line such as "41 of 43 resource types reviewed". A pass is only as good as the rules that looked: an unreviewed type may hold or expose personal data nobody checked.`,
        appi: APPI.security,
        securityHub: [],
        severity: "medium",
        remediation:
            "Review the listed resources by hand before the deploy (or add a rule for the type): a type no rule reads may store, copy or expose personal data without any check.",
        defaultEnforcement: "advisory",
        check({ stack, config }) {
            const coverage = coverageOf(reviewers, stack.resources, config);
            if (!coverage.types.length) return notApplicable();
            if (!coverage.unreviewed.length) return compliant();
            return fail(`${coverageLine(coverage)}; ${NOT_REVIEWED}: ${unreviewedList(coverage)}`);
        },
    });
}
