// Indexes a list of ResourceViews for cross-resource rules: by type token, and
// by every handle another resource may use to point at it (URN, physical id,
// ARN, name, logical name).
//
// The handle indexes are built when a rule first asks for them: a run whose rules
// only look up references to a few types (KMS aliases, parameter groups) indexes
// only the resources of those types, and a run that resolves nothing indexes nothing.
import { PropValue, ResourceView, SecretValue, StackView } from "./types";

/** Props that hold a resource's physical handles in inputs, outputs or mocks. */
const HANDLE_PROPS = ["id", "arn", "name", "bucket", "identifier", "clusterIdentifier", "replicationGroupId", "keyId", "url"] as const;

export interface IndexedStackView extends StackView {
    /** Every resource a reference may name (a logical name can be shared by several types). */
    resolveAll(ref: PropValue): readonly ResourceView[];
    /** The first of `resolveAll(ref)` whose type is one of `types`. */
    resolveOfType(ref: PropValue, types: readonly string[]): ResourceView | undefined;
}

/** What `resolveAll` answers for a reference that names nothing in the stack (read-only, shared). */
const NONE: readonly ResourceView[] = Object.freeze([]);

/** Handle -> the resource it names, or the resources (in index order) when several share it. */
type HandleIndex = Map<string, ResourceView | ResourceView[]>;

function addHandle(index: HandleIndex, key: unknown, resource: ResourceView): void {
    if (typeof key !== "string" || key === "") return;
    const found = index.get(key);
    if (found === undefined) index.set(key, resource);
    else if (found === resource) return;
    else if (!Array.isArray(found)) index.set(key, [found, resource]);
    else if (!found.includes(resource)) found.push(resource);
}

/** Physical handles of one resource: URN, physical id, and the HANDLE_PROPS that hold strings. */
function addPhysicalHandles(index: HandleIndex, resource: ResourceView): void {
    addHandle(index, resource.urn, resource);
    addHandle(index, resource.id, resource);
    const props = resource.props;
    // Only strings are handles: a secret (SecretValue) or any other value is skipped by `addHandle`.
    for (let i = 0; i < HANDLE_PROPS.length; i++) addHandle(index, props[HANDLE_PROPS[i]], resource);
}

/** Indexes `resources` by every handle: physical handles first, logical names last (a physical handle is preferred when both match). */
function indexHandles(resources: readonly ResourceView[]): HandleIndex {
    const index: HandleIndex = new Map();
    for (const resource of resources) addPhysicalHandles(index, resource);
    for (const resource of resources) addHandle(index, resource.name, resource);
    return index;
}

/** Resources of one type by handle, split by how they match so several types can be merged in stack order. */
interface TypeHandles {
    physical: HandleIndex;
    named: HandleIndex;
}

export function buildStackView(resources: ResourceView[], stack?: string): IndexedStackView {
    const byType = new Map<string, ResourceView[]>();
    /** Position of each resource in `resources` (its first occurrence), for ordering matches across types. */
    const position = new Map<ResourceView, number>();
    for (let i = 0; i < resources.length; i++) {
        const resource = resources[i];
        const list = byType.get(resource.type);
        if (list) list.push(resource);
        else byType.set(resource.type, [resource]);
    }
    let byHandle: HandleIndex | undefined;
    const handles = (): HandleIndex => (byHandle ??= indexHandles(resources));
    const typeHandles = new Map<string, TypeHandles>();
    const handlesOfType = (type: string): TypeHandles => {
        let found = typeHandles.get(type);
        if (!found) {
            const physical: HandleIndex = new Map();
            const named: HandleIndex = new Map();
            for (const resource of byType.get(type) ?? NONE) addPhysicalHandles(physical, resource);
            for (const resource of byType.get(type) ?? NONE) addHandle(named, resource.name, resource);
            typeHandles.set(type, (found = { physical, named }));
        }
        return found;
    };
    const positionOf = (resource: ResourceView): number => {
        if (position.size === 0) resources.forEach((r, i) => position.has(r) || position.set(r, i));
        return position.get(resource)!;
    };

    const resolveAll = (ref: PropValue): readonly ResourceView[] => {
        if (ref instanceof SecretValue) return ref.readable ? resolveAll(ref.plaintext as PropValue) : NONE;
        if (typeof ref !== "string") return NONE;
        const found = handles().get(ref);
        return found === undefined ? NONE : Array.isArray(found) ? found : [found];
    };
    const resolve = (ref: PropValue): ResourceView | undefined => {
        if (ref instanceof SecretValue) return ref.readable ? resolve(ref.plaintext as PropValue) : undefined;
        if (typeof ref !== "string") return undefined;
        const found = handles().get(ref);
        return Array.isArray(found) ? found[0] : found;
    };
    /**
     * Same answer as `resolveAll(ref).find((r) => types.includes(r.type))`: a resource whose
     * physical handle is `ref` before one whose logical name is, and the earlier in the stack
     * first; but only the resources of `types` are indexed for it.
     */
    const resolveOfType = (ref: PropValue, types: readonly string[]): ResourceView | undefined => {
        if (ref instanceof SecretValue) return ref.readable ? resolveOfType(ref.plaintext as PropValue, types) : undefined;
        if (typeof ref !== "string" || ref === "") return undefined;
        return earliestOfTypes(ref, types, "physical") ?? earliestOfTypes(ref, types, "named");
    };
    /** The resource earliest in the stack, among `types`, that `ref` names in the given way. */
    const earliestOfTypes = (ref: string, types: readonly string[], by: keyof TypeHandles): ResourceView | undefined => {
        let best: ResourceView | undefined;
        for (let i = 0; i < types.length; i++) {
            const found = handlesOfType(types[i])[by].get(ref);
            // Within one type the index keeps stack order, so its first entry is the candidate.
            const first = Array.isArray(found) ? found[0] : found;
            if (first !== undefined && first !== best && (best === undefined || positionOf(first) < positionOf(best))) best = first;
        }
        return best;
    };
    return {
        stack,
        resources,
        ofType: (type) => byType.get(type) ?? NONE,
        resolve,
        resolveAll,
        resolveOfType,
    };
}

/** Resolves `ref` to a resource of one of `types` (e.g. a subnet id to its aws:ec2/subnet:Subnet). */
export function resolveOfType(stack: StackView, ref: PropValue, types: readonly string[]): ResourceView | undefined {
    const indexed = stack as Partial<IndexedStackView>;
    if (typeof indexed.resolveOfType === "function") return indexed.resolveOfType(ref, types);
    const all = typeof indexed.resolveAll === "function" ? indexed.resolveAll(ref) : [stack.resolve(ref)];
    return all.find((r): r is ResourceView => r !== undefined && types.includes(r.type));
}
