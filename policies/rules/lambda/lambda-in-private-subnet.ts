import { readObject } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { subnetsNotPublic } from "../_shared/subnets";
import { SUBNET_TOPOLOGY_TYPES } from "../_shared/network";

export const lambdaInPrivateSubnet = defineResourceRule({
    id: "lambda-in-private-subnet",
    title: "Lambda functions run inside the VPC, in non-public subnets",
    description: "vpcConfig is set and every one of its subnetIds has no route to an internet gateway.",
    appi: APPI.accessControl,
    securityHub: ["Lambda.3"],
    severity: "high",
    remediation: "Set vpcConfig with the private (application) subnets and a security group; reach AWS APIs through VPC endpoints or a NAT gateway.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:lambda/function:Function"],
    reviews: SUBNET_TOPOLOGY_TYPES,
    check(resource, { stack }) {
        const vpcConfig = readObject(resource.props, "vpcConfig");
        if (!vpcConfig) return failIf(["the function runs outside the VPC (no vpcConfig)"]);
        return subnetsNotPublic(vpcConfig, "subnetIds", stack);
    },
});
