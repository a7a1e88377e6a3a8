import { known } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { UNKNOWN } from "../../core/types";
import { APPI } from "../_shared/appi";
import { refersTo } from "../_shared/network";
import { outsideAllowed } from "../_shared/residency";

export const elasticacheGlobalDatastoreInAllowedRegions = defineResourceRule({
    id: "elasticache-global-datastore-in-allowed-regions",
    title: "ElastiCache global datastores span only allowed regions",
    description:
        "A global datastore (aws:elasticache/globalReplicationGroup) replicates a cache to a second region: it needs at least two allowed regions, and every member replication group in the stack must be in one.",
    appi: APPI.crossBorder,
    securityHub: [],
    severity: "high",
    remediation: "Remove the global datastore, or allow a second region in Japan (ap-northeast-3) and keep every member there.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"],
    check(resource, { config, stack }) {
        const messages: (string | undefined)[] = [];
        if (config.allowedRegions.length < 2) messages.push(`a global datastore replicates to a second region, but only ${config.allowedRegions.join(", ")} is allowed`);
        for (const group of stack.ofType("aws:elasticache/replicationGroup:ReplicationGroup")) {
            const isPrimary = refersTo(stack, resource.props.primaryReplicationGroupId, group, `${resource.name}.primaryReplicationGroupId`);
            const member = group.props.globalReplicationGroupId !== undefined && refersTo(stack, group.props.globalReplicationGroupId, resource, `${group.name}.globalReplicationGroupId`);
            if (!isPrimary && !member) continue;
            if (group.region === UNKNOWN) known(UNKNOWN, `${group.name}.region`);
            if (typeof group.region === "string") messages.push(outsideAllowed(`member ${group.name}`, group.region, config));
        }
        return failIf(messages);
    },
});
