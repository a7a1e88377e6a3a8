import { readBool, readString } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

export const elasticacheEncryptedCmk = defineResourceRule({
    id: "elasticache-encrypted-cmk",
    title: "ElastiCache data is encrypted at rest with a customer-managed KMS key",
    description:
        "Replication groups set atRestEncryptionEnabled (unset is false) and kmsKeyId; serverless caches set kmsKeyId; a standalone cache cluster cannot be encrypted at rest and fails.",
    appi: APPI.breachSafeHarbour,
    securityHub: ["ElastiCache.4"],
    severity: "high",
    remediation: "Use an aws.elasticache.ReplicationGroup with atRestEncryptionEnabled: true and kmsKeyId set to a customer-managed key (serverless: kmsKeyId).",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/serverlessCache:ServerlessCache", "aws:elasticache/cluster:Cluster"],
    check(resource, { stack }) {
        if (resource.type === "aws:elasticache/cluster:Cluster") {
            if (readString(resource.props, "replicationGroupId")) return notApplicable(); // a member: checked on its replication group
            return failIf(["a standalone cache cluster has no encryption at rest; use a replication group with atRestEncryptionEnabled"]);
        }
        if (resource.type === "aws:elasticache/replicationGroup:ReplicationGroup" && !readBool(resource.props, "atRestEncryptionEnabled", false)) {
            return failIf(["encryption at rest is off (atRestEncryptionEnabled is false or unset)"]);
        }
        return failIf([cmkProblem("cache data", classifyKey(resource.props, "kmsKeyId", stack), "kmsKeyId")]);
    },
});
