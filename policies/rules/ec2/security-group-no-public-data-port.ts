import { CannotCheckError, readNumber, readObjects, readString, readStrings } from "../../core/props";
import { cannotCheck, combine, compliant, defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { resolveOfType } from "../../core/stack-view";
import { Outcome, Props, ResourceView, StackView } from "../../core/types";
import { APPI } from "../_shared/appi";
import { allStorePorts, groupOf, isPublicCidr, openedDataPorts, storesBehind } from "../_shared/ports";
import { referrersOf } from "../_shared/references";

const PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList";
const PREFIX_LIST_ENTRY = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry";

/** One ingress permission, whichever resource wrote it. */
interface Ingress {
    where: string;
    protocol: string | undefined;
    from: number | undefined;
    to: number | undefined;
    cidrs: string[];
    prefixLists: string[];
}

/** The CIDRs of a managed prefix list of this stack (inline entries and separate entry resources). */
function prefixListCidrs(stack: StackView, ref: string): string[] {
    const list = resolveOfType(stack, ref, [PREFIX_LIST]);
    if (!list) throw new CannotCheckError(ref, `prefix list ${ref} is not in this stack, so whether it holds public addresses could not be checked`);
    const inline = readObjects(list.props, "entries").map((e) => readString(e, "cidr") ?? "");
    const separate = referrersOf(stack, PREFIX_LIST_ENTRY, "prefixListId", list).map((e) => readString(e.props, "cidr") ?? "");
    return [...inline, ...separate].filter((c) => c !== "");
}

function problem(ingress: Ingress, group: ResourceView | undefined | "unknown", stack: StackView, configured: readonly number[]): Outcome {
    const behind = storesBehind(stack, group === "unknown" ? undefined : group);
    const ports = openedDataPorts(ingress.protocol, ingress.from, ingress.to, [...configured, ...behind.ports]);
    // A group not known yet (preview) may be in front of any store of the stack.
    const possible = group === "unknown" ? allStorePorts(stack) : undefined;
    const maybe = possible ? openedDataPorts(ingress.protocol, ingress.from, ingress.to, possible.ports).filter((p) => !ports.includes(p)) : [];
    if (!ports.length && !maybe.length) return compliant();
    const publicCidrs = ingress.cidrs.filter((c) => c.trim() !== "" && isPublicCidr(c));
    for (const ref of ingress.prefixLists) {
        if (prefixListCidrs(stack, ref).some(isPublicCidr)) publicCidrs.push(`prefix list ${ref}`);
    }
    if (!publicCidrs.length) return compliant();
    if (!ports.length) {
        return cannotCheck(`${ingress.where} opens port(s) ${maybe.join(", ")} to ${publicCidrs.join(", ")}; its security group is not known yet (computed during preview), so whether a store listens behind it could not be checked yet`);
    }
    const stores = behind.names.length ? ` (listening behind it: ${behind.names.join("; ")})` : "";
    return failIf([`${ingress.where} opens data port(s) ${ports.join(", ")} to ${publicCidrs.join(", ")}, which hold(s) public internet addresses${stores}`]);
}

/** Inline ingress (aws:ec2/securityGroup) or an aws:ec2/securityGroupRule: cidrBlocks + ipv6CidrBlocks + prefixListIds. */
function ec2Form(block: Props, where: string): Ingress {
    return {
        where,
        protocol: readString(block, "protocol"),
        from: readNumber(block, "fromPort"),
        to: readNumber(block, "toPort"),
        cidrs: [...readStrings(block, "cidrBlocks"), ...readStrings(block, "ipv6CidrBlocks")],
        prefixLists: readStrings(block, "prefixListIds").filter((p) => p.trim() !== ""),
    };
}

export const securityGroupNoPublicDataPort = defineResourceRule({
    id: "security-group-no-public-data-port",
    title: "No security group opens a data port to the internet",
    description:
        "No ingress rule opens a data port to a CIDR that holds any public address (IPv4 or IPv6, any prefix length, split ranges such as 0.0.0.0/1 + 128.0.0.0/1, prefix lists of this stack), whichever way it is written: inline ingress on aws:ec2/securityGroup, aws:ec2/securityGroupRule (type ingress) or aws:vpc/securityGroupIngressRule. Data ports are the configured dataPorts plus, for a group in front of a store, the store's own port and its engine's default; a port range covering one, or protocol -1, opens it.",
    appi: APPI.accessControl,
    securityHub: ["EC2.19", "EC2.18"],
    severity: "critical",
    remediation: "Allow data ports only from the application tier's security group (referencedSecurityGroupId / sourceSecurityGroupId), never from a CIDR holding internet addresses.",
    defaultEnforcement: "mandatory",
    resourceTypes: [
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ],
    // Prefix lists are judged through the rules that name them: any public entry counts.
    reviews: [PREFIX_LIST, PREFIX_LIST_ENTRY],
    check(resource, { config, stack }) {
        const ports = config.dataPorts;
        switch (resource.type) {
            case "aws:ec2/securityGroupRule:SecurityGroupRule": {
                if (readString(resource.props, "type") !== "ingress") return notApplicable();
                const group = groupOf(stack, resource.props.securityGroupId);
                return problem(ec2Form(resource.props, "the rule"), group, stack, ports);
            }
            case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
                const group = groupOf(stack, resource.props.securityGroupId);
                const cidrs = [readString(resource.props, "cidrIpv4"), readString(resource.props, "cidrIpv6")].filter((c): c is string => !!c);
                const prefixList = readString(resource.props, "prefixListId");
                const ingress: Ingress = {
                    where: "the rule",
                    protocol: readString(resource.props, "ipProtocol"),
                    from: readNumber(resource.props, "fromPort"),
                    to: readNumber(resource.props, "toPort"),
                    cidrs,
                    prefixLists: prefixList ? [prefixList] : [],
                };
                return problem(ingress, group, stack, ports);
            }
            default:
                // Each inline rule separately, so one unknown rule does not hide a definite violation in another.
                return combine([() => compliant(), ...readObjects(resource.props, "ingress").map((block, i) => () => problem(ec2Form(block, `ingress[${i}]`), resource, stack, ports))]);
        }
    },
});
