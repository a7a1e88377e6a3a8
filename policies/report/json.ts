// The machine-readable report: {"violations": [...], "summary": {...}}.
import { Report, Summary, Violation, summary, violations } from "./model";

export interface JsonReport {
    violations: Violation[];
    summary: Summary;
}

export function toJsonReport(report: Report): JsonReport {
    return { violations: violations(report), summary: summary(report) };
}

export function formatJson(report: Report): string {
    return JSON.stringify(toJsonReport(report), null, 2);
}
