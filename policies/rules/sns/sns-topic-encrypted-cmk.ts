import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

export const snsTopicEncryptedCmk = defineResourceRule({
    id: "sns-topic-encrypted-cmk",
    title: "SNS topics are encrypted with a customer-managed KMS key",
    description: "kmsMasterKeyId names a customer-managed key, not alias/aws/sns; unset means unencrypted.",
    appi: APPI.breachSafeHarbour,
    securityHub: ["SNS.1"],
    severity: "medium",
    remediation: "Set kmsMasterKeyId to a customer-managed key whose policy lets the publishing services use it.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:sns/topic:Topic"],
    check(resource, { stack }) {
        const key = classifyKey(resource.props, "kmsMasterKeyId", stack);
        if (key.kind === "none") return failIf(["the topic is not encrypted (kmsMasterKeyId unset)"]);
        return failIf([cmkProblem("the topic", key, "kmsMasterKeyId")]);
    },
});
