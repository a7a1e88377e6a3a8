import { defineResourceRule } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { subnetsNotPublic } from "../_shared/subnets";
import { SUBNET_TOPOLOGY_TYPES } from "../_shared/network";

export const dbSubnetGroupPrivate = defineResourceRule({
    id: "db-subnet-group-private",
    title: "DB subnet groups contain only subnets without a route to the internet",
    description:
        "Every subnet of an aws:rds/subnetGroup has no route to an internet gateway (from its route table association, else the VPC's main route table; inline routes and aws:ec2/route resources) and does not map public IPs on launch.",
    appi: APPI.accessControl,
    securityHub: [],
    severity: "high",
    remediation: "Put databases in isolated subnets: a route table with no 0.0.0.0/0 route to an internet gateway, mapPublicIpOnLaunch: false.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:rds/subnetGroup:SubnetGroup"],
    reviews: SUBNET_TOPOLOGY_TYPES,
    check(resource, { stack }) {
        return subnetsNotPublic(resource.props, "subnetIds", stack);
    },
});
