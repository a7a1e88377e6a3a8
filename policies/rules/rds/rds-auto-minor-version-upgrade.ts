import { readBool } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const rdsAutoMinorVersionUpgrade = defineResourceRule({
    id: "rds-auto-minor-version-upgrade",
    title: "Databases take minor-version (security) upgrades automatically",
    description: "autoMinorVersionUpgrade is not false (the default is true) on RDS instances and Aurora cluster instances.",
    appi: APPI.security,
    securityHub: ["RDS.13"],
    severity: "low",
    remediation: "Leave autoMinorVersionUpgrade unset or true, with a maintenance window outside business hours.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"],
    check(resource) {
        return failIf([!readBool(resource.props, "autoMinorVersionUpgrade", true) && "automatic minor version upgrades are off"]);
    },
});
