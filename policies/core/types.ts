// The contract every APPI rule and every runner shares.
//
// A rule is a pure function over a normalised view of one resource (and, for
// cross-resource rules, the whole stack). Runners (CrossGuard, offline check
// under mocks, stack-export audit) only build these views and format results.

/** Marks a value the engine does not know yet (a computed output during preview). */
export const UNKNOWN: unique symbol = Symbol.for("appi.policy.unknown");
export type Unknown = typeof UNKNOWN;

/**
 * A secret value. `plaintext` is present only when the runner could see it
 * (CrossGuard, mocks); in a stack export it is ciphertext and stays unreadable.
 * Never interpolate a SecretValue into a message.
 */
export class SecretValue {
    constructor(readonly plaintext: unknown | Unknown | undefined, readonly readable: boolean) {}
    toString(): string {
        return "[secret]";
    }
    toJSON(): string {
        return "[secret]";
    }
}

/** Property values after normalisation: plain JSON plus the two markers above. */
export type PropValue =
    | string
    | number
    | boolean
    | null
    | undefined
    | Unknown
    | SecretValue
    | PropValue[]
    | { [key: string]: PropValue };

export type Props = { readonly [key: string]: PropValue };

export interface ProviderView {
    urn: string;
    /** e.g. `pulumi:providers:aws` */
    type: string;
    name: string;
    /** True for the stack's default provider (`default_*` name). */
    isDefault: boolean;
    props: Props;
}

/** One resource as a rule sees it, whichever runner produced it. */
export interface ResourceView {
    urn: string;
    /** Pulumi type token, e.g. `aws:rds/instance:Instance`. */
    type: string;
    name: string;
    /** What the resource will be: program inputs, overlaid on recorded outputs where a state has them. Keys are the SDK's camelCase names. */
    props: Props;
    /**
     * Provenance: what the program declared, when the runner's record tells inputs from outputs
     * (a state's `inputs`, the program's inputs under mocks). A top-level key of `props` that is
     * not here was filled in by AWS (an output only). Undefined when the record has no inputs at all
     * (CrossGuard, which sees what the program declares, or an output-only record): then `props`
     * count as declared. Where inputs and outputs disagree, `props` already holds the input.
     */
    inputs?: Props;
    /** URNs of the resources each top-level property was computed from (CrossGuard's propertyDependencies, a state's), when known. */
    dependsOn?: { readonly [prop: string]: readonly string[] };
    /**
     * Where the resource lives: its own `region` property, else its provider's
     * `region`, else the stack's configured `aws:region`. UNKNOWN while preview
     * has not resolved it; undefined for non-AWS resources.
     */
    region: string | Unknown | undefined;
    provider?: ProviderView;
    /** URN of the parent (component) resource, if known. */
    parent?: string;
    /** Physical id (state `id`, mocks' id) when the runner knows it: other resources' props refer to it. */
    id?: string;
    /** True for provider resources (`pulumi:providers:*`). */
    isProvider: boolean;
    /** Pulumi resource options the runner could see. */
    options?: { protect?: boolean };
}

/** The whole stack, for rules that relate resources (subnets to route tables, roles to OIDC providers). */
export interface StackView {
    /** Stack name when known (dev, prod). */
    stack?: string;
    resources: readonly ResourceView[];
    /** Resources of one type token. */
    ofType(type: string): readonly ResourceView[];
    /**
     * Resolves a reference written in another resource's props (a physical id,
     * ARN, name or URN) to the resource it names, if it is in this stack.
     */
    resolve(ref: PropValue): ResourceView | undefined;
}

export type Severity = "critical" | "high" | "medium" | "low";
export type EnforcementLevel = "mandatory" | "advisory" | "disabled";

/** What a rule says about one resource (or the stack), after cdk-nag's NagRuleCompliance. */
export type Outcome =
    | { kind: "compliant" }
    | { kind: "not-applicable" }
    | { kind: "non-compliant"; messages: string[] }
    /** A value the rule needs is unknown (preview) or an unreadable secret: never a silent pass or fail. */
    | { kind: "cannot-check"; message: string };

/** Settings a reviewer may change per stack; defaults live in `config.ts`. */
export interface PackConfig {
    allowedRegions: string[];
    minBackupRetentionDays: number;
    minLogRetentionDays: number;
    /** `TLSv1.2` or `TLSv1.3`. */
    minTlsVersion: string;
    /** Ports that count as data ports for the private-tier rule. */
    dataPorts: number[];
    /**
     * Customer-managed KMS keys made outside the stack (key ARNs, alias ARNs, key ids): with the
     * keys the stack creates, the only keys a store may use (unset: none).
     */
    externalKmsKeys?: string[];
    /** Per-rule enforcement overrides, by rule id. */
    enforcement: Record<string, EnforcementLevel>;
}

export interface RuleMetadata {
    /** kebab-case, equal to the rule's file name. */
    id: string;
    title: string;
    description: string;
    /** The APPI article the rule serves, e.g. "Art. 23 (security control measures)". */
    appi: string;
    /** AWS Security Hub FSBP controls, e.g. ["RDS.3"]. */
    securityHub: string[];
    severity: Severity;
    remediation: string;
    defaultEnforcement: EnforcementLevel;
    /**
     * Types the rule judges besides those it applies to (resources it reads through
     * references, e.g. a subnet group's subnets and route tables); counted by the coverage line.
     */
    reviews?: readonly string[];
}

export interface RuleContext {
    stack: StackView;
    config: PackConfig;
}

export interface ResourceRule extends RuleMetadata {
    scope: "resource";
    /** Type tokens this rule reads; "*" for every resource. */
    resourceTypes: readonly string[] | "*";
    check(resource: ResourceView, ctx: RuleContext): Outcome;
}

export interface StackRule extends RuleMetadata {
    scope: "stack";
    check(ctx: RuleContext): Outcome;
}

export type Rule = ResourceRule | StackRule;

/** One evaluated (rule, resource) pair: what every report is built from. */
export interface Finding {
    ruleId: string;
    urn: string;
    resourceType: string;
    outcome: Outcome;
    enforcementLevel: EnforcementLevel;
    /** Set when an exception (or, with source "resource", an acknowledgement tag on the resource) covers a non-compliant finding. */
    exemption?: { reason: string; approver: string; expires: string; source?: "resource" };
}
