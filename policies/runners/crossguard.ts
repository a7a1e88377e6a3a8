// CrossGuard runner: the shared rules as @pulumi/policy policies, so that
// `pulumi preview --policy-pack policies` enforces exactly what the offline
// check and the state audit report.
//
// Each resource rule is a ResourceValidationPolicy (name = rule id). Analyze
// sees one resource at a time, so a rule that consults other resources (a DB's
// parameter group, a subnet's route table) cannot be decided there: the same
// policy object also carries `validateStack`, which @pulumi/policy's server runs
// in AnalyzeStack with every resource in view (it dispatches on the presence of
// validateResource / validateStack, and keeps the policy's own name, config and
// enforcement level). A (rule, resource) pair is reported in exactly one phase:
// per resource when the rule did not look at the stack, else in the stack phase.
import type {
    EnforcementLevel as PulumiEnforcementLevel,
    Policies,
    PolicyConfigSchema,
    PolicyProviderResource,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { CONFIG_JSON_SCHEMA, resolveConfig } from "../core/config";
import { effectiveRegion, isAwsType } from "../core/region";
import { buildStackView } from "../core/stack-view";
import { Outcome, PackConfig, ProviderView, ResourceRule, ResourceView, Rule, RuleContext, StackRule, StackView } from "../core/types";
import { normaliseProps } from "../core/values";
import { ruleHelpUri } from "../report/model";
import { rules as packRules } from "../rules";
import { isDefaultProviderName, stackFromUrn } from "./views";

export const PACK_NAME = "appi-aws";

/** @pulumi/policy wraps props in a proxy that throws on unknown reads; this key hands back the plain object. */
const PROXY_TARGET = "__getSpecialProxyTarget";

export const NOT_CHECKED_DURING_PREVIEW = "could not be checked during preview";

function unproxied(value: unknown): Record<string, unknown> {
    if (value === null || typeof value !== "object") return {};
    const target = (value as Record<string, unknown>)[PROXY_TARGET];
    return (target && typeof target === "object" ? target : value) as Record<string, unknown>;
}

/** Settings the runner needs beyond the policy args (the engine runs the pack with the stack's config in PULUMI_CONFIG). */
export interface CrossGuardEnvironment {
    stack?: string;
    /** The stack's `aws:region`, last resort for resources whose provider has no region. */
    stackRegion?: string;
}

export function environmentFromProcess(env: NodeJS.ProcessEnv = process.env): CrossGuardEnvironment {
    let stackRegion: string | undefined;
    try {
        const config = env.PULUMI_CONFIG ? (JSON.parse(env.PULUMI_CONFIG) as Record<string, unknown>) : {};
        if (typeof config["aws:region"] === "string") stackRegion = config["aws:region"];
    } catch {
        // Not ours to validate: without it, regions come from the providers.
    }
    return { stack: env.PULUMI_STACK || undefined, stackRegion };
}

function providerView(provider: PolicyProviderResource | undefined): ProviderView | undefined {
    if (!provider) return undefined;
    return { urn: provider.urn, type: provider.type, name: provider.name, isDefault: isDefaultProviderName(provider.name), props: normaliseProps(unproxied(provider.props)) };
}

interface AnalyzedResource {
    type: string;
    urn: string;
    name: string;
    props: Record<string, unknown>;
    provider?: PolicyProviderResource;
    parent?: string;
    protect?: boolean;
}

export function resourceViewOf(resource: AnalyzedResource, env: CrossGuardEnvironment): ResourceView {
    const props = normaliseProps(unproxied(resource.props));
    const isProvider = resource.type.startsWith("pulumi:providers:");
    const provider = providerView(resource.provider);
    const view: ResourceView = {
        urn: resource.urn,
        type: resource.type,
        name: resource.name,
        props,
        region: isAwsType(resource.type) ? effectiveRegion(props, isProvider ? undefined : provider, env.stackRegion) : undefined,
        isProvider,
    };
    if (provider) view.provider = provider;
    if (resource.parent) view.parent = resource.parent;
    if (resource.protect !== undefined) view.options = { protect: resource.protect };
    return view;
}

function viewFromResourceArgs(args: ResourceValidationArgs, env: CrossGuardEnvironment): ResourceView {
    return resourceViewOf({ type: args.type, urn: args.urn, name: args.name, props: args.props, provider: args.provider, parent: args.opts?.parent, protect: args.opts?.protect }, env);
}

/** The URNs each property was computed from (AnalyzeStack's propertyDependencies): during preview they prove where an unknown key comes from. */
function dependenciesOf(r: PolicyResource): ResourceView["dependsOn"] {
    const deps = r.propertyDependencies;
    if (!deps || typeof deps !== "object") return undefined;
    const out: { [prop: string]: string[] } = {};
    let any = false;
    for (const prop of Object.keys(deps)) {
        const list = deps[prop];
        if (!Array.isArray(list) || !list.length) continue;
        out[prop] = list.map((d) => d?.urn).filter((u): u is string => typeof u === "string");
        any = true;
    }
    return any ? out : undefined;
}

function viewFromPolicyResource(r: PolicyResource, env: CrossGuardEnvironment): ResourceView {
    const view = resourceViewOf({ type: r.type, urn: r.urn, name: r.name, props: r.props, provider: r.provider, parent: r.parent?.urn, protect: r.opts?.protect }, env);
    const dependsOn = dependenciesOf(r);
    if (dependsOn) view.dependsOn = dependsOn;
    return view;
}

/** The rule's settings from the policy's config (schema defaults are applied by the engine only, so resolveConfig fills them in too). */
const configCache = new Map<string, PackConfig>();
function configFrom(getConfig: () => object): PackConfig {
    const given = getConfig() ?? {};
    const key = JSON.stringify(given);
    let config = configCache.get(key);
    if (!config) {
        // The engine decides enforcement per policy; a per-rule map makes no sense inside one policy's config.
        const { enforcement: _ignored, ...rest } = given as Record<string, unknown>;
        config = resolveConfig(rest);
        configCache.set(key, config);
    }
    return config;
}

/** Wraps a StackView so we can tell whether a rule consulted other resources. */
function trackingStack(inner: StackView): { stack: StackView; consulted(): boolean; reset(): void } {
    let touched = false;
    const stack = new Proxy(inner, {
        get(target, prop, receiver) {
            if (prop !== "stack") touched = true;
            return Reflect.get(target, prop, receiver);
        },
    });
    return { stack, consulted: () => touched, reset: () => void (touched = false) };
}

function runCheck(rule: Rule, check: () => Outcome): Outcome {
    try {
        return check();
    } catch (err) {
        return { kind: "non-compliant", messages: [`rule ${rule.id} failed with an error and could not decide: ${err instanceof Error ? err.message : String(err)}`] };
    }
}

function applies(rule: ResourceRule, type: string): boolean {
    return rule.resourceTypes === "*" || rule.resourceTypes.includes(type);
}

/** @pulumi/policy's reportViolation also takes a diagnostic object (used to downgrade "not checked" to advisory). */
type DiagnosticReporter = (d: { message: string; urn?: string; enforcementLevel?: PulumiEnforcementLevel }) => void;

function report(outcome: Outcome, reportViolation: ReportViolation, urn?: string): void {
    if (outcome.kind === "non-compliant") {
        reportViolation(outcome.messages.join("\n"), urn);
    } else if (outcome.kind === "cannot-check") {
        // Never a silent pass and never a mandatory failure on a value nobody knows yet.
        const message = /could not be checked/i.test(outcome.message) ? outcome.message : `${NOT_CHECKED_DURING_PREVIEW}: ${outcome.message}`;
        (reportViolation as unknown as DiagnosticReporter)({ message, urn, enforcementLevel: "advisory" });
    }
}

const CONFIG_SCHEMA: PolicyConfigSchema = {
    properties: Object.fromEntries(Object.entries(CONFIG_JSON_SCHEMA.properties).filter(([key]) => key !== "enforcement")) as PolicyConfigSchema["properties"],
};

function commonFields(rule: Rule) {
    return {
        name: rule.id,
        description: `${rule.title} (APPI ${rule.appi})`,
        displayName: rule.title,
        enforcementLevel: rule.defaultEnforcement,
        configSchema: CONFIG_SCHEMA,
        severity: rule.severity,
        remediationSteps: rule.remediation,
        url: ruleHelpUri(rule),
        tags: ["appi", ...rule.securityHub.map((c) => `security-hub:${c}`)],
        framework: { name: "APPI", version: "2022", reference: rule.appi, specification: rule.description },
    };
}

export type ResourceAndStackPolicy = ResourceValidationPolicy & Pick<StackValidationPolicy, "validateStack">;

export function resourcePolicy(rule: ResourceRule, env: CrossGuardEnvironment = environmentFromProcess()): ResourceAndStackPolicy {
    return {
        ...commonFields(rule),
        validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
            if (!applies(rule, args.type)) {
                args.notApplicable(`applies to ${(rule.resourceTypes as readonly string[]).join(", ")}`);
                return;
            }
            const view = viewFromResourceArgs(args, env);
            const config = configFrom(() => args.getConfig());
            const tracker = trackingStack(buildStackView([view], env.stack ?? stackFromUrn(view.urn)));
            const outcome = runCheck(rule, () => rule.check(view, { stack: tracker.stack, config }));
            // Decided with other resources in mind: the stack phase reports it, with all of them in view.
            if (tracker.consulted()) return;
            report(outcome, reportViolation);
        },
        validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
            const views = args.resources.map((r) => viewFromPolicyResource(r, env));
            const config = configFrom(() => args.getConfig());
            const tracker = trackingStack(buildStackView(views, env.stack ?? (views[0] && stackFromUrn(views[0].urn))));
            const ctx: RuleContext = { stack: tracker.stack, config };
            for (const view of views) {
                if (!applies(rule, view.type)) continue;
                tracker.reset();
                const outcome = runCheck(rule, () => rule.check(view, ctx));
                if (tracker.consulted()) report(outcome, reportViolation, view.urn);
            }
        },
    };
}

export function stackPolicy(rule: StackRule, env: CrossGuardEnvironment = environmentFromProcess()): StackValidationPolicy {
    return {
        ...commonFields(rule),
        validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
            const views = args.resources.map((r) => viewFromPolicyResource(r, env));
            const config = configFrom(() => args.getConfig());
            const stack = buildStackView(views, env.stack ?? (views[0] && stackFromUrn(views[0].urn)));
            const outcome = runCheck(rule, () => rule.check({ stack, config }));
            const root = views.find((v) => v.type === "pulumi:pulumi:Stack");
            report(outcome, reportViolation, root?.urn);
        },
    };
}

export function crossGuardPolicies(rules: readonly Rule[], env: CrossGuardEnvironment = environmentFromProcess()): Policies {
    return rules.map((rule) => (rule.scope === "resource" ? resourcePolicy(rule, env) : stackPolicy(rule, env)));
}

/** What policies/index.ts hands to `new PolicyPack`. */
export const policies: Policies = crossGuardPolicies(packRules);

export const packArgs = {
    policies,
    description: "APPI (Japan's Act on the Protection of Personal Information) controls for AWS: residency in Japan, customer-managed encryption, private data tier, backups, keyless CI and audit trail.",
    displayName: "APPI policy pack for AWS",
    provider: "aws",
    tags: ["appi", "japan", "aws", "compliance"],
    // Rules carry their own levels; this only applies to a policy that names none.
    enforcementLevel: "advisory" as PulumiEnforcementLevel,
};

