// What the offline check and the audit CLIs share: config and exceptions files,
// report output, and the exit-code contract (0 pass, 1 mandatory violation, 2 bad input).
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, resolveConfig } from "../core/config";
import { PackConfig } from "../core/types";
import { ExceptionsError, PolicyException, loadExceptions } from "../exceptions";
import { REPORT_FORMATS, ReportFormat, formatReport, isReportFormat } from "../report";
import { Report, mandatoryViolations } from "../report/model";
import { InputError } from "./errors";

export const EXIT_PASS = 0;
export const EXIT_MANDATORY_VIOLATION = 1;
export const EXIT_BAD_INPUT = 2;

/** A config file holds a (partial) PackConfig; defaults fill the rest. */
export function loadConfigFile(file: string | undefined): PackConfig {
    if (file === undefined) return resolveConfig(undefined);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
    }
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (err) {
        throw new ConfigError(`config file ${file} is not JSON: ${(err as Error).message}`);
    }
    try {
        return resolveConfig(doc);
    } catch (err) {
        throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
    }
}

export function loadExceptionsFile(file: string | undefined, knownRules: readonly string[]): PolicyException[] {
    return file === undefined ? [] : loadExceptions(file, { knownRules });
}

export function parseFormat(value: string | undefined): ReportFormat {
    const format = value ?? "text";
    if (!isReportFormat(format)) throw new InputError(`unknown --format "${format}" (one of ${REPORT_FORMATS.join(", ")})`);
    return format;
}

export function render(report: Report, format: ReportFormat, artifact?: string): string {
    const artifactUri = artifact ? path.relative(process.cwd(), path.resolve(artifact)).split(path.sep).join("/") : undefined;
    return formatReport(report, format, { artifactUri });
}

export function exitCodeFor(reports: readonly Report[]): number {
    return reports.some((r) => mandatoryViolations(r) > 0) ? EXIT_MANDATORY_VIOLATION : EXIT_PASS;
}

/** Errors that mean "bad input or usage" (exit 2); anything else is a bug and keeps its stack trace. */
export function isInputProblem(err: unknown): err is Error {
    return err instanceof InputError || err instanceof ConfigError || err instanceof ExceptionsError;
}

/** Runs a CLI body and turns its outcome into the exit-code contract; bad input is one line on stderr. */
export async function runCli(name: string, body: () => Promise<number> | number): Promise<void> {
    try {
        process.exitCode = await body();
    } catch (err) {
        if (isInputProblem(err)) {
            process.stderr.write(`${name}: ${err.message.replace(/\s*\n\s*/g, " ")}\n`);
            process.exitCode = EXIT_BAD_INPUT;
        } else {
            process.stderr.write(`${name}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
            process.exitCode = 70;
        }
    }
}
