// Charts as inline SVG, drawn here (no chart library, nothing fetched): a bar chart and a rate-over-time line.
// Each data mark carries class "mark" (one rect per bar, one circle per point), so a test can count them.
import { BarChart, Chart, LineChart, Status } from "./model";

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

function frame(chart: Chart, body: string[], yTicks: string[]): string {
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

export function chartSvg(chart: Chart): string {
    return chart.type === "bar" ? barChart(chart) : lineChart(chart);
}

/** How many data marks a chart draws: bars or points. */
export function expectedMarks(chart: Chart): number {
    return chart.type === "bar" ? chart.bars.length : chart.points.length;
}
