import { readObject } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

export const lambdaEnvironmentEncryptedCmk = defineResourceRule({
    id: "lambda-environment-encrypted-cmk",
    title: "Lambda environment variables are encrypted with a customer-managed key",
    description: "A function with environment variables sets kmsKeyArn; otherwise they are encrypted with aws/lambda.",
    appi: APPI.breachSafeHarbour,
    securityHub: [],
    severity: "low",
    remediation: "Set kmsKeyArn to a customer-managed key; keep secrets in Secrets Manager rather than in environment variables.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:lambda/function:Function"],
    check(resource, { stack }) {
        const variables = readObject(resource.props, "environment.variables");
        if (!variables || Object.keys(variables).length === 0) return notApplicable();
        return failIf([cmkProblem("the environment variables", classifyKey(resource.props, "kmsKeyArn", stack), "kmsKeyArn")]);
    },
});
