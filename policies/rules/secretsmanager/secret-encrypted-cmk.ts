import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

export const secretEncryptedCmk = defineResourceRule({
    id: "secret-encrypted-cmk",
    title: "Secrets Manager secrets are encrypted with a customer-managed KMS key",
    description: "kmsKeyId is set to a customer-managed key; unset means aws/secretsmanager.",
    appi: APPI.breachSafeHarbour,
    securityHub: [],
    severity: "medium",
    remediation: "Set kmsKeyId to a customer-managed aws.kms.Key whose key policy limits who may decrypt.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:secretsmanager/secret:Secret"],
    check(resource, { stack }) {
        return failIf([cmkProblem("the secret", classifyKey(resource.props, "kmsKeyId", stack), "kmsKeyId")]);
    },
});
