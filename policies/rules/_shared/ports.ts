// Which data ports an ingress rule opens to the whole internet.
import ipaddr from "ipaddr.js";

/** True for 0.0.0.0/0, ::/0 and any other spelling of "every address". */
export function isWorldCidr(cidr: string): boolean {
    // Only a /0 prefix covers every address; parse just those (e.g. "::0/0", "0.0.0.0/0").
    if (!cidr.trim().endsWith("/0")) return false;
    try {
        const [, prefix] = ipaddr.parseCIDR(cidr.trim());
        return prefix === 0;
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
export function openedDataPorts(protocol: string | number | undefined, fromPort: number | undefined, toPort: number | undefined, dataPorts: readonly number[]): number[] {
    if (isAllProtocols(protocol)) return [...dataPorts];
    if (!isTcp(protocol)) return [];
    const from = fromPort ?? 0;
    const to = toPort ?? from;
    // fromPort/toPort 0..0 or -1 with tcp means nothing sensible; only real ranges count.
    return dataPorts.filter((port) => port >= from && port <= to);
}
