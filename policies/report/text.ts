// The terminal report, grouped by resource, written for a compliance reviewer: what
// failed, which APPI article it serves (short references, legend at the end), how to fix
// it. Every line fits 100 columns; colour only when asked (a TTY without NO_COLOR).
import { Finding } from "../core/types";
import {
    Report,
    articleLegend,
    countsByRule,
    coverageLines,
    exemptionLabel,
    findingMessage,
    isBaselined,
    isViolation,
    plural,
    ruleIndex,
    shortArticle,
    summary,
    unprovenMandatory,
    urnParts,
    violationLevel,
} from "./model";

export const TEXT_WIDTH = 100;

export interface TextOptions {
    color?: boolean;
    width?: number;
}

const ANSI = { red: "\x1b[31m", yellow: "\x1b[33m", green: "\x1b[32m", cyan: "\x1b[36m", bold: "\x1b[1m", dim: "\x1b[2m", reset: "\x1b[0m" } as const;

/** Colour on a TTY only, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
    return stream.isTTY === true && !(env.NO_COLOR !== undefined && env.NO_COLOR !== "") && env.TERM !== "dumb";
}

/** Breaks a word longer than the line, preferring URN separators (`::`, `$`, `/`). */
function breakLong(word: string, width: number): string[] {
    const parts: string[] = [];
    let rest = word;
    while (rest.length > width) {
        const window = rest.slice(0, width);
        const at = Math.max(window.lastIndexOf("::") + 2, window.lastIndexOf("$") + 1, window.lastIndexOf("/") + 1);
        const cut = at > width / 3 ? at : width;
        parts.push(rest.slice(0, cut));
        rest = rest.slice(cut);
    }
    parts.push(rest);
    return parts;
}

/** Word-wraps `text` to `width` columns, every line starting with `indent`. */
export function wrap(text: string, indent: string, width: number = TEXT_WIDTH): string[] {
    const room = Math.max(20, width - indent.length);
    const out: string[] = [];
    for (const paragraph of text.split("\n")) {
        if (paragraph.length <= room) {
            out.push(indent + paragraph);
            continue;
        }
        let line = "";
        for (const word of paragraph.split(/\s+/).filter(Boolean).flatMap((w) => breakLong(w, room))) {
            if (line && line.length + 1 + word.length > room) {
                out.push(indent + line);
                line = word;
            } else line = line ? `${line} ${word}` : word;
        }
        out.push(indent + line);
    }
    return out;
}

export function formatText(report: Report, options: TextOptions = {}): string {
    const width = options.width ?? TEXT_WIDTH;
    const paint = (colour: keyof typeof ANSI, text: string) => (options.color ? `${ANSI[colour]}${text}${ANSI.reset}` : text);
    const rules = ruleIndex(report);
    const s = summary(report);
    const lines: string[] = [];
    const what = report.stack ? `stack ${report.stack}` : (report.source ?? "stack");
    lines.push(...wrap(`APPI policy report: ${what}`, "", width).map((l) => paint("bold", l)));
    const p = report.provenance;
    if (p) lines.push(...wrap(`pack ${p.packVersion}${p.commit ? `, commit ${p.commit.slice(0, 12)}` : ""}${p.branch ? ` (${p.branch})` : ""}, ${p.time}`, "", width));
    lines.push(
        ...wrap(
            `${plural(s.resources, "resource")}; ${plural(s.passed, "check")} passed, ${s.failed} failed, ${s.exempted} exempted` +
                `${s.unchecked ? `, ${s.unchecked} not checkable` : ""}${s.baselined ? `, ${s.baselined} in the baseline` : ""}`,
            "",
            width,
        ),
    );

    // Only what a reviewer must read: violations, unchecked values and exemptions, by resource.
    const byResource = new Map<string, Finding[]>();
    for (const f of report.findings) {
        if (!isViolation(f) && !f.exemption) continue;
        const list = byResource.get(f.urn);
        if (list) list.push(f);
        else byResource.set(f.urn, [f]);
    }
    const order = { mandatory: 0, advisory: 1, unchecked: 2, baseline: 3, exempted: 4 } as const;
    const tag = (f: Finding): keyof typeof order => (f.exemption ? "exempted" : isBaselined(report, f) ? "baseline" : f.outcome.kind === "cannot-check" ? "unchecked" : violationLevel(f));
    const rank = (list: Finding[]) => Math.min(...list.map((f) => order[tag(f)]));
    const labels: Record<keyof typeof order, string> = { mandatory: "MANDATORY", advisory: "ADVISORY", unchecked: "UNCHECKED", baseline: "BASELINE", exempted: "EXEMPTED" };
    const colours: Record<keyof typeof order, keyof typeof ANSI> = { mandatory: "red", advisory: "yellow", unchecked: "yellow", baseline: "dim", exempted: "cyan" };
    for (const [urn, findings] of [...byResource.entries()].sort((a, b) => rank(a[1]) - rank(b[1]))) {
        const { type, name } = urnParts(urn);
        lines.push("", ...wrap(`${name}  (${type || "stack"})`, "", width).map((l) => paint("bold", l)), ...wrap(urn, "  ", width).map((l) => paint("dim", l)));
        findings.sort((a, b) => order[tag(a)] - order[tag(b)]);
        for (const f of findings) {
            const rule = rules.get(f.ruleId);
            const t = tag(f);
            const head = wrap(`[${labels[t]}] ${f.ruleId}: ${rule?.title ?? ""}`, "  ", width);
            head[0] = head[0].replace(`[${labels[t]}]`, paint(colours[t], `[${labels[t]}]`));
            lines.push(...head);
            if (rule) lines.push(...wrap(`${shortArticle(rule.appi)}${rule.securityHub.length ? ` | Security Hub ${rule.securityHub.join(", ")}` : ""} | severity ${rule.severity}`, "      ", width));
            lines.push(...wrap(findingMessage(f), "      ", width));
            if (f.exemption) lines.push(...wrap(`${exemptionLabel(f).replace(/^e/, "E")} until ${f.exemption.expires}, approved by ${f.exemption.approver}: ${f.exemption.reason}`, "      ", width));
            else if (f.outcome.kind === "non-compliant" && rule) lines.push(...wrap(`Fix: ${rule.remediation}`, "      ", width));
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
            return [level, rule.id, shortArticle(rule.appi), tally];
        });
        const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
        lines.push("", ...wrap(`Rules checked (${checked.length} of ${report.rules.length}; the others found nothing to check):`, "", width));
        for (const row of rows) {
            const left = `  ${row.slice(0, 3).map((cell, i) => cell.padEnd(widths[i])).join("  ")}  `;
            lines.push(...(left.length + row[3].length <= width ? [left + row[3]] : [left.trimEnd(), ...wrap(row[3], "      ", width)]));
        }
        const legend = articleLegend(checked).map(([art, subject]) => `${art} ${subject}`);
        // One legend entry is never split across lines.
        let legendLine = "APPI articles:";
        for (const [i, entry] of legend.entries()) {
            const piece = `${entry}${i < legend.length - 1 ? ";" : ""}`;
            if (legendLine.length + 1 + piece.length > width) {
                lines.push(legendLine);
                legendLine = `  ${piece}`;
            } else legendLine = `${legendLine} ${piece}`;
        }
        if (legend.length) lines.push(legendLine);
    }

    if (report.unusedExemptions?.length) {
        lines.push("", ...wrap(`Exemptions that matched nothing (${report.unusedExemptions.length}):`, "", width));
        for (const u of report.unusedExemptions) lines.push(...wrap(`- ${u.message}`, "  ", width));
    }
    const coverage = coverageLines(report);
    if (coverage.length) lines.push("", ...coverage.flatMap((l) => wrap(l, "", width)));

    const mandatory = report.findings.filter((f) => isViolation(f) && violationLevel(f) === "mandatory" && !isBaselined(report, f)).length;
    const advisory = report.findings.filter((f) => isViolation(f) && violationLevel(f) === "advisory" && !isBaselined(report, f)).length;
    const unproven = unprovenMandatory(report).length;
    const failing = s.failing;
    const threshold = report.failOn && report.failOn !== "mandatory" ? ` (--fail-on ${report.failOn})` : "";
    lines.push("");
    const verdictLine =
        s.verdict === "FAIL"
            ? `FAIL: ${plural(mandatory, "mandatory violation")}, ${advisory} advisory${threshold ? `; ${plural(failing, "finding")} at the threshold${threshold}` : ""}`
            : s.verdict === "NOT PROVEN"
              ? `NOT PROVEN: ${plural(unproven, "mandatory check")} could not be decided (unknown or secret values); ${advisory} advisory`
              : `PASS: no mandatory violation${advisory ? `, ${advisory} advisory${s.unchecked ? ` (${s.unchecked} not checkable)` : ""}` : ""}`;
    const verdictColour = s.verdict === "FAIL" ? "red" : s.verdict === "NOT PROVEN" ? "yellow" : "green";
    lines.push(...wrap(verdictLine, "", width).map((l) => paint(verdictColour, l)));
    return lines.join("\n");
}
