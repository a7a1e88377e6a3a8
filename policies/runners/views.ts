// Builds ResourceViews from the raw records every runner has (stack export
// resources, resources planned under mocks): normalised props (inputs overlaid
// on recorded outputs), the provider each resource names, and its effective region.
import { AWS_PROVIDER_TYPE, effectiveRegion, isAwsType } from "../core/region";
import { Props, ProviderView, PropValue, ResourceView, UNKNOWN } from "../core/types";
import { SIG_KEY, isUnknownSentinel, normaliseProps, normaliseValue } from "../core/values";

export interface RawResource {
    urn: string;
    type: string;
    /** Physical id: the state's `id`, or the id the mocks assigned (empty or absent for components). */
    id?: string;
    /** What the program asked for. */
    inputs?: Record<string, unknown>;
    /** What the engine recorded (state) or the mocks returned. */
    outputs?: Record<string, unknown>;
    /** Provider reference as the engine writes it: `<provider urn>::<provider id>`. */
    provider?: string;
    parent?: string;
    protect?: boolean;
    /** URNs each property was computed from, as a state records them. */
    propertyDependencies?: Record<string, string[]>;
}

/** The logical name is everything after the URN's third `::` (names may themselves contain `::`). */
export function nameFromUrn(urn: string): string {
    let at = -2;
    for (let n = 0; n < 3; n++) {
        at = urn.indexOf("::", at + 2);
        if (at < 0) return urn;
    }
    return urn.slice(at + 2);
}

/** The stack a URN belongs to: `urn:pulumi:<stack>::<project>::...`. */
export function stackFromUrn(urn: string): string | undefined {
    const m = /^urn:pulumi:([^:]+)::/.exec(urn);
    return m ? m[1] : undefined;
}

/** `urn:pulumi:dev::proj::pulumi:providers:aws::default_7_48_0::<id>` -> the provider's URN (the id follows the last `::`). */
export function providerUrnOf(reference: string): string {
    const cut = reference.lastIndexOf("::");
    return cut > 0 ? reference.slice(0, cut) : reference;
}

/** The engine names the providers it creates itself `default` or `default_<version>`. */
export function isDefaultProviderName(name: string): boolean {
    return name === "default" || name.startsWith("default_");
}

function asRecord(value: unknown): Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * Normalises a freshly parsed JSON object in place: only Pulumi's special objects
 * (secrets, outputs, resource references) and unknown sentinels are replaced,
 * so a 10,000-resource export is not copied node by node. Strings are checked where
 * they are found (no call per string); only objects and arrays are recursed into.
 */
function normaliseObjectInPlace(obj: Record<string, unknown>): PropValue {
    if (SIG_KEY in obj) return normaliseValue(obj);
    // Write back only what changed: most values are plain and stay as parsed.
    for (const key in obj) {
        const value = obj[key];
        if (typeof value === "string") {
            if (isUnknownSentinel(value)) obj[key] = UNKNOWN;
        } else if (typeof value === "object" && value !== null) {
            const normalised = Array.isArray(value) ? normaliseArrayInPlace(value) : normaliseObjectInPlace(value as Record<string, unknown>);
            if (normalised !== value) obj[key] = normalised;
        }
    }
    return obj as { [key: string]: PropValue };
}

function normaliseArrayInPlace(array: unknown[]): PropValue {
    for (let i = 0; i < array.length; i++) {
        const value = array[i];
        if (typeof value === "string") {
            if (isUnknownSentinel(value)) array[i] = UNKNOWN;
        } else if (typeof value === "object" && value !== null) {
            const normalised = Array.isArray(value) ? normaliseArrayInPlace(value) : normaliseObjectInPlace(value as Record<string, unknown>);
            if (normalised !== value) array[i] = normalised;
        }
    }
    return array as PropValue[];
}

/** Whether a record's values may be normalised where they are: ours alone, and neither bag is itself a special object. */
function inPlace(raw: RawResource, owned: boolean): boolean {
    if (!owned) return false;
    const { inputs, outputs } = raw;
    const plain = (bag: unknown) => bag === undefined || (bag !== null && typeof bag === "object" && !Array.isArray(bag) && !(SIG_KEY in bag));
    return plain(inputs) && plain(outputs);
}

function propsOf(raw: RawResource, owned: boolean): Props {
    const outputs = asRecord(raw.outputs);
    if (!inPlace(raw, owned)) return raw.inputs === undefined ? normaliseProps(outputs) : normaliseProps({ ...outputs, ...asRecord(raw.inputs) });
    // Inputs win over outputs key by key (JSON has no undefined, so a present input is a set one);
    // the records are ours alone, so the outputs object itself becomes the props.
    const inputs = raw.inputs;
    if (inputs !== undefined) for (const key in inputs) outputs[key] = inputs[key];
    normaliseObjectInPlace(outputs);
    // Each value was walked once, through the props; a top-level value the walk replaced (a secret, an
    // unknown) is written back to the inputs, which stay the provenance record (declaredOf) with no copy.
    if (inputs !== undefined) for (const key in inputs) if (inputs[key] !== outputs[key]) inputs[key] = outputs[key];
    return outputs as Props;
}

/**
 * Provenance: the declared (input) keys of `props`, sharing its values (no copy of any value).
 * Undefined when the record has no inputs at all: then everything counts as declared.
 */
function declaredOf(raw: RawResource, props: Props, owned: boolean): Props | undefined {
    if (raw.inputs === undefined || raw.inputs === null || typeof raw.inputs !== "object") return undefined;
    // Owned records: propsOf normalised the inputs object in place and copied its values into the props.
    if (inPlace(raw, owned)) return raw.inputs as Props;
    const declared: { [key: string]: Props[string] } = {};
    for (const key in raw.inputs) declared[key] = props[key];
    return declared;
}

function dependenciesOf(raw: RawResource): ResourceView["dependsOn"] {
    const deps = raw.propertyDependencies;
    return deps !== null && typeof deps === "object" && !Array.isArray(deps) ? deps : undefined;
}

/** What the views need to know about a type token, worked out once per token. */
interface TypeFacts {
    /** The token as an interned string: every view of the type shares it, so the engine's and rules' type lookups and comparisons need not read each resource's own copy. */
    type: string;
    isProvider: boolean;
    isAws: boolean;
}

const typeFacts = new Map<string, TypeFacts>();
const TYPE_FACTS_MAX = 10_000;

function factsOf(type: string): TypeFacts {
    let facts = typeFacts.get(type);
    if (facts === undefined) {
        if (typeFacts.size >= TYPE_FACTS_MAX) typeFacts.clear();
        // A property name is interned: the same characters, one shared string.
        const interned = Object.keys({ [type]: true })[0] ?? type;
        facts = { type: interned, isProvider: interned.startsWith("pulumi:providers:"), isAws: isAwsType(interned) };
        typeFacts.set(interned, facts);
    }
    return facts;
}

/** The region of the stack's default AWS provider, when the records carry one. */
export function defaultProviderRegion(resources: readonly RawResource[]): string | undefined {
    for (const raw of resources) {
        if (raw.type !== AWS_PROVIDER_TYPE || !isDefaultProviderName(nameFromUrn(raw.urn))) continue;
        for (const bag of [raw.inputs, raw.outputs]) {
            const region = asRecord(bag).region;
            if (typeof region === "string" && region.trim() !== "") return region.trim();
        }
    }
    return undefined;
}

/**
 * One ResourceView per record (inputs overlaid on outputs, normalised). `stackRegion` is the stack's `aws:region`, the
 * last resort for a resource whose own `region` and provider's region are unset.
 */
export function buildResourceViews(resources: readonly RawResource[], stackRegion: string | undefined, options: { owned?: boolean } = {}): ResourceView[] {
    // `owned`: the records were parsed for this run alone, so their values may be normalised in place.
    const owned = options.owned === true;
    const count = resources.length;
    const props: Props[] = new Array(count);
    const names: string[] = new Array(count);
    const types: TypeFacts[] = new Array(count);
    const providers = new Map<string, ProviderView>();
    for (let i = 0; i < count; i++) {
        const raw = resources[i];
        props[i] = propsOf(raw, owned);
        names[i] = nameFromUrn(raw.urn);
        types[i] = factsOf(raw.type);
        if (types[i].isProvider) {
            providers.set(raw.urn, { urn: raw.urn, type: types[i].type, name: names[i], isDefault: isDefaultProviderName(names[i]), props: props[i] });
        }
    }
    // Resources name their provider by `<urn>::<id>`: a stack has a handful of providers and
    // thousands of references to them, so each distinct reference is looked up once.
    const providerByRef = new Map<string, ProviderView | undefined>();
    const views: ResourceView[] = new Array(count);
    for (let i = 0; i < count; i++) {
        const raw = resources[i];
        let provider: ProviderView | undefined;
        if (raw.provider) {
            provider = providerByRef.get(raw.provider);
            if (provider === undefined && !providerByRef.has(raw.provider)) {
                provider = providers.get(providerUrnOf(raw.provider));
                providerByRef.set(raw.provider, provider);
            }
        }
        const { type, isProvider, isAws } = types[i];
        const view: ResourceView = {
            urn: raw.urn,
            type,
            name: names[i],
            props: props[i],
            // A provider's region is its own `region`; other AWS resources inherit through their provider.
            region: isAws ? effectiveRegion(props[i], isProvider ? undefined : provider, stackRegion) : undefined,
            isProvider,
        };
        if (typeof raw.id === "string" && raw.id !== "") view.id = raw.id;
        if (provider) view.provider = provider;
        if (raw.parent) view.parent = raw.parent;
        if (raw.protect !== undefined) view.options = { protect: raw.protect };
        const declared = declaredOf(raw, props[i], owned);
        if (declared) view.inputs = declared;
        const dependsOn = dependenciesOf(raw);
        if (dependsOn) view.dependsOn = dependsOn;
        views[i] = view;
    }
    return views;
}
