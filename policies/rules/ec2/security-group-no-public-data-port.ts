import { readNumber, readObjects, readString, readStrings } from "../../core/props";
import { combine, compliant, defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { Props } from "../../core/types";
import { APPI } from "../_shared/appi";
import { isWorldCidr, openedDataPorts } from "../_shared/ports";

function problem(where: string, protocol: string | undefined, from: number | undefined, to: number | undefined, cidrs: string[], dataPorts: readonly number[]): string | undefined {
    const world = cidrs.filter(isWorldCidr);
    if (!world.length) return undefined;
    const ports = openedDataPorts(protocol, from, to, dataPorts);
    return ports.length ? `${where} opens data port(s) ${ports.join(", ")} to ${world.join(" and ")}` : undefined;
}

/** Inline ingress (aws:ec2/securityGroup) or an aws:ec2/securityGroupRule: cidrBlocks + ipv6CidrBlocks. */
function ec2Form(block: Props, where: string, dataPorts: readonly number[]): string | undefined {
    return problem(where, readString(block, "protocol"), readNumber(block, "fromPort"), readNumber(block, "toPort"), [...readStrings(block, "cidrBlocks"), ...readStrings(block, "ipv6CidrBlocks")], dataPorts);
}

export const securityGroupNoPublicDataPort = defineResourceRule({
    id: "security-group-no-public-data-port",
    title: "No security group opens a data port to the internet",
    description:
        "No ingress rule opens a configured data port (5432, 6379, ...) to 0.0.0.0/0 or ::/0, whichever way it is written: inline ingress on aws:ec2/securityGroup, aws:ec2/securityGroupRule (type ingress) or aws:vpc/securityGroupIngressRule (cidrIpv4/cidrIpv6; ipProtocol -1 opens every port).",
    appi: APPI.accessControl,
    securityHub: ["EC2.19", "EC2.18"],
    severity: "critical",
    remediation: "Allow data ports only from the application tier's security group (referencedSecurityGroupId / sourceSecurityGroupId), never from a CIDR covering the internet.",
    defaultEnforcement: "mandatory",
    resourceTypes: [
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ],
    check(resource, { config }) {
        const ports = config.dataPorts;
        switch (resource.type) {
            case "aws:ec2/securityGroupRule:SecurityGroupRule":
                if (readString(resource.props, "type") !== "ingress") return notApplicable();
                return failIf([ec2Form(resource.props, "the rule", ports)]);
            case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
                const cidrs = [readString(resource.props, "cidrIpv4"), readString(resource.props, "cidrIpv6")].filter((c): c is string => !!c);
                return failIf([problem("the rule", readString(resource.props, "ipProtocol"), readNumber(resource.props, "fromPort"), readNumber(resource.props, "toPort"), cidrs, ports)]);
            }
            default:
                // Each inline rule separately, so one unknown rule does not hide a definite violation in another.
                return combine([() => compliant(), ...readObjects(resource.props, "ingress").map((block, i) => () => failIf([ec2Form(block, `ingress[${i}]`, ports)]))]);
        }
    },
});
