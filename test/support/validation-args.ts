// Typed builders for rule tests, after Pulumi's AWS Guard test helper
// `createResourceValidationArgs(aws.rds.Instance, {...})`: the props are typed
// by the resource's Args, so a misspelled property fails `tsc --noEmit`.
import * as pulumi from "@pulumi/pulumi";
import { resolveConfig } from "../../policies/core/config";
import { effectiveRegion } from "../../policies/core/region";
import { buildStackView, IndexedStackView } from "../../policies/core/stack-view";
import { normaliseProps } from "../../policies/core/values";
import { Outcome, PackConfig, ProviderView, ResourceRule, ResourceView, RuleContext, SecretValue, StackRule, UNKNOWN, Unknown } from "../../policies/core/types";

export { UNKNOWN };

/** A value a test may put anywhere a prop goes: the preview's unknown, or a secret. */
type Marker = Unknown | SecretValue;

/** Plain (already resolved) props, each level also allowing the markers. */
export type Loose<T> = T extends string | number | boolean
    ? T | Marker
    : T extends readonly (infer E)[]
      ? Loose<E>[] | Marker
      : T extends object
        ? { [K in keyof T]?: Loose<T[K]> } | Marker
        : T | Marker;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ResourceClass = new (name: string, args: any, opts?: any) => pulumi.Resource;
type ArgsOf<C> = C extends new (name: string, args: infer A, opts?: any) => pulumi.Resource ? NonNullable<A> : never;

/** The props parameter of a resource class: its Args, unwrapped, with markers. */
export type PropsOf<C extends ResourceClass> = { [K in keyof pulumi.Unwrap<ArgsOf<C>>]?: Loose<pulumi.Unwrap<ArgsOf<C>>[K]> };

export function typeTokenOf(cls: ResourceClass): string {
    const token = (cls as unknown as { __pulumiType?: string }).__pulumiType;
    if (typeof token !== "string") throw new Error(`${cls.name} has no __pulumiType: not a Pulumi resource class`);
    return cls.prototype instanceof pulumi.ProviderResource ? `pulumi:providers:${token}` : token;
}

export interface ViewOptions {
    name?: string;
    /** The provider the resource is created with (a view built from `aws.Provider`), else the default provider. */
    provider?: ResourceView;
    /** The stack's aws:region; defaults to ap-northeast-1. Pass null for none. */
    stackRegion?: string | null;
    /** Outputs recorded in state, overlaid by the props (as the adapter does). */
    outputs?: Record<string, unknown>;
    protect?: boolean;
    /** Physical id, as a state or the mocks would record it. */
    id?: string;
    /** URNs each property was computed from (CrossGuard's propertyDependencies). */
    dependsOn?: Record<string, string[]>;
}

let counter = 0;

/** A ResourceView for one resource, typed by its Args. */
export function createResourceValidationArgs<C extends ResourceClass>(cls: C, props: PropsOf<C>, options: ViewOptions = {}): ResourceView {
    const type = typeTokenOf(cls);
    const name = options.name ?? `${type.split(":").pop()!.toLowerCase()}-${++counter}`;
    const isProvider = type.startsWith("pulumi:providers:");
    const normalised = normaliseProps({ ...(options.outputs ?? {}), ...(props as Record<string, unknown>) });
    const provider = options.provider ? asProvider(options.provider) : undefined;
    const stackRegion = options.stackRegion === null ? undefined : (options.stackRegion ?? "ap-northeast-1");
    return {
        urn: `urn:pulumi:test::appi::${type}::${name}`,
        type,
        name,
        props: normalised,
        region: effectiveRegion(normalised, isProvider ? undefined : provider, stackRegion),
        provider,
        isProvider,
        options: options.protect === undefined ? undefined : { protect: options.protect },
        // With recorded outputs, the props given are what the program declared (provenance, as the runners record it).
        ...(options.outputs === undefined ? {} : { inputs: Object.fromEntries(Object.keys(props as object).map((k) => [k, normalised[k]])) }),
        ...(options.dependsOn === undefined ? {} : { dependsOn: options.dependsOn }),
        ...(options.id === undefined ? {} : { id: options.id }),
    };
}

/** The ProviderView of a provider resource view (for `options.provider`). */
export function asProvider(view: ResourceView): ProviderView {
    if (!view.isProvider) throw new Error(`${view.urn} is not a provider resource`);
    return { urn: view.urn, type: view.type, name: view.name, isDefault: view.name.startsWith("default"), props: view.props };
}

export function secret(value: unknown): SecretValue {
    return new SecretValue(value, true);
}

/** A secret as a stack export holds it: ciphertext only. */
export function unreadableSecret(): SecretValue {
    return new SecretValue(undefined, false);
}

export function stackOf(resources: ResourceView[], stack = "dev"): IndexedStackView {
    return buildStackView(resources, stack);
}

export function contextFor(stack: IndexedStackView = stackOf([]), config: Partial<PackConfig> = {}): RuleContext {
    return { stack, config: resolveConfig(config) };
}

/** Runs a resource rule on `resource`, in a stack of `others` plus the resource itself. */
export function runRule(rule: ResourceRule, resource: ResourceView, others: ResourceView[] = [], config: Partial<PackConfig> = {}, stackName = "dev"): Outcome {
    if (rule.resourceTypes !== "*" && !rule.resourceTypes.includes(resource.type)) {
        throw new Error(`rule ${rule.id} does not apply to ${resource.type}`);
    }
    return rule.check(resource, contextFor(stackOf([...others, resource], stackName), config));
}

export function runStackRule(rule: StackRule, resources: ResourceView[], config: Partial<PackConfig> = {}, stackName = "dev"): Outcome {
    return rule.check(contextFor(stackOf(resources, stackName), config));
}
