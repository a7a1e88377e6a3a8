import { readBool } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

export const rdsClusterEncryptedCmk = defineResourceRule({
    id: "rds-cluster-encrypted-cmk",
    title: "Aurora / RDS clusters are encrypted with a customer-managed KMS key",
    description: "storageEncrypted is true (unset is false) and kmsKeyId names a customer-managed key, not alias/aws/rds.",
    appi: APPI.breachSafeHarbour,
    securityHub: ["RDS.27"],
    severity: "critical",
    remediation:
        "Set storageEncrypted: true and kmsKeyId to a customer-managed aws.kms.Key (with rotation). An existing cluster cannot be encrypted in place: restore a snapshot copied with the new key.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:rds/cluster:Cluster"],
    check(resource, { stack }) {
        const encrypted = readBool(resource.props, "storageEncrypted", false);
        if (!encrypted) return failIf(["cluster storage is not encrypted (storageEncrypted is false or unset)"]);
        return failIf([cmkProblem("cluster storage", classifyKey(resource.props, "kmsKeyId", stack), "kmsKeyId")]);
    },
});
