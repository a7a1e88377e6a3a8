import { compliant, defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI, isProdStack } from "../_shared/appi";

export const databaseProtectedInPulumi = defineResourceRule({
    id: "database-protected-in-pulumi",
    title: "Production data stores are protected in Pulumi",
    description: "Databases, caches and tables in production stacks carry the `protect: true` resource option, so `pulumi destroy` or a replacement cannot delete them by accident.",
    appi: APPI.accuracyAvailability,
    securityHub: [],
    severity: "low",
    remediation: "Pass { protect: true } in the resource options of production data stores.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:elasticache/replicationGroup:ReplicationGroup", "aws:dynamodb/table:Table"],
    check(resource, { stack }) {
        if (!isProdStack(stack.stack)) return notApplicable();
        // Runners that cannot see resource options (stack exports without them) say nothing.
        if (resource.options?.protect === undefined) return compliant();
        return failIf([!resource.options.protect && "the resource is not protected (protect: true resource option)"]);
    },
});
