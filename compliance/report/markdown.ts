// The report model as Markdown (for a pull request, a wiki, an e-mail): the same sections, facts and tables
// as the HTML; charts become their data tables. Text is escaped so no value can open a tag, a link or a table cell.
import { Block, Cell, ReportModel, Section, Status, STATUS_LABEL, jst } from "./model";

/** Escapes a value for Markdown inline text: HTML, emphasis, links, code and table pipes; one line. */
export function escapeMarkdown(value: unknown): string {
    return String(value)
        .replace(/\r?\n|\r/g, " ")
        .replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(/([\\`*_[\]|~])/g, "\\$1");
}
const md = escapeMarkdown;
const badge = (s: Status) => `**${STATUS_LABEL[s]}**`;
const cell = (c: string | Cell) => (typeof c === "string" ? md(c) : c.status && c.status !== "ok" ? `**${md(c.text)}**` : md(c.text));

function table(columns: string[], rows: (string | Cell)[][]): string[] {
    return [`| ${columns.map(md).join(" | ")} |`, `| ${columns.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)];
}

function block(b: Block): string[] {
    switch (b.kind) {
        case "text":
            return [md(b.text), ""];
        case "no-source":
            return [`> **No source.** ${md(b.text)}`, ""];
        case "facts":
            return [...b.items.map((i) => `- ${md(i.label)}: ${i.status && i.status !== "ok" ? `**${md(i.value)}** (${STATUS_LABEL[i.status]})` : md(i.value)}`), ""];
        case "table":
            return [`**${md(b.caption)}**`, "", ...(b.rows.length ? table(b.columns, b.rows) : [`_${md(b.empty)}_`]), ""];
        case "chart": {
            const c = b.chart;
            if (c.type === "timeline") {
                const rows = c.rows.map((r) => [r.label, jst(r.start), ...r.milestones.map((m) => ({ text: m.label, status: m.status }))]);
                return [`**Chart: ${md(c.title)}**`, "", ...table(["incident", "detected", "preliminary", "final"], rows), ""];
            }
            const rows = c.type === "bar" ? c.bars.map((x) => [x.label, { text: String(x.value), status: x.status }]) : c.points.map((p) => [p.label, { text: `${(p.y * 100).toFixed(2)}%`, status: c.target !== undefined && p.y < c.target ? ("action" as Status) : undefined }]);
            return [`**Chart: ${md(c.title)}**${c.note ? ` (${md(c.note)})` : ""}`, "", ...table(c.type === "bar" ? [c.xLabel, c.yLabel] : ["time", c.yLabel], rows), ""];
        }
    }
}

function section(s: Section, n: number): string[] {
    return [
        `## ${n}. ${md(s.title)} ${badge(s.status)}`,
        "",
        `_${s.articles.map(md).join(" · ")}_`,
        "",
        md(s.headline),
        "",
        ...s.blocks.flatMap(block),
        `Source: ${s.sources.length ? s.sources.map(md).join("; ") : "none"}`,
        "",
    ];
}

export function renderMarkdown(model: ReportModel): string {
    return [
        `# ${md(model.title)}`,
        "",
        `Period: ${jst(model.period.from)} to ${jst(model.period.to)} (${md(model.period.timeZone)}) · Generated ${jst(model.generatedAt)}`,
        "",
        `Overall: ${badge(model.status)}`,
        "",
        "## Summary",
        "",
        ...table(["Section", "Status", "Finding"], model.summary.map((s, i) => [`${i + 1}. ${s.title}`, STATUS_LABEL[s.status], { text: s.headline, status: s.status }])),
        "",
        ...model.sections.flatMap((s, i) => section(s, i + 1)),
        "Statuses: OK nothing to do; REVIEW a reviewer should look; ACTION NEEDED an obligation is missed; NO SOURCE nothing to judge from. All times are Japan time.",
        "",
    ].join("\n");
}
