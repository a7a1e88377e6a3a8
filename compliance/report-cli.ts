// `npm run compliance:report -- --month YYYY-MM [--stack prod] [--export FILE] --out DIR`: the monthly APPI
// compliance report, DIR/appi-compliance-YYYY-MM.html (one self-contained file) and .md, from the database
// (DATABASE_URL, the RDS Proxy variables, or the embedded PostgreSQL like the db:* commands) and, when given,
// a `pulumi stack export`. No AWS credentials needed. Exit 0 written and nothing needs action, 1 written and
// something does, 2 bad usage or input.
import * as fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { resolveTarget } from "../db/cli";
import { CommandSpec, loadConfigFile, parseCommandLine, runCli } from "../policies/runners/cli-support";
import { InputError } from "../policies/runners/errors";
import { renderHtml } from "./report/html";
import { renderMarkdown } from "./report/markdown";
import { buildReportModel, isReportMonth, ReportModel, STATUS_LABEL } from "./report/model";
import { readDatabaseInputs, readExportInputs } from "./report/sources";

export const REPORT_COMMAND = {
    invocation: "npm run compliance:report --",
    summary: "Writes the monthly APPI compliance report (HTML and Markdown) from the database and a stack export.",
    options: {
        month: { type: "string", value: "YYYY-MM", description: "the calendar month to report (Japan time), e.g. 2026-11" },
        out: { type: "string", value: "DIR", description: "directory for appi-compliance-YYYY-MM.html and .md (created if missing)" },
        stack: { type: "string", value: "NAME", description: "the stack reported on (e.g. prod); the export must be of this stack" },
        export: { type: "string", value: "FILE", description: "`pulumi stack export` of the stack: residency, KMS keys, backups, policy audit (without it those sections say they had no source)" },
        "policy-config": { type: "string", value: "FILE", description: "the pack config the audit runs with (allowed regions, thresholds), as for npm run audit" },
    },
    epilogue: [
        "Exit codes: 0 report written, nothing needs action; 1 report written, a section needs action; 2 bad usage or input.",
        "Example: pulumi stack export -s prod > prod.json && npm run compliance:report -- --month 2026-11 --stack prod --export prod.json --out reports",
    ],
} satisfies CommandSpec;

export function reportFileBase(month: string): string {
    return `appi-compliance-${month}`;
}

/** Writes both renderings; returns their paths. */
export function writeReport(model: ReportModel, outDir: string): { html: string; markdown: string } {
    fs.mkdirSync(outDir, { recursive: true });
    const html = path.join(outDir, `${reportFileBase(model.month)}.html`);
    const markdown = path.join(outDir, `${reportFileBase(model.month)}.md`);
    fs.writeFileSync(html, renderHtml(model));
    fs.writeFileSync(markdown, renderMarkdown(model));
    return { html, markdown };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv, now: Date = new Date()): Promise<number> {
    const line = parseCommandLine(REPORT_COMMAND, argv);
    if (line.help) {
        process.stdout.write(line.usage);
        return 0;
    }
    const { month, out, stack } = line.values;
    const help = "see npm run compliance:report -- --help";
    if (month === undefined) throw new InputError(`--month YYYY-MM is required; ${help}`);
    if (!isReportMonth(month)) throw new InputError(`--month must be YYYY-MM with a month 01-12 (got "${month}"); ${help}`);
    if (out === undefined) throw new InputError(`--out DIR is required; ${help}`);
    if (stack !== undefined && !/^[A-Za-z0-9_.-]+$/.test(stack)) throw new InputError(`--stack must be a stack name (letters, digits, - _ .), got "${stack}"`);
    if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new InputError(`--out ${out} exists and is not a directory`);
    // The export first: a bad file is a usage error before any database work.
    const config = loadConfigFile(line.values["policy-config"]);
    const exported = line.values.export === undefined ? undefined : readExportInputs(line.values.export, config, stack);

    const target = await resolveTarget(env);
    try {
        const client = new pg.Client(target.config);
        await client.connect();
        let model: ReportModel;
        try {
            const database = await readDatabaseInputs(client, month, now);
            model = buildReportModel({ month, stack, generatedAt: now, database, export: exported });
        } finally {
            await client.end();
        }
        const files = writeReport(model, out);
        console.error(`database: ${target.description}`);
        console.log(`${STATUS_LABEL[model.status]}: ${model.title}`);
        for (const s of model.summary) console.log(`  ${STATUS_LABEL[s.status].padEnd(13)} ${s.title}: ${s.headline}`);
        console.log(`wrote ${files.html}`);
        console.log(`wrote ${files.markdown}`);
        return model.status === "action" ? 1 : 0;
    } finally {
        await target.close();
    }
}

if (require.main === module) void runCli("compliance:report", () => main(process.argv.slice(2), process.env));
