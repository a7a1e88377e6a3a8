// Public, private or isolated: a subnet is public when instances in it get
// public IPs (mapPublicIpOnLaunch) or its route table (explicit association,
// else the VPC's main table) has a route to an internet gateway.
import { CannotCheckError, known, readBool, readObjects } from "../../core/props";
import { IndexedStackView } from "../../core/stack-view";
import { PropValue, ResourceView, StackView } from "../../core/types";
import { referrersOf } from "./references";

export const SUBNET = "aws:ec2/subnet:Subnet";
export const ROUTE_TABLE = "aws:ec2/routeTable:RouteTable";
export const DEFAULT_ROUTE_TABLE = "aws:ec2/defaultRouteTable:DefaultRouteTable";
export const ROUTE = "aws:ec2/route:Route";
export const ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation";
export const MAIN_ROUTE_TABLE_ASSOCIATION = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation";
export const INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway";
export const VPC = "aws:ec2/vpc:Vpc";

/** What "is this subnet private" reads: the subnets and everything that routes them (for the coverage line). */
export const SUBNET_TOPOLOGY_TYPES = [SUBNET, ROUTE_TABLE, DEFAULT_ROUTE_TABLE, ROUTE, ROUTE_TABLE_ASSOCIATION, MAIN_ROUTE_TABLE_ASSOCIATION, INTERNET_GATEWAY] as const;

function resolveAll(stack: StackView, ref: string): readonly ResourceView[] {
    const indexed = stack as Partial<IndexedStackView>;
    if (typeof indexed.resolveAll === "function") return indexed.resolveAll(ref);
    const one = stack.resolve(ref);
    return one ? [one] : [];
}

/** Whether `ref` (at `path`) names `target`; throws CannotCheckError when the reference is unknown. */
export function refersTo(stack: StackView, ref: PropValue, target: ResourceView, path: string): boolean {
    const value = known(ref, path);
    return typeof value === "string" && resolveAll(stack, value).includes(target);
}

function findOfType(stack: StackView, ref: PropValue, types: readonly string[], path: string): ResourceView | undefined {
    const value = known(ref, path);
    if (typeof value !== "string" || value === "") return undefined;
    return resolveAll(stack, value).find((r) => types.includes(r.type));
}

function isInternetGateway(stack: StackView, gatewayId: PropValue, path: string): boolean {
    const value = known(gatewayId, path);
    if (typeof value !== "string" || value === "") return false;
    if (value.startsWith("igw-")) return true;
    return resolveAll(stack, value).some((r) => r.type === INTERNET_GATEWAY);
}

/** Describes the route to an internet gateway in `table`, if any. */
function internetRoute(stack: StackView, table: ResourceView): string | undefined {
    const routes = readObjects(table.props, "routes");
    for (let i = 0; i < routes.length; i++) {
        if (isInternetGateway(stack, routes[i].gatewayId, `${table.name}.routes[${i}].gatewayId`)) return `route table ${table.name} routes to an internet gateway`;
    }
    for (const route of referrersOf(stack, ROUTE, "routeTableId", table)) {
        if (isInternetGateway(stack, route.props.gatewayId, `${route.name}.gatewayId`)) return `route ${route.name} sends route table ${table.name} to an internet gateway`;
    }
    return undefined;
}

/** The route table a subnet uses: its explicit association, else its VPC's main table (undefined: the VPC's untouched main table, local routes only). */
function routeTableOf(stack: StackView, subnet: ResourceView): ResourceView | undefined {
    for (const assoc of referrersOf(stack, ROUTE_TABLE_ASSOCIATION, "subnetId", subnet)) {
        const table = findOfType(stack, assoc.props.routeTableId, [ROUTE_TABLE, DEFAULT_ROUTE_TABLE], `${assoc.name}.routeTableId`);
        if (!table) throw new CannotCheckError(`${assoc.name}.routeTableId`, `route table association ${assoc.name} names a route table that is not in this stack, so subnet ${subnet.name} could not be checked`);
        return table;
    }
    const vpcRef = known(subnet.props.vpcId, `${subnet.name}.vpcId`);
    const vpc = typeof vpcRef === "string" ? resolveAll(stack, vpcRef).find((r) => r.type === VPC) : undefined;
    if (vpc) {
        for (const main of referrersOf(stack, MAIN_ROUTE_TABLE_ASSOCIATION, "vpcId", vpc)) {
            return findOfType(stack, main.props.routeTableId, [ROUTE_TABLE, DEFAULT_ROUTE_TABLE], `${main.name}.routeTableId`);
        }
    }
    if (vpc) {
        const defaultId = vpc.props.defaultRouteTableId;
        for (const table of stack.ofType(DEFAULT_ROUTE_TABLE)) {
            const tableId = known(table.props.defaultRouteTableId, `${table.name}.defaultRouteTableId`);
            if (typeof defaultId === "string" && tableId === defaultId) return table;
        }
    }
    return undefined;
}

/**
 * Why the subnet a reference names is public, or undefined when it is not.
 * Throws CannotCheckError when the reference or its routes are unknown, or the
 * subnet is not in this stack.
 */
export function publicSubnetReason(stack: StackView, subnetRef: PropValue, path: string): string | undefined {
    const ref = known(subnetRef, path);
    if (typeof ref !== "string" || ref === "") throw new TypeError(`${path} should be a subnet id, got ${JSON.stringify(ref)}`);
    const subnet = resolveAll(stack, ref).find((r) => r.type === SUBNET);
    if (!subnet) throw new CannotCheckError(path, `subnet ${ref} is not in this stack, so whether it routes to the internet could not be checked`);
    if (readBool(subnet.props, "mapPublicIpOnLaunch", false)) return `subnet ${subnet.name} gives instances public IPs (mapPublicIpOnLaunch)`;
    const table = routeTableOf(stack, subnet);
    const route = table && internetRoute(stack, table);
    return route ? `subnet ${subnet.name} is public: ${route}` : undefined;
}

export type SubnetEgress = "internet gateway" | "NAT gateway" | "none";

function isNatTarget(natGatewayId: PropValue, path: string): boolean {
    const value = known(natGatewayId, path);
    return typeof value === "string" && value !== "";
}

/**
 * Where a subnet's traffic leaves the VPC, by the same derivation the rules use:
 * "internet gateway" when publicSubnetReason() calls it public, "NAT gateway" when
 * its route table sends traffic to a NAT gateway, else "none" (isolated).
 */
export function subnetEgress(stack: StackView, subnet: ResourceView): SubnetEgress {
    if (publicSubnetReason(stack, subnet.urn, `${subnet.name}`)) return "internet gateway";
    const table = routeTableOf(stack, subnet);
    if (!table) return "none";
    const inline = readObjects(table.props, "routes");
    if (inline.some((route, i) => isNatTarget(route.natGatewayId, `${table.name}.routes[${i}].natGatewayId`))) return "NAT gateway";
    const routes = referrersOf(stack, ROUTE, "routeTableId", table);
    return routes.some((route) => isNatTarget(route.props.natGatewayId, `${route.name}.natGatewayId`)) ? "NAT gateway" : "none";
}
