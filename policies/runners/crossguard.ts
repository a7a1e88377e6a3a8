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
import { applyAcknowledgement } from "../acknowledgements";
import { EXCEPTION_SCHEMA, ExceptionMatcher, PolicyException, describeException, exemptionReason, parseExceptions, unusedExceptionMessage } from "../exceptions";
import { canonicalRuleId } from "../rules/aliases";
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

/** One policy's settings: the pack config, and the exceptions approved for this rule (or why they are unusable). */
interface PolicySettings {
    config: PackConfig;
    exceptions: ExceptionMatcher;
    /** Set when the policy's `exceptions` are malformed, expired or filed under another rule: none of them applies, and the stack phase fails. */
    exceptionsProblem?: string;
}

/** Per-policy config as the engine delivers it (schema defaults are applied by the engine only, so resolveConfig fills them in too). */
const settingsCache = new Map<string, PolicySettings>();
function settingsFrom(rule: Rule, getConfig: () => object): PolicySettings {
    const given = getConfig() ?? {};
    const key = `${rule.id} ${JSON.stringify(given)}`;
    let settings = settingsCache.get(key);
    if (!settings) {
        // The engine decides enforcement per policy; a per-rule map makes no sense inside one policy's config.
        const { enforcement: _ignored, exceptions, ...rest } = given as Record<string, unknown>;
        const config = resolveConfig(rest);
        let list: PolicyException[] = [];
        let exceptionsProblem: string | undefined;
        if (exceptions !== undefined) {
            try {
                list = parseExceptions(exceptions);
                const misfiled = list.find((e) => canonicalRuleId(e.rule) !== rule.id);
                if (misfiled) throw new Error(`${describeException(misfiled)} is in the config of policy ${rule.id}: file it under policy ${misfiled.rule} (crossguard-config --exceptions does)`);
            } catch (err) {
                exceptionsProblem = `policy ${rule.id}: ${(err as Error).message}`;
                list = [];
            }
        }
        settings = { config, exceptions: new ExceptionMatcher(list), exceptionsProblem };
        settingsCache.set(key, settings);
    }
    return settings;
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

/** Whether Analyze, which sees the resource alone, left this pair to the stack phase. */
function deferredAlone(rule: ResourceRule, view: ResourceView, config: PackConfig, stackName: string | undefined): boolean {
    const alone = trackingStack(buildStackView([view], stackName));
    runCheck(rule, () => rule.check(view, { stack: alone.stack, config }));
    return alone.consulted();
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

function report(outcome: Outcome, reportViolation: ReportViolation, urn?: string, exemption?: PolicyException, view?: ResourceView, ruleId?: string): void {
    if (outcome.kind === "non-compliant" && view && ruleId) {
        // An acknowledgement tag on the resource, read exactly as the offline check and the audit read it.
        const acked = applyAcknowledgement(view, ruleId, outcome);
        if (acked.exemption) {
            const e = acked.exemption;
            (reportViolation as unknown as DiagnosticReporter)({ message: `exempted (acknowledged on the resource) until ${e.expires}, approved by ${e.approver}: ${e.reason}\n${outcome.messages.join("\n")}`, urn, enforcementLevel: "advisory" });
            return;
        }
        if (acked.mandatory && acked.outcome.kind === "non-compliant") {
            (reportViolation as unknown as DiagnosticReporter)({ message: acked.outcome.messages.join("\n"), urn, enforcementLevel: "mandatory" });
            return;
        }
    }
    if (outcome.kind === "non-compliant" && exemption) {
        // Never silent: the violation stays in the preview's output, as advisory, with who approved it and until when.
        const message = `exempted until ${exemption.expires}, approved by ${exemption.approver}: ${exemption.reason}\n${outcome.messages.join("\n")}`;
        (reportViolation as unknown as DiagnosticReporter)({ message, urn, enforcementLevel: "advisory" });
    } else if (outcome.kind === "non-compliant") {
        reportViolation(outcome.messages.join("\n"), urn);
    } else if (outcome.kind === "cannot-check") {
        // Never a silent pass and never a mandatory failure on a value nobody knows yet.
        const message = /could not be checked/i.test(outcome.message) ? outcome.message : `${NOT_CHECKED_DURING_PREVIEW}: ${outcome.message}`;
        (reportViolation as unknown as DiagnosticReporter)({ message, urn, enforcementLevel: "advisory" });
    }
}

/** The exception covering a non-compliant outcome, unless the policy's exceptions are unusable. */
function exemptionFor(settings: PolicySettings, matcher: ExceptionMatcher, rule: Rule, urn: string, outcome: Outcome, resourceType?: string): PolicyException | undefined {
    if (outcome.kind !== "non-compliant" || settings.exceptionsProblem) return undefined;
    const hit = matcher.match(rule.id, urn, resourceType);
    // Filed under a retired rule id: the report says so.
    return hit && hit.rule !== rule.id ? { ...hit, reason: exemptionReason(hit, rule.id) } : hit;
}

/** After the stack phase: unusable exceptions fail the preview (as the offline check and audit refuse them); unused ones are reported. */
function reportExceptionProblems(settings: PolicySettings, matcher: ExceptionMatcher, reportViolation: ReportViolation, stackUrn: string | undefined): void {
    const diagnose = reportViolation as unknown as DiagnosticReporter;
    if (settings.exceptionsProblem) {
        diagnose({ message: settings.exceptionsProblem, urn: stackUrn, enforcementLevel: "mandatory" });
        return;
    }
    for (const e of matcher.unused()) diagnose({ message: unusedExceptionMessage(e), urn: stackUrn, enforcementLevel: "advisory" });
}

const rootUrn = (views: readonly ResourceView[]) => views.find((v) => v.type === "pulumi:pulumi:Stack")?.urn;

const CONFIG_SCHEMA: PolicyConfigSchema = {
    properties: {
        ...(Object.fromEntries(Object.entries(CONFIG_JSON_SCHEMA.properties).filter(([key]) => key !== "enforcement")) as PolicyConfigSchema["properties"]),
        exceptions: { type: "array", items: EXCEPTION_SCHEMA, default: [], description: "Approved exceptions to this rule, in the exceptions file's shape (rule, urn, reason, approver, expires)." },
    } as unknown as PolicyConfigSchema["properties"],
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
            const settings = settingsFrom(rule, () => args.getConfig());
            const tracker = trackingStack(buildStackView([view], env.stack ?? stackFromUrn(view.urn)));
            const outcome = runCheck(rule, () => rule.check(view, { stack: tracker.stack, config: settings.config }));
            // Decided with other resources in mind: the stack phase reports it, with all of them in view.
            if (tracker.consulted()) return;
            report(outcome, reportViolation, undefined, exemptionFor(settings, settings.exceptions, rule, view.urn, outcome, view.type), view, rule.id);
        },
        validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
            const views = args.resources.map((r) => viewFromPolicyResource(r, env));
            const settings = settingsFrom(rule, () => args.getConfig());
            const tracker = trackingStack(buildStackView(views, env.stack ?? (views[0] && stackFromUrn(views[0].urn))));
            const ctx: RuleContext = { stack: tracker.stack, config: settings.config };
            // Every pair is decided here (whichever phase reports it), so an exception that covers nothing is known.
            const matcher = new ExceptionMatcher(settings.exceptions.exceptions);
            const stackName = env.stack ?? (views[0] && stackFromUrn(views[0].urn));
            for (const view of views) {
                if (!applies(rule, view.type)) continue;
                // Whether Analyze deferred this pair, decided as Analyze decides it (the resource alone):
                // the full stack's tracker alone cannot tell, since a rule may answer the second resource
                // from an index it built over the stack for the first without touching the stack again.
                tracker.reset();
                const outcome = runCheck(rule, () => rule.check(view, ctx));
                const exemption = exemptionFor(settings, matcher, rule, view.urn, outcome, view.type);
                if (tracker.consulted() || deferredAlone(rule, view, settings.config, stackName)) report(outcome, reportViolation, view.urn, exemption, view, rule.id);
            }
            reportExceptionProblems(settings, matcher, reportViolation, rootUrn(views));
        },
    };
}

export function stackPolicy(rule: StackRule, env: CrossGuardEnvironment = environmentFromProcess()): StackValidationPolicy {
    return {
        ...commonFields(rule),
        validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
            const views = args.resources.map((r) => viewFromPolicyResource(r, env));
            const settings = settingsFrom(rule, () => args.getConfig());
            const stack = buildStackView(views, env.stack ?? (views[0] && stackFromUrn(views[0].urn)));
            const outcome = runCheck(rule, () => rule.check({ stack, config: settings.config }));
            const root = rootUrn(views);
            const matcher = new ExceptionMatcher(settings.exceptions.exceptions);
            report(outcome, reportViolation, root, root ? exemptionFor(settings, matcher, rule, root, outcome) : undefined);
            reportExceptionProblems(settings, matcher, reportViolation, root);
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

