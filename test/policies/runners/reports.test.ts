import assert from "node:assert/strict";
import Ajv from "ajv";
import type * as Sarif from "sarif";
import { Finding, RuleMetadata } from "../../../policies/core/types";
import { formatReport, REPORT_FORMATS } from "../../../policies/report";
import { Report, summary, violations } from "../../../policies/report/model";
import { toJsonReport } from "../../../policies/report/json";
import { toSarif } from "../../../policies/report/sarif";

const rule = (id: string, over: Partial<RuleMetadata> = {}): RuleMetadata => ({
    id,
    title: `Title of ${id}`,
    description: `What ${id} checks.`,
    appi: "Art. 23 (security control measures)",
    securityHub: ["RDS.3"],
    severity: "high",
    remediation: `Fix ${id} like this.`,
    defaultEnforcement: "mandatory",
    ...over,
});

const URN_DB = "urn:pulumi:prod::appi-infra::aws:rds/instance:Instance::main-db";
const URN_LOG = "urn:pulumi:prod::appi-infra::aws:cloudwatch/logGroup:LogGroup::app|logs";
const RULES = [rule("db-encrypted"), rule("db-multi-az", { defaultEnforcement: "advisory", securityHub: [], severity: "low" }), rule("log-retention", { securityHub: ["CloudWatch.16"] }), rule("never-fired")];

const finding = (ruleId: string, urn: string, outcome: Finding["outcome"], enforcementLevel: Finding["enforcementLevel"] = "mandatory", exemption?: Finding["exemption"]): Finding => ({
    ruleId,
    urn,
    resourceType: urn.split("::")[2],
    outcome,
    enforcementLevel,
    ...(exemption ? { exemption } : {}),
});

const REPORT: Report = {
    stack: "prod",
    source: "test/fixtures/export.json",
    rules: RULES,
    resources: 3,
    findings: [
        finding("db-encrypted", URN_DB, { kind: "non-compliant", messages: ["storage is not encrypted", "no KMS key | pipe"] }),
        finding("db-multi-az", URN_DB, { kind: "non-compliant", messages: ["single AZ"] }, "advisory"),
        finding("db-encrypted", URN_LOG, { kind: "compliant" }),
        finding("log-retention", URN_LOG, { kind: "non-compliant", messages: ["kept forever"] }, "mandatory", { reason: "debug logs, no PII", approver: "sato", expires: "2099-01-01" }),
        finding("log-retention", URN_DB, { kind: "cannot-check", message: "retention is a secret this runner cannot read" }),
    ],
};

describe("reports", () => {
    it("one model: violations and summary", () => {
        assert.deepEqual(summary(REPORT), { resources: 3, verdict: "FAIL", passed: 1, failed: 2, exempted: 1, unchecked: 1, baselined: 0, failing: 1 });
        const v = violations(REPORT);
        assert.deepEqual(
            v.map((x) => [x.policyName, x.enforcementLevel]),
            [
                ["db-encrypted", "mandatory"],
                ["db-multi-az", "advisory"],
                ["log-retention", "advisory"],
            ],
        );
        assert.equal(v[0].message, "storage is not encrypted; no KMS key | pipe");
        assert.match(v[2].message, /^could not be checked: /);
        assert.deepEqual(v[0].securityHub, ["RDS.3"]);
        assert.equal(v[0].remediation, "Fix db-encrypted like this.");
    });

    it("JSON has exactly the documented shape", () => {
        const doc = JSON.parse(formatReport(REPORT, "json"));
        assert.deepEqual(doc, JSON.parse(JSON.stringify(toJsonReport(REPORT))));
        assert.deepEqual(Object.keys(doc.violations[0]).sort(), ["appi", "enforcementLevel", "message", "policyName", "remediation", "securityHub", "severity", "urn"]);
    });

    it("text groups by resource with title, APPI article, message and fix", () => {
        const text = formatReport(REPORT, "text");
        const db = text.indexOf("main-db  (aws:rds/instance:Instance)");
        const log = text.indexOf("app|logs  (aws:cloudwatch/logGroup:LogGroup)");
        assert.ok(db >= 0 && log > db, text);
        const dbBlock = text.slice(db, log);
        assert.match(dbBlock, /\[MANDATORY\] db-encrypted: Title of db-encrypted/);
        assert.match(dbBlock, /Art\.23 \| Security Hub RDS\.3 \| severity high/);
        assert.match(text, /APPI articles: Art\.23 security control measures/, "the short references have a legend");
        assert.match(dbBlock, /Fix: Fix db-encrypted like this\./);
        assert.match(dbBlock, /\[UNCHECKED\] log-retention/);
        assert.ok(dbBlock.indexOf("[MANDATORY]") < dbBlock.indexOf("[ADVISORY]"), "mandatory first");
        assert.match(text.slice(log), /\[EXEMPTED\] log-retention[\s\S]*Exempted until 2099-01-01, approved by sato: debug logs, no PII/);
        assert.match(text, /FAIL: 1 mandatory violation/);
    });

    it("Markdown: sticky marker, verdict, findings first, then the per-rule table folded", () => {
        const md = formatReport(REPORT, "markdown");
        assert.match(md, /^<!-- appi-compliance-report -->\n## APPI policy report: stack `prod`/);
        assert.ok(md.indexOf("### Findings") < md.indexOf("| Rule | Title |"), "failures before the tally");
        assert.match(md, /<details><summary>3 rules checked, 2 with failures: per-rule results<\/summary>\n\n\| Rule \| Title/);
        assert.match(md, /\| Rule \| Title \| APPI \| Level \| Passed \| Failed \| Exempted \|/);
        assert.match(md, /\| `db-encrypted` \| Title of db-encrypted \| .* \| mandatory \| 1 \| \*\*1\*\* \| 0 \|/);
        assert.match(md, /\| `log-retention` \| .* \| 0 \| 0 \| 1 \|/);
        // a rule with nothing to check is folded away, not a row of zeros
        assert.doesNotMatch(md, /\| `never-fired` \|/);
        assert.match(md, /<details><summary>1 more rule had nothing to check in this stack<\/summary>[\s\S]*`never-fired`[\s\S]*<\/details>/);
        const findings = md.slice(md.indexOf("### Findings"));
        assert.ok(findings.indexOf("**mandatory**") < findings.indexOf("| advisory |") && findings.indexOf("| advisory |") < findings.indexOf("| not checked |") && findings.indexOf("| not checked |") < findings.indexOf("| exempted |"), findings);
        assert.match(md, /### Findings/);
        // pipes in messages and names must not break the table
        assert.match(md, /no KMS key \\\| pipe/);
        assert.match(md, /`app\|logs`/);
        for (const line of md.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| ---"))) {
            const cells = line.replace(/\\\|/g, "").replace(/`[^`]*`/g, "x").split("|").length;
            assert.ok(cells === 9 || cells === 7, `row has the wrong number of cells: ${line}`);
        }
    });

    it("SARIF 2.1.0: every rule with help and link; URN locations; error / warning levels", () => {
        const log = JSON.parse(formatReport(REPORT, "sarif")) as Sarif.Log;
        assert.equal(log.version, "2.1.0");
        assert.match(log.$schema!, /sarif-2\.1\.0/);
        const run = log.runs[0];
        const rules = run.tool.driver.rules!;
        assert.deepEqual(rules.map((r) => r.id), RULES.map((r) => r.id));
        for (const r of rules) {
            assert.ok(r.help?.text && r.help.text.includes("Remediation:"), r.id);
            assert.match(r.helpUri!, /^https:\/\//);
            assert.ok(r.shortDescription?.text);
        }
        assert.equal(rules[0].helpUri, "https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-3");
        const results = run.results!;
        const level = (ruleId: string, urn: string) => results.find((r) => r.ruleId === ruleId && r.locations![0].logicalLocations![0].fullyQualifiedName === urn)?.level;
        assert.equal(level("db-encrypted", URN_DB), "error");
        assert.equal(level("db-multi-az", URN_DB), "warning");
        assert.equal(level("log-retention", URN_DB), "warning", "not checked is advisory");
        assert.equal(level("db-encrypted", URN_LOG), undefined, "compliant findings are not results");
        const exempted = results.find((r) => r.suppressions?.length);
        assert.equal(exempted?.ruleId, "log-retention");
        assert.match(exempted!.suppressions![0].justification!, /approved by sato/);
        for (const r of results) {
            assert.equal(rules[r.ruleIndex!].id, r.ruleId);
            assert.equal(r.locations![0].physicalLocation!.artifactLocation!.uri, "test/fixtures/export.json");
        }
        assert.equal(toSarif(REPORT, { artifactUri: "Pulumi.prod.yaml" }).runs[0].results![0].locations![0].physicalLocation!.artifactLocation!.uri, "Pulumi.prod.yaml");
    });

    it("SARIF passes a structural schema (the parts of SARIF 2.1.0 code scanning reads)", () => {
        const text = { type: "object", required: ["text"], properties: { text: { type: "string", minLength: 1 } } };
        const schema = {
            type: "object",
            required: ["version", "runs"],
            properties: {
                version: { const: "2.1.0" },
                runs: {
                    type: "array",
                    minItems: 1,
                    items: {
                        type: "object",
                        required: ["tool", "results"],
                        properties: {
                            tool: {
                                type: "object",
                                required: ["driver"],
                                properties: {
                                    driver: {
                                        type: "object",
                                        required: ["name", "rules"],
                                        properties: {
                                            name: { type: "string" },
                                            rules: { type: "array", items: { type: "object", required: ["id", "shortDescription", "help", "helpUri"], properties: { id: { type: "string" }, shortDescription: text, fullDescription: text, help: text, helpUri: { type: "string", pattern: "^https://" }, defaultConfiguration: { type: "object", properties: { level: { enum: ["none", "note", "warning", "error"] } } } } } },
                                        },
                                    },
                                },
                            },
                            results: {
                                type: "array",
                                items: {
                                    type: "object",
                                    required: ["ruleId", "level", "message", "locations"],
                                    properties: {
                                        ruleId: { type: "string" },
                                        ruleIndex: { type: "integer", minimum: 0 },
                                        level: { enum: ["none", "note", "warning", "error"] },
                                        message: text,
                                        locations: {
                                            type: "array",
                                            minItems: 1,
                                            items: {
                                                type: "object",
                                                required: ["physicalLocation", "logicalLocations"],
                                                properties: {
                                                    physicalLocation: { type: "object", required: ["artifactLocation"], properties: { artifactLocation: { type: "object", required: ["uri"] } } },
                                                    logicalLocations: { type: "array", minItems: 1, items: { type: "object", required: ["fullyQualifiedName"] } },
                                                },
                                            },
                                        },
                                        suppressions: { type: "array", items: { type: "object", required: ["kind"], properties: { kind: { enum: ["inSource", "external"] } } } },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        };
        const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
        const log = JSON.parse(formatReport(REPORT, "sarif")) as Sarif.Log;
        assert.ok(validate(log), JSON.stringify(validate.errors));
        // and the check bites: a level outside SARIF's vocabulary is rejected
        (log.runs[0].results![0] as { level: string }).level = "mandatory";
        assert.equal(validate(log), false);
    });

    it("every format renders an empty report", () => {
        const empty: Report = { rules: RULES, findings: [], resources: 0 };
        for (const format of REPORT_FORMATS) assert.ok(formatReport(empty, format).length > 0, format);
        assert.match(formatReport(empty, "text"), /PASS: no mandatory violation/);
    });
});
