// The report model (a pure function of what was read) and its two renderings: statuses a reviewer relies on,
// an empty month that says which sections had no source, a clean month that is all OK, and names shaped like
// an attack on the HTML or the Markdown.
import assert from "node:assert/strict";
import { expectedMarks } from "../../compliance/report/charts";
import { renderHtml } from "../../compliance/report/html";
import { escapeMarkdown, renderMarkdown } from "../../compliance/report/markdown";
import { BarChart, buildReportModel, chartsOf, isReportMonth, LineChart, monthPeriod, primaryArticle, ReportInputs, ReportModel, Section } from "../../compliance/report/model";
import { ATTACK, attackMonth, busyExport, busyMonth, emptyDatabase, emptyMonth } from "./report-fixtures";

const section = (m: ReportModel, id: string): Section => m.sections.find((s) => s.id === id)!;
const statuses = (m: ReportModel) => Object.fromEntries(m.sections.map((s) => [s.id, s.status]));
const chart = <T extends BarChart | LineChart>(m: ReportModel, id: string) => chartsOf(m).find((c) => c.id === id) as T;

/** A month where everything was done on time: the passing case of every check. */
function cleanMonth(): ReportInputs {
    const inputs = busyMonth();
    const db = emptyDatabase();
    db.consentSnapshots = [1, 10, 20].map((d) => ({ takenAt: new Date(Date.UTC(2026, 10, d)).toISOString(), complianceRate: 0.995, targetRate: 0.99, users: 1000, usersMissingRequired: 5, purposes: [] }));
    db.drills = [
        { drill: "key_rotation", startedAt: "2026-11-24T03:00:00Z", finishedAt: "2026-11-24T03:00:00Z", succeeded: true, recoverySeconds: null, rtoSeconds: null, details: { keys: [{ keyId: "k", lastRotatedAt: "2026-06-01T00:00:00Z", problems: [] }], versions: [] } },
        { drill: "restore", startedAt: "2026-11-20T03:00:00Z", finishedAt: "2026-11-20T06:00:00Z", succeeded: true, recoverySeconds: 3 * 3600, rtoSeconds: 8 * 3600, details: {} },
    ];
    db.access = [{ dbRole: "pii_read", performedBy: "api:graphql", purpose: "service_provision", reads: 3000, usersRead: 900, failed: 0, offHoursReads: 0, busiestDay: "2026-11-12", busiestDayReads: 140 }];
    db.deletionLatencies = [{ latencySeconds: 120, withinSla: true }];
    db.provisions = [{ recipientName: "Yamato Logistics KK", recipientCountry: "JP", legalBasis: "outsourcing", records: 2, users: 2, dataCategories: ["name"], withoutConsentRecord: 0, pastRetention: 0 }];
    const x = busyExport();
    x.regions = [{ region: "ap-northeast-1", resources: 42 }];
    x.kmsKeys = [x.kmsKeys[0]];
    x.backups = [x.backups[0]];
    x.findings = [];
    return { ...inputs, database: db, export: x };
}

describe("compliance report: the model", function () {
    it("months are calendar months in Japan time", function () {
        const nov = monthPeriod("2026-11");
        assert.deepEqual([nov.from.toISOString(), nov.to.toISOString(), nov.days], ["2026-10-31T15:00:00.000Z", "2026-11-30T15:00:00.000Z", 30]);
        const dec = monthPeriod("2026-12");
        assert.deepEqual([dec.to.toISOString(), dec.days], ["2026-12-31T15:00:00.000Z", 31]);
        assert.equal(monthPeriod("2028-02").days, 29);
        for (const bad of ["2026-13", "2026-00", "2026-1", "26-11", "2026-11-01", ""]) {
            assert.equal(isReportMonth(bad), false, bad);
            assert.throws(() => monthPeriod(bad), /YYYY-MM/);
        }
    });

    it("an empty month with no export: every section says whether it had a source; nothing is called compliant that was not checked", function () {
        const m = buildReportModel(emptyMonth());
        assert.deepEqual(statuses(m), {
            residency: "no-source",
            findings: "no-source",
            encryption: "attention", // no key-rotation validation recorded
            backups: "attention", // no restore drill recorded
            access: "ok",
            consent: "no-source",
            deletion: "ok",
            dsr: "ok",
            incidents: "ok",
            provisions: "ok",
        });
        assert.equal(m.status, "attention");
        assert.equal(section(m, "consent").headline, "no compliance snapshots in 2026-11");
        assert.match(section(m, "backups").headline, /no restore drill recorded/);
        for (const id of ["residency", "findings", "encryption", "backups", "consent", "deletion", "access"]) {
            assert.ok(section(m, id).blocks.some((b) => b.kind === "no-source"), `${id} says what it had no source for`);
        }
        // Only the hour-of-day chart has something to draw (24 zero bars); no chart from nothing.
        assert.deepEqual(chartsOf(m).map((c) => [c.id, expectedMarks(c)]), [["chart-access-by-hour", 24]]);
        const html = renderHtml(m);
        const markdown = renderMarkdown(m);
        assert.equal(html.match(/<p class="nosource-note">/g)?.length, markdown.match(/^> \*\*No source\.\*\*/gm)?.length);
        assert.match(html, /No stack export given \(--export FILE\)/);
        assert.match(markdown, /No compliance snapshots in 2026-11/);
    });

    it("a clean month is OK in every section", function () {
        const m = buildReportModel(cleanMonth());
        assert.deepEqual(new Set(Object.values(statuses(m))), new Set(["ok"]), JSON.stringify(statuses(m)));
        assert.equal(m.status, "ok");
        assert.match(renderMarkdown(m), /^Overall: \*\*OK\*\*$/m);
    });

    it("a busy month: each obligation missed shows as ACTION NEEDED, each thing to look at as REVIEW", function () {
        const m = buildReportModel(busyMonth());
        assert.deepEqual(statuses(m), {
            residency: "action",
            findings: "action",
            encryption: "action",
            backups: "action",
            access: "action",
            consent: "attention",
            deletion: "action",
            dsr: "action",
            incidents: "action",
            provisions: "action",
        });
        assert.equal(m.title, "APPI compliance report 2026-11 (stack prod)");
        assert.deepEqual(m.summary.map((s) => s.section), m.sections.map((s) => s.id));
        assert.match(section(m, "residency").headline, /^1 resource outside ap-northeast-1, ap-northeast-3; 2 mandatory findings$/);
        assert.match(section(m, "encryption").headline, /1 KMS key without rotation/);
        assert.match(section(m, "encryption").headline, /last key-rotation validation failed/);
        assert.match(section(m, "backups").headline, /^1 store below 14-day backup retention$/);
        assert.equal(section(m, "incidents").headline, "3 incidents, 2 reportable, 1 with an overdue report");
        assert.equal(section(m, "deletion").headline, "1 request erased late, 1 pending past the SLA");
    });

    it("findings by article: each open finding once, under its rule's first article; exempted findings not counted; articles without findings shown at zero", function () {
        assert.equal(primaryArticle("Art. 26 (breach report; encryption safe harbour) and Art. 23 (security control measures)"), "Art. 26");
        assert.equal(primaryArticle("Art. 28 (cross-border provision; Art. 23 understanding of the foreign environment)"), "Art. 28");
        const c = chart<BarChart>(buildReportModel(busyMonth()), "chart-findings-by-article");
        assert.deepEqual(c.bars.map((b) => [b.label, b.value, b.status]), [
            ["Art. 22", 1, "attention"],
            ["Art. 23", 1, "action"], // the exempted cognito-mfa finding is not counted
            ["Art. 24", 0, "ok"],
            ["Art. 26", 0, "ok"],
            ["Art. 28", 1, "action"],
        ]);
    });

    it("deletion latency: a histogram whose bars past one hour are the late erasures", function () {
        const c = chart<BarChart>(buildReportModel(busyMonth()), "chart-deletion-latency");
        assert.deepEqual(c.bars.map((b) => b.value), [1, 2, 2, 2, 2, 1, 0, 0]);
        assert.equal(c.bars.reduce((n, b) => n + b.value, 0), 10, "every completed request in one bar");
        assert.deepEqual(c.bars.filter((b) => b.status === "action").map((b) => b.label), ["1-2 h"]);
        // Exactly one hour is within the SLA (completed_at <= deadline_at): it falls in the last bar before the line.
        const inputs = emptyMonth();
        inputs.database.deletionLatencies = [{ latencySeconds: 3599.9, withinSla: true }];
        const edge = chart<BarChart>(buildReportModel(inputs), "chart-deletion-latency");
        assert.deepEqual(edge.bars.map((b) => b.value), [0, 0, 0, 0, 1, 0, 0, 0]);
        assert.equal(section(buildReportModel(inputs), "deletion").status, "ok");
    });

    it("consent: the month's snapshots as a line against the target; below target at month end is ACTION NEEDED", function () {
        const busy = buildReportModel(busyMonth());
        const line = chart<LineChart>(busy, "chart-consent-rate");
        assert.equal(line.points.length, 10);
        assert.equal(line.target, 0.99);
        assert.match(section(busy, "consent").headline, /^99\.70% at month end \(lowest 98\.20%; target 99\.00%\)$/);
        const inputs = busyMonth();
        inputs.database.consentSnapshots.at(-1)!.complianceRate = 0.97;
        assert.equal(section(buildReportModel(inputs), "consent").status, "action");
    });

    it("access review: off-hours reads, failures, an unusual day and reads without a purpose are flagged; usual reading is not", function () {
        const table = section(buildReportModel(busyMonth()), "access").blocks.find((b) => b.kind === "table")!;
        assert.equal(table.kind, "table");
        const review = (table as { rows: (string | { text: string })[][] }).rows.map((r) => [r[1], typeof r[8] === "string" ? r[8] : r[8].text]);
        assert.deepEqual(review, [
            ["api:graphql", "usual"], // busiest day 260 against an average of 180: usual
            ["support:agent-7", "off-hours reads, failed reads, unusual daily volume"], // 300 of 340 reads on one day
            ["batch:export", "no purpose recorded"],
        ]);
        const hours = chart<BarChart>(buildReportModel(busyMonth()), "chart-access-by-hour");
        assert.deepEqual(hours.bars.filter((b) => b.status === "attention").map((b) => b.label), ["02"]);
    });

    it("restore drill: failed, over the RTO, or not this month are each called out", function () {
        const variant = (change: (d: ReportInputs) => void) => {
            const inputs = cleanMonth();
            change(inputs);
            return section(buildReportModel(inputs), "backups");
        };
        assert.equal(variant(() => undefined).status, "ok");
        const restore = (i: ReportInputs) => i.database.drills.find((d) => d.drill === "restore")!;
        assert.equal(variant((i) => (restore(i).succeeded = false)).headline, "last restore drill failed");
        const slow = variant((i) => (restore(i).recoverySeconds = 9 * 3600));
        assert.deepEqual([slow.status, slow.headline], ["action", "last restore drill exceeded the RTO"]);
        // As compliance/restore-drill.ts records it: a failed check, the error, a temporary copy left behind.
        const failedDrill = variant((i) => {
            restore(i).succeeded = false;
            restore(i).details = { checks: [{ name: "rls", ok: false, detail: "users: row-level security not forced" }], error: "verification failed", deleted: false, leftoversDeleted: [] };
        });
        const facts = failedDrill.blocks.find((b) => b.kind === "facts" && b.items.some((x) => x.label === "Result"));
        assert.ok(facts && facts.kind === "facts");
        assert.deepEqual(facts.items.filter((x) => x.status !== "ok").map((x) => [x.label, x.value]), [
            ["Result", "failed"],
            ["Check: rls", "failed (users: row-level security not forced)"],
            ["Error", "verification failed"],
            ["Temporary copy deleted", "no: delete it (a copy of personal data outside the backup plan)"],
        ]);
        assert.equal(failedDrill.headline, "last restore drill failed; the drill's temporary copy was not deleted");
        const old = variant((i) => (restore(i).startedAt = "2026-10-20T03:00:00Z"));
        assert.deepEqual([old.status, old.headline], ["attention", "no restore drill in 2026-11 (last 2026-10-20)"]);
    });

    it("incidents: the Art. 26 milestones on time, late, overdue, due within a day, or not required", function () {
        const inputs = cleanMonth();
        const base = busyMonth().database.incidents[0];
        inputs.database.incidents = [
            { ...base, id: "late", preliminaryReportedAt: "2026-11-09T03:00:00Z", finalReportedAt: "2026-11-30T00:00:00Z", finalDueAt: "2026-12-05T03:00:00Z" },
            { ...base, id: "soon", preliminaryDueAt: "2026-12-01T20:00:00Z", preliminaryReportedAt: null },
        ];
        const m = buildReportModel(inputs);
        const table = section(m, "incidents").blocks.find((b) => b.kind === "table") as { rows: { text: string; status?: string }[][] };
        assert.deepEqual(table.rows.map((r) => [r[4].status, r[5].status]), [["action", "ok"], ["attention", "ok"]]);
        assert.match(table.rows[0][4].text, /\(late; due 2026-11-08 12:00 JST\)/);
        assert.match(table.rows[1][4].text, /^due 2026-12-02 05:00 JST$/);
        // The timeline: one row per reportable incident, its two milestones coloured as in the table.
        const timeline = chartsOf(m).find((c) => c.id === "chart-incident-timeline");
        assert.ok(timeline && timeline.type === "timeline");
        assert.deepEqual(timeline.rows.map((r) => [r.status, r.milestones.map((x) => [x.done, x.status])]), [["action", [[true, "action"], [true, "ok"]]], ["attention", [[false, "attention"], [false, "ok"]]]]);
        inputs.database.incidents = inputs.database.incidents.map((i) => ({ ...i, reportRequired: false }));
        assert.equal(chartsOf(buildReportModel(inputs)).some((c) => c.id === "chart-incident-timeline"), false, "no timeline without a reportable incident");
    });
});

describe("compliance report: renderings", function () {
    it("both renderings carry the same sections, statuses and article references", function () {
        const m = buildReportModel(busyMonth());
        const html = renderHtml(m);
        const markdown = renderMarkdown(m);
        m.sections.forEach((s, i) => {
            assert.ok(html.includes(`<h2>${i + 1}. ${s.title.replace(/&/g, "&amp;")}</h2>`), s.id);
            assert.match(markdown, new RegExp(`^## ${i + 1}\\. ${s.title.replace(/[.()]/g, "\\$&")} \\*\\*`, "m"));
            for (const a of s.articles) assert.ok(markdown.includes(escapeMarkdown(a)), `${s.id}: ${a}`);
        });
        // Charts: SVG in the HTML with one mark per datum; their data as a table in the Markdown.
        for (const c of chartsOf(m)) {
            const svg = html.slice(html.indexOf(`<svg id="${c.id}"`), html.indexOf("</svg>", html.indexOf(`<svg id="${c.id}"`)));
            assert.equal(svg.match(/class="mark"/g)?.length, expectedMarks(c), c.id);
            assert.ok(markdown.includes(`**Chart: ${escapeMarkdown(c.title)}**`), c.id);
        }
    });

    it("the HTML is one file that loads nothing and runs nothing", function () {
        const html = renderHtml(buildReportModel(busyMonth()));
        assert.doesNotMatch(html, /<script|<link|<img|<iframe|<object|@import|url\(|\b(src|href)=/i);
        assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/);
    });

    it("attacker-shaped names (roles, readers, purposes, titles, recipients, resources) are text in both renderings", function () {
        const m = buildReportModel(attackMonth());
        const html = renderHtml(m);
        assert.doesNotMatch(html, /<script|<img|onerror=alert\(1\)>/i);
        assert.ok(html.includes("role&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=http://evil.example/x.png onerror=alert(1)&gt;"));
        // Every attacked field made it into the page (escaped), none was dropped.
        const escaped = ATTACK.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
        for (const prefix of ["role", "reader", "purpose", "incident", "recipient", "cat", "type", "key", "kid", "problem", "export", "kms", "res", "msg", "region"]) {
            assert.ok(html.includes(prefix + escaped), `${prefix} shown escaped in the HTML`);
        }
        const markdown = renderMarkdown(m);
        assert.doesNotMatch(markdown, /<script|<img/i);
        assert.ok(markdown.includes("role&lt;script&gt;"));
    });

    it("Markdown: a value cannot add a table cell, a line, a link or emphasis", function () {
        assert.equal(escapeMarkdown("a|b\nc [x](http://e) *y* `z` _w_"), "a\\|b c \\[x\\](http://e) \\*y\\* \\`z\\` \\_w\\_");
        const inputs = busyMonth();
        inputs.database.access[0] = { ...inputs.database.access[0], performedBy: "evil | 999 | 999\n| injected |" };
        const markdown = renderMarkdown(buildReportModel(inputs));
        const header = markdown.split("\n").find((l) => l.startsWith("| DB role |"))!;
        const row = markdown.split("\n").find((l) => l.includes("evil"))!;
        const cells = (line: string) => line.split(/(?<!\\)\|/).length;
        assert.equal(cells(row), cells(header), row);
        assert.ok(!markdown.split("\n").some((l) => l.startsWith("| injected")));
    });
});
