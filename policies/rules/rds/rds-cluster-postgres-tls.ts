import { readString } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { CLUSTER_PARAMETER_GROUP, isPostgres, postgresTlsProblems } from "../_shared/rds";

export const rdsClusterPostgresTls = defineResourceRule({
    id: "rds-cluster-postgres-tls",
    title: "Aurora PostgreSQL clusters force TLS at the configured minimum version",
    description:
        "An Aurora PostgreSQL (or Multi-AZ PostgreSQL) cluster uses a custom cluster parameter group (not default.*) that sets rds.force_ssl=1 and ssl_min_protocol_version at least minTlsVersion.",
    appi: APPI.security,
    securityHub: [],
    severity: "high",
    remediation: "Create an aws.rds.ClusterParameterGroup (family aurora-postgresql16) with rds.force_ssl=1 and ssl_min_protocol_version=TLSv1.3, and set dbClusterParameterGroupName on the cluster.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:rds/cluster:Cluster"],
    reviews: [CLUSTER_PARAMETER_GROUP],
    check(resource, { stack, config }) {
        if (!isPostgres(readString(resource.props, "engine"))) return notApplicable();
        return failIf(postgresTlsProblems(resource.props, "dbClusterParameterGroupName", CLUSTER_PARAMETER_GROUP, stack, config));
    },
});
