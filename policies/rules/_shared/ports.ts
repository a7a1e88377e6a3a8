// Which data ports an ingress rule opens to the internet.
//
// "The internet" is computed, not pattern-matched: a CIDR is public when its range holds
// any address outside the special-purpose blocks (RFC 6890 and successors), IPv4 and IPv6,
// whatever its prefix length; so 0.0.0.0/1 + 128.0.0.0/1, 8.8.0.0/16 or 2600::/12 count as
// much as 0.0.0.0/0. A data port is a configured one (pack config dataPorts) or the port a
// store in the stack listens on (its `port`, else its engine's default) behind that group.
import ipaddr from "ipaddr.js";
import { resolveOfType } from "../../core/stack-view";
import { PropValue, Props, ResourceView, SecretValue, StackView, UNKNOWN } from "../../core/types";
import { EndpointSpec, STORE_ENTRIES } from "./stores";

type Interval = readonly [bigint, bigint];

function toBigInt(bytes: number[]): bigint {
    let n = 0n;
    for (const b of bytes) n = (n << 8n) | BigInt(b);
    return n;
}

function rangeOf(cidr: string): { v6: boolean; range: Interval } {
    const [addr, prefix] = ipaddr.parseCIDR(cidr);
    const bits = addr.kind() === "ipv6" ? 128 : 32;
    const size = 1n << BigInt(bits - prefix);
    const start = (toBigInt(addr.toByteArray()) / size) * size;
    return { v6: bits === 128, range: [start, start + size - 1n] };
}

/** Sorted, disjoint intervals of `blocks`. */
function intervals(blocks: readonly string[]): Interval[] {
    const list = blocks.map((b) => rangeOf(b).range).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const merged: [bigint, bigint][] = [];
    for (const [s, e] of list) {
        const last = merged[merged.length - 1];
        if (last && s <= last[1] + 1n) last[1] = e > last[1] ? e : last[1];
        else merged.push([s, e]);
    }
    return merged;
}

/** IPv4 blocks no internet host can use (RFC 6890: this network, private, shared, loopback, link-local, documentation, benchmarking, multicast, reserved). */
const NON_PUBLIC_V4 = intervals([
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
]);

/** IPv6: everything outside global unicast 2000::/3 is not routed on the internet, and 2001:db8::/32 is documentation. */
const NON_PUBLIC_V6 = intervals(["::/3", "4000::/2", "8000::/1", "2001:db8::/32"]);

/** True when `range` holds an address not covered by the sorted, disjoint `excluded` intervals. */
function escapes(range: Interval, excluded: readonly Interval[]): boolean {
    let next = range[0];
    for (const [s, e] of excluded) {
        if (e < next) continue;
        if (s > next) return true; // a gap before this block
        next = e + 1n;
        if (next > range[1]) return false;
    }
    return next <= range[1];
}

const publicCache = new Map<string, boolean>();

/**
 * True when the CIDR holds any public address. Throws TypeError for text that is not a
 * CIDR (AWS rejects it too; the engine reports the error rather than a silent pass).
 */
export function isPublicCidr(cidr: string): boolean {
    const text = cidr.trim();
    const cached = publicCache.get(text);
    if (cached !== undefined) return cached;
    let parsed: { v6: boolean; range: Interval };
    try {
        parsed = rangeOf(text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`);
    } catch {
        throw new TypeError(`${JSON.stringify(cidr)} is not a CIDR block`);
    }
    const answer = escapes(parsed.range, parsed.v6 ? NON_PUBLIC_V6 : NON_PUBLIC_V4);
    if (publicCache.size > 4096) publicCache.clear();
    publicCache.set(text, answer);
    return answer;
}

/** True for 0.0.0.0/0, ::/0 and any other spelling of "every address". */
export function isWorldCidr(cidr: string): boolean {
    try {
        return ipaddr.parseCIDR(cidr.trim())[1] === 0;
    } catch {
        return false;
    }
}

/** True for protocols that cover every port ("-1", "all", -1). */
export function isAllProtocols(protocol: string | number | undefined): boolean {
    return protocol === -1 || protocol === "-1" || (typeof protocol === "string" && protocol.toLowerCase() === "all");
}

function isTcp(protocol: string | number | undefined): boolean {
    return protocol === 6 || protocol === "6" || (typeof protocol === "string" && protocol.toLowerCase() === "tcp");
}

/**
 * The data ports among `dataPorts` that a rule with this protocol and port
 * range opens. All-protocol rules open every port whatever the range says.
 */
export function openedDataPorts(protocol: string | number | undefined, fromPort: number | undefined, toPort: number | undefined, dataPorts: Iterable<number>): number[] {
    const every = isAllProtocols(protocol);
    if (!every && !isTcp(protocol)) return [];
    const from = fromPort ?? 0;
    const to = toPort ?? from;
    // Asked once per ingress rule of the stack: keep the ports in range first (usually one or none),
    // then make them unique and sorted, rather than a Set and a sort of every data port each time.
    const out: number[] = [];
    for (const port of dataPorts) if ((every || (port >= from && port <= to)) && !out.includes(port)) out.push(port);
    return out.length > 1 ? out.sort((a, b) => a - b) : out;
}

// ---- Where stores listen ------------------------------------------------------------

/** A store's endpoint (the stores catalogue's `endpoint` aspect, or a network face of a store), with its type and name. */
export interface StoreEndpoint extends EndpointSpec {
    type: string;
    what: string;
}

/** The network faces of stores that are not stores themselves: an RDS proxy, an EFS mount target. */
const NETWORK_FACES: readonly StoreEndpoint[] = [
    { type: "aws:rds/proxy:Proxy", what: "RDS proxy", securityGroups: "vpcSecurityGroupIds", engine: { path: "engineFamily", defaults: { POSTGRESQL: [5432], MYSQL: [3306], SQLSERVER: [1433] } } },
    { type: "aws:efs/mountTarget:MountTarget", what: "EFS mount target", securityGroups: "securityGroups", defaults: [2049] },
];

/**
 * Store types by where they listen: the stores catalogue's entries with an `endpoint` (one truth
 * for what a store is and where it listens), then the network faces above. Every property name is
 * from @pulumi/aws 7's `<resource>.d.ts` Args (test/policies/rules/exposure.test.ts checks them).
 */
export const STORE_ENDPOINTS: readonly StoreEndpoint[] = [...STORE_ENTRIES.filter((e) => e.endpoint).map((e) => ({ type: e.type, what: e.what, ...e.endpoint! })), ...NETWORK_FACES];

const SECURITY_GROUP_TYPES = ["aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"];

function plain(value: PropValue): PropValue {
    if (value instanceof SecretValue) return value.readable ? plain(value.plaintext as PropValue) : UNKNOWN;
    return value;
}

const splitPaths = new Map<string, readonly string[]>();

function at(props: Props, path: string): PropValue {
    let parts = splitPaths.get(path);
    if (!parts) splitPaths.set(path, (parts = path.split(".")));
    let current: PropValue = props;
    for (const part of parts) {
        current = plain(current);
        if (Array.isArray(current)) current = current[0];
        if (current === UNKNOWN) return UNKNOWN;
        if (current === null || current === undefined || typeof current !== "object") return undefined;
        current = (current as Props)[part];
    }
    return plain(current);
}

const engineOrders = new WeakMap<object, readonly string[]>();

/** An engine table's names, longest first (so "aurora-postgresql" wins over "aurora"), worked out once per table. */
function enginesLongestFirst(defaults: Readonly<Record<string, readonly number[]>>): readonly string[] {
    let order = engineOrders.get(defaults);
    if (!order) engineOrders.set(defaults, (order = Object.keys(defaults).sort((a, b) => b.length - a.length)));
    return order;
}

/** The ports a store listens on: its configured port (when known) and its engine's default. */
export function storePorts(store: ResourceView, endpoint: StoreEndpoint): number[] {
    const ports = new Set<number>();
    if (endpoint.port) {
        const port = at(store.props, endpoint.port);
        const n = typeof port === "number" ? port : typeof port === "string" && /^\d+$/.test(port) ? Number(port) : undefined;
        if (n !== undefined) ports.add(n);
    }
    let defaults = endpoint.defaults;
    if (endpoint.engine) {
        const engine = at(store.props, endpoint.engine.path);
        if (typeof engine === "string") {
            const match = enginesLongestFirst(endpoint.engine.defaults).find((k) => engine === k || engine.startsWith(`${k}-`));
            defaults = match ? endpoint.engine.defaults[match] : endpoint.engine.fallback;
        } else defaults = endpoint.engine.fallback;
    }
    for (const p of defaults ?? []) ports.add(p);
    return [...ports];
}

/** The stores behind one security group, with the ports they listen on. */
export interface GroupStores {
    ports: Set<number>;
    /** "RDS instance pii (5432)" */
    names: string[];
}

interface StoreIndex {
    byGroup: Map<ResourceView, GroupStores>;
    /** Stores whose security groups are not known (preview): their ports count for every group. */
    unplaced: GroupStores;
}

const indexes = new WeakMap<StackView, StoreIndex>();

function buildIndex(stack: StackView): StoreIndex {
    const byGroup = new Map<ResourceView, GroupStores>();
    const unplaced: GroupStores = { ports: new Set(), names: [] };
    const add = (into: GroupStores, ports: number[], name: string) => {
        ports.forEach((p) => into.ports.add(p));
        into.names.push(name);
    };
    for (const endpoint of STORE_ENDPOINTS) {
        for (const store of stack.ofType(endpoint.type)) {
            const ports = storePorts(store, endpoint);
            if (!ports.length) continue;
            const label = `${endpoint.what} ${store.name} (${ports.join(", ")})`;
            const groups = at(store.props, endpoint.securityGroups);
            const list = Array.isArray(groups) ? groups.map(plain) : groups === undefined || groups === null ? [] : [groups];
            for (const ref of list) {
                if (ref === UNKNOWN) {
                    add(unplaced, ports, label);
                    continue;
                }
                const group = resolveOfType(stack, ref as PropValue, SECURITY_GROUP_TYPES);
                if (!group) continue;
                let entry = byGroup.get(group);
                if (!entry) byGroup.set(group, (entry = { ports: new Set(), names: [] }));
                add(entry, ports, label);
            }
        }
    }
    return { byGroup, unplaced };
}

/** The data ports of the stores behind `group` (plus those of stores whose groups are not known yet). */
export function storesBehind(stack: StackView, group: ResourceView | undefined): GroupStores {
    let index = indexes.get(stack);
    if (!index) indexes.set(stack, (index = buildIndex(stack)));
    const own = group ? index.byGroup.get(group) : undefined;
    if (!own) return index.unplaced;
    if (!index.unplaced.names.length) return own;
    return { ports: new Set([...own.ports, ...index.unplaced.ports]), names: [...own.names, ...index.unplaced.names] };
}

/** The ports of every store in the stack, for a rule whose security group is not known yet. */
export function allStorePorts(stack: StackView): GroupStores {
    let index = indexes.get(stack);
    if (!index) indexes.set(stack, (index = buildIndex(stack)));
    const all: GroupStores = { ports: new Set(index.unplaced.ports), names: [...index.unplaced.names] };
    for (const entry of index.byGroup.values()) {
        entry.ports.forEach((p) => all.ports.add(p));
        all.names.push(...entry.names);
    }
    return all;
}

/** The security group a standalone rule belongs to: the resource, undefined when not in this stack, "unknown" during preview. */
export function groupOf(stack: StackView, ref: PropValue): ResourceView | undefined | "unknown" {
    const value = plain(ref);
    if (value === UNKNOWN) return "unknown";
    if (typeof value !== "string" || value === "") return undefined;
    return resolveOfType(stack, value, SECURITY_GROUP_TYPES);
}
