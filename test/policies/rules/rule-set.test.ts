import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { rules } from "../../../policies/rules";
import { renderCatalogue } from "../../../policies/rules/catalogue";

const RULES_DIR = join(__dirname, "../../../policies/rules");

function ruleFiles(): { id: string; file: string }[] {
    return readdirSync(RULES_DIR)
        .filter((d) => !d.startsWith("_") && statSync(join(RULES_DIR, d)).isDirectory())
        .flatMap((d) => readdirSync(join(RULES_DIR, d)).filter((f) => f.endsWith(".ts")).map((f) => ({ id: f.replace(/\.ts$/, ""), file: join(d, f) })));
}

describe("APPI rule set", () => {
    it("has one rule per file under policies/rules/<service>/, file name == id, all in index.ts", () => {
        const files = ruleFiles();
        assert.deepEqual(rules.map((r) => r.id).sort(), files.map((f) => f.id).sort());
        for (const { id, file } of files) {
            const source = readFileSync(join(RULES_DIR, file), "utf8");
            assert.match(source, new RegExp(`id: "${id}"`), `${file} must declare id "${id}"`);
            assert.equal((source.match(/define(Resource|Stack)Rule\(/g) ?? []).length, 1, `${file} must define exactly one rule`);
        }
    });

    it("gives every rule complete metadata: kebab-case id, APPI article, severity, remediation, default level", () => {
        const ids = new Set<string>();
        for (const rule of rules) {
            assert.match(rule.id, /^[a-z0-9]+(-[a-z0-9]+)*$/);
            assert.ok(!ids.has(rule.id), `duplicate id ${rule.id}`);
            ids.add(rule.id);
            assert.ok(rule.title.length > 10 && rule.description.length > 20, `${rule.id}: title/description`);
            assert.match(rule.appi, /^Art\. \d+/, `${rule.id}: appi`);
            assert.ok(["critical", "high", "medium", "low"].includes(rule.severity));
            assert.ok(rule.remediation.length > 10, `${rule.id}: remediation`);
            assert.ok(["mandatory", "advisory"].includes(rule.defaultEnforcement));
            for (const control of rule.securityHub) assert.match(control, /^[A-Za-z][A-Za-z0-9]*\.\d+$/, `${rule.id}: Security Hub id ${control}`);
        }
    });

    it("makes the issue's mandatory families mandatory by default", () => {
        const mandatory = [
            "region-allowed",
            "store-encrypted-cmk",
            "store-backups",
            "store-private",
            "elasticache-transit-encryption",
            "rds-instance-postgres-tls",
            "security-group-no-public-data-port",
            "db-subnet-group-private",
            "lambda-in-private-subnet",
            "rds-cluster-backup-retention",
            "kms-key-rotation",
            "kms-key-single-region",
            "github-oidc-trust-pinned",
            "log-group-retention",
        ];
        for (const id of mandatory) assert.equal(rules.find((r) => r.id === id)?.defaultEnforcement, "mandatory", id);
        for (const id of ["rds-deletion-protection", "rds-multi-az", "cognito-mfa", "data-classification-tag", "ec2-imdsv2-required"]) {
            assert.equal(rules.find((r) => r.id === id)?.defaultEnforcement, "advisory", id);
        }
    });

    it("has tests for every rule (each rule module is imported by a test file here)", () => {
        const testDir = __dirname;
        const sources = readdirSync(testDir)
            .filter((f) => f.endsWith(".test.ts"))
            .map((f) => readFileSync(join(testDir, f), "utf8"))
            .join("\n");
        const untested = ruleFiles().filter(({ file }) => !sources.includes(`policies/rules/${file.replace(/\.ts$/, "")}"`));
        assert.deepEqual(untested, [], `rules without tests: ${untested.map((u) => u.id).join(", ")}`);
    });

    it("keeps policies/rules/README.md in sync with the rules' metadata", () => {
        const readme = readFileSync(join(RULES_DIR, "README.md"), "utf8");
        assert.equal(readme, renderCatalogue(rules), "regenerate: npx ts-node --transpile-only policies/rules/catalogue.ts > policies/rules/README.md");
    });
});
