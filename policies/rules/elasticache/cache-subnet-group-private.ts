import { defineResourceRule } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { subnetsNotPublic } from "../_shared/subnets";
import { SUBNET_TOPOLOGY_TYPES } from "../_shared/network";

export const cacheSubnetGroupPrivate = defineResourceRule({
    id: "cache-subnet-group-private",
    title: "Cache subnet groups contain only subnets without a route to the internet",
    description: "Every subnet of an aws:elasticache/subnetGroup (and of a serverless cache's subnetIds) has no route to an internet gateway and does not map public IPs on launch.",
    appi: APPI.accessControl,
    securityHub: [],
    severity: "high",
    remediation: "Put caches in isolated subnets: no internet-gateway route, mapPublicIpOnLaunch: false.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:elasticache/subnetGroup:SubnetGroup", "aws:elasticache/serverlessCache:ServerlessCache"],
    reviews: SUBNET_TOPOLOGY_TYPES,
    check(resource, { stack }) {
        return subnetsNotPublic(resource.props, "subnetIds", stack);
    },
});
