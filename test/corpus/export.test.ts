import assert from "node:assert/strict";
import { withCopies } from "../../bench/audit-marginal";
import { SECRET_SIG, SIG_KEY, exportPlannedStack, plannedStackOfExport } from "../../plan/export";
import type { PlannedStack } from "../../plan/types";
import { parseStackExport } from "../../policies/runners/audit";
import { SecretValue } from "../../policies/core/types";
import { buildResourceViews } from "../../policies/runners/views";

const urn = (type: string, name: string) => `urn:pulumi:prod::appi-infra::${type}::${name}`;
const JAPAN = urn("pulumi:providers:aws", "japan");
const planned: PlannedStack = {
    project: "appi-infra",
    stack: "prod",
    config: { "aws:region": "ap-northeast-1" },
    outputs: { vpcId: "vpc-1" },
    resources: [
        { urn: JAPAN, type: "pulumi:providers:aws", name: "japan", id: "japan-id", custom: true, inputs: { region: "ap-northeast-1" }, state: { region: "ap-northeast-1" } },
        { urn: urn("appi:data:Cache", "appi"), type: "appi:data:Cache", name: "appi", id: "", custom: false, inputs: {}, state: {} },
        {
            urn: urn("appi:data:Cache$aws:elasticache/replicationGroup:ReplicationGroup", "appi"),
            type: "aws:elasticache/replicationGroup:ReplicationGroup",
            name: "appi",
            id: "appi-redis",
            custom: true,
            inputs: { authToken: { [SIG_KEY]: SECRET_SIG, value: "hunter2-token" }, replicationGroupId: "appi-redis" },
            state: { authToken: { [SIG_KEY]: SECRET_SIG, value: "hunter2-token" }, replicationGroupId: "appi-redis", arn: "arn:aws:elasticache:ap-northeast-1:123456789012:replicationgroup:appi-redis" },
            provider: `${JAPAN}::japan-id`,
            parent: urn("appi:data:Cache", "appi"),
            dependencies: [urn("appi:data:Cache", "appi")],
        },
        { urn: urn("random:index/randomPassword:RandomPassword", "pw"), type: "random:index/randomPassword:RandomPassword", name: "pw", id: "pw", custom: true, inputs: { length: 8 }, state: { length: 8, result: "abcdefgh" } },
    ],
};

describe("plan/export: a planned stack as `pulumi stack export` writes it", () => {
    it("is a version 3 deployment with the stack root, default providers, parents and dependencies", () => {
        const doc = exportPlannedStack(planned);
        assert.equal(doc.version, 3);
        const byUrn = new Map(doc.deployment.resources.map((r) => [r.urn, r]));
        const root = doc.deployment.resources[0];
        assert.equal(root.type, "pulumi:pulumi:Stack");
        assert.deepEqual(root.outputs, { vpcId: "vpc-1" });
        const randomProvider = doc.deployment.resources.find((r) => r.type === "pulumi:providers:random")!;
        assert.match(randomProvider.urn, /::default_4_21_2$/, "the engine's default provider for a package with no explicit one");
        assert.equal(byUrn.get(urn("random:index/randomPassword:RandomPassword", "pw"))!.provider, `${randomProvider.urn}::${randomProvider.id}`);
        const redis = byUrn.get(urn("appi:data:Cache$aws:elasticache/replicationGroup:ReplicationGroup", "appi"))!;
        assert.equal(redis.provider, `${JAPAN}::japan-id`);
        assert.deepEqual(redis.dependencies, [urn("appi:data:Cache", "appi")]);
        assert.equal(byUrn.get(urn("appi:data:Cache", "appi"))!.parent, root.urn, "top-level components hang off the stack");
        assert.equal(byUrn.get(urn("appi:data:Cache", "appi"))!.inputs, undefined, "components record outputs only");
        // The audit reads it as any export.
        assert.equal(parseStackExport(JSON.stringify(doc), "x").resources.length, doc.deployment.resources.length);
    });

    it("seals secrets as ciphertext (unreadable to the audit), keeps them readable on request, and round-trips to a planned stack", () => {
        const sealed = JSON.stringify(exportPlannedStack(planned));
        assert.doesNotMatch(sealed, /hunter2/);
        assert.match(sealed, /"ciphertext":"v1:/);
        const views = buildResourceViews(parseStackExport(sealed, "x").resources, "ap-northeast-1", { owned: true });
        const token = views.find((v) => v.type.startsWith("aws:elasticache"))!.props.authToken;
        assert.ok(token instanceof SecretValue && !token.readable);
        const plain = exportPlannedStack(planned, { secrets: "plaintext" });
        assert.match(JSON.stringify(plain), /hunter2-token/);
        const back = plannedStackOfExport(plain, planned.config);
        assert.equal(back.stack, "prod");
        assert.deepEqual(back.resources.find((r) => r.name === "appi" && r.custom)!.inputs, planned.resources[2].inputs);
    });

    it("bench copies: each copy of a resource has its own URN, id and handles, and still points at the originals' neighbours", () => {
        const doc = exportPlannedStack(planned);
        const grown = withCopies(doc, 5);
        const added = grown.deployment.resources.slice(doc.deployment.resources.length);
        assert.equal(added.length, 5);
        assert.equal(new Set(grown.deployment.resources.map((r) => r.urn)).size, grown.deployment.resources.length, "URNs are unique");
        assert.deepEqual(
            added.map((r) => [r.id, r.outputs?.arn]),
            [1, 2, 3, 4, 5].map((k) => [`appi-redis-c${k}`, `arn:aws:elasticache:ap-northeast-1:123456789012:replicationgroup:appi-redis-c${k}`]),
        );
        assert.ok(added.every((r) => r.provider === `${JAPAN}::japan-id` && r.parent === urn("appi:data:Cache", "appi")));
    });
});
