// Retired rule ids (policies/rules/aliases.ts): the per-service key rules folded into store-encrypted-cmk.
// Waivers users wrote under them (exception files, acknowledgement tags, baselines) keep covering the
// folded rule on the types the old rule judged, and only those, and every report says they are deprecated.
import assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import { applyAcknowledgement, unusedAcknowledgements } from "../../../policies/acknowledgements";
import { resolveConfig } from "../../../policies/core/config";
import { checkEnforcementKeys, evaluate } from "../../../policies/core/engine";
import { Finding } from "../../../policies/core/types";
import { applyExceptionsReportingUnused, parseExceptions } from "../../../policies/exceptions";
import { isBaselined, Report } from "../../../policies/report/model";
import { rules } from "../../../policies/rules";
import { RULE_ALIASES, canonicalRuleId } from "../../../policies/rules/aliases";
import { storeOf } from "../../../policies/rules/_shared/stores";
import { createResourceValidationArgs as view, stackOf } from "../../support/validation-args";

const ids = rules.map((r) => r.id);
const logs = view(aws.cloudwatch.LogGroup, { retentionInDays: 365 }, { name: "app-logs" });
const queue = view(aws.sqs.Queue, {}, { name: "orders" });
const cluster = view(aws.rds.Cluster, { storageEncrypted: true, kmsKeyId: "alias/aws/rds", backupRetentionPeriod: 14 }, { name: "pii" });
const keyFindings = (): Finding[] => evaluate(rules, stackOf([logs, queue, cluster], "prod"), resolveConfig({})).filter((f) => f.ruleId === "store-encrypted-cmk");
const waiver = (rule: string, urn = "*") => ({ rule, urn, reason: "Reviewed: no personal data here (SEC-142).", approver: "yamada", expires: "2099-12-31" });

describe("retired rule ids (aliases of store-encrypted-cmk)", () => {
    it("every alias names a retired id (no rule of the pack), a rule of the pack, and store types that rule reviews", () => {
        for (const a of RULE_ALIASES) {
            assert.ok(!ids.includes(a.id), `${a.id} is still a rule`);
            assert.ok(ids.includes(a.foldedInto), `${a.foldedInto} is not in the pack`);
            for (const type of a.resourceTypes) assert.ok(storeOf(type)?.encryption, `${a.id}: ${type} has no key in the stores catalogue`);
        }
        assert.equal(canonicalRuleId("rds-instance-encrypted-cmk"), "store-encrypted-cmk");
        assert.equal(canonicalRuleId("store-backups"), "store-backups");
    });

    it("the folded rule reports each store once (one finding per resource for the key), no retired id reports anything", () => {
        const findings = evaluate(rules, stackOf([logs, queue, cluster], "prod"), resolveConfig({}));
        for (const a of RULE_ALIASES) assert.ok(!findings.some((f) => f.ruleId === a.id), a.id);
        const perResource = keyFindings().map((f) => f.urn);
        assert.deepEqual(perResource.sort(), [cluster.urn, logs.urn, queue.urn].sort());
    });

    it("exception files: an old id is known, and exempts the folded rule on the old rule's types only, with a deprecation note", () => {
        const list = parseExceptions([waiver("log-group-encrypted-cmk")], { knownRules: ids });
        assert.throws(() => parseExceptions([waiver("log-group-encrypted-cmkk")], { knownRules: ids }), /unknown rule "log-group-encrypted-cmkk"/);
        const { findings, unused } = applyExceptionsReportingUnused(keyFindings(), list);
        const byUrn = new Map(findings.map((f) => [f.urn, f]));
        assert.match(byUrn.get(logs.urn)!.exemption!.reason, /no personal data .*deprecated rule id log-group-encrypted-cmk, now store-encrypted-cmk/);
        // Attacker: URN "*" under the log-group id must not waive the queue's or the cluster's key.
        assert.equal(byUrn.get(queue.urn)!.exemption, undefined);
        assert.equal(byUrn.get(cluster.urn)!.exemption, undefined);
        assert.deepEqual(unused, []);
        // Filed under an old id whose types are not in the stack: it covers nothing, and says so.
        assert.equal(applyExceptionsReportingUnused(keyFindings(), [waiver("ebs-encrypted-cmk")]).unused.length, 1);
    });

    it("acknowledgement tags: appi:ack:<old id> on a resource of the old rule's type exempts, elsewhere it is unused", () => {
        const tag = "expires=2099-12-31 approver=yamada reason=Debug logs hold no personal data";
        const ackedLogs = view(aws.cloudwatch.LogGroup, { retentionInDays: 365, tags: { "appi:ack:log-group-encrypted-cmk": tag } }, { name: "app-logs" });
        const ackedQueue = view(aws.sqs.Queue, { tags: { "appi:ack:log-group-encrypted-cmk": tag } }, { name: "orders" });
        const findings = evaluate(rules, stackOf([ackedLogs, ackedQueue], "prod"), resolveConfig({})).filter((f) => f.ruleId === "store-encrypted-cmk");
        const byUrn = new Map(findings.map((f) => [f.urn, f]));
        assert.equal(byUrn.get(ackedLogs.urn)!.exemption?.source, "resource");
        assert.match(byUrn.get(ackedLogs.urn)!.exemption!.reason, /deprecated rule id log-group-encrypted-cmk/);
        assert.equal(byUrn.get(ackedQueue.urn)!.exemption, undefined, "a queue is not what log-group-encrypted-cmk judged");
        const exempted = new Set(findings.filter((f) => f.exemption?.source === "resource").map((f) => `${f.ruleId}|${f.urn}`));
        assert.deepEqual(unusedAcknowledgements([ackedLogs, ackedQueue], exempted).map((u) => u.urn), [ackedQueue.urn]);
        // An expired one under the old id makes the violation mandatory, naming the old tag.
        const expired = view(aws.cloudwatch.LogGroup, { tags: { "appi:ack:log-group-encrypted-cmk": tag.replace("2099", "2020") } }, { name: "old-logs" });
        const acked = applyAcknowledgement(expired, "store-encrypted-cmk", { kind: "non-compliant", messages: ["no key"] });
        assert.equal(acked.mandatory, true);
        assert.match(JSON.stringify(acked.outcome), /appi:ack:log-group-encrypted-cmk expired on 2020-12-31/);
    });

    it("baselines: an entry under an old id covers the folded rule's finding on that resource, of the old rule's type only", () => {
        const findings = keyFindings();
        const report = (entries: string[]): Report => ({ rules, findings, resources: 3, baseline: new Set(entries) });
        const onCluster = findings.find((f) => f.urn === cluster.urn)!;
        const onQueue = findings.find((f) => f.urn === queue.urn)!;
        assert.ok(isBaselined(report([`rds-cluster-encrypted-cmk|${cluster.urn}`]), onCluster));
        assert.ok(!isBaselined(report([`rds-instance-encrypted-cmk|${cluster.urn}`]), onCluster), "an instance id does not cover a cluster");
        assert.ok(!isBaselined(report([`rds-cluster-encrypted-cmk|${queue.urn}`]), onQueue));
        assert.ok(isBaselined(report([`store-encrypted-cmk|${queue.urn}`]), onQueue));
    });

    it("enforcement overrides under an old id are refused, naming the folded rule", () => {
        assert.throws(() => checkEnforcementKeys(rules, resolveConfig({ enforcement: { "rds-instance-encrypted-cmk": "disabled" } })), /retired rule id\(s\): rds-instance-encrypted-cmk \(folded into store-encrypted-cmk/);
        assert.throws(() => checkEnforcementKeys(rules, resolveConfig({ enforcement: { "no-such-rule": "disabled" } })), /unknown rule\(s\): no-such-rule/);
    });
});
