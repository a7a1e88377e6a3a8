// One model for every report format: the findings of one run plus the metadata
// of every rule in the pack. Text, Markdown, SARIF and JSON all read from here.
import { Coverage, NOT_REVIEWED, coverageLine } from "../core/coverage";
import { Finding, PackConfig, RuleMetadata, Severity } from "../core/types";
import { aliasesCovering } from "../rules/aliases";

/** Where and when a report was made: what a reviewer needs to trust it as evidence. */
export interface Provenance {
    /** Semver of the policy pack (policies/package.json). */
    packVersion: string;
    /** Git commit checked, from CI's environment or the working copy. */
    commit?: string;
    branch?: string;
    /** ISO 8601 time the report was made. */
    time: string;
}

/**
 * What makes a run fail: mandatory violations always; `advisory` adds every advisory or
 * unchecked finding, a severity adds those at or above it.
 */
export type FailOn = "mandatory" | "advisory" | Severity;
export const FAIL_ON_VALUES: readonly FailOn[] = ["mandatory", "advisory", "critical", "high", "medium", "low"];
const SEVERITY_RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1 };

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
    /** The pack settings the rules ran with (thresholds). */
    config?: PackConfig;
    /** The --fail-on threshold; mandatory when unset. */
    failOn?: FailOn;
    /** Fingerprints (see findingFingerprint) of known findings that do not fail the run. */
    baseline?: ReadonlySet<string>;
    provenance?: Provenance;
    /** URN -> the program line that declared the resource (SDK source positions), when known. */
    locations?: ReadonlyMap<string, SourceLocation>;
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

/** A position in the program's source, relative to the project root (SARIF's physical location). */
export interface SourceLocation {
    uri: string;
    line: number;
    column?: number;
}

/**
 * Reads the source position of a registration, in any of the forms the SDK and state use:
 * `file:///abs/index.ts` with line/column, `project:///index.ts#12,5` (stack export
 * `sourcePosition`), or an absolute path. Positions outside the project (node_modules,
 * another checkout) are dropped: code scanning could not annotate them.
 */
export function toSourceLocation(position: { uri?: string; line?: number; column?: number } | string | undefined, projectRoot: string): SourceLocation | undefined {
    if (position === undefined) return undefined;
    let uri: string;
    let line: number | undefined;
    let column: number | undefined;
    if (typeof position === "string") {
        const m = /^(.*?)(?:#(\d+)(?:,(\d+))?)?$/.exec(position)!;
        uri = m[1];
        line = m[2] ? Number(m[2]) : undefined;
        column = m[3] ? Number(m[3]) : undefined;
    } else {
        uri = position.uri ?? "";
        line = position.line;
        column = position.column;
    }
    if (!uri || !line || line < 1) return undefined;
    let relative: string;
    if (uri.startsWith("project:///")) relative = uri.slice("project:///".length);
    else {
        let file = uri;
        if (uri.startsWith("file://")) {
            try {
                file = decodeURIComponent(new URL(uri).pathname);
            } catch {
                return undefined;
            }
        }
        const root = projectRoot.replace(/\\/g, "/").replace(/\/?$/, "/");
        file = file.replace(/\\/g, "/");
        if (!file.startsWith(root)) return undefined;
        relative = file.slice(root.length);
    }
    if (!relative || relative.startsWith("..") || /(^|\/)node_modules\//.test(relative)) return undefined;
    return { uri: relative, line, ...(column && column > 0 ? { column } : {}) };
}

/** One finding's identity across runs: rule + URN (what a baseline stores). */
export function findingFingerprint(f: Pick<Finding, "ruleId" | "urn">): string {
    return `${f.ruleId}|${f.urn}`;
}

export function isBaselined(report: Report, f: Finding): boolean {
    if (report.baseline === undefined) return false;
    if (report.baseline.has(findingFingerprint(f))) return true;
    // A baseline written before a rule was folded names the retired id (rules/aliases.ts).
    for (const alias of aliasesCovering(f.ruleId, f.resourceType)) if (report.baseline.has(findingFingerprint({ ruleId: alias.id, urn: f.urn }))) return true;
    return false;
}

/** Violations that fail the run at the report's threshold (baselined ones excepted). */
export function failingFindings(report: Report): Finding[] {
    const failOn = report.failOn ?? "mandatory";
    const rules = ruleIndex(report);
    return report.findings.filter((f) => {
        if (!isViolation(f) || isBaselined(report, f)) return false;
        if (violationLevel(f) === "mandatory" || failOn === "advisory") return true;
        if (failOn === "mandatory") return false;
        const severity = rules.get(f.ruleId)?.severity ?? "medium";
        return SEVERITY_RANK[severity] >= SEVERITY_RANK[failOn];
    });
}

/** A mandatory rule that could not decide on a resource: the run cannot be called a pass. */
export function unprovenMandatory(report: Report): Finding[] {
    return report.findings.filter((f) => f.outcome.kind === "cannot-check" && f.enforcementLevel === "mandatory" && !f.exemption);
}

export type Verdict = "PASS" | "FAIL" | "NOT PROVEN";

export function verdict(report: Report): Verdict {
    if (failingFindings(report).length > 0) return "FAIL";
    return unprovenMandatory(report).length > 0 ? "NOT PROVEN" : "PASS";
}

/** "1 check", "2 checks". */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
    return `${n} ${n === 1 ? singular : pluralForm}`;
}

/** "Art. 26 (...) and Art. 23 (...)" -> "Art.26+23": short enough for a 100-column line. */
export function shortArticle(appi: string): string {
    const numbers = [...appi.matchAll(/Art\.\s*(\d+)/g)].map((m) => m[1]);
    return numbers.length ? `Art.${[...new Set(numbers)].join("+")}` : appi;
}

/** Each article the rules cite, with its subject: the legend for shortArticle. */
export function articleLegend(rules: readonly RuleMetadata[]): [string, string][] {
    const subjects = new Map<number, string>();
    for (const rule of rules) {
        for (const m of rule.appi.matchAll(/Art\.\s*(\d+)\s*\(([^;:)]+)/g)) {
            const n = Number(m[1]);
            if (!subjects.has(n)) subjects.set(n, m[2].trim());
        }
    }
    return [...subjects.entries()].sort((a, b) => a[0] - b[0]).map(([n, subject]) => [`Art.${n}`, subject]);
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
    verdict: Verdict;
    /** (rule, resource) checks that were compliant. */
    passed: number;
    /** Non-compliant checks no exception covers. */
    failed: number;
    /** Non-compliant checks an approved exception covers. */
    exempted: number;
    /** Checks whose values were unknown or unreadable secrets. */
    unchecked: number;
    /** Violations already in the baseline (they do not fail the run). */
    baselined: number;
    /** Violations that fail the run at its threshold. */
    failing: number;
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
    let unchecked = 0;
    let baselined = 0;
    for (const f of report.findings) {
        if (f.outcome.kind === "compliant") passed++;
        else if (f.outcome.kind === "non-compliant") f.exemption ? exempted++ : failed++;
        else if (f.outcome.kind === "cannot-check") unchecked++;
        if (isViolation(f) && isBaselined(report, f)) baselined++;
    }
    // The verdict from the same counts verdict() works out (failing first, then unproven mandatory checks).
    const failing = failingFindings(report).length;
    const outcome: Verdict = failing > 0 ? "FAIL" : unprovenMandatory(report).length > 0 ? "NOT PROVEN" : "PASS";
    return { resources: report.resources, verdict: outcome, passed, failed, exempted, unchecked, baselined, failing };
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
