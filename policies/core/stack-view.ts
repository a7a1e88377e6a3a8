// Indexes a list of ResourceViews for cross-resource rules: by type token, and
// by every handle another resource may use to point at it (URN, physical id,
// ARN, name, logical name).
import { PropValue, ResourceView, SecretValue, StackView } from "./types";

/** Props that hold a resource's physical handles in inputs, outputs or mocks. */
const HANDLE_PROPS = ["id", "arn", "name", "bucket", "identifier", "clusterIdentifier", "replicationGroupId", "keyId", "url"] as const;

export interface IndexedStackView extends StackView {
    /** Every resource a reference may name (a logical name can be shared by several types). */
    resolveAll(ref: PropValue): readonly ResourceView[];
}

export function buildStackView(resources: ResourceView[], stack?: string): IndexedStackView {
    const byType = new Map<string, ResourceView[]>();
    const byHandle = new Map<string, ResourceView[]>();
    const add = (key: unknown, resource: ResourceView) => {
        if (typeof key !== "string" || key === "") return;
        const list = byHandle.get(key);
        if (!list) byHandle.set(key, [resource]);
        else if (!list.includes(resource)) list.push(resource);
    };
    for (const resource of resources) {
        const list = byType.get(resource.type);
        if (list) list.push(resource);
        else byType.set(resource.type, [resource]);
        add(resource.urn, resource);
        add(resource.id, resource);
        for (const key of HANDLE_PROPS) {
            const value = resource.props[key];
            add(value instanceof SecretValue ? undefined : value, resource);
        }
    }
    // Logical names last, so a physical handle is preferred when both match.
    for (const resource of resources) add(resource.name, resource);

    const resolveAll = (ref: PropValue): readonly ResourceView[] => {
        if (ref instanceof SecretValue) return ref.readable ? resolveAll(ref.plaintext as PropValue) : [];
        return typeof ref === "string" ? (byHandle.get(ref) ?? []) : [];
    };
    return {
        stack,
        resources,
        ofType: (type) => byType.get(type) ?? [],
        resolve: (ref) => resolveAll(ref)[0],
        resolveAll,
    };
}

/** Resolves `ref` to a resource of one of `types` (e.g. a subnet id to its aws:ec2/subnet:Subnet). */
export function resolveOfType(stack: StackView, ref: PropValue, types: readonly string[]): ResourceView | undefined {
    const all = "resolveAll" in stack && typeof (stack as IndexedStackView).resolveAll === "function" ? (stack as IndexedStackView).resolveAll(ref) : [stack.resolve(ref)];
    return all.find((r): r is ResourceView => r !== undefined && types.includes(r.type));
}
