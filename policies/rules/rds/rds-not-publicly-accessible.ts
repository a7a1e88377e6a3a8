import { readBool } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const rdsNotPubliclyAccessible = defineResourceRule({
    id: "rds-not-publicly-accessible",
    title: "Databases are not publicly accessible",
    description: "publiclyAccessible is false (the default) on RDS instances and Aurora cluster instances.",
    appi: APPI.accessControl,
    securityHub: ["RDS.2"],
    severity: "critical",
    remediation: "Set publiclyAccessible: false and reach the database through the application tier, a bastion or RDS Proxy.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"],
    check(resource) {
        return failIf([readBool(resource.props, "publiclyAccessible", false) && "the database is publicly accessible (publiclyAccessible: true)"]);
    },
});
