// One model for every report format: the findings of one run plus the metadata
// of every rule in the pack. Text, Markdown, SARIF and JSON all read from here.
import { Coverage, NOT_REVIEWED, coverageLine } from "../core/coverage";
import { Finding, RuleMetadata } from "../core/types";

export interface Report {
    /** Stack name, when known. */
    stack?: string;
    /** What was checked (a stack export path, "program under mocks"), for headers and SARIF locations. */
    source?: string;
    /** Every rule of the pack, enabled or not, in pack order. */
    rules: readonly RuleMetadata[];
    findings: readonly Finding[];
    /** How many resources were looked at. */
    resources: number;
    /** The stack's AWS resource types and the ones no rule reviews (set by the runners that see the whole stack). */
    coverage?: Coverage;
    /** Exceptions and acknowledgements that exempted nothing: every format shows them, none drops them. */
    unusedExemptions?: readonly UnusedExemption[];
}

/** An exception (file or policy config) or an acknowledgement on a resource that covered no violation. */
export interface UnusedExemption {
    rule: string;
    /** The exception's URN pattern, or the acknowledged resource's URN. */
    urn: string;
    source: "exception" | "acknowledgement";
    message: string;
}

/** How a report labels an exempted finding: where the exemption was recorded. */
export function exemptionLabel(f: Finding): string {
    return f.exemption?.source === "resource" ? "exempted (acknowledged on the resource)" : "exempted";
}

/** Coverage as the JSON and SARIF reports carry it. */
export interface CoverageSummary {
    /** e.g. `41 of 43 resource types reviewed`. */
    line: string;
    types: number;
    reviewed: number;
    /** Types no rule reviews (advisory: not reviewed by the APPI pack), with their resource counts. */
    unreviewed: { type: string; resources: number }[];
}

export function coverageSummary(report: Report): CoverageSummary | undefined {
    const c = report.coverage;
    if (!c) return undefined;
    return { line: coverageLine(c), types: c.types.length, reviewed: c.types.length - c.unreviewed.length, unreviewed: c.unreviewed.map((u) => ({ ...u })) };
}

/** The coverage line and the unreviewed types, as text lines (empty when the runner computed no coverage). */
export function coverageLines(report: Report, code: (type: string) => string = (t) => t): string[] {
    const c = report.coverage;
    if (!c) return [];
    const lines = [`Coverage: ${coverageLine(c)}`];
    if (c.unreviewed.length) lines.push(`Advisory, ${NOT_REVIEWED}: ${c.unreviewed.map((u) => `${code(u.type)} (${u.resources})`).join(", ")}`);
    return lines;
}

export type ReportLevel = "mandatory" | "advisory";

/** One line of the JSON report: a finding someone must act on (or could not be checked). */
export interface Violation {
    policyName: string;
    urn: string;
    enforcementLevel: ReportLevel;
    message: string;
    severity: string;
    appi: string;
    securityHub: string[];
    remediation: string;
}

export interface Summary {
    resources: number;
    /** (rule, resource) checks that were compliant. */
    passed: number;
    /** Non-compliant checks no exception covers. */
    failed: number;
    /** Non-compliant checks an approved exception covers. */
    exempted: number;
}

export interface RuleCounts {
    passed: number;
    failed: number;
    exempted: number;
    /** Checks whose values were unknown or unreadable secrets. */
    unchecked: number;
}

export const NOT_CHECKED_PREFIX = "could not be checked";

export function ruleIndex(report: Report): Map<string, RuleMetadata> {
    return new Map(report.rules.map((r) => [r.id, r]));
}

/** The message shown for a finding: non-compliant messages joined; cannot-check said plainly. */
export function findingMessage(finding: Finding): string {
    const o = finding.outcome;
    if (o.kind === "non-compliant") return o.messages.join("; ");
    if (o.kind === "cannot-check") return /could not be checked/i.test(o.message) ? o.message : `${NOT_CHECKED_PREFIX}: ${o.message}`;
    return "";
}

/**
 * What a reviewer must see: every non-compliant finding without an exemption,
 * at its enforcement level, and every unchecked value as advisory (never a
 * silent pass, never a mandatory failure on a value nobody knows).
 */
export function isViolation(f: Finding): boolean {
    return (f.outcome.kind === "non-compliant" && !f.exemption) || f.outcome.kind === "cannot-check";
}

export function violationLevel(f: Finding): ReportLevel {
    return f.outcome.kind === "non-compliant" && f.enforcementLevel === "mandatory" ? "mandatory" : "advisory";
}

export function violations(report: Report): Violation[] {
    const rules = ruleIndex(report);
    return report.findings.filter(isViolation).map((f) => {
        const rule = rules.get(f.ruleId);
        return {
            policyName: f.ruleId,
            urn: f.urn,
            enforcementLevel: violationLevel(f),
            message: findingMessage(f),
            severity: rule?.severity ?? "medium",
            appi: rule?.appi ?? "",
            securityHub: rule?.securityHub ?? [],
            remediation: rule?.remediation ?? "",
        };
    });
}

export function summary(report: Report): Summary {
    let passed = 0;
    let failed = 0;
    let exempted = 0;
    for (const f of report.findings) {
        if (f.outcome.kind === "compliant") passed++;
        else if (f.outcome.kind === "non-compliant") f.exemption ? exempted++ : failed++;
    }
    return { resources: report.resources, passed, failed, exempted };
}

export function countsByRule(report: Report): Map<string, RuleCounts> {
    const counts = new Map<string, RuleCounts>(report.rules.map((r) => [r.id, { passed: 0, failed: 0, exempted: 0, unchecked: 0 }]));
    for (const f of report.findings) {
        let c = counts.get(f.ruleId);
        if (!c) counts.set(f.ruleId, (c = { passed: 0, failed: 0, exempted: 0, unchecked: 0 }));
        const kind = f.outcome.kind;
        if (kind === "compliant") c.passed++;
        else if (kind === "non-compliant") f.exemption ? c.exempted++ : c.failed++;
        else if (kind === "cannot-check") c.unchecked++;
    }
    return counts;
}

export function mandatoryViolations(report: Report): number {
    return report.findings.filter((f) => isViolation(f) && violationLevel(f) === "mandatory").length;
}

/** Where to read more: the Security Hub control's page when the rule maps to one, else the APPI text. */
export function ruleHelpUri(rule: RuleMetadata): string {
    const control = rule.securityHub[0];
    const m = control ? /^([A-Za-z0-9]+)\.(\d+)$/.exec(control) : null;
    if (m) {
        const service = m[1].toLowerCase();
        return `https://docs.aws.amazon.com/securityhub/latest/userguide/${service}-controls.html#${service}-${m[2]}`;
    }
    return "https://www.ppc.go.jp/en/legal/";
}

/** Resource type and logical name, parsed from a URN (`urn:pulumi:stack::project::type::name`). */
export function urnParts(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    if (parts.length < 4) return { type: "", name: urn };
    const typeChain = parts[2].split("$");
    return { type: typeChain[typeChain.length - 1], name: parts.slice(3).join("::") };
}
