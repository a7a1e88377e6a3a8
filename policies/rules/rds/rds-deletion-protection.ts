import { readBool } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI, isProdStack } from "../_shared/appi";

export const rdsDeletionProtection = defineResourceRule({
    id: "rds-deletion-protection",
    title: "Production databases have deletion protection",
    description: "deletionProtection is true (unset is false) on RDS instances and Aurora clusters in production stacks (stack names containing 'prod').",
    appi: APPI.accuracyAvailability,
    securityHub: ["RDS.7", "RDS.8"],
    severity: "medium",
    remediation: "Set deletionProtection: true (and protect: true in the Pulumi resource options).",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:rds/instance:Instance", "aws:rds/cluster:Cluster"],
    check(resource, { stack }) {
        if (!isProdStack(stack.stack)) return notApplicable();
        return failIf([!readBool(resource.props, "deletionProtection", false) && "deletion protection is off (deletionProtection is false or unset)"]);
    },
});
