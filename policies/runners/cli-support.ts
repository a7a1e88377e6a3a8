// What the offline check and the audit CLIs share: config and exceptions files,
// report output, and the exit-code contract (0 pass, 1 mandatory violation, 2 bad input).
import { aliasOf, canonicalRuleId } from "../rules/aliases";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, resolveConfig } from "../core/config";
import { PackConfig, RuleMetadata } from "../core/types";
import { ExceptionsError, PolicyException, loadExceptions } from "../exceptions";
import { REPORT_FORMATS, ReportFormat, ReportOptions, formatReport, isReportFormat } from "../report";
import { FAIL_ON_VALUES, FailOn, Report, failingFindings, findingFingerprint, isViolation, shortArticle } from "../report/model";
import { provenance, sourceControl } from "../report/provenance";
import { useColor, TEXT_WIDTH } from "../report/text";
import { renderCatalogue } from "../rules/catalogue";
import { InputError } from "./errors";

export const EXIT_PASS = 0;
export const EXIT_MANDATORY_VIOLATION = 1;
export const EXIT_BAD_INPUT = 2;

/** One option of a command: how it is written and what it does (the --help text). */
export interface OptionSpec {
    type: "string" | "boolean";
    short?: string;
    multiple?: boolean;
    /** Placeholder shown in the usage, e.g. FILE. */
    value?: string;
    description: string;
}

export interface CommandSpec<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
    /** How the command is run, e.g. `npm run audit --`. */
    invocation: string;
    /** Positional arguments as shown in the usage, e.g. `FILE`; none when empty. */
    positionals?: { name: string; min: number; max: number; description?: string };
    summary: string;
    options: O;
    /** Lines after the options (exit codes, examples). */
    epilogue?: string[];
}

type OptionValue<S extends OptionSpec> = S["type"] extends "boolean" ? boolean : S["multiple"] extends true ? string[] : string;
export type OptionValues<O extends Record<string, OptionSpec>> = { [K in keyof O]?: OptionValue<O[K]> };

export type CommandLine<O extends Record<string, OptionSpec>> =
    | { help: true; usage: string }
    | { help: false; values: OptionValues<O>; positionals: string[] };

export const EXIT_CODES_LINE = "Exit codes: 0 pass, 1 mandatory violation (or --fail-on threshold reached), 2 bad input or usage, 70 internal error.";

function optionSynopsis(name: string, spec: OptionSpec): string {
    return `${spec.short ? `-${spec.short}, ` : ""}--${name}${spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : ""}`;
}

/** The one-line usage, shown after a usage error. */
export function usageLine(spec: CommandSpec): string {
    const opts = Object.entries(spec.options).map(([name, o]) => `[${optionSynopsis(name, o)}]${o.multiple ? "..." : ""}`);
    const pos = spec.positionals ? (spec.positionals.min > 0 ? spec.positionals.name : `[${spec.positionals.name}]`) : "";
    return `usage: ${[spec.invocation, pos, ...opts].filter(Boolean).join(" ")}`;
}

/** The --help text: usage, what the command does, every option, exit codes. */
export function helpText(spec: CommandSpec): string {
    const rows: [string, string][] = Object.entries(spec.options).map(([name, o]) => [optionSynopsis(name, o), o.description + (o.multiple ? " (repeatable)" : "")]);
    rows.push(["-h, --help", "print this help and exit 0"]);
    if (spec.positionals?.description) rows.unshift([spec.positionals.name, spec.positionals.description]);
    const width = Math.min(28, Math.max(...rows.map(([left]) => left.length)));
    const lines = [usageLine(spec), "", spec.summary, "", "Options:"];
    for (const [left, right] of rows) lines.push(left.length > width ? `  ${left}\n  ${" ".repeat(width)}  ${right}` : `  ${left.padEnd(width)}  ${right}`);
    if (spec.epilogue?.length) lines.push("", ...spec.epilogue);
    return lines.join("\n") + "\n";
}

/** The option a node:util parseArgs error is about, e.g. `--stak`. */
function optionInError(message: string): string {
    return /'(-{1,2}[^'\s,]+)/.exec(message)?.[1] ?? message;
}

/**
 * The one parser every command uses: `--help` (or `-h`) anywhere asks for the help text
 * (print it on stdout, exit 0); an unknown option, a missing option value or a wrong number
 * of positionals is an InputError naming the problem (exit 2). A lone `-` is a positional
 * (standard input); `--` ends the options.
 */
export function parseCommandLine<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, argv: readonly string[]): CommandLine<O> {
    const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = { help: { type: "boolean", short: "h" } };
    for (const [name, o] of Object.entries(spec.options)) options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
    const help = `${spec.invocation} --help`;
    const helpAsked = argv.slice(0, argv.includes("--") ? argv.indexOf("--") : argv.length).some((a) => a === "--help" || a === "-h");
    if (helpAsked) return { help: true, usage: helpText(spec) };
    let parsed;
    try {
        parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    } catch (err) {
        const e = err as Error & { code?: string };
        const option = optionInError(e.message);
        const problem =
            e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
                ? `unknown option ${option}`
                : e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE"
                  ? /argument missing/.test(e.message)
                      ? `option ${option} needs a value`
                      : `option ${option} takes no value`
                  : e.message;
        throw new InputError(`${problem}; see ${help}`);
    }
    const positionals = parsed.positionals;
    const pos = spec.positionals ?? { name: "", min: 0, max: 0 };
    if (positionals.length > pos.max) {
        throw new InputError(`${pos.max === 0 ? `unexpected argument "${positionals[0]}"` : `expected at most ${pos.max} ${pos.name}, got ${positionals.length}`} ; see ${help}`);
    }
    if (positionals.length < pos.min) throw new InputError(`missing ${pos.name} ; see ${help}`);
    const values = { ...parsed.values } as Record<string, unknown>;
    delete values.help;
    return { help: false, values: values as OptionValues<O>, positionals };
}

/** The pack config file from --policy-config or its older name --config (not both). */
export function policyConfigOption(values: { config?: string; "policy-config"?: string }, help: string): PackConfig {
    if (values.config !== undefined && values["policy-config"] !== undefined) throw new InputError(`--config and --policy-config name the same file: give one; see ${help}`);
    return loadConfigFile(values["policy-config"] ?? values.config);
}

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
    if (file === undefined) return [];
    const list = loadExceptions(file, { knownRules });
    warnRetiredIds(file, "exceptions", list.map((e) => e.rule));
    return list;
}

/** A note on stderr for waivers filed under retired rule ids (rules/aliases.ts): they still apply, and should be refiled. */
function warnRetiredIds(file: string, what: string, ids: readonly string[]): void {
    const retired = [...new Set(ids.filter((id) => aliasOf(id)))];
    if (!retired.length) return;
    const names = retired.map((id) => `${id} (now ${canonicalRuleId(id)})`).join(", ");
    process.stderr.write(`note: ${what} ${file} names deprecated rule id(s) ${names}: they still apply to the types the old rule judged; rename them\n`);
}

export function parseFormat(value: string | undefined, allowed: readonly string[] = REPORT_FORMATS): ReportFormat {
    const format = value ?? "text";
    if (!isReportFormat(format) || !allowed.includes(format)) throw new InputError(`unknown --format "${format}" (one of ${allowed.join(", ")})`);
    return format;
}

export function parseFailOn(value: string | undefined): FailOn {
    if (value === undefined) return "mandatory";
    if (!(FAIL_ON_VALUES as readonly string[]).includes(value)) {
        throw new InputError(`unknown --fail-on "${value}" (one of ${FAIL_ON_VALUES.join(", ")}: a severity fails on advisory findings at or above it, advisory on every one; mandatory violations always fail)`);
    }
    return value as FailOn;
}

/** The options every report-producing command (check, audit) shares, with their --help text. */
export const REPORT_OPTIONS = {
    format: { type: "string", short: "f", value: "FORMAT", description: `report format: ${REPORT_FORMATS.join(", ")} (default text)` },
    output: { type: "string", short: "o", value: "FILE", description: "write the report to FILE instead of stdout (the exit code is the same)" },
    "policy-config": { type: "string", value: "FILE", description: "pack config JSON (thresholds, allowed regions, enforcement overrides), as CI and npm start take it" },
    config: { type: "string", value: "FILE", description: "the same as --policy-config (kept for existing scripts)" },
    exceptions: { type: "string", value: "FILE", description: "approved exceptions (rule, URN pattern, reason, approver, expiry)" },
    "fail-on": {
        type: "string",
        value: "LEVEL",
        description: "also fail on advisory findings: critical, high, medium or low (at or above that severity), or advisory (every one); mandatory violations always fail",
    },
    baseline: { type: "string", value: "FILE", description: "fail only on findings not in this baseline (fingerprint: rule + URN)" },
    "write-baseline": { type: "string", value: "FILE", description: "write the current violations to FILE as a baseline" },
    "list-rules": { type: "boolean", description: "list every rule (id, level, severity, APPI article, title) in --format text, json or markdown, and exit" },
} as const satisfies Record<string, OptionSpec>;

/** `--list-rules`: text (one rule a line, 100 columns), JSON (the metadata), or Markdown (the catalogue). */
export function formatRuleList(rules: readonly RuleMetadata[], format: ReportFormat): string {
    if (format === "json") {
        return JSON.stringify(
            rules.map((r) => ({ id: r.id, title: r.title, appi: r.appi, securityHub: r.securityHub, severity: r.severity, defaultEnforcement: r.defaultEnforcement, description: r.description, remediation: r.remediation })),
            null,
            2,
        );
    }
    if (format === "markdown") return renderCatalogue(rules as Parameters<typeof renderCatalogue>[0]).trimEnd();
    if (format !== "text") throw new InputError(`--list-rules prints text, json or markdown, not ${format}`);
    const rows = rules.map((r) => [r.id, r.defaultEnforcement, r.severity, shortArticle(r.appi), r.title]);
    const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i].length)));
    const lines = rows.map((row) => {
        const left = row.slice(0, 4).map((c, i) => c.padEnd(widths[i])).join("  ") + "  ";
        const room = TEXT_WIDTH - left.length;
        return left + (row[4].length <= room ? row[4] : `${row[4].slice(0, room - 1)}…`);
    });
    return [...lines, "", `${rules.length} rules; full text: --list-rules --format markdown (or json)`].join("\n");
}

export interface BaselineFile {
    kind: "appi-policy-baseline";
    version: 1;
    createdAt: string;
    findings: { rule: string; urn: string }[];
}

/** Reads a baseline: the fingerprints (rule + URN) of findings already known. */
export function loadBaseline(file: string): Set<string> {
    let doc: unknown;
    try {
        doc = JSON.parse(readInput(file, "baseline").replace(/^\uFEFF/, ""));
    } catch (err) {
        if (err instanceof InputError) throw err;
        throw new InputError(`baseline ${file} is not JSON: ${(err as Error).message}`);
    }
    const findings = (doc as Partial<BaselineFile> | null)?.findings;
    if ((doc as Partial<BaselineFile> | null)?.kind !== "appi-policy-baseline" || !Array.isArray(findings)) {
        throw new InputError(`${file} is not a baseline (expected {"kind": "appi-policy-baseline", "findings": [...]}; write one with --write-baseline FILE)`);
    }
    const prints = new Set<string>();
    findings.forEach((f, i) => {
        if (typeof f?.rule !== "string" || typeof f?.urn !== "string") throw new InputError(`baseline ${file}: findings[${i}] needs "rule" and "urn" strings`);
        prints.add(findingFingerprint({ ruleId: f.rule, urn: f.urn }));
    });
    warnRetiredIds(file, "baseline", findings.map((f: { rule: string }) => f.rule));
    return prints;
}

/** Every current violation (non-compliant or unchecked, not exempted), sorted, as a baseline document. */
export function baselineOf(reports: readonly Report[], now: Date = new Date()): BaselineFile {
    const seen = new Map<string, { rule: string; urn: string }>();
    for (const report of reports) for (const f of report.findings) if (isViolation(f)) seen.set(findingFingerprint(f), { rule: f.ruleId, urn: f.urn });
    const findings = [...seen.values()].sort((a, b) => a.rule.localeCompare(b.rule) || a.urn.localeCompare(b.urn));
    return { kind: "appi-policy-baseline", version: 1, createdAt: now.toISOString(), findings };
}

/** Reads a file, or standard input for `-`; a missing file is bad input, not a crash. */
export function readInput(file: string, what: string): string {
    try {
        return file === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(file, "utf8");
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new InputError(`cannot read ${what} ${file}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (err as Error).message}`);
    }
}

export function writeOutput(file: string, text: string, what: string): void {
    try {
        fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
        fs.writeFileSync(file, text.endsWith("\n") ? text : `${text}\n`);
    } catch (err) {
        throw new InputError(`cannot write ${what} to ${file}: ${(err as Error).message}`);
    }
}

/** What a report needs from the run: thresholds, baseline, provenance. */
export function withRunContext(report: Report, context: { config: PackConfig; failOn: FailOn; baseline?: ReadonlySet<string> }): Report {
    return { ...report, config: context.config, failOn: context.failOn, ...(context.baseline ? { baseline: context.baseline } : {}), provenance: report.provenance ?? provenance() };
}

export interface RenderContext {
    /** The file the report is about (for SARIF's fallback location). */
    artifact?: string;
    /** Where the report goes: a file path, or stdout. */
    output?: string;
    commandLine?: string;
    exitCode?: number;
    /** What was checked, for the SARIF category: the planned program or deployed state. */
    analysis?: "plan" | "state";
}

export function render(report: Report, format: ReportFormat, context: RenderContext | string = {}): string {
    const ctx = typeof context === "string" ? { artifact: context } : context;
    const artifactUri = ctx.artifact && ctx.artifact !== "-" ? path.relative(process.cwd(), path.resolve(ctx.artifact)).split(path.sep).join("/") : undefined;
    const options: ReportOptions = {
        artifactUri,
        color: format === "text" && ctx.output === undefined && useColor(process.stdout),
        commandLine: ctx.commandLine,
        exitCode: ctx.exitCode,
        ...(format === "sarif" ? { sourceControl: sourceControl(), category: process.env.APPI_SARIF_CATEGORY || `appi-${ctx.analysis ?? "plan"}-${report.stack ?? "stack"}` } : {}),
        fullReport: process.env.APPI_FULL_REPORT_URL || undefined,
    };
    return formatReport(report, format, options);
}

/** 0 when nothing fails at the reports' thresholds, 1 otherwise. */
export function exitCodeFor(reports: readonly Report[]): number {
    return reports.some((r) => failingFindings(r).length > 0) ? EXIT_MANDATORY_VIOLATION : EXIT_PASS;
}

/** Sends a command's result to --output FILE (a note on stderr) or to stdout. */
export function deliver(name: string, text: string, output: string | undefined, what = "report"): void {
    if (output === undefined || output === "-") {
        process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
        return;
    }
    writeOutput(output, text, what);
    process.stderr.write(`${name}: ${what} written to ${output}\n`);
}

/** Prints a command's --help and ends it with exit 0. */
export function printHelp(text: string): number {
    process.stdout.write(text);
    return EXIT_PASS;
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
