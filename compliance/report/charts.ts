// Charts as inline SVG, drawn here (no chart library, nothing fetched): a bar chart and a rate-over-time line.
// Each data mark carries class "mark" (one rect per bar, one circle per point), so a test can count them.
import { BarChart, Chart, LineChart, Status, TimelineChart } from "./model";

export function escapeHtml(value: unknown): string {
    return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

export const STATUS_COLOUR: Record<Status, string> = { ok: "#2e7d32", attention: "#b26a00", action: "#c62828", "no-source": "#6b7280" };
const BAR_COLOUR = "#1f5f99";
const WIDTH = 720;
const HEIGHT = 260;
const PAD = { left: 56, right: 16, top: 16, bottom: 56 };

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/** A "nice" upper bound and tick step for a count axis (whole-number steps). */
function scale(max: number): { top: number; step: number } {
    if (max <= 0) return { top: 1, step: 1 };
    const raw = max / 4;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!);
    return { top: Math.ceil(max / step) * step, step };
}

function frame(chart: BarChart | LineChart, body: string[], yTicks: string[]): string {
    const plotBottom = HEIGHT - PAD.bottom;
    return [
        `<svg id="${escapeHtml(chart.id)}" class="chart" role="img" aria-labelledby="${escapeHtml(chart.id)}-title" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" xmlns="http://www.w3.org/2000/svg">`,
        `<title id="${escapeHtml(chart.id)}-title">${escapeHtml(chart.title)}</title>`,
        ...yTicks,
        `<line x1="${PAD.left}" y1="${plotBottom}" x2="${WIDTH - PAD.right}" y2="${plotBottom}" stroke="#444" />`,
        `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${plotBottom}" stroke="#444" />`,
        `<text x="14" y="${(PAD.top + plotBottom) / 2}" transform="rotate(-90 14 ${(PAD.top + plotBottom) / 2})" text-anchor="middle" class="axis-label">${escapeHtml(chart.yLabel)}</text>`,
        ...(chart.type === "bar" ? [`<text x="${(PAD.left + WIDTH - PAD.right) / 2}" y="${HEIGHT - 6}" text-anchor="middle" class="axis-label">${escapeHtml(chart.xLabel)}</text>`] : []),
        ...body,
        `</svg>`,
    ].join("\n");
}

function barChart(chart: BarChart): string {
    const plotW = WIDTH - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const plotBottom = HEIGHT - PAD.bottom;
    const { top, step } = scale(Math.max(0, ...chart.bars.map((b) => b.value)));
    const ticks: string[] = [];
    for (let v = 0; v <= top + 1e-9; v += step) {
        const y = plotBottom - (v / top) * plotH;
        ticks.push(`<line x1="${PAD.left}" y1="${y.toFixed(1)}" x2="${WIDTH - PAD.right}" y2="${y.toFixed(1)}" stroke="#e5e7eb" />`);
        ticks.push(`<text x="${PAD.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" class="tick">${fmt(v)}</text>`);
    }
    const slot = plotW / Math.max(1, chart.bars.length);
    const barW = Math.max(2, slot * 0.7);
    const everyLabel = chart.bars.length > 12 ? 2 : 1;
    const body = chart.bars.map((b, i) => {
        const h = (b.value / top) * plotH;
        // A zero bar is still drawn (1px) so every category has its mark and reads as "none", not "missing".
        const height = Math.max(1, h);
        const x = PAD.left + i * slot + (slot - barW) / 2;
        const colour = b.status && b.status !== "ok" ? STATUS_COLOUR[b.status] : BAR_COLOUR;
        return [
            `<rect class="mark" x="${x.toFixed(1)}" y="${(plotBottom - height).toFixed(1)}" width="${barW.toFixed(1)}" height="${height.toFixed(1)}" fill="${colour}"><title>${escapeHtml(`${b.label}: ${fmt(b.value)}`)}</title></rect>`,
            b.value > 0 ? `<text x="${(x + barW / 2).toFixed(1)}" y="${(plotBottom - height - 4).toFixed(1)}" text-anchor="middle" class="value">${fmt(b.value)}</text>` : "",
            i % everyLabel === 0 ? `<text x="${(x + barW / 2).toFixed(1)}" y="${plotBottom + 16}" text-anchor="middle" class="tick">${escapeHtml(b.label)}</text>` : "",
        ].join("");
    });
    return frame(chart, body, ticks);
}

function lineChart(chart: LineChart): string {
    const plotW = WIDTH - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const plotBottom = HEIGHT - PAD.bottom;
    const values = [...chart.points.map((p) => p.y), ...(chart.target === undefined ? [] : [chart.target])];
    // Rates: zoom to the band that matters (a flat 99.x% line is unreadable on 0-100%).
    const lo = Math.max(0, Math.floor((Math.min(...values) - 0.01) * 50) / 50);
    const hi = Math.min(1, Math.ceil((Math.max(...values) + 0.005) * 50) / 50);
    const span = Math.max(hi - lo, 0.02);
    const y = (v: number) => plotBottom - ((v - lo) / span) * plotH;
    const times = chart.points.map((p) => new Date(p.x).getTime());
    const t0 = Math.min(...times);
    const t1 = Math.max(...times);
    const x = (t: number) => PAD.left + (t1 === t0 ? plotW / 2 : ((t - t0) / (t1 - t0)) * plotW);
    const ticks: string[] = [];
    for (let i = 0; i <= 4; i++) {
        const v = lo + (span * i) / 4;
        ticks.push(`<line x1="${PAD.left}" y1="${y(v).toFixed(1)}" x2="${WIDTH - PAD.right}" y2="${y(v).toFixed(1)}" stroke="#e5e7eb" />`);
        ticks.push(`<text x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${(v * 100).toFixed(1)}%</text>`);
    }
    const body: string[] = [];
    if (chart.target !== undefined) {
        body.push(`<line class="target" x1="${PAD.left}" y1="${y(chart.target).toFixed(1)}" x2="${WIDTH - PAD.right}" y2="${y(chart.target).toFixed(1)}" stroke="${STATUS_COLOUR.action}" stroke-dasharray="6 4" />`);
    }
    body.push(`<polyline fill="none" stroke="${BAR_COLOUR}" stroke-width="2" points="${chart.points.map((p, i) => `${x(times[i]).toFixed(1)},${y(p.y).toFixed(1)}`).join(" ")}" />`);
    chart.points.forEach((p, i) => {
        const below = chart.target !== undefined && p.y < chart.target;
        body.push(`<circle class="mark" cx="${x(times[i]).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="3.5" fill="${below ? STATUS_COLOUR.action : BAR_COLOUR}"><title>${escapeHtml(`${p.label}: ${(p.y * 100).toFixed(2)}%`)}</title></circle>`);
    });
    // First and last dates under the axis.
    const first = chart.points[0];
    const last = chart.points[chart.points.length - 1];
    body.push(`<text x="${PAD.left}" y="${plotBottom + 16}" text-anchor="start" class="tick">${escapeHtml(first.label.slice(0, 10))}</text>`);
    if (chart.points.length > 1) body.push(`<text x="${WIDTH - PAD.right}" y="${plotBottom + 16}" text-anchor="end" class="tick">${escapeHtml(last.label.slice(0, 10))}</text>`);
    return frame(chart, body, ticks);
}

function timelineChart(chart: TimelineChart): string {
    const labelW = 220;
    const rowH = 34;
    const top = 28;
    const height = top + chart.rows.length * rowH + 36;
    const x0 = labelW;
    const x1 = WIDTH - PAD.right - 8;
    const times = chart.rows.flatMap((r) => [r.start, r.end, ...r.milestones.map((m) => m.at)]).concat(chart.now).map((t) => new Date(t).getTime());
    const t0 = Math.min(...times);
    const t1 = Math.max(...times);
    const x = (t: string) => x0 + ((new Date(t).getTime() - t0) / Math.max(1, t1 - t0)) * (x1 - x0);
    const day = (t: number) => new Date(t + 9 * 3600_000).toISOString().slice(0, 10);
    const body: string[] = [];
    chart.rows.forEach((r, i) => {
        const y = top + i * rowH + rowH / 2;
        const label = r.label.length > 30 ? `${r.label.slice(0, 29)}…` : r.label;
        body.push(`<text x="${labelW - 8}" y="${y + 4}" text-anchor="end" class="tick">${escapeHtml(label)}<title>${escapeHtml(r.label)}</title></text>`);
        body.push(`<rect class="mark" x="${x(r.start).toFixed(1)}" y="${y - 6}" width="${Math.max(2, x(r.end) - x(r.start)).toFixed(1)}" height="12" rx="3" fill="#c7d7ea"><title>${escapeHtml(`${r.label}: detected ${day(new Date(r.start).getTime())}`)}</title></rect>`);
        for (const m of r.milestones) {
            const colour = m.status === "ok" ? STATUS_COLOUR.ok : STATUS_COLOUR[m.status];
            const cx = x(m.at).toFixed(1);
            body.push(
                m.done
                    ? `<circle class="milestone" cx="${cx}" cy="${y}" r="6" fill="${colour}"><title>${escapeHtml(m.label)}</title></circle>`
                    : `<path class="milestone" d="M ${cx} ${y - 7} l 7 7 l -7 7 l -7 -7 z" fill="#fff" stroke="${colour}" stroke-width="2"><title>${escapeHtml(m.label)}</title></path>`,
            );
        }
    });
    const nowX = x(chart.now).toFixed(1);
    const bottom = top + chart.rows.length * rowH;
    body.push(`<line x1="${nowX}" y1="${top - 10}" x2="${nowX}" y2="${bottom}" stroke="#374151" stroke-dasharray="3 3" />`);
    body.push(`<text x="${nowX}" y="${top - 14}" text-anchor="middle" class="tick">now</text>`);
    body.push(`<line x1="${x0}" y1="${bottom + 4}" x2="${x1}" y2="${bottom + 4}" stroke="#444" />`);
    body.push(`<text x="${x0}" y="${bottom + 20}" text-anchor="start" class="tick">${day(t0)}</text>`);
    body.push(`<text x="${x1}" y="${bottom + 20}" text-anchor="end" class="tick">${day(t1)}</text>`);
    return [
        `<svg id="${escapeHtml(chart.id)}" class="chart" role="img" aria-labelledby="${escapeHtml(chart.id)}-title" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" xmlns="http://www.w3.org/2000/svg">`,
        `<title id="${escapeHtml(chart.id)}-title">${escapeHtml(chart.title)}</title>`,
        ...body,
        `</svg>`,
    ].join("\n");
}

export function chartSvg(chart: Chart): string {
    return chart.type === "bar" ? barChart(chart) : chart.type === "line" ? lineChart(chart) : timelineChart(chart);
}

/** How many data marks a chart draws: bars, points, or incident rows. */
export function expectedMarks(chart: Chart): number {
    return chart.type === "bar" ? chart.bars.length : chart.type === "line" ? chart.points.length : chart.rows.length;
}
