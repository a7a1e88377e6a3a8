// Builds ResourceViews from the raw records every runner has (stack export
// resources, resources planned under mocks): normalised props (inputs overlaid
// on recorded outputs), the provider each resource names, and its effective region.
import { AWS_PROVIDER_TYPE, effectiveRegion, isAwsType } from "../core/region";
import { Props, ProviderView, PropValue, ResourceView, UNKNOWN } from "../core/types";
import { SIG_KEY, UNKNOWN_SENTINELS, normaliseProps, normaliseValue } from "../core/values";

export interface RawResource {
    urn: string;
    type: string;
    /** What the program asked for. */
    inputs?: Record<string, unknown>;
    /** What the engine recorded (state) or the mocks returned. */
    outputs?: Record<string, unknown>;
    /** Provider reference as the engine writes it: `<provider urn>::<provider id>`. */
    provider?: string;
    parent?: string;
    protect?: boolean;
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

const SENTINEL_MIN = Math.min(...[...UNKNOWN_SENTINELS].map((s) => s.length));
const SENTINEL_MAX = Math.max(...[...UNKNOWN_SENTINELS].map((s) => s.length));

/**
 * Normalises a freshly parsed JSON tree in place: only Pulumi's special objects
 * (secrets, outputs, resource references) and unknown sentinels are replaced,
 * so a 10,000-resource export is not copied node by node.
 */
function normaliseInPlace(node: unknown): PropValue {
    // Unknown sentinels are UUIDs: most strings are ruled out by their length alone.
    if (typeof node === "string") return node.length >= SENTINEL_MIN && node.length <= SENTINEL_MAX && UNKNOWN_SENTINELS.has(node) ? UNKNOWN : node;
    if (node === null || typeof node !== "object") return node as PropValue;
    // Write back only what changed: most values are plain and stay as parsed.
    if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) {
            const value = node[i];
            if (value !== null && (typeof value === "object" || typeof value === "string")) {
                const normalised = normaliseInPlace(value);
                if (normalised !== value) node[i] = normalised;
            }
        }
        return node as PropValue[];
    }
    const obj = node as Record<string, unknown>;
    if (SIG_KEY in obj) return normaliseValue(obj);
    for (const key in obj) {
        const value = obj[key];
        if (value !== null && (typeof value === "object" || typeof value === "string")) {
            const normalised = normaliseInPlace(value);
            if (normalised !== value) obj[key] = normalised;
        }
    }
    return obj as { [key: string]: PropValue };
}

function propsOf(raw: RawResource, owned: boolean): Props {
    const outputs = asRecord(raw.outputs);
    if (!owned) return raw.inputs === undefined ? normaliseProps(outputs) : normaliseProps({ ...outputs, ...asRecord(raw.inputs) });
    // Inputs win over outputs key by key (JSON has no undefined, so a present input is a set one);
    // the records are ours alone, so the outputs object itself becomes the props.
    if (raw.inputs !== undefined) Object.assign(outputs, asRecord(raw.inputs));
    return normaliseInPlace(outputs) as Props;
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
    const props = resources.map((r) => propsOf(r, options.owned === true));
    const providers = new Map<string, ProviderView>();
    resources.forEach((raw, i) => {
        if (!raw.type.startsWith("pulumi:providers:")) return;
        const name = nameFromUrn(raw.urn);
        providers.set(raw.urn, { urn: raw.urn, type: raw.type, name, isDefault: isDefaultProviderName(name), props: props[i] });
    });
    return resources.map((raw, i) => {
        const provider = raw.provider ? providers.get(providerUrnOf(raw.provider)) : undefined;
        const isProvider = raw.type.startsWith("pulumi:providers:");
        const view: ResourceView = {
            urn: raw.urn,
            type: raw.type,
            name: nameFromUrn(raw.urn),
            props: props[i],
            // A provider's region is its own `region`; other AWS resources inherit through their provider.
            region: isAwsType(raw.type) ? effectiveRegion(props[i], isProvider ? undefined : provider, stackRegion) : undefined,
            isProvider,
        };
        if (provider) view.provider = provider;
        if (raw.parent) view.parent = raw.parent;
        if (raw.protect !== undefined) view.options = { protect: raw.protect };
        return view;
    });
}
