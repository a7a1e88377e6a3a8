import { readArray } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const defaultSecurityGroupClosed = defineResourceRule({
    id: "default-security-group-closed",
    title: "The VPC's default security group allows no traffic",
    description: "An aws:ec2/defaultSecurityGroup adopted by the stack has no ingress and no egress rules, so nothing lands in it by accident with access.",
    appi: APPI.accessControl,
    securityHub: ["EC2.2"],
    severity: "medium",
    remediation: "Adopt the default security group with aws.ec2.DefaultSecurityGroup and empty ingress/egress.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"],
    check(resource) {
        return failIf([
            readArray(resource.props, "ingress").length > 0 && "the default security group has ingress rules",
            readArray(resource.props, "egress").length > 0 && "the default security group has egress rules",
        ]);
    },
});
