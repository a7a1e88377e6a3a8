// The report's HTML in a real headless browser (Debian's chromium, driven by puppeteer-core): it loads from
// file:// with no console error and no request at all besides the file itself, every chart's SVG renders with a
// size and the expected number of marks, and a screenshot is kept in test-artifacts/ for a reviewer.
// No chromium is a failure, not a skip: CI installs it (.ci/run).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer, { Browser, Page } from "puppeteer-core";
import { expectedMarks } from "../../compliance/report/charts";
import { renderHtml } from "../../compliance/report/html";
import { buildReportModel, chartsOf, ReportInputs, ReportModel } from "../../compliance/report/model";
import { attackMonth, busyMonth, emptyMonth } from "./report-fixtures";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARTIFACTS = path.resolve(__dirname, "../../test-artifacts");

interface Loaded {
    page: Page;
    consoleErrors: string[];
    requests: string[];
}

describe("compliance report: the HTML in headless chromium", function () {
    this.timeout(120_000);
    let browser: Browser;
    let dir: string;

    before(async function () {
        if (!fs.existsSync(CHROMIUM)) {
            throw new Error(`chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install -y --no-install-recommends chromium) or set CHROMIUM_PATH`);
        }
        dir = mkdtempSync(path.join(tmpdir(), "appi-report-browser-"));
        // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
        browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    });
    after(async function () {
        await browser?.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function load(model: ReportModel, name: string): Promise<Loaded> {
        const file = path.join(dir, `${name}.html`);
        fs.writeFileSync(file, renderHtml(model));
        const url = pathToFileURL(file).href;
        const page = await browser.newPage();
        await page.setViewport({ width: 1100, height: 900 });
        const consoleErrors: string[] = [];
        const requests: string[] = [];
        page.on("console", (m) => {
            if (m.type() === "error") consoleErrors.push(m.text());
        });
        page.on("pageerror", (e) => consoleErrors.push(String(e)));
        // Every request but the document itself is recorded and refused: the file must need nothing else.
        await page.setRequestInterception(true);
        page.on("request", (r) => {
            if (r.url() === url) void r.continue();
            else {
                requests.push(r.url());
                void r.abort();
            }
        });
        await page.goto(url, { waitUntil: "load" });
        return { page, consoleErrors, requests };
    }

    async function chartsRendered(page: Page, model: ReportModel): Promise<void> {
        const charts = chartsOf(model);
        for (const chart of charts) {
            const drawn = await page.evaluate((id) => {
                // Runs in the page (the project compiles without the DOM library).
                const svg = (globalThis as any).document.getElementById(id);
                if (!svg) return null;
                const box = svg.getBoundingClientRect();
                const marks: { width: number; height: number }[] = [...svg.querySelectorAll(".mark")].map((m: any) => m.getBBox());
                return { width: box.width, height: box.height, marks: marks.length, emptyMarks: marks.filter((b) => b.width <= 0 || b.height <= 0).length };
            }, chart.id);
            assert.ok(drawn, `chart ${chart.id} is on the page`);
            assert.ok(drawn.width > 100 && drawn.height > 50, `chart ${chart.id} has a rendered size (${drawn.width}x${drawn.height})`);
            assert.equal(drawn.marks, expectedMarks(chart), `chart ${chart.id} draws one mark per ${chart.type === "bar" ? "bar" : chart.type === "line" ? "point" : "incident"}`);
            assert.equal(drawn.emptyMarks, 0, `every mark of ${chart.id} has a size`);
        }
    }

    it("a busy month: loads cleanly, offline, every chart drawn; screenshot kept", async function () {
        const model = buildReportModel(busyMonth());
        const charts = chartsOf(model);
        assert.deepEqual(charts.map((c) => c.id).sort(), ["chart-access-by-hour", "chart-consent-rate", "chart-deletion-latency", "chart-findings-by-article", "chart-incident-timeline"]);
        const { page, consoleErrors, requests } = await load(model, "busy");
        assert.deepEqual(consoleErrors, []);
        assert.deepEqual(requests, []);
        await chartsRendered(page, model);
        assert.equal(await page.title(), model.title);
        // Every section is on the page with its status badge.
        const sections = await page.$$eval("section", (els) => els.map((e) => ({ id: e.id, badge: e.querySelector(".badge")?.textContent })));
        assert.deepEqual(sections.map((s) => s.id), model.sections.map((s) => s.id));
        assert.ok(sections.every((s) => s.badge));
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        const shot = path.join(ARTIFACTS, "appi-compliance-report.png");
        await page.screenshot({ path: shot, fullPage: true });
        assert.ok(fs.statSync(shot).size > 10_000, "the screenshot has content");
        await page.close();
    });

    it("an empty month: charts that have data render, the others say there was no source", async function () {
        const model = buildReportModel(emptyMonth());
        const { page, consoleErrors, requests } = await load(model, "empty");
        assert.deepEqual([consoleErrors, requests], [[], []]);
        await chartsRendered(page, model);
        assert.deepEqual(chartsOf(model).map((c) => c.id), ["chart-access-by-hour"]);
        const noSource = await page.$$eval(".nosource-note", (els) => els.length);
        assert.ok(noSource >= 5, `sections without a source say so (${noSource})`);
        // Status badges stay small pills whatever the status (a NO SOURCE badge once took the note's box style).
        const badgeHeights: number[] = await page.$$eval(".badge", (els) => els.map((e) => e.getBoundingClientRect().height));
        assert.ok(badgeHeights.length > 10 && badgeHeights.every((h) => h > 0 && h < 24), JSON.stringify(badgeHeights));
        await page.close();
    });

    it("attacker-shaped names do not run, load or inject anything: they show as text", async function () {
        const inputs: ReportInputs = attackMonth();
        const model = buildReportModel(inputs);
        const { page, consoleErrors, requests } = await load(model, "attack");
        const alerts: string[] = [];
        page.on("dialog", (d) => {
            alerts.push(d.message());
            void d.dismiss();
        });
        assert.deepEqual(consoleErrors, []);
        assert.deepEqual(requests, [], "the injected <img src=http://...> was never requested");
        assert.equal(await page.$$eval("script", (s) => s.length), 0);
        assert.equal(await page.$$eval("img", (s) => s.length), 0);
        assert.deepEqual(alerts, []);
        const text = await page.$eval("body", (b) => b.textContent ?? "");
        assert.ok(text.includes('role<script>alert("x")</script>'), "the role name is shown literally");
        await chartsRendered(page, model);
        await page.close();
    });
});
