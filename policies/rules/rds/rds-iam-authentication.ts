import { readBool } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const rdsIamAuthentication = defineResourceRule({
    id: "rds-iam-authentication",
    title: "Databases accept IAM authentication",
    description: "iamDatabaseAuthenticationEnabled is true (unset is false) on RDS instances and clusters, so applications use short-lived tokens instead of stored passwords.",
    appi: APPI.accessControl,
    securityHub: ["RDS.10", "RDS.12"],
    severity: "medium",
    remediation: "Set iamDatabaseAuthenticationEnabled: true and grant rds_iam to application roles.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:rds/instance:Instance", "aws:rds/cluster:Cluster"],
    check(resource) {
        return failIf([!readBool(resource.props, "iamDatabaseAuthenticationEnabled", false) && "IAM database authentication is off"]);
    },
});
