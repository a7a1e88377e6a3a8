// `npm run plan`: what each stack would create, planned under Pulumi's mocks (no cloud, no CLI),
// without the compliance report: the plan half of `npm start`, as text or JSON.
// Exit 0: planned; 2: bad input (config, usage); 70: internal error.
import { planStack } from "../plan/run";
import { listStacks } from "../plan/stack-config";
import { formatPlanSummary, summarisePlan } from "../plan/summary";
import { rules } from "../policies/rules";
import { CommandSpec, deliver, loadConfigFile, parseCommandLine, parseFormat, printHelp, runCli, withRunContext } from "../policies/runners/cli-support";
import { InputError } from "../policies/runners/errors";
import { checkPlannedStack } from "../policies/runners/offline";
import { asInputError } from "./cli-errors";

export const PLAN_COMMAND = {
    invocation: "npm run plan --",
    summary: "Prints what each stack would create: resources by type, subnets and their internet routes, data stores and keys, exposure, who can deploy.",
    options: {
        stack: { type: "string", multiple: true, value: "STACK", description: "stack to plan (a Pulumi.<stack>.yaml); every stack when none is named" },
        format: { type: "string", short: "f", value: "FORMAT", description: "text (default) or json" },
        output: { type: "string", short: "o", value: "FILE", description: "write the plan to FILE instead of stdout" },
    },
    epilogue: ["Exit codes: 0 planned, 2 bad input or usage, 70 internal error."],
} satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
    const line = parseCommandLine(PLAN_COMMAND, argv);
    if (line.help) return printHelp(line.usage);
    const known = listStacks();
    const stacks = line.values.stack ?? known;
    const unknown = stacks.filter((s) => !known.includes(s));
    if (unknown.length) throw new InputError(`unknown stack ${unknown.join(", ")} (one of ${known.join(", ")})`);
    const format = parseFormat(line.values.format, ["text", "json"]);
    const config = loadConfigFile(undefined);
    const summaries = [];
    for (const stack of stacks) {
        const planned = await planStack(stack).catch(asInputError);
        const report = withRunContext(checkPlannedStack(planned, { rules, config }), { config, failOn: "mandatory" });
        summaries.push(summarisePlan(planned, { report }));
    }
    deliver("plan", format === "json" ? JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 2) : summaries.map(formatPlanSummary).join("\n\n"), line.values.output, "plan");
    return 0;
}

if (require.main === module) void runCli("plan", () => main(process.argv.slice(2)));
