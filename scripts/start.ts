// `npm start`: the main job with no cloud and no Pulumi CLI. Plans dev and prod under
// Pulumi's mocks, prints what each would create, runs the APPI policy pack over it and
// prints the compliance report. Exit 0: both stacks pass; 1: a mandatory violation; 2: bad input.
// `npm start -- --policy-config FILE --exceptions FILE`: the same pack config and exceptions as check, audit and CI.
import { parseArgs } from "node:util";
import { ConfigError } from "../components/config";
import { planStack } from "../plan/run";
import { listStacks, StackConfigError } from "../plan/stack-config";
import { formatPlanSummary, summarisePlan } from "../plan/summary";
import { formatReport, mandatoryViolations, summary, Report } from "../policies/report";
import { rules } from "../policies/rules";
import { isInputProblem, loadConfigFile, loadExceptionsFile } from "../policies/runners/cli-support";
import { InputError } from "../policies/runners/errors";
import { checkPlannedStack } from "../policies/runners/offline";

const USAGE = "usage: npm start -- [--policy-config FILE] [--exceptions FILE]";

const rule = (title: string) => `\n${"=".repeat(8)} ${title} ${"=".repeat(Math.max(4, 72 - title.length))}`;

export async function main(argv: string[]): Promise<number> {
    let values;
    try {
        ({ values } = parseArgs({ args: argv, options: { "policy-config": { type: "string" }, exceptions: { type: "string" }, help: { type: "boolean", short: "h" } } }));
    } catch (err) {
        throw new InputError(`${(err as Error).message}; ${USAGE}`);
    }
    if (values.help) {
        console.log(USAGE);
        return 0;
    }
    const config = loadConfigFile(values["policy-config"]);
    const exceptions = loadExceptionsFile(values.exceptions, rules.map((r) => r.id));
    const reports: Report[] = [];
    for (const stack of listStacks()) {
        const planned = await planStack(stack);
        console.log(rule(`plan: ${stack}`));
        console.log(formatPlanSummary(summarisePlan(planned)));
        const report = checkPlannedStack(planned, { rules, config, exceptions });
        console.log(rule(`APPI compliance: ${stack}`));
        console.log(formatReport(report, "text"));
        reports.push(report);
    }
    console.log(rule("verdict"));
    for (const report of reports) {
        const s = summary(report);
        const failed = mandatoryViolations(report);
        console.log(`${report.stack}: ${failed === 0 ? "PASS" : "FAIL"} (${s.resources} resources, ${s.passed} passed, ${s.failed} failed, ${s.exempted} exempted; ${failed} mandatory violations)`);
    }
    return reports.some((r) => mandatoryViolations(r) > 0) ? 1 : 0;
}

if (require.main === module) main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
        if (err instanceof ConfigError || err instanceof StackConfigError || isInputProblem(err)) {
            console.error(`npm start: ${err.message}`);
            process.exit(2);
        }
        console.error(err);
        process.exit(2);
    },
);
