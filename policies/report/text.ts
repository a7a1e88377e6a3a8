// The terminal report, grouped by resource, written for a compliance reviewer:
// what failed, which APPI article it serves, and how to fix it.
import { Finding } from "../core/types";
import { Report, countsByRule, coverageLines, exemptionLabel, findingMessage, isViolation, mandatoryViolations, ruleIndex, summary, urnParts, violationLevel } from "./model";

function indent(text: string, prefix: string): string {
    return text
        .split("\n")
        .map((line) => prefix + line)
        .join("\n");
}

export function formatText(report: Report): string {
    const rules = ruleIndex(report);
    const s = summary(report);
    const lines: string[] = [];
    const what = report.stack ? `stack ${report.stack}` : (report.source ?? "stack");
    lines.push(`APPI policy report: ${what}`);
    lines.push(`${s.resources} resources; ${s.passed} checks passed, ${s.failed} failed, ${s.exempted} exempted`);

    // Only what a reviewer must read: violations, unchecked values and exemptions, by resource.
    const byResource = new Map<string, Finding[]>();
    for (const f of report.findings) {
        if (!isViolation(f) && !f.exemption) continue;
        const list = byResource.get(f.urn);
        if (list) list.push(f);
        else byResource.set(f.urn, [f]);
    }
    const order = { mandatory: 0, advisory: 1, exempted: 2 } as const;
    const tag = (f: Finding) => (f.exemption ? "exempted" : violationLevel(f));
    for (const [urn, findings] of byResource) {
        const { type, name } = urnParts(urn);
        lines.push("", `${name}  (${type || "stack"})`, `  ${urn}`);
        findings.sort((a, b) => order[tag(a)] - order[tag(b)]);
        for (const f of findings) {
            const rule = rules.get(f.ruleId);
            const label = f.exemption ? "EXEMPTED " : f.outcome.kind === "cannot-check" ? "UNCHECKED" : violationLevel(f) === "mandatory" ? "MANDATORY" : "ADVISORY ";
            lines.push(`  [${label}] ${f.ruleId}: ${rule?.title ?? ""}`);
            if (rule) lines.push(`      APPI ${rule.appi}${rule.securityHub.length ? ` | Security Hub ${rule.securityHub.join(", ")}` : ""} | severity ${rule.severity}`);
            lines.push(indent(findingMessage(f), "      "));
            if (f.exemption) lines.push(`      ${exemptionLabel(f).replace(/^e/, "E")} until ${f.exemption.expires}, approved by ${f.exemption.approver}: ${f.exemption.reason}`);
            else if (f.outcome.kind === "non-compliant" && rule) lines.push(indent(`Fix: ${rule.remediation}`, "      "));
        }
    }

    // What was proven, rule by rule: a pass is only as good as the rules that looked.
    const counts = countsByRule(report);
    const checked = report.rules.filter((rule) => {
        const c = counts.get(rule.id);
        return c !== undefined && c.passed + c.failed + c.exempted + c.unchecked > 0;
    });
    if (checked.length) {
        const rows = checked.map((rule) => {
            const c = counts.get(rule.id)!;
            const level = report.findings.find((f) => f.ruleId === rule.id)?.enforcementLevel ?? rule.defaultEnforcement;
            const tally = `${c.passed} passed${c.failed ? `, ${c.failed} failed` : ""}${c.exempted ? `, ${c.exempted} exempted` : ""}${c.unchecked ? `, ${c.unchecked} unchecked` : ""}`;
            return [level, rule.id, rule.appi, tally];
        });
        const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
        lines.push("", `Rules checked (${checked.length} of ${report.rules.length}; the others found nothing to check):`);
        for (const row of rows) lines.push(`  ${row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell)).join("  ")}`);
    }

    if (report.unusedExemptions?.length) {
        lines.push("", `Exemptions that matched nothing (${report.unusedExemptions.length}):`);
        for (const u of report.unusedExemptions) lines.push(`  - ${u.message}`);
    }
    const coverage = coverageLines(report);
    if (coverage.length) lines.push("", ...coverage);

    const unchecked = [...counts.values()].reduce((n, c) => n + c.unchecked, 0);
    const mandatory = mandatoryViolations(report);
    const advisory = report.findings.filter((f) => isViolation(f) && violationLevel(f) === "advisory").length;
    lines.push("");
    lines.push(
        mandatory > 0
            ? `FAIL: ${mandatory} mandatory violation(s), ${advisory} advisory${unchecked ? ` (${unchecked} not checkable)` : ""}`
            : `PASS: no mandatory violation${advisory ? `, ${advisory} advisory${unchecked ? ` (${unchecked} not checkable)` : ""}` : ""}`,
    );
    return lines.join("\n");
}
