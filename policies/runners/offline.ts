// Offline check: the program run under mocks (plan/), evaluated with the same
// rules as CrossGuard and the state audit. Props are the program's inputs
// overlaid on the state the mocks returned.
import { resolveConfig } from "../core/config";
import { coverageOf } from "../core/coverage";
import { evaluate } from "../core/engine";
import { buildStackView } from "../core/stack-view";
import { PackConfig, ResourceView, Rule } from "../core/types";
import { PolicyException, applyExceptionsReportingUnused, unusedExceptionMessage } from "../exceptions";
import { Report } from "../report/model";
import type { PlannedStack } from "../../plan/types";
import { buildResourceViews } from "./views";

/** The stack's `aws:region`, as the program's config gives it. */
export function plannedStackRegion(planned: PlannedStack): string | undefined {
    const region = planned.config["aws:region"];
    return typeof region === "string" && region.trim() !== "" ? region.trim() : undefined;
}

export function plannedStackViews(planned: PlannedStack): ResourceView[] {
    return buildResourceViews(
        planned.resources.map((r) => ({ urn: r.urn, type: r.type, id: r.id, inputs: r.inputs, outputs: r.state, provider: r.provider, parent: r.parent })),
        plannedStackRegion(planned),
    );
}

export interface CheckOptions {
    rules: readonly Rule[];
    config?: PackConfig;
    exceptions?: readonly PolicyException[];
}

/** Evaluates a stack planned under mocks; what `npm start` and `npm run check` print. */
export function checkPlannedStack(planned: PlannedStack, options: CheckOptions): Report {
    const views = plannedStackViews(planned);
    const config = options.config ?? resolveConfig(undefined);
    const findings = evaluate(options.rules, buildStackView(views, planned.stack), config);
    const exempted = applyExceptionsReportingUnused(findings, options.exceptions ?? []);
    return {
        stack: planned.stack,
        source: `Pulumi.${planned.stack}.yaml`,
        rules: options.rules,
        findings: exempted.findings,
        resources: views.length,
        unusedExemptions: exempted.unused.map((e) => ({ rule: e.rule, urn: e.urn, source: "exception" as const, message: unusedExceptionMessage(e) })),
        coverage: coverageOf(options.rules, views, config),
    };
}
