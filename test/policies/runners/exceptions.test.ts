import assert from "node:assert/strict";
import { Finding } from "../../../policies/core/types";
import { ExceptionsError, PolicyException, applyExceptions, parseExceptions } from "../../../policies/exceptions";

const NOW = new Date("2026-11-23T12:00:00Z");
const valid: PolicyException = { rule: "log-group-retention", urn: "urn:pulumi:prod::appi-infra::*LogGroup::app-*", reason: "debug logs hold no personal data", approver: "sato", expires: "2026-11-23" };

const finding = (ruleId: string, urn: string, kind: "compliant" | "non-compliant" = "non-compliant"): Finding => ({
    ruleId,
    urn,
    resourceType: "aws:cloudwatch/logGroup:LogGroup",
    outcome: kind === "compliant" ? { kind } : { kind, messages: ["kept forever"] },
    enforcementLevel: "mandatory",
});

describe("exceptions", () => {
    it("accepts a valid file (the expiry day itself still counts) and a bare array", () => {
        assert.deepEqual(parseExceptions({ exceptions: [valid] }, { now: NOW, knownRules: ["log-group-retention"] }), [valid]);
        assert.equal(parseExceptions([valid], { now: NOW }).length, 1);
    });

    it("rejects an expired exception, naming it", () => {
        assert.throws(() => parseExceptions({ exceptions: [valid, { ...valid, expires: "2026-11-22" }] }, { now: NOW }), (err: Error) => err instanceof ExceptionsError && /exception for rule log-group-retention on urn:pulumi:prod::appi-infra::\*LogGroup::app-\* expired on 2026-11-22 \(approved by sato\): renew or remove it/.test(err.message));
    });

    const malformed: [string, unknown, RegExp][] = [
        ["missing approver", { exceptions: [{ ...valid, approver: undefined }] }, /exception #1 must have required property 'approver'/],
        ["unknown field", { exceptions: [{ ...valid, owner: "x" }] }, /exception #1 has unknown field "owner"/],
        ["non-ISO date", { exceptions: [{ ...valid, expires: "31/12/2099" }] }, /exception #1 field expires must match pattern/],
        ["impossible date", { exceptions: [{ ...valid, expires: "2099-02-30" }] }, /invalid expiry date "2099-02-30"/],
        ["too short a reason", { exceptions: [{ ...valid, reason: "ok" }] }, /reason must NOT have fewer than 10 characters/],
        ["no list", { waivers: [] }, /must have required property 'exceptions'/],
    ];
    for (const [what, doc, message] of malformed) {
        it(`rejects a malformed file: ${what}`, () => {
            assert.throws(() => parseExceptions(doc, { now: NOW }), (err: Error) => err instanceof ExceptionsError && message.test(err.message));
        });
    }

    it("rejects an exception for a rule the pack does not have", () => {
        assert.throws(() => parseExceptions([{ ...valid, rule: "log-group-retension" }], { now: NOW, knownRules: ["log-group-retention"] }), /unknown rule "log-group-retension"/);
    });

    it("exempts only non-compliant findings of the named rule whose URN matches the pattern", () => {
        const urn = "urn:pulumi:prod::appi-infra::aws:cloudwatch/logGroup:LogGroup::app-logs";
        const findings = [
            finding("log-group-retention", urn),
            finding("log-group-retention", urn.replace("app-logs", "audit-logs")),
            finding("region-allowed", urn),
            finding("log-group-retention", urn.replace("prod", "dev")),
            finding("log-group-retention", urn.replace("app-logs", "app-compliant"), "compliant"),
        ];
        const out = applyExceptions(findings, [valid]);
        assert.deepEqual(out.map((f) => Boolean(f.exemption)), [true, false, false, false, false]);
        assert.deepEqual(out[0].exemption, { reason: valid.reason, approver: "sato", expires: "2026-11-23" });
        // regex metacharacters in a URN are literal
        assert.equal(applyExceptions([finding("x", "urn:a$b(c)")], [{ ...valid, rule: "x", urn: "urn:a$b(c)" }])[0].exemption?.approver, "sato");
        assert.equal(applyExceptions([finding("x", "urn:aXb")], [{ ...valid, rule: "x", urn: "urn:a.b" }])[0].exemption, undefined);
    });
});
