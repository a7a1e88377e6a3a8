import assert from "node:assert/strict";
import type { PolicyProviderResource, PolicyResource, ResourceValidationArgs, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { ConfigError, resolveConfig } from "../../../policies/core/config";
import { compliant, defineResourceRule, defineStackRule, fail } from "../../../policies/core/rule";
import { Rule } from "../../../policies/core/types";
import { ResourceAndStackPolicy, crossGuardPolicies, policies, resourcePolicy, stackPolicy } from "../../../policies/runners/crossguard";
import * as fs from "node:fs";
import { parseExceptions } from "../../../policies/exceptions";
import { CrossGuardPolicyConfig, crossGuardPolicyConfig, main as configMain } from "../../../policies/runners/crossguard-config";
import { fixture, runInProcess } from "./helpers";
import { rules } from "../../../policies/rules";

// The proxy @pulumi/policy wraps props in (it throws on reading an unknown): the adapter must cope with it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as { unknownCheckingProxy<T>(v: T): T };

const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const CLUSTER = "aws:rds/cluster:Cluster";
const urn = (type: string, name: string) => `urn:pulumi:prod::appi-infra::${type}::${name}`;

interface Reported {
    message: string;
    urn?: string;
    enforcementLevel?: string;
}

class NotApplicable extends Error {}

function provider(region?: string, name = "default_7_48_0"): PolicyProviderResource {
    return { type: "pulumi:providers:aws", name, urn: urn("pulumi:providers:aws", name), props: unknownCheckingProxy(region ? { region } : {}) };
}

function resourceArgs(type: string, name: string, props: Record<string, unknown>, opts: { config?: object; provider?: PolicyProviderResource } = {}): ResourceValidationArgs {
    return {
        type,
        name,
        urn: urn(type, name),
        props: unknownCheckingProxy(props),
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
        provider: opts.provider ?? provider("ap-northeast-1"),
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => (opts.config ?? {}) as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
}

function stackResource(type: string, name: string, props: Record<string, unknown>): PolicyResource {
    return {
        type,
        name,
        urn: urn(type, name),
        props: unknownCheckingProxy(props),
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
        provider: provider("ap-northeast-1"),
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
    };
}

function stackArgs(resources: PolicyResource[], config: object = {}): StackValidationArgs {
    return {
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
}

/** Collects what a policy reports, in both forms @pulumi/policy accepts (message + urn, or a diagnostic object). */
function collector(level = "mandatory") {
    const reported: Reported[] = [];
    const report = ((m: string | Reported, u?: string) => reported.push(typeof m === "string" ? { message: m, urn: u, enforcementLevel: level } : m)) as (m: string, u?: string) => void;
    return { reported, report };
}

async function validate(policy: ResourceAndStackPolicy, args: ResourceValidationArgs): Promise<Reported[]> {
    const { reported, report } = collector();
    const fn = policy.validateResource;
    if (typeof fn !== "function") throw new Error("expected a single validateResource");
    await fn(args, report);
    return reported;
}

const ruleById = (id: string) => rules.find((r) => r.id === id)!;
const cmk = () => resourcePolicy(ruleById("store-encrypted-cmk") as Extract<Rule, { scope: "resource" }>, {});
const residency = (env = {}) => resourcePolicy(ruleById("region-allowed") as Extract<Rule, { scope: "resource" }>, env);

describe("CrossGuard adapter (called directly)", () => {
    it("turns every rule into a policy named by its id, with metadata and the config schema", () => {
        assert.deepEqual(policies.map((p) => p.name), rules.map((r) => r.id));
        for (const [i, p] of policies.entries()) {
            const rule = rules[i];
            assert.equal(p.enforcementLevel, rule.defaultEnforcement);
            assert.equal(p.severity, rule.severity);
            assert.equal(p.remediationSteps, rule.remediation);
            assert.match(p.url!, /^https:\/\//);
            assert.ok(p.description.includes(rule.title));
            assert.deepEqual(Object.keys(p.configSchema!.properties).sort(), ["allowedRegions", "dataPorts", "exceptions", "externalKmsKeys", "minBackupRetentionDays", "minLogRetentionDays", "minTlsVersion"]);
            assert.equal(p.framework?.name, "APPI");
            assert.equal(typeof (p as StackValidationPolicy).validateStack, "function");
        }
    });

    it("reports a non-compliant resource, and nothing for a compliant one", async () => {
        const bad = await validate(cmk(), resourceArgs(CLUSTER, "db", { storageEncrypted: false }));
        assert.equal(bad.length, 1);
        assert.match(bad[0].message, /storageEncrypted is false/);
        assert.equal(bad[0].enforcementLevel, "mandatory");
        const awsManaged = await validate(cmk(), resourceArgs(CLUSTER, "db", { storageEncrypted: true, kmsKeyId: "alias/aws/rds" }));
        assert.match(awsManaged[0].message, /alias\/aws\/rds/);
        const residencyOk = await validate(residency(), resourceArgs(CLUSTER, "db", { storageEncrypted: true }));
        assert.deepEqual(residencyOk, []);
    });

    it("says a value unknown during preview could not be checked, as advisory (never a silent pass or a mandatory failure)", async () => {
        const out = await validate(cmk(), resourceArgs(CLUSTER, "db", { storageEncrypted: UNKNOWN_STRING }));
        assert.equal(out.length, 1);
        assert.equal(out[0].enforcementLevel, "advisory");
        assert.match(out[0].message, /could not be checked/);
        const region = await validate(residency(), resourceArgs(CLUSTER, "db", {}, { provider: provider(UNKNOWN_STRING) }));
        assert.equal(region[0]?.enforcementLevel, "advisory");
    });

    it("marks other resource types not applicable", async () => {
        await assert.rejects(validate(cmk(), resourceArgs("aws:ec2/vpc:Vpc", "v", {})), NotApplicable);
    });

    it("takes the region from the resource, then its provider (args.provider), then the stack's aws:region", async () => {
        const abroad = await validate(residency(), resourceArgs(CLUSTER, "db", {}, { provider: provider("us-west-2", "oregon") }));
        assert.match(abroad[0].message, /us-west-2/);
        const own = await validate(residency(), resourceArgs(CLUSTER, "db", { region: "eu-west-1" }));
        assert.match(own[0].message, /eu-west-1/);
        const fromStack = await validate(residency({ stackRegion: "us-east-1" }), resourceArgs(CLUSTER, "db", {}, { provider: provider(undefined) }));
        assert.match(fromStack[0].message, /us-east-1/);
        const providerItself = await validate(residency(), resourceArgs("pulumi:providers:aws", "oregon", { region: "us-west-2" }));
        assert.match(providerItself[0].message, /AWS provider is in us-west-2/);
    });

    it("reads the policy config (args.getConfig) with defaults kept in code, and rejects a bad one", async () => {
        const allowed = await validate(residency(), resourceArgs(CLUSTER, "db", {}, { provider: provider("us-west-2"), config: { allowedRegions: ["us-west-2"] } }));
        assert.deepEqual(allowed, []);
        await assert.rejects(validate(residency(), resourceArgs(CLUSTER, "db", {}, { config: { allowedRegion: ["x"] } })), ConfigError);
    });

    describe("cross-resource rules", () => {
        // Compliant when the resource it points at is in the stack; that can only be known with the whole stack in view.
        const linked = defineResourceRule({
            id: "needs-target",
            title: "Points at a resource of this stack",
            description: "d",
            appi: "Art. 23",
            securityHub: [],
            severity: "medium",
            remediation: "r",
            defaultEnforcement: "mandatory",
            resourceTypes: ["test:index:Thing"],
            check: (resource, { stack }) => {
                if (resource.props.target === undefined) return fail("no target set");
                return stack.resolve(resource.props.target) ? compliant() : fail(`target ${String(resource.props.target)} is not in this stack`);
            },
        });
        const policy = resourcePolicy(linked, {});
        const things = [stackResource("test:index:Thing", "a", { target: "b-id" }), stackResource("test:index:Thing", "lonely", { target: "missing" }), stackResource("test:index:Thing", "untargeted", {}), stackResource("test:index:Other", "b", { id: "b-id" })];

        it("per resource: reports what needs no other resource, defers the rest", async () => {
            assert.deepEqual(await validate(policy, resourceArgs("test:index:Thing", "a", { target: "b-id" })), [], "deferred, not failed on a partial view");
            const own = await validate(policy, resourceArgs("test:index:Thing", "untargeted", {}));
            assert.equal(own.length, 1);
        });

        it("stack phase: decides the deferred pairs with every resource in view, without repeating the others", async () => {
            const { reported, report } = collector();
            await policy.validateStack(stackArgs(things), report);
            assert.deepEqual(reported.map((r) => [r.urn, r.message]), [[urn("test:index:Thing", "lonely"), "target missing is not in this stack"]]);
        });

        it("stack phase: a pair the rule answers from an index built for an earlier resource is still reported (never lost)", async () => {
            // Like _shared/references.ts: an index per stack, built on the first resource's check;
            // the second resource's check reads it without touching the stack again.
            const indexes = new WeakMap<object, Set<unknown>>();
            const indexed = defineResourceRule({
                ...linked,
                id: "needs-indexed-target",
                check: (resource, { stack }) => {
                    let targets = indexes.get(stack);
                    if (!targets) indexes.set(stack, (targets = new Set(stack.ofType("test:index:Other").map((r) => r.props.id))));
                    return targets.has(resource.props.target) ? compliant() : fail(`target ${String(resource.props.target)} is not in this stack`);
                },
            });
            const { reported, report } = collector();
            await resourcePolicy(indexed, {}).validateStack(stackArgs([stackResource("test:index:Thing", "first", { target: "gone" }), ...things]), report);
            assert.deepEqual(reported.map((r) => r.urn).sort(), [urn("test:index:Thing", "first"), urn("test:index:Thing", "lonely"), urn("test:index:Thing", "untargeted")].sort());
        });

        it("stack rules report on the stack", async () => {
            const stackRule = defineStackRule({ ...linked, id: "one-thing-only", check: ({ stack }) => (stack.ofType("test:index:Thing").length > 1 ? fail("more than one Thing") : compliant()) });
            const { reported, report } = collector();
            await stackPolicy(stackRule, {}).validateStack(stackArgs([stackResource("pulumi:pulumi:Stack", "appi-infra-prod", {}), ...things]), report);
            assert.deepEqual(reported, [{ message: "more than one Thing", urn: urn("pulumi:pulumi:Stack", "appi-infra-prod"), enforcementLevel: "mandatory" }]);
            assert.equal(crossGuardPolicies([linked, stackRule], {}).length, 2);
        });
    });
});

describe("CrossGuard: exceptions arrive in each policy's config", () => {
    const retention = () => resourcePolicy(ruleById("log-group-retention") as Extract<Rule, { scope: "resource" }>, {});
    const LOGS = "aws:cloudwatch/logGroup:LogGroup";
    const approved = { rule: "log-group-retention", urn: urn(LOGS, "app-*"), reason: "Debug logs hold no personal data (SEC-142).", approver: "yamada", expires: "2099-12-31" };
    const root = stackResource("pulumi:pulumi:Stack", "appi-infra-prod", {});

    it("per resource: an approved exception turns the violation into an advisory 'exempted' diagnostic, never silence", async () => {
        const out = await validate(retention(), resourceArgs(LOGS, "app-logs", { retentionInDays: 7 }, { config: { exceptions: [approved] } }));
        assert.equal(out.length, 1);
        assert.equal(out[0].enforcementLevel, "advisory");
        assert.match(out[0].message, /^exempted until 2099-12-31, approved by yamada: Debug logs/);
        assert.match(out[0].message, /kept 7 day/);
    });

    it("the attacker's cases: a pattern for another resource, or the exception filed under another policy, exempts nothing", async () => {
        const other = await validate(retention(), resourceArgs(LOGS, "audit-logs", { retentionInDays: 7 }, { config: { exceptions: [approved] } }));
        assert.equal(other[0].enforcementLevel, "mandatory");
        const misfiled = { ...approved, rule: "region-allowed" };
        const wrongPolicy = await validate(retention(), resourceArgs(LOGS, "app-logs", { retentionInDays: 7 }, { config: { exceptions: [misfiled] } }));
        assert.equal(wrongPolicy[0].enforcementLevel, "mandatory");
        const { reported, report } = collector();
        await retention().validateStack(stackArgs([root, stackResource(LOGS, "app-logs", { retentionInDays: 7 })], { exceptions: [misfiled] }), report);
        assert.deepEqual(reported.map((r) => r.enforcementLevel), ["mandatory"]);
        assert.match(reported[0].message, /is in the config of policy log-group-retention: file it under policy region-allowed/);
    });

    it("an expired exception exempts nothing and fails the preview with the offline check's message", async () => {
        const expired = { ...approved, expires: "2020-01-31" };
        const perResource = await validate(retention(), resourceArgs(LOGS, "app-logs", { retentionInDays: 7 }, { config: { exceptions: [expired] } }));
        assert.equal(perResource[0].enforcementLevel, "mandatory");
        const { reported, report } = collector();
        await retention().validateStack(stackArgs([root, stackResource(LOGS, "app-logs", { retentionInDays: 7 })], { exceptions: [expired] }), report);
        assert.equal(reported.length, 1);
        assert.equal(reported[0].enforcementLevel, "mandatory");
        assert.equal(reported[0].urn, root.urn);
        let offline = "";
        try {
            parseExceptions([expired]);
        } catch (err) {
            offline = (err as Error).message;
        }
        assert.equal(reported[0].message, `policy log-group-retention: ${offline}`);
        assert.match(offline, /exception for rule log-group-retention on .* expired on 2020-01-31 \(approved by yamada\): renew or remove it/);
    });

    it("an exception that matched no violation is reported in the stack phase (advisory); one that matched is not", async () => {
        const stale = { ...approved, urn: urn(LOGS, "gone-*") };
        const { reported, report } = collector();
        await retention().validateStack(stackArgs([root, stackResource(LOGS, "app-logs", { retentionInDays: 7 })], { exceptions: [approved, stale] }), report);
        assert.deepEqual(reported.map((r) => [r.enforcementLevel, r.urn]), [["advisory", root.urn]]);
        assert.match(reported[0].message, /exception for rule log-group-retention on .*gone-\* .*matched no violation/);
    });

    it("stack rules honour exceptions on the stack's URN too", async () => {
        const stackRule = defineStackRule({ ...ruleById("region-allowed"), id: "no-things", check: ({ stack }) => (stack.ofType("test:index:Thing").length ? fail("a Thing exists") : compliant()) });
        const { reported, report } = collector();
        const waiver = { ...approved, rule: "no-things", urn: root.urn };
        await stackPolicy(stackRule, {}).validateStack(stackArgs([root, stackResource("test:index:Thing", "t", {})], { exceptions: [waiver] }), report);
        assert.deepEqual(reported.map((r) => r.enforcementLevel), ["advisory"]);
        assert.match(reported[0].message, /^exempted until 2099-12-31/);
    });
});

describe("CrossGuard policy config from a pack config file", () => {
    it("--exceptions: each exception lands in the config of the policy it names, nowhere else", () => {
        const exceptions = parseExceptions(JSON.parse(fs.readFileSync(fixture("exceptions-valid.json"), "utf8")));
        const out = crossGuardPolicyConfig(resolveConfig(undefined), rules, exceptions);
        assert.deepEqual(out["log-group-retention"].exceptions, exceptions);
        assert.equal(Object.entries(out).filter(([, c]) => c.exceptions).length, 1);
    });

    it("the generator CLI prints that JSON, and refuses an expired exceptions file (exit 2)", async () => {
        const ok = await runInProcess("crossguard-config", () => configMain(["--exceptions", fixture("exceptions-valid.json")]));
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal((JSON.parse(ok.stdout) as CrossGuardPolicyConfig)["log-group-retention"].exceptions?.[0].approver, "yamada.hanako@example.co.jp");
        const expired = await runInProcess("crossguard-config", () => configMain(["--exceptions", fixture("exceptions-expired.json")]));
        assert.equal(expired.code, 2);
        assert.match(expired.stderr, /expired on 2020-01-31/);
    });

    it("gives every policy its enforcement level and the shared settings", () => {
        const out = crossGuardPolicyConfig(resolveConfig({ allowedRegions: ["ap-northeast-1", "ap-northeast-3"], enforcement: { "region-allowed": "advisory" } }));
        assert.deepEqual(Object.keys(out).sort(), rules.map((r) => r.id).sort());
        assert.equal(out["region-allowed"].enforcementLevel, "advisory");
        assert.equal(out["log-group-retention"].enforcementLevel, "mandatory");
        assert.deepEqual(out["log-group-retention"].allowedRegions, ["ap-northeast-1", "ap-northeast-3"]);
        assert.equal("enforcement" in out["region-allowed"], false);
    });

    it("rejects an override for a rule the pack does not have", () => {
        assert.throws(() => crossGuardPolicyConfig(resolveConfig({ enforcement: { "no-such-rule": "disabled" } })), ConfigError);
    });
});

describe("CrossGuard: waivers under a retired rule id (rules/aliases.ts) reach store-encrypted-cmk", () => {
    const keys = () => resourcePolicy(ruleById("store-encrypted-cmk") as Extract<Rule, { scope: "resource" }>, {});
    const LOGS = "aws:cloudwatch/logGroup:LogGroup";
    const QUEUE = "aws:sqs/queue:Queue";
    const old = { rule: "log-group-encrypted-cmk", urn: "*", reason: "Debug logs hold no personal data (SEC-142).", approver: "yamada", expires: "2099-12-31" };

    it("an exception filed under log-group-encrypted-cmk exempts the log group's key finding, with a deprecation note", async () => {
        const out = await validate(keys(), resourceArgs(LOGS, "app-logs", { retentionInDays: 365 }, { config: { exceptions: [old] } }));
        assert.equal(out.length, 1);
        assert.equal(out[0].enforcementLevel, "advisory");
        assert.match(out[0].message, /^exempted until 2099-12-31, approved by yamada: Debug logs .*deprecated rule id log-group-encrypted-cmk, now store-encrypted-cmk/);
    });

    it("attacker: the same exception with URN * does not exempt another store type", async () => {
        const out = await validate(keys(), resourceArgs(QUEUE, "orders", {}, { config: { exceptions: [old] } }));
        assert.equal(out.length, 1);
        assert.equal(out[0].enforcementLevel, "mandatory");
        assert.match(out[0].message, /SSE-SQS/);
    });

    it("crossguard-config files an exception under a retired id in the folded policy's config", () => {
        const config = crossGuardPolicyConfig(resolveConfig({}), rules, [old]);
        assert.deepEqual(config["store-encrypted-cmk"].exceptions, [old]);
        assert.equal(config["log-group-encrypted-cmk"], undefined, "no policy of a retired id");
    });

    it("an enforcement override under a retired id is refused, naming the rule to set instead", () => {
        assert.throws(() => crossGuardPolicyConfig(resolveConfig({ enforcement: { "log-group-encrypted-cmk": "advisory" } }), rules), /retired rule id\(s\): log-group-encrypted-cmk \(folded into store-encrypted-cmk; set its level there\)/);
    });
});
