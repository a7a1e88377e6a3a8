// `npm start`: the main job with no cloud and no Pulumi CLI. Plans dev and prod under
// Pulumi's mocks, prints what each would create, runs the APPI policy pack over it and
// prints the compliance report. Exit 0: both stacks pass; 1: a mandatory violation; 2: bad input.
import { ConfigError } from "../components/config";
import { planStack } from "../plan/run";
import { listStacks, StackConfigError } from "../plan/stack-config";
import { formatPlanSummary, summarisePlan } from "../plan/summary";
import { formatReport, mandatoryViolations, summary, Report } from "../policies/report";
import { rules } from "../policies/rules";
import { checkPlannedStack } from "../policies/runners/offline";

const rule = (title: string) => `\n${"=".repeat(8)} ${title} ${"=".repeat(Math.max(4, 72 - title.length))}`;

async function main(): Promise<number> {
    const reports: Report[] = [];
    for (const stack of listStacks()) {
        const planned = await planStack(stack);
        console.log(rule(`plan: ${stack}`));
        console.log(formatPlanSummary(summarisePlan(planned)));
        const report = checkPlannedStack(planned, { rules });
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

main().then(
    (code) => process.exit(code),
    (err) => {
        if (err instanceof ConfigError || err instanceof StackConfigError) {
            console.error(`npm start: ${err.message}`);
            process.exit(2);
        }
        console.error(err);
        process.exit(2);
    },
);
