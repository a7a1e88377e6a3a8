// `npm start`: the main job with no cloud and no Pulumi CLI. Plans each stack under Pulumi's
// mocks, prints what it would create (with an evidence header), runs the APPI policy pack over
// it and prints the compliance report. Exit 0: every stack passes; 1: a mandatory violation;
// 2: bad input (config, usage); 70: internal error.
// `npm start -- --policy-config FILE --exceptions FILE`: the same pack config and exceptions as check, audit and CI.
import { planStack } from "../plan/run";
import { listStacks } from "../plan/stack-config";
import { formatPlanSummary, summarisePlan } from "../plan/summary";
import { Report, formatReport, mandatoryViolations, plural, summary } from "../policies/report";
import { rules } from "../policies/rules";
import { CommandSpec, exitCodeFor, loadConfigFile, loadExceptionsFile, parseCommandLine, printHelp, runCli, withRunContext } from "../policies/runners/cli-support";
import { InputError } from "../policies/runners/errors";
import { checkPlannedStack } from "../policies/runners/offline";
import { useColor } from "../policies/report/text";
import { asInputError } from "./cli-errors";

export const START_COMMAND = {
    invocation: "npm start --",
    summary: "Plans every stack under Pulumi's mocks (no cloud, no CLI), prints the plan and the APPI compliance report, and a verdict per stack.",
    options: {
        stack: { type: "string", multiple: true, value: "STACK", description: "stack to plan (a Pulumi.<stack>.yaml); every stack when none is named" },
        "policy-config": { type: "string", value: "FILE", description: "pack config JSON (thresholds, allowed regions, enforcement overrides), as check, audit and CI take it" },
        exceptions: { type: "string", value: "FILE", description: "approved exceptions (rule, URN pattern, reason, approver, expiry)" },
    },
    epilogue: ["Exit codes: 0 every stack passes, 1 a mandatory violation, 2 bad input or usage, 70 internal error."],
} satisfies CommandSpec;

const banner = (title: string) => `\n${"=".repeat(8)} ${title} ${"=".repeat(Math.max(4, 72 - title.length))}`;

export async function main(argv: string[]): Promise<number> {
    const line = parseCommandLine(START_COMMAND, argv);
    if (line.help) return printHelp(line.usage);
    const known = listStacks();
    const stacks = line.values.stack ?? known;
    const unknown = stacks.filter((s) => !known.includes(s));
    if (unknown.length) throw new InputError(`unknown stack ${unknown.join(", ")} (one of ${known.join(", ")})`);
    const config = loadConfigFile(line.values["policy-config"]);
    const exceptions = loadExceptionsFile(line.values.exceptions, rules.map((r) => r.id));
    const reports: Report[] = [];
    for (const stack of stacks) {
        const planned = await planStack(stack).catch(asInputError);
        const report = withRunContext(checkPlannedStack(planned, { rules, config, exceptions }), { config, failOn: "mandatory" });
        console.log(banner(`plan: ${stack}`));
        console.log(formatPlanSummary(summarisePlan(planned, { report })));
        console.log(banner(`APPI compliance: ${stack}`));
        console.log(formatReport(report, "text", { color: useColor(process.stdout) }));
        reports.push(report);
    }
    console.log(banner("verdict"));
    for (const report of reports) {
        const s = summary(report);
        const failed = mandatoryViolations(report);
        console.log(
            `${report.stack}: ${s.verdict} (${plural(s.resources, "resource")}, ${s.passed} passed, ${s.failed} failed, ${s.exempted} exempted` +
                `${s.unchecked ? `, ${s.unchecked} not checkable` : ""}; ${plural(failed, "mandatory violation")})`,
        );
    }
    return exitCodeFor(reports);
}

if (require.main === module) void runCli("npm start", () => main(process.argv.slice(2)));
