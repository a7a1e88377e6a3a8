// `npm run audit -- FILE|- [options]`: the APPI rules over a `pulumi stack export` file.
// Exit 0: nothing fails at the threshold; 1: something does; 2: bad input or usage (one line on stderr).
import { rules } from "../rules";
import { auditFile } from "./audit";
import {
    CommandSpec,
    EXIT_CODES_LINE,
    REPORT_OPTIONS,
    baselineOf,
    deliver,
    exitCodeFor,
    formatRuleList,
    loadBaseline,
    policyConfigOption,
    loadExceptionsFile,
    parseCommandLine,
    parseFailOn,
    parseFormat,
    printHelp,
    render,
    runCli,
    withRunContext,
} from "./cli-support";
import { InputError } from "./errors";

export const AUDIT_COMMAND = {
    invocation: "npm run audit --",
    positionals: { name: "FILE", min: 0, max: 1, description: "`pulumi stack export` output (deployment version 3); - reads standard input" },
    summary: "Audits a deployed stack's state with the APPI policy rules (the same rules as `pulumi preview --policy-pack policies`).",
    options: REPORT_OPTIONS,
    epilogue: [
        EXIT_CODES_LINE,
        "Examples:",
        "  pulumi stack export -s prod | npm run audit -- - --format sarif --output appi.sarif",
        "  npm run audit -- prod.json --baseline appi-baseline.json --fail-on high",
        "  npm run audit -- --list-rules --format json",
    ],
} satisfies CommandSpec;

export function main(argv: string[]): number {
    const line = parseCommandLine(AUDIT_COMMAND, argv);
    if (line.help) return printHelp(line.usage);
    const { values, positionals } = line;
    if (values["list-rules"]) {
        deliver("audit", formatRuleList(rules, parseFormat(values.format, ["text", "json", "markdown"])), values.output, "rule list");
        return 0;
    }
    if (positionals.length !== 1) throw new InputError(`no stack export file given (- reads standard input); see npm run audit -- --help`);
    const format = parseFormat(values.format);
    const failOn = parseFailOn(values["fail-on"]);
    const config = policyConfigOption(values, "npm run audit -- --help");
    const exceptions = loadExceptionsFile(values.exceptions, rules.map((r) => r.id));
    const baseline = values.baseline === undefined ? undefined : loadBaseline(values.baseline);
    const file = positionals[0];
    const report = withRunContext(auditFile(file, { rules, config, exceptions }), { config, failOn, baseline });
    if (report.resources === 0) {
        process.stderr.write(`audit: warning: ${file === "-" ? "standard input" : file} has no resources, so nothing was checked (an empty or never-deployed stack, or the wrong export?)\n`);
    }
    const code = exitCodeFor([report]);
    if (values["write-baseline"] !== undefined) deliver("audit", JSON.stringify(baselineOf([report]), null, 2), values["write-baseline"], "baseline");
    deliver("audit", render(report, format, { artifact: file, output: values.output, commandLine: ["npm run audit --", ...argv].join(" "), exitCode: code, analysis: "state" }), values.output);
    return code;
}

if (require.main === module) void runCli("audit", () => main(process.argv.slice(2)));
