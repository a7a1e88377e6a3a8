import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

export const logGroupEncryptedCmk = defineResourceRule({
    id: "log-group-encrypted-cmk",
    title: "Log groups are encrypted with a customer-managed key",
    description: "kmsKeyId is set: logs may carry personal data, and without a key CloudWatch uses its own service key.",
    appi: APPI.breachSafeHarbour,
    securityHub: [],
    severity: "low",
    remediation: "Set kmsKeyId to a customer-managed key whose policy allows logs.<region>.amazonaws.com.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:cloudwatch/logGroup:LogGroup"],
    check(resource, { stack }) {
        return failIf([cmkProblem("the log group", classifyKey(resource.props, "kmsKeyId", stack), "kmsKeyId")]);
    },
});
