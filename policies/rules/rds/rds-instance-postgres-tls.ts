import { readString } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { isPostgres, PARAMETER_GROUP, postgresTlsProblems } from "../_shared/rds";

export const rdsInstancePostgresTls = defineResourceRule({
    id: "rds-instance-postgres-tls",
    title: "PostgreSQL instances force TLS at the configured minimum version",
    description:
        "A PostgreSQL RDS instance uses a custom parameter group (not default.*) that sets rds.force_ssl=1 and ssl_min_protocol_version at least minTlsVersion (default TLSv1.3).",
    appi: APPI.security,
    securityHub: [],
    severity: "high",
    remediation: "Create an aws.rds.ParameterGroup (family postgres16) with rds.force_ssl=1 and ssl_min_protocol_version=TLSv1.3, and set parameterGroupName on the instance.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:rds/instance:Instance"],
    reviews: [PARAMETER_GROUP],
    check(resource, { stack, config }) {
        if (!isPostgres(readString(resource.props, "engine"))) return notApplicable();
        return failIf(postgresTlsProblems(resource.props, "parameterGroupName", PARAMETER_GROUP, stack, config));
    },
});
