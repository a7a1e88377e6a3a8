// The report model as ONE self-contained HTML file: inline CSS, inline SVG charts, no script, no font, no
// image, no link to anything (a reviewer opens it offline; CSP forbids any fetch). Every string is escaped.
import { chartSvg, escapeHtml as esc, STATUS_COLOUR } from "./charts";
import { Block, Cell, ReportModel, Section, Status, STATUS_LABEL, jst } from "./model";

const CSS = `
* { box-sizing: border-box; }
body { font-family: "Noto Sans", "Helvetica Neue", Arial, sans-serif; color: #1f2937; margin: 0; background: #f3f4f6; font-size: 14px; line-height: 1.45; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
header { border-bottom: 3px solid #1f5f99; padding-bottom: 12px; margin-bottom: 16px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0; }
h3 { font-size: 14px; margin: 16px 0 6px; color: #374151; }
.meta { color: #4b5563; margin: 2px 0; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; letter-spacing: .02em; white-space: nowrap; }
.badge.ok { background: ${STATUS_COLOUR.ok}; } .badge.attention { background: ${STATUS_COLOUR.attention}; }
.badge.action { background: ${STATUS_COLOUR.action}; } .badge.no-source { background: ${STATUS_COLOUR["no-source"]}; }
.overall { font-size: 15px; margin: 10px 0 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { border: 1px solid #d1d5db; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f7; }
td.ok { color: ${STATUS_COLOUR.ok}; } td.attention { color: ${STATUS_COLOUR.attention}; font-weight: 600; }
td.action { color: ${STATUS_COLOUR.action}; font-weight: 700; } td.no-source { color: ${STATUS_COLOUR["no-source"]}; }
table.summary td:first-child { width: 30%; }
section { border-top: 1px solid #e5e7eb; padding-top: 14px; margin-top: 20px; }
.section-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.articles { color: #4b5563; font-size: 12px; margin: 4px 0 0; }
.headline { margin: 6px 0; font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 8px 0; }
dl.facts dt { color: #4b5563; } dl.facts dd { margin: 0; }
dd.attention { color: ${STATUS_COLOUR.attention}; font-weight: 600; } dd.action { color: ${STATUS_COLOUR.action}; font-weight: 700; }
.nosource-note { background: #f3f4f6; border-left: 4px solid ${STATUS_COLOUR["no-source"]}; padding: 6px 10px; color: #374151; }
figure { margin: 8px 0 12px; } figcaption { font-weight: 600; margin-bottom: 4px; }
.chart-note { color: #4b5563; font-size: 12px; }
svg.chart { max-width: 100%; height: auto; background: #fff; }
svg .tick, svg .value { font-size: 11px; fill: #374151; } svg .axis-label { font-size: 12px; fill: #4b5563; }
.sources { color: #6b7280; font-size: 12px; }
.empty { color: #6b7280; font-style: italic; }
@media print { body { background: #fff; } main { padding: 0; } section { break-inside: avoid-page; } }
`;

const badge = (s: Status) => `<span class="badge ${s}">${esc(STATUS_LABEL[s])}</span>`;
const cell = (c: string | Cell, tag = "td") => (typeof c === "string" ? `<${tag}>${esc(c)}</${tag}>` : `<${tag}${c.status ? ` class="${c.status}"` : ""}>${esc(c.text)}</${tag}>`);

function block(b: Block): string {
    switch (b.kind) {
        case "text":
            return `<p>${esc(b.text)}</p>`;
        case "no-source":
            return `<p class="nosource-note"><strong>No source.</strong> ${esc(b.text)}</p>`;
        case "facts":
            return `<dl class="facts">${b.items.map((i) => `<dt>${esc(i.label)}</dt><dd${i.status && i.status !== "ok" ? ` class="${i.status}"` : ""}>${esc(i.value)}</dd>`).join("")}</dl>`;
        case "table":
            return [
                `<h3>${esc(b.caption)}</h3>`,
                b.rows.length
                    ? `<table><thead><tr>${b.columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>${b.rows.map((r) => `<tr>${r.map((c) => cell(c)).join("")}</tr>`).join("")}</tbody></table>`
                    : `<p class="empty">${esc(b.empty)}</p>`,
            ].join("\n");
        case "chart":
            return `<figure><figcaption>${esc(b.chart.title)}</figcaption>${chartSvg(b.chart)}${b.chart.note ? `<div class="chart-note">${esc(b.chart.note)}</div>` : ""}</figure>`;
    }
}

function section(s: Section, n: number): string {
    return [
        `<section id="${esc(s.id)}">`,
        `<div class="section-head"><h2>${n}. ${esc(s.title)}</h2>${badge(s.status)}</div>`,
        `<p class="articles">${s.articles.map(esc).join(" · ")}</p>`,
        `<p class="headline">${esc(s.headline)}</p>`,
        ...s.blocks.map(block),
        `<p class="sources">Source: ${s.sources.length ? s.sources.map(esc).join("; ") : "none"}</p>`,
        `</section>`,
    ].join("\n");
}

export function renderHtml(model: ReportModel): string {
    const counts = (["action", "attention", "no-source", "ok"] as Status[]).map((s) => [s, model.sections.filter((x) => x.status === s).length] as const).filter(([, n]) => n);
    return [
        "<!DOCTYPE html>",
        `<html lang="en">`,
        "<head>",
        `<meta charset="utf-8">`,
        // Nothing may load: no script, style or image from anywhere but this file.
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
        `<meta name="viewport" content="width=device-width, initial-scale=1">`,
        `<title>${esc(model.title)}</title>`,
        `<style>${CSS}</style>`,
        "</head>",
        "<body><main>",
        "<header>",
        `<h1>${esc(model.title)}</h1>`,
        `<p class="meta">Period: ${esc(jst(model.period.from))} to ${esc(jst(model.period.to))} (${esc(model.period.timeZone)}) · Generated ${esc(jst(model.generatedAt))}</p>`,
        `<p class="overall">Overall: ${badge(model.status)} ${counts.map(([s, n]) => `${n} ${esc(STATUS_LABEL[s].toLowerCase())}`).join(" · ")}</p>`,
        "</header>",
        `<h2>Summary</h2>`,
        `<table class="summary"><thead><tr><th>Section</th><th>Status</th><th>Finding</th></tr></thead><tbody>`,
        ...model.summary.map((s, i) => `<tr><td>${i + 1}. ${esc(s.title)}</td><td>${badge(s.status)}</td><td>${esc(s.headline)}</td></tr>`),
        "</tbody></table>",
        ...model.sections.map((s, i) => section(s, i + 1)),
        `<p class="sources">Statuses: OK nothing to do; REVIEW a reviewer should look; ACTION NEEDED an obligation is missed; NO SOURCE nothing to judge from. All times are Japan time.</p>`,
        "</main></body></html>",
        "",
    ].join("\n");
}
