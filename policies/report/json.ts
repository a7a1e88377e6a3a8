// The machine-readable report: {"violations": [...], "summary": {...}, "coverage": {...}, "unusedExemptions": [...]}.
import { CoverageSummary, Report, Summary, UnusedExemption, Violation, coverageSummary, summary, violations } from "./model";

export interface JsonReport {
    violations: Violation[];
    summary: Summary;
    /** Present when the runner saw the whole stack (offline check, audit). */
    coverage?: CoverageSummary;
    /** Exceptions and acknowledgements that exempted nothing. */
    unusedExemptions: UnusedExemption[];
}

export function toJsonReport(report: Report): JsonReport {
    const coverage = coverageSummary(report);
    return { violations: violations(report), summary: summary(report), ...(coverage ? { coverage } : {}), unusedExemptions: [...(report.unusedExemptions ?? [])] };
}

export function formatJson(report: Report): string {
    return JSON.stringify(toJsonReport(report), null, 2);
}
