import { defineResourceRule, failIf } from "../../core/rule";
import { referrersOf } from "../_shared/references";
import { APPI } from "../_shared/appi";

export const secretRotation = defineResourceRule({
    id: "secret-rotation",
    title: "Secrets rotate automatically",
    description: "An aws:secretsmanager/secretRotation exists for the secret (RDS-managed master passwords rotate by themselves and are not aws:secretsmanager/secret resources).",
    appi: APPI.accessControl,
    securityHub: ["SecretsManager.1"],
    severity: "low",
    remediation: "Add an aws.secretsmanager.SecretRotation with a rotation Lambda and rotationRules, or use manageMasterUserPassword for database credentials.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:secretsmanager/secret:Secret"],
    check(resource, { stack }) {
        const rotated = referrersOf(stack, "aws:secretsmanager/secretRotation:SecretRotation", "secretId", resource).length > 0;
        return failIf([!rotated && "the secret has no rotation configured"]);
    },
});
