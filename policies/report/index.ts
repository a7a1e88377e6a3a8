// One entry point for every report format.
import { formatJson } from "./json";
import { MarkdownOptions, formatMarkdown } from "./markdown";
import { Report } from "./model";
import { SarifOptions, formatSarif } from "./sarif";
import { TextOptions, formatText } from "./text";

/** Options of every format in one bag; each formatter reads its own. */
export type ReportOptions = SarifOptions & TextOptions & MarkdownOptions;

export const REPORT_FORMATS = ["text", "json", "sarif", "markdown"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function isReportFormat(value: string): value is ReportFormat {
    return (REPORT_FORMATS as readonly string[]).includes(value);
}

export function formatReport(report: Report, format: ReportFormat, options: ReportOptions = {}): string {
    switch (format) {
        case "text":
            return formatText(report, options);
        case "json":
            return formatJson(report);
        case "sarif":
            return formatSarif(report, options);
        case "markdown":
            return formatMarkdown(report, options);
    }
}

export * from "./model";
