import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

export const codebuildProjectEncryptedCmk = defineResourceRule({
    id: "codebuild-project-encrypted-cmk",
    title: "CodeBuild projects encrypt artifacts with a customer-managed KMS key",
    description: "encryptionKey names a customer-managed key; unset means aws/s3.",
    appi: APPI.breachSafeHarbour,
    securityHub: [],
    severity: "medium",
    remediation: "Set encryptionKey to the ARN of a customer-managed key.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:codebuild/project:Project"],
    check(resource, { stack }) {
        return failIf([cmkProblem("build artifacts", classifyKey(resource.props, "encryptionKey", stack), "encryptionKey")]);
    },
});
