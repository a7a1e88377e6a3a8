// The machine-readable report: who/what/when (stack, pack version, commit, time, the
// thresholds in force), the verdict, then every finding in its own list with counts.
// `violations` keeps its original shape (what fails or must be read); passed, exempted,
// unchecked and baselined findings are listed beside it; then coverage and unused exemptions.
import { PackConfig } from "../core/types";
import { CoverageSummary, FailOn, Report, Summary, UnusedExemption, Verdict, Violation, coverageSummary, findingMessage, isBaselined, isViolation, summary, violations } from "./model";

export const JSON_REPORT_SCHEMA_VERSION = 2;

export interface FindingRef {
    policyName: string;
    urn: string;
}

export interface JsonReport {
    schemaVersion: number;
    stack: string | null;
    source: string | null;
    packVersion: string | null;
    commit: string | null;
    branch: string | null;
    time: string | null;
    thresholds: { failOn: FailOn } & Partial<Omit<PackConfig, "enforcement">> & { enforcement?: PackConfig["enforcement"] };
    verdict: Verdict;
    summary: Summary;
    violations: Violation[];
    passed: FindingRef[];
    exempted: (FindingRef & { reason: string; approver: string; expires: string; source: "exception" | "acknowledgement" })[];
    /** A value the rule needed was unknown or an unreadable secret: never counted as a pass. */
    unchecked: (FindingRef & { enforcementLevel: string; message: string })[];
    /** Violations already in the --baseline file. */
    baselined: FindingRef[];
    /** Present when the runner saw the whole stack (offline check, audit). */
    coverage?: CoverageSummary;
    /** Exceptions and acknowledgements that exempted nothing. */
    unusedExemptions: UnusedExemption[];
}

export function toJsonReport(report: Report): JsonReport {
    const ref = (f: Report["findings"][number]): FindingRef => ({ policyName: f.ruleId, urn: f.urn });
    const p = report.provenance;
    const coverage = coverageSummary(report);
    // Once: the summary walks every finding (a 10,000-resource stack has tens of thousands).
    const totals = summary(report);
    return {
        schemaVersion: JSON_REPORT_SCHEMA_VERSION,
        stack: report.stack ?? null,
        source: report.source ?? null,
        packVersion: p?.packVersion ?? null,
        commit: p?.commit ?? null,
        branch: p?.branch ?? null,
        time: p?.time ?? null,
        thresholds: { failOn: report.failOn ?? "mandatory", ...(report.config ?? {}) },
        verdict: totals.verdict,
        summary: totals,
        violations: violations(report),
        passed: report.findings.filter((f) => f.outcome.kind === "compliant").map(ref),
        exempted: report.findings.filter((f) => f.exemption).map((f) => ({ ...ref(f), reason: f.exemption!.reason, approver: f.exemption!.approver, expires: f.exemption!.expires, source: f.exemption!.source === "resource" ? "acknowledgement" : "exception" })),
        unchecked: report.findings
            .filter((f) => f.outcome.kind === "cannot-check")
            .map((f) => ({ ...ref(f), enforcementLevel: f.enforcementLevel, message: findingMessage(f) })),
        baselined: report.findings.filter((f) => isViolation(f) && isBaselined(report, f)).map(ref),
        ...(coverage ? { coverage } : {}),
        unusedExemptions: [...(report.unusedExemptions ?? [])],
    };
}

export function formatJson(report: Report): string {
    return JSON.stringify(toJsonReport(report), null, 2);
}
