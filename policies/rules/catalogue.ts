// The rule catalogue a reviewer reads (policies/rules/README.md), generated
// from the rules' own metadata: `npx ts-node --transpile-only policies/rules/catalogue.ts > policies/rules/README.md`.
import { Rule } from "../core/types";
import { rules } from "./index";

function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function renderCatalogue(ruleSet: readonly Rule[]): string {
    const rows = ruleSet.map((r) => `| \`${r.id}\` | ${cell(r.title)} | ${cell(r.appi)} | ${r.securityHub.join(", ") || "—"} | ${r.severity} | ${r.defaultEnforcement} |`);
    const details = ruleSet.map((r) => [`### \`${r.id}\``, "", cell(r.description), "", `Remediation: ${cell(r.remediation)}`].join("\n"));
    return [
        "# APPI policy rules",
        "",
        "One rule per file under `policies/rules/<service>/<rule-id>.ts`; generated from the rules' metadata by `policies/rules/catalogue.ts` (a test keeps it in sync).",
        "Every level can be overridden per stack (`enforcement` in the pack config); values unknown during preview are reported as not checked yet, never passed or failed.",
        "",
        "| Rule | What it checks | APPI | Security Hub | Severity | Default |",
        "| --- | --- | --- | --- | --- | --- |",
        ...rows,
        "",
        "## Details",
        "",
        details.join("\n\n"),
        "",
    ].join("\n");
}

// Run as a script only: inside an esbuild bundle (the db-tasks CLIs) every module is `require.main`, and the
// catalogue would be printed at the start of each build log.
if (require.main === module && /catalogue\.[jt]s$/.test(process.argv[1] ?? "")) process.stdout.write(renderCatalogue(rules));
