// The machine-readable report: {"violations": [...], "summary": {...}}.
import { Report, Summary, UnusedExemption, Violation, summary, violations } from "./model";

export interface JsonReport {
    violations: Violation[];
    summary: Summary;
    /** Exceptions and acknowledgements that exempted nothing. */
    unusedExemptions: UnusedExemption[];
}

export function toJsonReport(report: Report): JsonReport {
    return { violations: violations(report), summary: summary(report), unusedExemptions: [...(report.unusedExemptions ?? [])] };
}

export function formatJson(report: Report): string {
    return JSON.stringify(toJsonReport(report), null, 2);
}
