import { readString, readStrings } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { isPostgres } from "../_shared/rds";

export const rdsLogExports = defineResourceRule({
    id: "rds-log-exports",
    title: "PostgreSQL databases export their logs to CloudWatch",
    description: "enabledCloudwatchLogsExports includes 'postgresql' on PostgreSQL instances and clusters, so access records survive the database.",
    appi: APPI.auditTrail,
    securityHub: ["RDS.9"],
    severity: "low",
    remediation: "Set enabledCloudwatchLogsExports: ['postgresql'] (and 'iam-db-auth-error' where supported).",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:rds/instance:Instance", "aws:rds/cluster:Cluster"],
    check(resource) {
        if (!isPostgres(readString(resource.props, "engine"))) return notApplicable();
        return failIf([!readStrings(resource.props, "enabledCloudwatchLogsExports").includes("postgresql") && "PostgreSQL logs are not exported (enabledCloudwatchLogsExports lacks 'postgresql')"]);
    },
});
