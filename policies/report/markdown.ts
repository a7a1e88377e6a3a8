// A pull-request comment: a per-rule table (passed / failed / exempted), then the findings.
import { Report, countsByRule, coverageLines, exemptionLabel, findingMessage, isViolation, mandatoryViolations, ruleIndex, summary, urnParts, violationLevel } from "./model";

/** Table cells: no raw pipes or line breaks. */
function cell(text: string): string {
    return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>");
}

function code(text: string): string {
    return "`" + text.replace(/`/g, "'") + "`";
}

export function formatMarkdown(report: Report): string {
    const rules = ruleIndex(report);
    const s = summary(report);
    const counts = countsByRule(report);
    const mandatory = mandatoryViolations(report);
    const out: string[] = [];
    out.push(`## APPI policy report${report.stack ? `: stack ${code(report.stack)}` : ""}`);
    out.push("");
    out.push(
        `${mandatory > 0 ? `**FAIL**: ${mandatory} mandatory violation(s)` : "**PASS**: no mandatory violation"}. ` +
            `${s.resources} resources; ${s.passed} checks passed, ${s.failed} failed, ${s.exempted} exempted.`,
    );
    out.push("");
    const coverage = coverageLines(report, code);
    if (coverage.length) out.push(coverage.join("  \n"), "");
    // Rules that found nothing to look at go under a fold: the table is what a reviewer reads.
    const active = report.rules.filter((rule) => {
        const c = counts.get(rule.id)!;
        return c.passed + c.failed + c.exempted + c.unchecked > 0;
    });
    const idle = report.rules.filter((rule) => !active.includes(rule));
    out.push("| Rule | Title | APPI | Level | Passed | Failed | Exempted |");
    out.push("| --- | --- | --- | --- | ---: | ---: | ---: |");
    for (const rule of active) {
        const c = counts.get(rule.id)!;
        const level = report.findings.find((f) => f.ruleId === rule.id)?.enforcementLevel ?? rule.defaultEnforcement;
        out.push(`| ${code(rule.id)} | ${cell(rule.title)} | ${cell(rule.appi)} | ${level} | ${c.passed} | ${c.failed ? `**${c.failed}**` : 0} | ${c.exempted} |`);
    }
    if (idle.length) {
        out.push("", `<details><summary>${idle.length} more rule(s) had nothing to check in this stack</summary>`, "", idle.map((r) => code(r.id)).join(", "), "", "</details>");
    }
    const rank = (f: (typeof report.findings)[number]) => (f.exemption ? 3 : f.outcome.kind === "cannot-check" ? 2 : violationLevel(f) === "mandatory" ? 0 : 1);
    const shown = report.findings.filter((f) => isViolation(f) || f.exemption).sort((a, b) => rank(a) - rank(b));
    if (shown.length) {
        out.push("", "### Findings", "");
        out.push("| Level | Rule | Resource | Message | Remediation |");
        out.push("| --- | --- | --- | --- | --- |");
        for (const f of shown) {
            const rule = rules.get(f.ruleId);
            const level = f.exemption ? exemptionLabel(f) : f.outcome.kind === "cannot-check" ? "not checked" : violationLevel(f);
            const { type, name } = urnParts(f.urn);
            const note = f.exemption ? `${exemptionLabel(f).replace(/^e/, "E")} until ${f.exemption.expires} by ${f.exemption.approver}: ${f.exemption.reason}` : f.outcome.kind === "non-compliant" ? (rule?.remediation ?? "") : "";
            out.push(`| ${level === "mandatory" ? "**mandatory**" : level} | ${code(f.ruleId)} | ${code(name)} (${cell(type)}) | ${cell(findingMessage(f) || "non-compliant")} | ${cell(note)} |`);
        }
    }
    if (report.unusedExemptions?.length) {
        out.push("", `### Exemptions that matched nothing (${report.unusedExemptions.length})`, "");
        for (const u of report.unusedExemptions) out.push(`- ${cell(u.message)}`);
    }
    return out.join("\n");
}
