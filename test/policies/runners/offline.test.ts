import assert from "node:assert/strict";
import { resolveConfig } from "../../../policies/core/config";
import { defineResourceRule, failIf } from "../../../policies/core/rule";
import { ResourceView, UNKNOWN } from "../../../policies/core/types";
import { SecretValue } from "../../../policies/core/types";
import { mandatoryViolations, violations } from "../../../policies/report/model";
import { checkPlannedStack, plannedStackViews } from "../../../policies/runners/offline";
import { rules } from "../../../policies/rules";
import type { PlannedResource, PlannedStack } from "../../../plan/types";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const urn = (type: string, name: string) => `urn:pulumi:dev::appi-infra::${type}::${name}`;
const DEFAULT_PROVIDER = urn("pulumi:providers:aws", "default_7_48_0");
const OSAKA_PROVIDER = urn("pulumi:providers:aws", "osaka");
const OREGON_PROVIDER = urn("pulumi:providers:aws", "oregon");

const resource = (type: string, name: string, inputs: Record<string, unknown>, state: Record<string, unknown> = {}, provider?: string): PlannedResource => ({
    urn: urn(type, name),
    type,
    name,
    id: `${name}-id`,
    custom: true,
    inputs,
    state: { ...inputs, ...state },
    ...(provider ? { provider: `${provider}::${name}-provider-id` } : {}),
});

function plannedStack(resources: PlannedResource[], region = "ap-northeast-1"): PlannedStack {
    return {
        project: "appi-infra",
        stack: "dev",
        config: { "aws:region": region, "appi-infra:vpcCidr": "10.0.0.0/16" },
        outputs: {},
        resources: [
            { urn: DEFAULT_PROVIDER, type: "pulumi:providers:aws", name: "default_7_48_0", id: "p0", custom: true, inputs: {}, state: {} },
            { urn: OSAKA_PROVIDER, type: "pulumi:providers:aws", name: "osaka", id: "p1", custom: true, inputs: { region: "ap-northeast-3" }, state: { region: "ap-northeast-3" } },
            { urn: OREGON_PROVIDER, type: "pulumi:providers:aws", name: "oregon", id: "p2", custom: true, inputs: { region: "us-west-2" }, state: { region: "us-west-2" } },
            ...resources,
        ],
    };
}

describe("offline runner (PlannedStack -> ResourceViews -> report)", () => {
    it("builds views: inputs over state, provider from its reference, region from resource / provider / stack config", () => {
        const views = plannedStackViews(
            plannedStack([
                resource("aws:rds/cluster:Cluster", "db", { backupRetentionPeriod: 14, masterPassword: { [SIG]: SECRET_SIG, value: "hunter2" } }, { backupRetentionPeriod: 1, arn: "arn:aws:rds:ap-northeast-1:1:cluster:db", endpoint: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }, DEFAULT_PROVIDER),
                resource("aws:s3/bucketV2:BucketV2", "osaka-bucket", {}, {}, OSAKA_PROVIDER),
                resource("aws:s3/bucketV2:BucketV2", "own-region", { region: "eu-west-1" }, {}, OSAKA_PROVIDER),
                resource("random:index/randomPassword:RandomPassword", "pw", { length: 32 }),
            ]),
        );
        const byName = new Map<string, ResourceView>(views.map((v) => [v.name, v]));
        const db = byName.get("db")!;
        assert.equal(db.props.backupRetentionPeriod, 14, "inputs win over state");
        assert.equal(db.props.arn, "arn:aws:rds:ap-northeast-1:1:cluster:db", "state fills what inputs lack");
        assert.equal(db.props.endpoint, UNKNOWN);
        assert.ok(db.props.masterPassword instanceof SecretValue);
        assert.equal(db.provider?.urn, DEFAULT_PROVIDER);
        assert.equal(db.provider?.isDefault, true);
        assert.equal(db.region, "ap-northeast-1", "default provider without region -> the stack's aws:region");
        assert.equal(byName.get("osaka-bucket")!.region, "ap-northeast-3");
        assert.equal(byName.get("osaka-bucket")!.provider?.isDefault, false);
        assert.equal(byName.get("own-region")!.region, "eu-west-1", "per-resource region wins over the provider");
        assert.equal(byName.get("oregon")!.region, "us-west-2");
        assert.equal(byName.get("oregon")!.isProvider, true);
        assert.equal(byName.get("pw")!.region, undefined, "not an AWS resource");
    });

    it("evaluates the pack's rules: an explicit provider abroad and a resource using it are violations", () => {
        const report = checkPlannedStack(
            plannedStack([resource("aws:s3/bucketV2:BucketV2", "ok", {}, {}, DEFAULT_PROVIDER), resource("aws:s3/bucketV2:BucketV2", "abroad", {}, {}, OREGON_PROVIDER)]),
            { rules },
        );
        const region = violations(report).filter((v) => v.policyName === "region-allowed");
        assert.deepEqual(region.map((v) => v.urn).sort(), [OREGON_PROVIDER, urn("aws:s3/bucketV2:BucketV2", "abroad")].sort(), "Osaka is in Japan: in the default list, as the program allows it");
        const tokyoOnly = checkPlannedStack(plannedStack([resource("aws:s3/bucketV2:BucketV2", "ok", {}, {}, DEFAULT_PROVIDER)]), { rules, config: resolveConfig({ allowedRegions: ["ap-northeast-1"] }) });
        assert.ok(violations(tokyoOnly).some((v) => v.policyName === "region-allowed" && v.urn === OSAKA_PROVIDER), "a Tokyo-only config flags the Osaka provider");
        assert.ok(region.every((v) => v.enforcementLevel === "mandatory"));
        assert.ok(mandatoryViolations(report) >= 2);
        assert.equal(report.stack, "dev");
        assert.equal(report.resources, 5);
    });

    it("honours config (enforcement override) and exceptions", () => {
        // an Elastic IP: a resource only the residency rule looks at
        const planned = plannedStack([resource("aws:ec2/eip:Eip", "abroad", {}, {}, OREGON_PROVIDER)]);
        const advisory = checkPlannedStack(planned, { rules, config: resolveConfig({ enforcement: { "region-allowed": "advisory" } }) });
        assert.equal(mandatoryViolations(advisory), 0, JSON.stringify(violations(advisory)));
        assert.ok(violations(advisory).some((v) => v.policyName === "region-allowed" && v.enforcementLevel === "advisory"));
        const widened = checkPlannedStack(planned, { rules, config: resolveConfig({ allowedRegions: ["ap-northeast-1", "ap-northeast-3", "us-west-2"] }) });
        assert.equal(violations(widened).filter((v) => v.policyName === "region-allowed").length, 0);
        const exempted = checkPlannedStack(planned, {
            rules,
            exceptions: [{ rule: "region-allowed", urn: "urn:pulumi:dev::appi-infra::*", reason: "DR copy approved by the DPO", approver: "dpo", expires: "2099-01-01" }],
        });
        assert.equal(mandatoryViolations(exempted), 0);
        assert.ok(exempted.findings.filter((f) => f.exemption).length >= 2);
    });

    it("a rule that throws is reported as a failure naming the rule, never a silent pass", () => {
        const broken = defineResourceRule({
            id: "always-throws",
            title: "t",
            description: "d",
            appi: "Art. 23",
            securityHub: [],
            severity: "low",
            remediation: "r",
            defaultEnforcement: "mandatory",
            resourceTypes: ["aws:s3/bucketV2:BucketV2"],
            check: () => {
                throw new Error("boom");
            },
        });
        const fine = defineResourceRule({ ...broken, id: "fine", check: () => failIf([]) });
        const report = checkPlannedStack(plannedStack([resource("aws:s3/bucketV2:BucketV2", "b", {}, {}, DEFAULT_PROVIDER)]), { rules: [broken, fine] });
        const v = violations(report);
        assert.equal(v.length, 1);
        assert.equal(v[0].policyName, "always-throws");
        assert.match(v[0].message, /always-throws.*boom/);
        assert.equal(v[0].enforcementLevel, "mandatory");
    });
});
