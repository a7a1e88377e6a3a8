// A pull-request comment: verdict first, then what failed (mandatory, advisory, not
// checked), then exemptions; passes and idle rules folded under <details>. A hidden marker
// lets CI update one sticky comment, and a size guard keeps the body under GitHub's
// 65,536-character comment limit, pointing at the full artifact when it cuts.
import { Finding } from "../core/types";
import { Report, countsByRule, coverageLines, exemptionLabel, findingMessage, isBaselined, isViolation, plural, ruleIndex, shortArticle, summary, unprovenMandatory, urnParts, violationLevel } from "./model";

/** The hidden first line CI looks for to update its comment instead of adding one. */
export const STICKY_MARKER = "<!-- appi-compliance-report -->";
/** GitHub refuses comments longer than 65,536 characters; stay clearly below. */
export const MARKDOWN_LIMIT = 60_000;

export interface MarkdownOptions {
    /** Where the complete report is (a CI artifact name or URL), named when the comment is cut. */
    fullReport?: string;
    /** Character limit (tests use a small one). */
    limit?: number;
}

/** Table cells: no raw pipes or line breaks. */
function cell(text: string): string {
    return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>");
}

function code(text: string): string {
    return "`" + text.replace(/`/g, "'") + "`";
}

export function formatMarkdown(report: Report, options: MarkdownOptions = {}): string {
    const limit = options.limit ?? MARKDOWN_LIMIT;
    const rules = ruleIndex(report);
    const s = summary(report);
    const counts = countsByRule(report);
    const head: string[] = [STICKY_MARKER];
    head.push(`## APPI policy report${report.stack ? `: stack ${code(report.stack)}` : ""}`);
    head.push("");
    const mandatory = report.findings.filter((f) => isViolation(f) && violationLevel(f) === "mandatory" && !isBaselined(report, f)).length;
    const verdictText =
        s.verdict === "FAIL"
            ? `**FAIL**: ${plural(mandatory, "mandatory violation")}${report.failOn && report.failOn !== "mandatory" ? `, ${plural(s.failing, "finding")} at \`--fail-on ${report.failOn}\`` : ""}`
            : s.verdict === "NOT PROVEN"
              ? `**NOT PROVEN**: ${plural(unprovenMandatory(report).length, "mandatory check")} could not be decided (unknown or secret values)`
              : "**PASS**: no mandatory violation";
    head.push(
        `${verdictText}. ${plural(s.resources, "resource")}; ${plural(s.passed, "check")} passed, ${s.failed} failed, ${s.exempted} exempted` +
            `${s.unchecked ? `, ${s.unchecked} not checked` : ""}${s.baselined ? `, ${s.baselined} in the baseline` : ""}.`,
    );
    const p = report.provenance;
    const coverage = coverageLines(report, code);
    if (coverage.length) head.push("", coverage.join("  \n"));
    if (p) head.push("", `<sub>pack ${p.packVersion}${p.commit ? ` · commit ${code(p.commit.slice(0, 12))}` : ""}${p.branch ? ` · ${cell(p.branch)}` : ""} · ${p.time}${report.failOn ? ` · fail on ${report.failOn}` : ""}</sub>`);

    // Failures first: what a reviewer must act on, most serious first, then exemptions.
    const tag = (f: Finding) => (f.exemption ? exemptionLabel(f) : isBaselined(report, f) ? "baseline" : f.outcome.kind === "cannot-check" ? "not checked" : violationLevel(f));
    const order: Record<string, number> = { mandatory: 0, advisory: 1, "not checked": 2, baseline: 3, exempted: 4, [exemptionLabel({ exemption: { source: "resource" } } as Finding)]: 4 };
    const shown = report.findings.filter((f) => isViolation(f) || f.exemption).sort((a, b) => order[tag(a)] - order[tag(b)]);
    const rows = shown.map((f) => {
        const rule = rules.get(f.ruleId);
        const level = tag(f);
        const { type, name } = urnParts(f.urn);
        const note = f.exemption ? `${exemptionLabel(f).replace(/^e/, "E")} until ${f.exemption.expires} by ${f.exemption.approver}: ${f.exemption.reason}` : f.outcome.kind === "non-compliant" ? (rule?.remediation ?? "") : "";
        return `| ${level === "mandatory" ? "**mandatory**" : level} | ${code(f.ruleId)} | ${code(name)} (${cell(type)}) | ${cell(findingMessage(f) || "non-compliant")} | ${cell(note)} |`;
    });

    // The per-rule tally (what passed) is folded: the findings above are what to read.
    const active = report.rules.filter((rule) => {
        const c = counts.get(rule.id)!;
        return c.passed + c.failed + c.exempted + c.unchecked > 0;
    });
    const idle = report.rules.filter((rule) => !active.includes(rule));
    const tally: string[] = [];
    if (active.length) {
        const failing = active.filter((r) => counts.get(r.id)!.failed > 0).length;
        tally.push("", `<details><summary>${plural(active.length, "rule")} checked, ${failing} with failures: per-rule results</summary>`, "");
        tally.push("| Rule | Title | APPI | Level | Passed | Failed | Exempted |");
        tally.push("| --- | --- | --- | --- | ---: | ---: | ---: |");
        for (const rule of active) {
            const c = counts.get(rule.id)!;
            const level = report.findings.find((f) => f.ruleId === rule.id)?.enforcementLevel ?? rule.defaultEnforcement;
            tally.push(`| ${code(rule.id)} | ${cell(rule.title)} | ${cell(shortArticle(rule.appi))} | ${level} | ${c.passed} | ${c.failed ? `**${c.failed}**` : 0} | ${c.exempted} |`);
        }
        tally.push("", "</details>");
    }
    if (report.unusedExemptions?.length) {
        tally.push("", `### Exemptions that matched nothing (${report.unusedExemptions.length})`, "");
        for (const u of report.unusedExemptions) tally.push(`- ${cell(u.message)}`);
    }
    if (idle.length) tally.push("", `<details><summary>${plural(idle.length, "more rule")} had nothing to check in this stack</summary>`, "", idle.map((r) => code(r.id)).join(", "), "", "</details>");

    const findingsHeader = ["", "### Findings", "", "| Level | Rule | Resource | Message | Remediation |", "| --- | --- | --- | --- | --- |"];
    const assemble = (kept: number, withTally: boolean): string => {
        const out = [...head];
        if (rows.length) out.push(...findingsHeader, ...rows.slice(0, kept));
        if (kept < rows.length) {
            out.push(
                "",
                `> **Cut to fit a comment**: ${plural(rows.length - kept, "more finding")} not shown. The full report is in ${options.fullReport ? code(options.fullReport) : "the job's report artifact (JSON / SARIF)"}.`,
            );
        }
        if (withTally) out.push(...tally);
        return out.join("\n");
    };
    const whole = assemble(rows.length, true);
    if (whole.length <= limit) return whole;
    // Too long: keep the most serious findings that fit (the rows are in that order).
    const fixed = assemble(0, false).length;
    let budget = limit - fixed - 1;
    let kept = 0;
    while (kept < rows.length && budget - (rows[kept].length + 1) >= 0) budget -= rows[kept++].length + 1;
    const cut = assemble(kept, true);
    return cut.length <= limit ? cut : assemble(kept, false);
}

const STACK_SEPARATOR = "\n\n---\n\n";

/**
 * One comment for several stacks: one sticky marker at the top, and one size budget for the whole
 * body. Stacks whose report fits their share keep it whole; what they leave is shared by the
 * larger ones, each cut by the same rule as a single report (mandatory findings first).
 */
export function formatMarkdownComment(reports: readonly Report[], options: MarkdownOptions = {}): string {
    const limit = options.limit ?? MARKDOWN_LIMIT;
    const strip = (md: string) => (md.startsWith(`${STICKY_MARKER}\n`) ? md.slice(STICKY_MARKER.length + 1) : md);
    const whole = reports.map((r) => strip(formatMarkdown(r, { ...options, limit: Number.MAX_SAFE_INTEGER })));
    const overhead = STICKY_MARKER.length + 1 + STACK_SEPARATOR.length * Math.max(0, reports.length - 1);
    const join = (parts: string[]) => `${STICKY_MARKER}\n${parts.join(STACK_SEPARATOR)}`;
    if (whole.reduce((n, md) => n + md.length, 0) + overhead <= limit) return join(whole);

    const parts = [...whole];
    let budget = limit - overhead;
    let left = reports.length;
    // Smallest first, so every share left over goes to the stacks that need it.
    for (const i of whole.map((md, i) => ({ i, n: md.length })).sort((a, b) => a.n - b.n).map((e) => e.i)) {
        const share = Math.floor(budget / left--);
        if (whole[i].length > share) parts[i] = strip(formatMarkdown(reports[i], { ...options, limit: share + STICKY_MARKER.length + 1 }));
        budget -= parts[i].length;
    }
    return join(parts);
}
