import { readBool } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

export const rdsPerformanceInsightsCmk = defineResourceRule({
    id: "rds-performance-insights-cmk",
    title: "Performance Insights data is encrypted with a customer-managed key",
    description: "Where performanceInsightsEnabled is true, performanceInsightsKmsKeyId names a customer-managed key: Performance Insights keeps SQL text, which may contain personal data.",
    appi: APPI.breachSafeHarbour,
    securityHub: [],
    severity: "low",
    remediation: "Set performanceInsightsKmsKeyId to the database's customer-managed key.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance", "aws:rds/cluster:Cluster"],
    check(resource, { stack }) {
        if (!readBool(resource.props, "performanceInsightsEnabled", false)) return notApplicable();
        return failIf([cmkProblem("Performance Insights", classifyKey(resource.props, "performanceInsightsKmsKeyId", stack), "performanceInsightsKmsKeyId")]);
    },
});
