import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../../policies/runners/audit-cli";
import { CliResult, fixture, runInProcess } from "./helpers";

const audit = (...argv: string[]): Promise<CliResult> => runInProcess("audit", () => main(argv));

interface JsonOut {
    violations: { policyName: string; urn: string; enforcementLevel: string; message: string; severity: string; appi: string; securityHub: string[]; remediation: string }[];
    summary: { resources: number; passed: number; failed: number; exempted: number };
}

describe("audit CLI on stack exports", () => {
    it("passes a compliant export with exit 0", async () => {
        const r = await audit(fixture("export-compliant.json"), "--format", "json");
        assert.equal(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout) as JsonOut;
        assert.equal(doc.violations.filter((v) => v.enforcementLevel === "mandatory").length, 0);
        assert.equal(doc.summary.resources, 9);
        assert.equal(doc.summary.failed, 0);
        assert.ok(doc.summary.passed > 0);
    });

    it("fails a non-compliant export with exit 1 and prints exactly one JSON document", async () => {
        const r = await audit(fixture("export-noncompliant.json"), "--format", "json");
        assert.equal(r.code, 1);
        assert.equal(r.stderr, "");
        const doc = JSON.parse(r.stdout) as JsonOut;
        assert.deepEqual(Object.keys(doc).sort(), ["baselined", "branch", "commit", "coverage", "exempted", "packVersion", "passed", "schemaVersion", "source", "stack", "summary", "thresholds", "time", "unchecked", "unusedExemptions", "verdict", "violations"]);
        const coverage = (doc as unknown as { coverage: { line: string; types: number; reviewed: number } }).coverage;
        assert.equal(coverage.line, `${coverage.reviewed} of ${coverage.types} resource types reviewed`);
        assert.deepEqual(Object.keys(doc.summary).sort(), ["baselined", "exempted", "failed", "failing", "passed", "resources", "unchecked", "verdict"]);
        const byRule = new Map(doc.violations.map((v) => [v.policyName, v]));
        for (const rule of ["store-encrypted-cmk", "rds-cluster-backup-retention", "log-group-retention", "region-allowed"]) {
            const v = byRule.get(rule);
            assert.ok(v, `expected a violation of ${rule}`);
            assert.equal(v.enforcementLevel, "mandatory");
            assert.match(v.urn, /^urn:pulumi:prod::appi-infra::/);
            assert.ok(v.appi.startsWith("Art."), v.appi);
            assert.ok(v.remediation.length > 10);
            assert.ok(["critical", "high", "medium", "low"].includes(v.severity));
            assert.ok(Array.isArray(v.securityHub));
        }
        assert.match(byRule.get("region-allowed")!.message, /us-east-1/);
        assert.match(byRule.get("region-allowed")!.urn, /BucketV2::exports$/);
        // failed counts every non-compliant check (mandatory and advisory); "could not be checked" is not a failure
        assert.equal(doc.summary.failed, doc.violations.filter((v) => !v.message.startsWith("could not be checked") && !/could not be checked/.test(v.message)).length);
    });

    it("flags the spec's Aurora setup: alias/aws/rds and 7-day backups", async () => {
        const r = await audit(fixture("export-aurora-spec.json"), "--format", "json");
        assert.equal(r.code, 1);
        const doc = JSON.parse(r.stdout) as JsonOut;
        const cmk = doc.violations.find((v) => v.policyName === "store-encrypted-cmk");
        const backups = doc.violations.find((v) => v.policyName === "rds-cluster-backup-retention");
        assert.ok(cmk && backups, JSON.stringify(doc.violations.map((v) => v.policyName)));
        assert.match(cmk.message, /alias\/aws\/rds/);
        assert.match(backups.message, /\b7\b/);
        assert.equal(cmk.enforcementLevel, "mandatory");
        assert.equal(backups.enforcementLevel, "mandatory");
    });

    it("never prints secret ciphertext, and never passes a sealed key it cannot prove", async () => {
        const raw = fs.readFileSync(fixture("export-secrets.json"), "utf8");
        assert.match(raw, /SECRETKEYCIPHERTEXT0001/);
        for (const format of ["text", "json", "sarif", "markdown"]) {
            const r = await audit(fixture("export-secrets.json"), "--format", format);
            assert.equal(r.code, 0, `${format}: ${r.stderr}`);
            assert.doesNotMatch(r.stdout, /SECRETKEYCIPHERTEXT0001|Zm9vYmFyYmF6cXV4|c2VjcmV0a2V5aWQ/, format);
        }
        // The sealed key id is proven by its property dependency on the stack's KMS key: not read, not guessed.
        const doc = JSON.parse((await audit(fixture("export-secrets.json"), "--format", "json")).stdout) as JsonOut;
        assert.equal(doc.violations.find((v) => v.policyName === "store-encrypted-cmk"), undefined, JSON.stringify(doc.violations));
        // Without that dependency a sealed key proves nothing: a mandatory failure, never a pass.
        const raw2 = JSON.parse(raw);
        for (const r of raw2.deployment.resources) delete r.propertyDependencies;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appi-audit-"));
        try {
            fs.writeFileSync(path.join(dir, "sealed.json"), JSON.stringify(raw2));
            const r = await audit(path.join(dir, "sealed.json"), "--format", "json");
            assert.equal(r.code, 1);
            assert.doesNotMatch(r.stdout, /SECRETKEYCIPHERTEXT0001|c2VjcmV0a2V5aWQ/);
            const unproven = (JSON.parse(r.stdout) as JsonOut).violations.find((v) => v.policyName === "store-encrypted-cmk");
            assert.ok(unproven, "an unreadable key with no dependency must not pass");
            assert.equal(unproven.enforcementLevel, "mandatory");
            assert.match(unproven.message, /secret this runner cannot read/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("reads UTF-8 exports (a Japanese resource name) as well as ASCII ones", async () => {
        const doc = JSON.parse(fs.readFileSync(fixture("export-aurora-spec.json"), "utf8"));
        const cluster = doc.deployment.resources.find((r: { type: string }) => r.type === "aws:rds/cluster:Cluster");
        cluster.urn = cluster.urn.replace(/::pii-database-cluster$/, "::個人情報データベース");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appi-audit-"));
        const file = path.join(dir, "export-utf8.json");
        const exceptions = path.join(dir, "exceptions.json");
        fs.writeFileSync(file, JSON.stringify(doc));
        // The exception matches only if the name was decoded as UTF-8.
        fs.writeFileSync(exceptions, JSON.stringify({ exceptions: [{ rule: "rds-cluster-backup-retention", urn: "*::個人情報データベース", reason: "prototype cluster, no real data yet", approver: "sato", expires: "2099-01-01" }] }));
        try {
            const r = await audit(file, "--format", "json", "--exceptions", exceptions);
            const out = JSON.parse(r.stdout) as JsonOut;
            assert.equal(out.summary.exempted, 1, r.stdout);
            assert.ok(out.violations.some((v) => v.urn.endsWith("::個人情報データベース") && v.policyName === "store-encrypted-cmk"));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("applies a config file (lower backup minimum) and rejects a bad one naming the key", async () => {
        const lenient = JSON.parse((await audit(fixture("export-aurora-spec.json"), "--format", "json", "--config", fixture("config-tls12.json"))).stdout) as JsonOut;
        assert.equal(lenient.violations.some((v) => v.policyName === "rds-cluster-backup-retention"), false);
        const bad = await audit(fixture("export-compliant.json"), "--config", fixture("config-bad.json"));
        assert.equal(bad.code, 2);
        assert.equal(bad.stdout, "");
        assert.match(bad.stderr, /^audit: .*minBackupDays.*\n$/);
    });

    describe("exceptions", () => {
        it("reports an exempted finding as exempted and no longer fails on it", async () => {
            const r = await audit(fixture("export-noncompliant.json"), "--format", "json", "--exceptions", fixture("exceptions-valid.json"));
            const doc = JSON.parse(r.stdout) as JsonOut;
            assert.equal(doc.summary.exempted, 1);
            assert.equal(doc.violations.some((v) => v.policyName === "log-group-retention"), false);
            assert.equal(r.code, 1, "the other mandatory violations still fail");
            const text = await audit(fixture("export-noncompliant.json"), "--exceptions", fixture("exceptions-valid.json"));
            assert.match(text.stdout, /\[EXEMPTED\] log-group-retention/);
            assert.match(text.stdout, /approved by yamada\.hanako@example\.co\.jp/);
        });

        it("reports an exception that matched nothing in every format", async () => {
            const r = await audit(fixture("export-compliant.json"), "--format", "json", "--exceptions", fixture("exceptions-valid.json"));
            const doc = JSON.parse(r.stdout) as JsonOut & { unusedExemptions: { rule: string; source: string; message: string }[] };
            assert.deepEqual(doc.unusedExemptions.map((u) => [u.rule, u.source]), [["log-group-retention", "exception"]]);
            assert.match(doc.unusedExemptions[0].message, /matched no violation/);
            const text = await audit(fixture("export-compliant.json"), "--exceptions", fixture("exceptions-valid.json"));
            assert.match(text.stdout, /Exemptions that matched nothing \(1\):\n {2}- exception for rule log-group-retention on[\s\S]*matched no violation/);
            const md = await audit(fixture("export-compliant.json"), "--format", "markdown", "--exceptions", fixture("exceptions-valid.json"));
            assert.match(md.stdout, /### Exemptions that matched nothing \(1\)\n\n- exception for rule log-group-retention/);
            const sarif = JSON.parse((await audit(fixture("export-compliant.json"), "--format", "sarif", "--exceptions", fixture("exceptions-valid.json"))).stdout);
            const notes = sarif.runs[0].invocations[0].toolConfigurationNotifications;
            assert.equal(notes.length, 1);
            assert.equal(notes[0].descriptor.id, "log-group-retention");
            // The exception that matched is not reported as unused.
            const used = JSON.parse((await audit(fixture("export-noncompliant.json"), "--format", "json", "--exceptions", fixture("exceptions-valid.json"))).stdout);
            assert.deepEqual(used.unusedExemptions, []);
        });

        it("rejects an expired exception with exit 2 naming it", async () => {
            const r = await audit(fixture("export-noncompliant.json"), "--exceptions", fixture("exceptions-expired.json"));
            assert.equal(r.code, 2);
            assert.equal(r.stdout, "");
            assert.match(r.stderr, /exception for rule log-group-retention on .*expired on 2020-01-31/);
            assert.equal(r.stderr.trim().split("\n").length, 1);
        });

        it("rejects a malformed exception with exit 2", async () => {
            const r = await audit(fixture("export-noncompliant.json"), "--exceptions", fixture("exceptions-malformed.json"));
            assert.equal(r.code, 2);
            assert.match(r.stderr, /malformed exceptions: exception #1 must have required property 'approver'/);
        });
    });

    describe("bad input: exit 2 with one line on stderr", () => {
        const cases: [string, string[], RegExp][] = [
            ["missing file", [fixture("no-such-export.json")], /cannot read .*no-such-export\.json: no such file/],
            ["not JSON", [fixture("not-json.json")], /not-json\.json is not JSON/],
            ["not a stack export", [fixture("not-an-export.json")], /is not a Pulumi stack export/],
            ["unknown version", [fixture("export-version-2.json")], /unsupported stack export version 2/],
            ["resource without urn", [fixture("export-bad-resource.json")], /resources\.0 must have required property 'urn'/],
            ["no file", [], /no stack export file given/],
            ["unknown format", [fixture("export-compliant.json"), "--format", "xml"], /unknown --format "xml"/],
            ["unknown option", [fixture("export-compliant.json"), "--colour"], /unknown option --colour; see npm run audit -- --help/],
            ["missing exceptions file", [fixture("export-compliant.json"), "--exceptions", fixture("nope.json")], /cannot read exceptions file/],
        ];
        for (const [what, argv, message] of cases) {
            it(what, async () => {
                const r = await audit(...argv);
                assert.equal(r.code, 2);
                assert.equal(r.stdout, "");
                assert.match(r.stderr, /^audit: /);
                assert.match(r.stderr, message);
                assert.equal(r.stderr.endsWith("\n") && r.stderr.indexOf("\n") === r.stderr.length - 1, true, `one line: ${JSON.stringify(r.stderr)}`);
            });
        }
    });

    it("works end to end as `npm run audit` does (exit code, stdout, stderr)", function () {
        this.timeout(60_000);
        const root = path.resolve(__dirname, "..", "..", "..");
        const run = (...args: string[]) => spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "policies/runners/audit-cli.ts", ...args], { cwd: root, encoding: "utf8" });
        const fail = run(fixture("export-aurora-spec.json"), "--format", "json");
        assert.equal(fail.status, 1, fail.stderr);
        assert.ok(JSON.parse(fail.stdout).violations.length >= 2);
        const bad = run(fixture("not-json.json"));
        assert.equal(bad.status, 2);
        assert.equal(bad.stdout, "");
        assert.match(bad.stderr, /^audit: .*is not JSON.*\n$/);
    });

    it("an exceptions file or baseline under a retired rule id still applies, with a note on stderr and in the report", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appi-audit-"));
        try {
            const exceptions = path.join(dir, "exceptions.json");
            fs.writeFileSync(exceptions, JSON.stringify({ exceptions: [{ rule: "rds-cluster-encrypted-cmk", urn: "*pii-database-cluster", reason: "prototype cluster, no real data yet", approver: "sato", expires: "2099-01-01" }] }));
            const r = await audit(fixture("export-aurora-spec.json"), "--format", "json", "--exceptions", exceptions);
            assert.match(r.stderr, /names deprecated rule id\(s\) rds-cluster-encrypted-cmk \(now store-encrypted-cmk\)/);
            const out = JSON.parse(r.stdout) as { exempted: { policyName: string; message?: string; reason?: string }[] } & JsonOut;
            assert.equal(out.violations.some((v) => v.policyName === "store-encrypted-cmk"), false, "exempted, not failing");
            assert.match(JSON.stringify(out.exempted), /store-encrypted-cmk.*deprecated rule id rds-cluster-encrypted-cmk/);
            const baseline = path.join(dir, "baseline.json");
            const urn = "urn:pulumi:prototype::appi-infra::aws:rds/cluster:Cluster::pii-database-cluster";
            fs.writeFileSync(baseline, JSON.stringify({ kind: "appi-policy-baseline", version: 1, createdAt: "2026-01-01T00:00:00Z", findings: [{ rule: "rds-cluster-encrypted-cmk", urn }] }));
            const b = await audit(fixture("export-aurora-spec.json"), "--format", "json", "--baseline", baseline);
            assert.match(b.stderr, /baseline .* names deprecated rule id/);
            assert.ok((JSON.parse(b.stdout) as { baselined: { policyName: string; urn: string }[] }).baselined.some((f) => f.policyName === "store-encrypted-cmk" && f.urn === urn), b.stdout);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
