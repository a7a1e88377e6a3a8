// Acknowledgements beside the resource (components/acknowledge.ts -> tag appi:ack:<rule>),
// read by every runner: exempted and shown as such, never silently; expired or incomplete
// ones exempt nothing and fail as mandatory; unused ones are reported.
import assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import type { ResourceValidationArgs } from "@pulumi/policy";
import { acknowledge } from "../../../components/acknowledge";
import { unusedAcknowledgements } from "../../../policies/acknowledgements";
import { resolveConfig } from "../../../policies/core/config";
import { evaluate } from "../../../policies/core/engine";
import { buildStackView } from "../../../policies/core/stack-view";
import { ResourceRule, ResourceView } from "../../../policies/core/types";
import { formatReport } from "../../../policies/report";
import { Report, mandatoryViolations } from "../../../policies/report/model";
import { resourcePolicy } from "../../../policies/runners/crossguard";
import { rules } from "../../../policies/rules";
import { createResourceValidationArgs } from "../../support/validation-args";

const retention = rules.find((r) => r.id === "log-group-retention") as ResourceRule;
const REASON = "debug logs hold no personal data: SEC-142";
const ack = (expires: string) => acknowledge("log-group-retention", { reason: REASON, approver: "yamada@example.co.jp", expires });
const logGroup = (name: string, tags: Record<string, string>, days = 7) => createResourceValidationArgs(aws.cloudwatch.LogGroup, { name, retentionInDays: days, tags }, { name });

function run(views: ResourceView[]): Report {
    const findings = evaluate([retention], buildStackView(views, "prod"), resolveConfig(undefined));
    const used = new Set(findings.filter((f) => f.exemption?.source === "resource").map((f) => `${f.ruleId}|${f.urn}`));
    return { stack: "prod", rules: [retention], findings, resources: views.length, unusedExemptions: unusedAcknowledgements(views, used) };
}

describe("acknowledgements on the resource (appi:ack:<rule-id> tags)", () => {
    it("acknowledge() writes one AWS-valid tag and refuses what AWS or a reviewer would not accept", () => {
        assert.deepEqual(ack("2099-12-31"), { "appi:ack:log-group-retention": `expires=2099-12-31 approver=yamada@example.co.jp reason=${REASON}` });
        assert.throws(() => acknowledge("log-group-retention", { reason: REASON, approver: "", expires: "2099-12-31" }), /approver must be one word/);
        assert.throws(() => acknowledge("log-group-retention", { reason: "ok", approver: "a", expires: "2099-12-31" }), /reason must say why/);
        assert.throws(() => acknowledge("log-group-retention", { reason: "needs a | pipe here", approver: "a", expires: "2099-12-31" }), /AWS tag values/);
        assert.throws(() => acknowledge("log-group-retention", { reason: REASON, approver: "a", expires: "31/12/2099" }), /YYYY-MM-DD/);
    });

    it("a valid acknowledgement exempts that rule on that resource, and every report says so", () => {
        const report = run([logGroup("debug", ack("2099-12-31")), logGroup("audit", {})]);
        const byName = new Map(report.findings.map((f) => [f.urn.split("::").pop(), f]));
        assert.equal(byName.get("debug")?.exemption?.source, "resource");
        assert.equal(byName.get("audit")?.exemption, undefined, "the tag on one resource exempts no other");
        assert.equal(mandatoryViolations(report), 1);
        assert.match(formatReport(report, "text"), /exempted \(acknowledged on the resource\)|Exempted \(acknowledged on the resource\)/i);
        assert.match(formatReport(report, "markdown"), /exempted \(acknowledged on the resource\)/);
        const sarif = JSON.parse(formatReport(report, "sarif"));
        const suppressed = sarif.runs[0].results.find((r: { suppressions?: { kind: string }[] }) => r.suppressions);
        assert.equal(suppressed.suppressions[0].kind, "inSource");
    });

    it("the attacker's cases: an expired or hand-written incomplete tag exempts nothing and is mandatory, naming the problem", () => {
        const expired = run([logGroup("debug", ack("2020-01-31"))]);
        assert.equal(mandatoryViolations(expired), 1);
        assert.match(JSON.stringify(expired.findings[0].outcome), /expired on 2020-01-31/);
        const noApprover = run([logGroup("debug", { "appi:ack:log-group-retention": `expires=2099-12-31 reason=${REASON}` })]);
        assert.equal(mandatoryViolations(noApprover), 1);
        assert.match(JSON.stringify(noApprover.findings[0].outcome), /malformed/);
    });

    it("an acknowledgement on a compliant resource is reported as matching nothing", () => {
        const report = run([logGroup("fine", ack("2099-12-31"), 365)]);
        assert.equal(report.unusedExemptions?.length, 1);
        assert.equal(report.unusedExemptions![0].source, "acknowledgement");
        assert.match(formatReport(report, "text"), /acknowledgement tag appi:ack:log-group-retention on fine [\s\S]*matched no violation/);
    });

    it("CrossGuard reads the same tag: advisory 'exempted (acknowledged on the resource)', mandatory when expired", async () => {
        const policy = resourcePolicy(retention, {});
        const call = async (tags: Record<string, string>) => {
            const reported: { message: string; enforcementLevel?: string }[] = [];
            const args = {
                type: "aws:cloudwatch/logGroup:LogGroup",
                name: "debug",
                urn: "urn:pulumi:prod::appi-infra::aws:cloudwatch/logGroup:LogGroup::debug",
                props: { name: "debug", retentionInDays: 7, tags },
                opts: { protect: false },
                provider: { type: "pulumi:providers:aws", name: "default_7_48_0", urn: "urn:pulumi:prod::appi-infra::pulumi:providers:aws::default_7_48_0", props: { region: "ap-northeast-1" } },
                getConfig: () => ({}),
                notApplicable: () => {
                    throw new Error("not applicable");
                },
            } as unknown as ResourceValidationArgs;
            const validate = policy.validateResource as (a: ResourceValidationArgs, r: never) => Promise<void> | void;
            await validate(args, ((m: string | { message: string; enforcementLevel?: string }) => reported.push(typeof m === "string" ? { message: m, enforcementLevel: "mandatory" } : m)) as never);
            return reported;
        };
        const ok = await call(ack("2099-12-31"));
        assert.deepEqual(ok.map((r) => r.enforcementLevel), ["advisory"]);
        assert.match(ok[0].message, /^exempted \(acknowledged on the resource\) until 2099-12-31, approved by yamada@example\.co\.jp/);
        const expired = await call(ack("2020-01-31"));
        assert.deepEqual(expired.map((r) => r.enforcementLevel), ["mandatory"]);
        assert.match(expired[0].message, /expired on 2020-01-31/);
    });
});
