// `npm run check -- [--stack dev|prod]... [options]`: runs the program under mocks for each
// stack named (every stack when none is), evaluates the APPI rules and prints the report.
// Exit 0: nothing fails at the threshold; 1: something does; 2: bad input or usage.
import { planStack } from "../../plan/run";
import { listStacks } from "../../plan/stack-config";
import { rules } from "../rules";
import { formatMarkdownComment } from "../report/markdown";
import { Report } from "../report/model";
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
import { checkPlannedStack } from "./offline";

export const CHECK_COMMAND = {
    invocation: "npm run check --",
    summary: "Plans each stack under Pulumi's mocks (no cloud, no CLI) and checks it with the APPI policy rules.",
    options: { stack: { type: "string", multiple: true, value: "STACK", description: "stack to check (a Pulumi.<stack>.yaml); every stack when none is named" }, ...REPORT_OPTIONS },
    epilogue: [EXIT_CODES_LINE, "Examples:", "  npm run check -- --stack prod --format sarif --output appi-prod.sarif", "  npm run check -- --fail-on advisory"],
} satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
    const line = parseCommandLine(CHECK_COMMAND, argv);
    if (line.help) return printHelp(line.usage);
    const { values } = line;
    if (values["list-rules"]) {
        deliver("check", formatRuleList(rules, parseFormat(values.format, ["text", "json", "markdown"])), values.output, "rule list");
        return 0;
    }
    const known = listStacks();
    const stacks = values.stack ?? known;
    const unknown = stacks.filter((s) => !known.includes(s));
    if (unknown.length) throw new InputError(`unknown stack ${unknown.join(", ")} (one of ${known.join(", ")}); see npm run check -- --help`);
    const format = parseFormat(values.format);
    if ((format === "json" || format === "sarif") && stacks.length > 1) throw new InputError(`--format ${format} prints one document: name one --stack`);
    const failOn = parseFailOn(values["fail-on"]);
    const config = policyConfigOption(values, "npm run check -- --help");
    const exceptions = loadExceptionsFile(values.exceptions, rules.map((r) => r.id));
    const baseline = values.baseline === undefined ? undefined : loadBaseline(values.baseline);
    const reports: Report[] = [];
    for (const stack of stacks) {
        let planned;
        try {
            planned = await planStack(stack);
        } catch (err) {
            throw new InputError(`stack ${stack} could not be planned: ${(err as Error).message}`);
        }
        reports.push(withRunContext(checkPlannedStack(planned, { rules, config, exceptions }), { config, failOn, baseline }));
    }
    const code = exitCodeFor(reports);
    if (values["write-baseline"] !== undefined) deliver("check", JSON.stringify(baselineOf(reports), null, 2), values["write-baseline"], "baseline");
    const commandLine = ["npm run check --", ...argv].join(" ");
    // Markdown is one comment for every stack: one sticky marker, one size budget.
    const text =
        format === "markdown"
            ? formatMarkdownComment(reports, { fullReport: process.env.APPI_FULL_REPORT_URL || undefined })
            : reports.map((report) => render(report, format, { artifact: `Pulumi.${report.stack}.yaml`, output: values.output, commandLine, exitCode: exitCodeFor([report]) })).join("\n\n");
    deliver("check", text, values.output);
    return code;
}

if (require.main === module) void runCli("check", () => main(process.argv.slice(2)));
