// Offline check: the program run under mocks (plan/), evaluated with the same
// rules as CrossGuard and the state audit. Props are the program's inputs
// overlaid on the state the mocks returned.
import { resolveConfig } from "../core/config";
import { coverageOf } from "../core/coverage";
import { evaluate } from "../core/engine";
import { buildStackView } from "../core/stack-view";
import { PackConfig, ResourceView, Rule } from "../core/types";
import { unusedAcknowledgements } from "../acknowledgements";
import { PolicyException, applyExceptionsReportingUnused, unusedExceptionMessage } from "../exceptions";
import * as path from "node:path";
import { Report, SourceLocation, toSourceLocation } from "../report/model";
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

/** The project root: where Pulumi.yaml is, two levels above this file. */
const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/**
 * URN -> the line of the program that declared it, from the SDK's source positions and stack
 * traces. A resource the SDK could not place at all gets its nearest ancestor's line (the
 * component's declaration), never line 1 of a config file.
 */
export function plannedLocations(planned: PlannedStack, projectRoot: string = PROJECT_ROOT): Map<string, SourceLocation> {
    const own = new Map<string, SourceLocation>();
    for (const r of planned.resources) {
        // The SDK's position, else the innermost frame of its stack trace inside the project
        // (a provider's position is in the SDK; a callback's frame is one the SDK cannot parse).
        let at = toSourceLocation(r.sourcePosition, projectRoot);
        for (const frame of r.stackTrace ?? []) {
            if (at) break;
            at = toSourceLocation(frame, projectRoot);
        }
        if (at) own.set(r.urn, at);
    }
    const parentOf = new Map(planned.resources.map((r) => [r.urn, r.parent]));
    const locations = new Map<string, SourceLocation>();
    for (const r of planned.resources) {
        let urn: string | undefined = r.urn;
        for (let depth = 0; urn !== undefined && depth < 64; depth++, urn = parentOf.get(urn)) {
            const at = own.get(urn);
            if (at) {
                locations.set(r.urn, at);
                break;
            }
        }
    }
    return locations;
}

/** Evaluates a stack planned under mocks; what `npm start` and `npm run check` print. */
export function checkPlannedStack(planned: PlannedStack, options: CheckOptions): Report {
    const views = plannedStackViews(planned);
    const config = options.config ?? resolveConfig(undefined);
    const findings = evaluate(options.rules, buildStackView(views, planned.stack), config);
    const exempted = applyExceptionsReportingUnused(findings, options.exceptions ?? []);
    return {
        locations: plannedLocations(planned),
        stack: planned.stack,
        source: `Pulumi.${planned.stack}.yaml`,
        rules: options.rules,
        findings: exempted.findings,
        resources: views.length,
        unusedExemptions: [
            ...exempted.unused.map((e) => ({ rule: e.rule, urn: e.urn, source: "exception" as const, message: unusedExceptionMessage(e) })),
            ...unusedAcknowledgements(views, new Set(exempted.findings.filter((f) => f.exemption?.source === "resource").map((f) => `${f.ruleId}|${f.urn}`))),
        ],
        coverage: coverageOf(options.rules, views, config),
    };
}
