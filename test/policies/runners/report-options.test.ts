// What people script around audit and check: --list-rules, --output, --fail-on, baselines,
// standard input, byte-order marks, empty exports; and reports a reviewer can act on.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as Sarif from "sarif";
import { Finding, RuleMetadata } from "../../../policies/core/types";
import { formatReport } from "../../../policies/report";
import { toJsonReport } from "../../../policies/report/json";
import { MARKDOWN_LIMIT, STICKY_MARKER, formatMarkdown, formatMarkdownComment } from "../../../policies/report/markdown";
import { Report, failingFindings, findingFingerprint, toSourceLocation, verdict } from "../../../policies/report/model";
import { toSarif } from "../../../policies/report/sarif";
import { TEXT_WIDTH, useColor } from "../../../policies/report/text";
import { rules } from "../../../policies/rules";
import { main } from "../../../policies/runners/audit-cli";
import { fixture, runInProcess } from "./helpers";

const audit = (...argv: string[]) => runInProcess("audit", () => main(argv));
const ROOT = path.resolve(__dirname, "..", "..", "..");
const PACK_VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, "policies", "package.json"), "utf8")).version as string;

describe("audit and check options", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "appi-report-options-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const tmp = (name: string) => path.join(dir, name);

    describe("--list-rules", () => {
        it("text: every rule id, one a line, within 100 columns; no export file needed", async () => {
            const r = await audit("--list-rules");
            assert.equal(r.code, 0, r.stderr);
            const lines = r.stdout.trimEnd().split("\n");
            for (const rule of rules) assert.ok(lines.some((l) => l.startsWith(`${rule.id} `)), rule.id);
            for (const line of lines) assert.ok(line.length <= TEXT_WIDTH, `${line.length}: ${line}`);
            assert.match(r.stdout, new RegExp(`${rules.length} rules; full text`));
        });
        it("json: the metadata of every rule; markdown: the catalogue; --output writes it", async () => {
            const json = JSON.parse((await audit("--list-rules", "--format", "json")).stdout) as RuleMetadata[];
            assert.deepEqual(json.map((r) => r.id), rules.map((r) => r.id));
            assert.ok(json.every((r) => r.appi && r.remediation && r.severity));
            const md = await audit("--list-rules", "--format", "markdown", "--output", tmp("rules.md"));
            assert.equal(md.stdout, "");
            assert.match(fs.readFileSync(tmp("rules.md"), "utf8"), /^# APPI policy rules\n/);
            const sarif = await audit("--list-rules", "--format", "sarif");
            assert.equal(sarif.code, 2, "a rule list is not a SARIF log");
        });
    });

    describe("--output FILE", () => {
        for (const format of ["text", "json", "sarif", "markdown"]) {
            it(`${format}: the report goes to the file, stdout stays empty, the exit code is kept`, async () => {
                const out = tmp(`nested/report.${format}`);
                const r = await audit(fixture("export-noncompliant.json"), "--format", format, "--output", out);
                assert.equal(r.code, 1, r.stderr);
                assert.equal(r.stdout, "");
                assert.match(r.stderr, new RegExp(`report written to ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
                const text = fs.readFileSync(out, "utf8");
                assert.match(text, /store-encrypted-cmk/);
                if (format === "json" || format === "sarif") JSON.parse(text);
                if (format === "text") assert.doesNotMatch(text, /\x1b\[/, "no colour codes in a file");
            });
        }
        it("an unwritable output is bad input (exit 2), not a crash", async () => {
            fs.writeFileSync(tmp("file"), "");
            const r = await audit(fixture("export-compliant.json"), "--output", tmp("file/report.txt"));
            assert.equal(r.code, 2);
            assert.match(r.stderr, /cannot write report to/);
        });
    });

    describe("--fail-on", () => {
        it("advisory also fails on an unchecked value; the default passes it as NOT PROVEN", async () => {
            // The cluster's backup retention sealed as a secret: a stack export holds only its ciphertext.
            const sealed = JSON.parse(fs.readFileSync(fixture("export-secrets.json"), "utf8"));
            const cluster = sealed.deployment.resources.find((r: { type: string }) => r.type === "aws:rds/cluster:Cluster");
            const envelope = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:AAAA:BACKUPRETENTIONCIPHERTEXT" };
            cluster.inputs.backupRetentionPeriod = envelope;
            cluster.outputs.backupRetentionPeriod = envelope;
            fs.writeFileSync(tmp("sealed.json"), JSON.stringify(sealed));
            const plain = await audit(tmp("sealed.json"), "--format", "json");
            assert.equal(plain.code, 0);
            const doc = JSON.parse(plain.stdout);
            assert.equal(doc.verdict, "NOT PROVEN", "a mandatory rule that could not be checked is never a PASS");
            assert.ok(doc.unchecked.some((u: { policyName: string; enforcementLevel: string }) => u.policyName === "rds-cluster-backup-retention" && u.enforcementLevel === "mandatory"), plain.stdout);
            const strict = await audit(tmp("sealed.json"), "--format", "json", "--fail-on", "advisory");
            assert.equal(strict.code, 1);
            assert.equal(JSON.parse(strict.stdout).thresholds.failOn, "advisory");
            assert.equal(JSON.parse(strict.stdout).verdict, "FAIL");
        });
        it("rejects an unknown level with exit 2 naming the choices", async () => {
            const r = await audit(fixture("export-compliant.json"), "--fail-on", "severe");
            assert.equal(r.code, 2);
            assert.match(r.stderr, /unknown --fail-on "severe" \(one of mandatory, advisory, critical, high, medium, low/);
        });
    });

    describe("baselines", () => {
        it("--write-baseline records today's violations; --baseline then fails only on new ones", async () => {
            const first = await audit(fixture("export-noncompliant.json"), "--write-baseline", tmp("baseline.json"), "--format", "json");
            assert.equal(first.code, 1, "writing a baseline does not hide today's result");
            const baseline = JSON.parse(fs.readFileSync(tmp("baseline.json"), "utf8"));
            assert.equal(baseline.kind, "appi-policy-baseline");
            assert.equal(baseline.findings.length, JSON.parse(first.stdout).violations.length);
            const again = await audit(fixture("export-noncompliant.json"), "--baseline", tmp("baseline.json"), "--format", "json");
            assert.equal(again.code, 0, again.stdout);
            const doc = JSON.parse(again.stdout);
            assert.equal(doc.baselined.length, baseline.findings.length);
            assert.equal(doc.summary.failing, 0);
            assert.equal(doc.violations.length, baseline.findings.length, "known findings stay visible");
        });
        it("attacker's case: a finding on another resource (or the same rule elsewhere) is not covered", async () => {
            const first = JSON.parse((await audit(fixture("export-noncompliant.json"), "--format", "json")).stdout);
            const mandatory = first.violations.filter((v: { enforcementLevel: string }) => v.enforcementLevel === "mandatory");
            // Keep all but one mandatory finding; move another to a look-alike URN.
            const [dropped, renamed, ...kept] = mandatory;
            const findings = [...kept.map((v: { policyName: string; urn: string }) => ({ rule: v.policyName, urn: v.urn })), { rule: renamed.policyName, urn: `${renamed.urn}-old` }];
            fs.writeFileSync(tmp("partial.json"), JSON.stringify({ kind: "appi-policy-baseline", version: 1, createdAt: "2026-01-01T00:00:00Z", findings }));
            const r = await audit(fixture("export-noncompliant.json"), "--baseline", tmp("partial.json"), "--format", "json");
            assert.equal(r.code, 1);
            const failing = JSON.parse(r.stdout).summary.failing;
            assert.equal(failing, 2, `${dropped.policyName} and ${renamed.policyName} still fail`);
        });
        it("a file that is not a baseline is bad input", async () => {
            const r = await audit(fixture("export-noncompliant.json"), "--baseline", fixture("exceptions-valid.json"));
            assert.equal(r.code, 2);
            assert.match(r.stderr, /is not a baseline .*--write-baseline FILE/);
        });
    });

    describe("export input", () => {
        it("strips a UTF-8 byte-order mark (PowerShell redirection writes one)", async () => {
            const text = fs.readFileSync(fixture("export-noncompliant.json"), "utf8");
            fs.writeFileSync(tmp("bom.json"), `\uFEFF${text}`);
            const withBom = await audit(tmp("bom.json"), "--format", "json");
            const without = await audit(fixture("export-noncompliant.json"), "--format", "json");
            assert.equal(withBom.code, 1, withBom.stderr);
            assert.deepEqual(JSON.parse(withBom.stdout).violations, JSON.parse(without.stdout).violations);
        });
        it("warns on an export with no resources instead of passing silently", async () => {
            fs.writeFileSync(tmp("empty.json"), JSON.stringify({ version: 3, deployment: { manifest: {} } }));
            const r = await audit(tmp("empty.json"));
            assert.equal(r.code, 0);
            assert.match(r.stderr, /^audit: warning: .*empty\.json has no resources, so nothing was checked/);
        });
        it("reads - as standard input (`pulumi stack export | npm run audit -- -`)", function () {
            this.timeout(60_000);
            const run = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "policies/runners/audit-cli.ts", "-", "--format", "json"], {
                cwd: ROOT,
                encoding: "utf8",
                input: `\uFEFF${fs.readFileSync(fixture("export-noncompliant.json"), "utf8")}`,
            });
            assert.equal(run.status, 1, run.stderr);
            const doc = JSON.parse(run.stdout);
            assert.equal(doc.stack, "prod");
            assert.equal(doc.source, null);
            assert.ok(doc.violations.length > 0);
        });
    });
});

// ---- report formats over a synthetic report -------------------------------------------------
const rule = (id: string, over: Partial<RuleMetadata> = {}): RuleMetadata => ({
    id,
    title: `Title of ${id}`,
    description: `What ${id} checks.`,
    appi: "Art. 26 (breach report; encryption safe harbour) and Art. 23 (security control measures)",
    securityHub: [],
    severity: "high",
    remediation: `Fix ${id}.`,
    defaultEnforcement: "mandatory",
    ...over,
});
const urn = (name: string) => `urn:pulumi:prod::appi-infra::appi:data:Database$aws:rds/instance:Instance::${name}`;
const finding = (ruleId: string, name: string, outcome: Finding["outcome"], enforcementLevel: Finding["enforcementLevel"] = "mandatory"): Finding => ({ ruleId, urn: urn(name), resourceType: "aws:rds/instance:Instance", outcome, enforcementLevel });
const RULES = [rule("enc"), rule("tag", { severity: "low", defaultEnforcement: "advisory" }), rule("az", { severity: "high", defaultEnforcement: "advisory" })];

describe("report model: thresholds and verdicts", () => {
    const base: Report = {
        stack: "prod",
        rules: RULES,
        resources: 2,
        findings: [finding("tag", "a", { kind: "non-compliant", messages: ["no tag"] }, "advisory"), finding("az", "a", { kind: "non-compliant", messages: ["one AZ"] }, "advisory"), finding("enc", "b", { kind: "compliant" })],
    };
    it("mandatory (default): advisory findings do not fail", () => {
        assert.equal(failingFindings(base).length, 0);
        assert.equal(verdict(base), "PASS");
    });
    it("a severity threshold fails advisory findings at or above it, not below", () => {
        assert.deepEqual(failingFindings({ ...base, failOn: "high" }).map((f) => f.ruleId), ["az"]);
        assert.deepEqual(failingFindings({ ...base, failOn: "low" }).map((f) => f.ruleId), ["tag", "az"]);
        assert.deepEqual(failingFindings({ ...base, failOn: "critical" }), []);
        assert.equal(failingFindings({ ...base, failOn: "advisory" }).length, 2);
    });
    it("a threshold can never let a mandatory violation pass", () => {
        const bad: Report = { ...base, failOn: "critical", findings: [...base.findings, finding("enc", "c", { kind: "non-compliant", messages: ["plain"] })] };
        assert.deepEqual(failingFindings(bad).map((f) => f.ruleId), ["enc"]);
        assert.equal(verdict(bad), "FAIL");
    });
    it("a mandatory rule that could not be checked is NOT PROVEN, never PASS, in every format", () => {
        const unproven: Report = { ...base, findings: [...base.findings, finding("enc", "c", { kind: "cannot-check", message: "key is a secret" })] };
        assert.equal(verdict(unproven), "NOT PROVEN");
        assert.equal(toJsonReport(unproven).verdict, "NOT PROVEN");
        assert.match(formatReport(unproven, "text"), /\nNOT PROVEN: 1 mandatory check could not be decided/);
        assert.doesNotMatch(formatReport(unproven, "text"), /\nPASS/);
        assert.match(formatReport(unproven, "markdown"), /\*\*NOT PROVEN\*\*/);
    });
    it("baselined findings do not fail; the fingerprint is rule + URN", () => {
        const bad: Report = { ...base, findings: [finding("enc", "c", { kind: "non-compliant", messages: ["plain"] })] };
        assert.equal(verdict({ ...bad, baseline: new Set([findingFingerprint({ ruleId: "enc", urn: urn("c") })]) }), "PASS");
        assert.equal(verdict({ ...bad, baseline: new Set([findingFingerprint({ ruleId: "tag", urn: urn("c") })]) }), "FAIL");
    });
});

describe("JSON report: evidence and every finding in its list", () => {
    it("stack, semver pack version, commit, time, thresholds; passed / exempted / unchecked lists match the counts", async () => {
        const r = await runInProcess("audit", () => main([fixture("export-noncompliant.json"), "--format", "json", "--exceptions", fixture("exceptions-valid.json"), "--fail-on", "high"]));
        const doc = JSON.parse(r.stdout);
        assert.equal(doc.stack, "prod");
        assert.equal(doc.packVersion, PACK_VERSION);
        assert.match(doc.packVersion, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
        assert.match(doc.commit, /^[0-9a-f]{40}$/);
        assert.ok(!Number.isNaN(Date.parse(doc.time)));
        assert.deepEqual(doc.thresholds.failOn, "high");
        assert.equal(doc.thresholds.minBackupRetentionDays, 14);
        assert.deepEqual(doc.thresholds.allowedRegions.includes("ap-northeast-1"), true);
        assert.equal(doc.passed.length, doc.summary.passed);
        assert.equal(doc.exempted.length, doc.summary.exempted);
        assert.equal(doc.exempted[0].approver, "yamada.hanako@example.co.jp");
        assert.equal(doc.unchecked.length, doc.summary.unchecked);
    });
    it("the commit comes from CI's environment when set", async () => {
        const saved = process.env.GITHUB_SHA;
        process.env.GITHUB_SHA = "0123456789abcdef0123456789abcdef01234567";
        try {
            const doc = JSON.parse((await audit(fixture("export-compliant.json"), "--format", "json")).stdout);
            assert.equal(doc.commit, "0123456789abcdef0123456789abcdef01234567");
        } finally {
            if (saved === undefined) delete process.env.GITHUB_SHA;
            else process.env.GITHUB_SHA = saved;
        }
    });
});

describe("Markdown: a comment GitHub accepts", () => {
    const many = (n: number): Report => ({
        stack: "prod",
        rules: RULES,
        resources: n,
        findings: Array.from({ length: n }, (_, i) =>
            i === n - 1 ? finding("enc", `db-${i}`, { kind: "non-compliant", messages: ["storage is not encrypted"] }) : finding("tag", `db-${i}`, { kind: "non-compliant", messages: [`no DataClassification tag on resource number ${i} `.repeat(3)] }, "advisory"),
        ),
    });
    it("stays under 65,536 characters, keeps the mandatory failure first, and points at the full report", () => {
        const md = formatMarkdown(many(3000), { fullReport: "appi-report-prod (workflow artifact)" });
        assert.ok(md.length <= MARKDOWN_LIMIT && md.length < 65_536, String(md.length));
        assert.ok(md.startsWith(`${STICKY_MARKER}\n`));
        assert.match(md, /\*\*Cut to fit a comment\*\*: \d+ more findings not shown\. The full report is in `appi-report-prod \(workflow artifact\)`/);
        const firstRow = md.split("\n").find((l) => l.startsWith("| **mandatory**") || l.startsWith("| advisory"));
        assert.match(firstRow!, /^\| \*\*mandatory\*\* \| `enc`/, "the one mandatory failure is never cut");
    });
    it("several stacks in one comment share one budget: under the limit, one marker, every stack's mandatory failure kept", () => {
        const dev = { ...many(3000), stack: "dev" };
        const prod = { ...many(3000), stack: "prod" };
        const md = formatMarkdownComment([dev, prod]);
        assert.ok(md.length <= MARKDOWN_LIMIT, String(md.length));
        assert.equal(md.split(STICKY_MARKER).length - 1, 1, "one sticky marker");
        for (const stack of ["dev", "prod"]) {
            const section = md.split(/\n---\n/).find((part) => part.includes(`stack \`${stack}\``));
            assert.ok(section, `a section for ${stack}`);
            assert.match(section!, /\| \*\*mandatory\*\* \| `enc`/, `${stack}: the mandatory failure is kept`);
            assert.match(section!, /Cut to fit a comment/);
        }
    });
    it("a small stack beside a large one stays whole; the large one gets what is left", () => {
        const small = { ...many(3), stack: "dev" };
        const large = { ...many(3000), stack: "prod" };
        const md = formatMarkdownComment([small, large]);
        assert.ok(md.length <= MARKDOWN_LIMIT, String(md.length));
        assert.ok(md.includes(formatMarkdown(small).slice(STICKY_MARKER.length + 1)), "the small stack's report is whole");
        assert.ok(md.length > MARKDOWN_LIMIT - 2_000, `the large stack used the budget the small one left (${md.length})`);
        assert.deepEqual(formatMarkdownComment([small, { ...small, stack: "prod" }]).split(STICKY_MARKER).length, 2);
    });
    it("a small report is not cut; passes are folded", () => {
        const md = formatMarkdown(many(3));
        assert.doesNotMatch(md, /Cut to fit/);
        assert.match(md, /<details><summary>2 rules checked, 2 with failures: per-rule results<\/summary>/);
    });
});

describe("text: 100 columns, plurals, colour only on a TTY", () => {
    it("every line of a real report fits 100 columns, with the article legend", async () => {
        const r = await audit(fixture("export-noncompliant.json"), "--exceptions", fixture("exceptions-valid.json"));
        for (const line of r.stdout.split("\n")) assert.ok(line.length <= TEXT_WIDTH, `${line.length}: ${line}`);
        assert.match(r.stdout, /Art\.26\+23/);
        assert.match(r.stdout, /APPI articles: [\s\S]*Art\.26 breach report/);
    });
    it("plurals: 1 resource, 1 check; 2 resources, 2 checks", () => {
        const one: Report = { rules: RULES, resources: 1, findings: [finding("enc", "a", { kind: "compliant" })] };
        assert.match(formatReport(one, "text"), /^1 resource; 1 check passed/m);
        const two: Report = { rules: RULES, resources: 2, findings: [finding("enc", "a", { kind: "compliant" }), finding("enc", "b", { kind: "compliant" })] };
        assert.match(formatReport(two, "text"), /^2 resources; 2 checks passed/m);
        const failing: Report = { rules: RULES, resources: 1, findings: [finding("enc", "a", { kind: "non-compliant", messages: ["x"] })] };
        assert.match(formatReport(failing, "text"), /FAIL: 1 mandatory violation, 0 advisory$/);
    });
    it("colour on a TTY; never with NO_COLOR, on a pipe or a dumb terminal", () => {
        assert.equal(useColor({ isTTY: true }, {}), true);
        assert.equal(useColor({ isTTY: true }, { NO_COLOR: "1" }), false);
        assert.equal(useColor({ isTTY: false }, {}), false);
        assert.equal(useColor({}, {}), false);
        assert.equal(useColor({ isTTY: true }, { TERM: "dumb" }), false);
        const failing: Report = { rules: RULES, resources: 1, findings: [finding("enc", "a", { kind: "non-compliant", messages: ["x"] })] };
        assert.match(formatReport(failing, "text", { color: true }), /\x1b\[31m\[MANDATORY\]\x1b\[0m/);
        assert.doesNotMatch(formatReport(failing, "text"), /\x1b/);
    });
});

describe("SARIF: results at the line that declared the resource", () => {
    it("reads SDK positions (file URIs inside the project) and state positions (project:///file#line,col)", () => {
        assert.deepEqual(toSourceLocation({ uri: `file://${ROOT}/components/database.ts`, line: 120, column: 9 }, ROOT), { uri: "components/database.ts", line: 120, column: 9 });
        assert.deepEqual(toSourceLocation("project:///index.ts#12,5", ROOT), { uri: "index.ts", line: 12, column: 5 });
        assert.equal(toSourceLocation({ uri: `file://${ROOT}/node_modules/@pulumi/aws/rds/instance.ts`, line: 3, column: 1 }, ROOT), undefined);
        assert.equal(toSourceLocation({ uri: "file:///elsewhere/index.ts", line: 3, column: 1 }, ROOT), undefined);
        assert.equal(toSourceLocation("project:///index.ts", ROOT), undefined, "no line, no location");
    });

    it("a stack export's sourcePosition becomes the result's file and line", async () => {
        const doc = JSON.parse(fs.readFileSync(fixture("export-noncompliant.json"), "utf8"));
        const cluster = doc.deployment.resources.find((r: { type: string }) => r.type === "aws:rds/cluster:Cluster");
        cluster.sourcePosition = "project:///components/database.ts#57,25";
        const file = path.join(os.tmpdir(), `appi-sarif-${process.pid}.json`);
        fs.writeFileSync(file, JSON.stringify(doc));
        try {
            const log = JSON.parse((await audit(file, "--format", "sarif")).stdout) as Sarif.Log;
            const result = log.runs[0].results!.find((r) => r.ruleId === "store-encrypted-cmk" && r.locations![0].physicalLocation!.artifactLocation!.uri === "components/database.ts")!;
            assert.deepEqual(result.locations![0].physicalLocation, { artifactLocation: { uri: "components/database.ts", uriBaseId: "%SRCROOT%" }, region: { startLine: 57, startColumn: 25 } });
            assert.equal(log.runs[0].automationDetails!.id, "appi-state-prod/", "the audit of state has its own category");
            const other = log.runs[0].results!.find((r) => r.ruleId === "region-allowed")!;
            assert.equal(other.locations![0].physicalLocation!.region!.startLine, 1, "no position recorded: the export file, line 1");
        } finally {
            fs.rmSync(file, { force: true });
        }
    });

    it("automationDetails per stack, the invocation with its exit code, and the commit checked", () => {
        const report: Report = { stack: "prod", rules: RULES, resources: 1, findings: [finding("enc", "a", { kind: "non-compliant", messages: ["x"] })], provenance: { packVersion: PACK_VERSION, time: "2026-12-01T00:00:00.000Z" } };
        const log = toSarif(report, { commandLine: "npm run check -- --stack prod", exitCode: 1, sourceControl: { commit: "abc123", branch: "main", repositoryUri: "https://github.com/marczenn/rento" } });
        const run = log.runs[0];
        assert.equal(run.automationDetails!.id, "appi-plan-prod/");
        assert.equal(toSarif({ ...report, stack: "dev" }).runs[0].automationDetails!.id, "appi-plan-dev/", "one category per stack");
        assert.equal(toSarif(report, { category: "appi-drift-prod" }).runs[0].automationDetails!.id, "appi-drift-prod/");
        assert.deepEqual([run.invocations![0].commandLine, run.invocations![0].exitCode, run.invocations![0].executionSuccessful], ["npm run check -- --stack prod", 1, true]);
        assert.deepEqual(run.versionControlProvenance, [{ repositoryUri: "https://github.com/marczenn/rento", revisionId: "abc123", branch: "main" }]);
        assert.equal(run.tool.driver.version, PACK_VERSION);
    });
});
