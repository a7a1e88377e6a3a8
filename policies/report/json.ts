// The machine-readable report: {"violations": [...], "summary": {...}, "coverage": {...}}.
import { CoverageSummary, Report, Summary, Violation, coverageSummary, summary, violations } from "./model";

export interface JsonReport {
    violations: Violation[];
    summary: Summary;
    /** Present when the runner saw the whole stack (offline check, audit). */
    coverage?: CoverageSummary;
}

export function toJsonReport(report: Report): JsonReport {
    const coverage = coverageSummary(report);
    return { violations: violations(report), summary: summary(report), ...(coverage ? { coverage } : {}) };
}

export function formatJson(report: Report): string {
    return JSON.stringify(toJsonReport(report), null, 2);
}
