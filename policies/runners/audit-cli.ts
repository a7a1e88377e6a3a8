// `npm run audit -- FILE [--format text|json|sarif|markdown] [--config FILE] [--exceptions FILE]`
// Exit 0: no mandatory violation; 1: at least one; 2: bad input or usage (one line on stderr).
import { parseArgs } from "node:util";
import { rules } from "../rules";
import { auditFile } from "./audit";
import { loadConfigFile, loadExceptionsFile, parseFormat, render, exitCodeFor, runCli } from "./cli-support";
import { InputError } from "./errors";

const USAGE = "usage: npm run audit -- FILE [--format text|json|sarif|markdown] [--config FILE] [--exceptions FILE]";

export function main(argv: string[]): number {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            allowPositionals: true,
            options: { format: { type: "string" }, config: { type: "string" }, exceptions: { type: "string" }, help: { type: "boolean", short: "h" } },
        });
    } catch (err) {
        throw new InputError(`${(err as Error).message}; ${USAGE}`);
    }
    const { values, positionals } = parsed;
    if (values.help) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
    }
    if (positionals.length !== 1) throw new InputError(positionals.length === 0 ? `no stack export file given; ${USAGE}` : `expected one stack export file, got ${positionals.length}; ${USAGE}`);
    const format = parseFormat(values.format);
    const config = loadConfigFile(values.config);
    const exceptions = loadExceptionsFile(values.exceptions, rules.map((r) => r.id));
    const file = positionals[0];
    const report = auditFile(file, { rules, config, exceptions });
    process.stdout.write(`${render(report, format, file)}\n`);
    return exitCodeFor([report]);
}

if (require.main === module) void runCli("audit", () => main(process.argv.slice(2)));
