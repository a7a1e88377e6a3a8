import { readBool } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI, isProdStack } from "../_shared/appi";

export const elasticacheMultiAz = defineResourceRule({
    id: "elasticache-multi-az",
    title: "Production caches are Multi-AZ with automatic failover",
    description: "multiAzEnabled and automaticFailoverEnabled are true (unset is false) on replication groups in production stacks.",
    appi: APPI.accuracyAvailability,
    securityHub: ["ElastiCache.3"],
    severity: "low",
    remediation: "Set multiAzEnabled: true, automaticFailoverEnabled: true and numCacheClusters >= 2.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:elasticache/replicationGroup:ReplicationGroup"],
    check(resource, { stack }) {
        if (!isProdStack(stack.stack)) return notApplicable();
        return failIf([
            !readBool(resource.props, "multiAzEnabled", false) && "Multi-AZ is off (multiAzEnabled is false or unset)",
            !readBool(resource.props, "automaticFailoverEnabled", false) && "automatic failover is off (automaticFailoverEnabled is false or unset)",
        ]);
    },
});
