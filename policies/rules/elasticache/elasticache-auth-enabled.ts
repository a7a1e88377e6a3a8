import { readArray, readString } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const elasticacheAuthEnabled = defineResourceRule({
    id: "elasticache-auth-enabled",
    title: "Caches require authentication",
    description: "A replication group sets authToken or userGroupIds (RBAC); serverless caches set userGroupId. Without them, anyone who reaches the port can read the cache.",
    appi: APPI.accessControl,
    securityHub: ["ElastiCache.6"],
    severity: "medium",
    remediation: "Attach an aws.elasticache.UserGroup (userGroupIds) with per-application users, or set an authToken kept as a secret.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/serverlessCache:ServerlessCache"],
    check(resource) {
        if (resource.type === "aws:elasticache/serverlessCache:ServerlessCache") return failIf([!readString(resource.props, "userGroupId") && "no userGroupId: the cache accepts the default user"]);
        // An auth token is a secret (or unknown in preview): that one is set is visible even when its content is not.
        const token = resource.props.authToken;
        const hasToken = token !== undefined && token !== null && token !== "";
        return failIf([!hasToken && readArray(resource.props, "userGroupIds").length === 0 && "no authToken and no userGroupIds: the cache accepts unauthenticated clients"]);
    },
});
