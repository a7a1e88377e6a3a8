// One store, three runners, one decision: a DocumentDB cluster whose key AWS filled in (outputs only)
// fails store-encrypted-cmk in the audit, the offline check and CrossGuard; declared, it passes all three.
import assert from "node:assert/strict";
import type { PolicyResource, StackValidationArgs } from "@pulumi/policy";
import { resolveConfig } from "../../../policies/core/config";
import { auditParsedExport, readStackExport } from "../../../policies/runners/audit";
import { resourcePolicy } from "../../../policies/runners/crossguard";
import { checkPlannedStack } from "../../../policies/runners/offline";
import { storeEncryptedCmk } from "../../../policies/rules/stores/store-encrypted-cmk";

const KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/1111aaaa-22bb-33cc-44dd-555555eeeeee";
const urn = (type: string, name: string) => `urn:pulumi:prod::appi-infra::${type}::${name}`;
const KEY = { urn: urn("aws:kms/key:Key", "pii-key"), type: "aws:kms/key:Key", id: "1111aaaa-22bb-33cc-44dd-555555eeeeee", inputs: { enableKeyRotation: true }, outputs: { enableKeyRotation: true, arn: KEY_ARN } };
const cluster = (declared: boolean) => {
    const inputs: Record<string, unknown> = { storageEncrypted: true, backupRetentionPeriod: 14, ...(declared ? { kmsKeyId: KEY_ARN } : {}) };
    return { urn: urn("aws:docdb/cluster:Cluster", "pii-docdb"), type: "aws:docdb/cluster:Cluster", id: "pii-docdb", inputs, outputs: { ...inputs, kmsKeyId: KEY_ARN } };
};

function viaAudit(declared: boolean): string {
    const doc = { version: 3, deployment: { resources: [KEY, cluster(declared)] } };
    const report = auditParsedExport(readStackExport(JSON.parse(JSON.stringify(doc)), "test"), { rules: [storeEncryptedCmk], config: resolveConfig({}) });
    return report.findings.find((f) => f.urn === cluster(declared).urn)!.outcome.kind;
}

function viaOffline(declared: boolean): string {
    const planned = {
        project: "appi-infra",
        stack: "prod",
        config: { "aws:region": "ap-northeast-1" },
        outputs: {},
        resources: [KEY, cluster(declared)].map((r) => ({ urn: r.urn, type: r.type, name: r.urn.split("::").pop()!, id: r.id, custom: true, inputs: r.inputs, state: r.outputs })),
    };
    const report = checkPlannedStack(planned, { rules: [storeEncryptedCmk] });
    return report.findings.find((f) => f.urn === cluster(declared).urn)!.outcome.kind;
}

function viaCrossGuard(declared: boolean): string {
    // The engine hands CrossGuard what the program declares (preview): the inputs.
    const res = (r: { urn: string; type: string; inputs: Record<string, unknown> }, props: Record<string, unknown>): PolicyResource =>
        ({ type: r.type, name: r.urn.split("::").pop()!, urn: r.urn, props, opts: {}, dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined }) as unknown as PolicyResource;
    const resources = [res(KEY, KEY.outputs), res(cluster(declared), cluster(declared).inputs)];
    const reported: string[] = [];
    const args = { resources, stackTags: new Map(), getConfig: () => ({}), notApplicable: () => undefined } as unknown as StackValidationArgs;
    const policy = resourcePolicy(storeEncryptedCmk, { stackRegion: "ap-northeast-1" });
    // Analyze (one resource) reports what the rule decided alone; AnalyzeStack what needed other resources.
    const c = cluster(declared);
    const resourceArgs = { type: c.type, name: "pii-docdb", urn: c.urn, props: c.inputs, opts: {}, stackTags: new Map(), isType: () => false, asType: () => undefined, getConfig: () => ({}), notApplicable: () => undefined };
    (policy.validateResource as (a: never, r: never) => void)(resourceArgs as never, ((m: string) => reported.push(m)) as never);
    policy.validateStack!(args, ((m: string) => reported.push(m)) as never);
    return reported.length ? "non-compliant" : "compliant";
}

describe("store-encrypted-cmk: the three runners decide alike", () => {
    it("a key only in the recorded outputs fails in the audit, the offline check and CrossGuard", () => {
        assert.deepEqual([viaAudit(false), viaOffline(false), viaCrossGuard(false)], ["non-compliant", "non-compliant", "non-compliant"]);
    });
    it("a declared key created in the stack passes in all three", () => {
        assert.deepEqual([viaAudit(true), viaOffline(true), viaCrossGuard(true)], ["compliant", "compliant", "compliant"]);
    });
});
