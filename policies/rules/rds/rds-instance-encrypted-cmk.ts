import { readBool } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

export const rdsInstanceEncryptedCmk = defineResourceRule({
    id: "rds-instance-encrypted-cmk",
    title: "RDS instances are encrypted with a customer-managed KMS key",
    description:
        "storageEncrypted is true (unset is false) and kmsKeyId names a customer-managed key, not alias/aws/rds.",
    appi: APPI.breachSafeHarbour,
    securityHub: ["RDS.3"],
    severity: "critical",
    remediation: "Set storageEncrypted: true and kmsKeyId to a customer-managed aws.kms.Key. An existing instance cannot be encrypted in place: restore from a snapshot copied with the new key.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:rds/instance:Instance"],
    check(resource, { stack }) {
        if (!readBool(resource.props, "storageEncrypted", false)) return failIf(["instance storage is not encrypted (storageEncrypted is false or unset)"]);
        return failIf([cmkProblem("instance storage", classifyKey(resource.props, "kmsKeyId", stack), "kmsKeyId")]);
    },
});
