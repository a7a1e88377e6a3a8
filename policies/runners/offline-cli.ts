// `npm run check -- --stack dev|prod [--format text|json|sarif|markdown] [--policy-config FILE] [--exceptions FILE]`
// Runs the program under mocks for each stack named (both when none is), evaluates
// the APPI rules and prints the report. Exit 1 on a mandatory violation, 2 on bad input.
import { parseArgs } from "node:util";
import { planStack } from "../../plan/run";
import { listStacks } from "../../plan/stack-config";
import { rules } from "../rules";
import { loadConfigFile, loadExceptionsFile, parseFormat, render, exitCodeFor, runCli } from "./cli-support";
import { InputError } from "./errors";
import { checkPlannedStack } from "./offline";
import { Report } from "../report/model";

const USAGE = "usage: npm run check -- [--stack dev|prod]... [--format text|json|sarif|markdown] [--policy-config FILE] [--exceptions FILE]";

export async function main(argv: string[]): Promise<number> {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            options: { stack: { type: "string", multiple: true }, format: { type: "string" }, config: { type: "string" }, "policy-config": { type: "string" }, exceptions: { type: "string" } },
        });
    } catch (err) {
        throw new InputError(`${(err as Error).message}; ${USAGE}`);
    }
    const { values } = parsed;
    const known = listStacks();
    const stacks = values.stack ?? known;
    const unknown = stacks.filter((s) => !known.includes(s));
    if (unknown.length) throw new InputError(`unknown stack ${unknown.join(", ")} (one of ${known.join(", ")}); ${USAGE}`);
    const format = parseFormat(values.format);
    if ((format === "json" || format === "sarif") && stacks.length > 1) throw new InputError(`--format ${format} prints one document: name one --stack`);
    // --policy-config is the name npm start and CI use; --config stays for existing scripts.
    if (values.config !== undefined && values["policy-config"] !== undefined) throw new InputError(`--config and --policy-config name the same file: give one; ${USAGE}`);
    const config = loadConfigFile(values["policy-config"] ?? values.config);
    const exceptions = loadExceptionsFile(values.exceptions, rules.map((r) => r.id));
    const reports: Report[] = [];
    for (const stack of stacks) {
        let planned;
        try {
            planned = await planStack(stack);
        } catch (err) {
            throw new InputError(`stack ${stack} could not be planned: ${(err as Error).message}`);
        }
        const report = checkPlannedStack(planned, { rules, config, exceptions });
        reports.push(report);
        process.stdout.write(`${render(report, format, `Pulumi.${stack}.yaml`)}\n${stacks.length > 1 && format === "text" ? "\n" : ""}`);
    }
    return exitCodeFor(reports);
}

if (require.main === module) void runCli("check", () => main(process.argv.slice(2)));
