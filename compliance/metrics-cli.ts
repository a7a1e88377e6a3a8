// `npm run compliance:metrics -- [--format json|text]`: the live compliance figures (DATABASE_URL, the RDS
// Proxy variables, or the embedded PostgreSQL like the db:* commands). Exit 0 when nothing needs action,
// 1 when something does (an alarm would fire), 2 on bad usage.
import pg from "pg";
import { resolveTarget } from "../db/cli";
import { CommandSpec, parseCommandLine } from "../policies/runners/cli-support";
import { complianceProblems, formatMetricsText, readComplianceMetrics } from "./metrics";

const FORMATS = ["json", "text"] as const;

export const METRICS_COMMAND = {
    invocation: "npm run compliance:metrics --",
    summary: "Prints the live compliance figures (consent, deletion SLA, data-subject requests, breach deadlines, audit gaps).",
    options: { format: { type: "string", value: "FORMAT", description: "text (default) or json" } },
    epilogue: ["Exit codes: 0 nothing needs action, 1 something does (an alarm would fire), 2 bad usage."],
} satisfies CommandSpec;

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
    let format: string;
    try {
        const line = parseCommandLine(METRICS_COMMAND, argv);
        if (line.help) {
            process.stdout.write(line.usage);
            return 0;
        }
        format = line.values.format ?? "text";
    } catch (err) {
        console.error(`compliance:metrics: ${(err as Error).message}`);
        return 2;
    }
    if (!FORMATS.includes(format as (typeof FORMATS)[number])) {
        console.error(`compliance:metrics: --format must be json or text (got ${format})`);
        return 2;
    }
    const target = await resolveTarget(env);
    try {
        const client = new pg.Client(target.config);
        await client.connect();
        try {
            const metrics = await readComplianceMetrics(client);
            if (format === "json") console.log(JSON.stringify(metrics, null, 2));
            else {
                console.error(`database: ${target.description}`);
                console.log(formatMetricsText(metrics));
                const problems = complianceProblems(metrics);
                console.log(problems.length ? `ACTION NEEDED: ${problems.join("; ")}` : "OK: nothing needs action");
            }
            return complianceProblems(metrics).length ? 1 : 0;
        } finally {
            await client.end();
        }
    } finally {
        await target.close();
    }
}

if (require.main === module) {
    main(process.argv.slice(2), process.env).then(
        (code) => process.exit(code),
        (err) => {
            console.error(`compliance:metrics: ${err instanceof Error ? err.message : String(err)}`);
            process.exit(2);
        },
    );
}
