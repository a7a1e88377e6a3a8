import { readBool } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI, isProdStack } from "../_shared/appi";

export const rdsMultiAz = defineResourceRule({
    id: "rds-multi-az",
    title: "Production RDS instances are Multi-AZ",
    description: "multiAz is true (unset is false) on non-Aurora RDS instances in production stacks.",
    appi: APPI.accuracyAvailability,
    securityHub: ["RDS.5"],
    severity: "medium",
    remediation: "Set multiAz: true.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:rds/instance:Instance"],
    check(resource, { stack }) {
        if (!isProdStack(stack.stack)) return notApplicable();
        return failIf([!readBool(resource.props, "multiAz", false) && "the instance is single-AZ (multiAz is false or unset)"]);
    },
});
