import { readString } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const cognitoAdvancedSecurity = defineResourceRule({
    id: "cognito-advanced-security",
    title: "User pools enforce threat protection (advanced security)",
    description: "userPoolAddOns.advancedSecurityMode is ENFORCED (unset is OFF; AUDIT only logs), so compromised credentials and risky sign-ins are blocked.",
    appi: APPI.accessControl,
    securityHub: ["Cognito.1"],
    severity: "low",
    remediation: "Set userPoolAddOns: { advancedSecurityMode: 'ENFORCED' } (needs userPoolTier PLUS).",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:cognito/userPool:UserPool"],
    check(resource) {
        const mode = readString(resource.props, "userPoolAddOns.advancedSecurityMode") ?? "OFF";
        return failIf([mode !== "ENFORCED" && `advanced security is ${mode}, not ENFORCED`]);
    },
});
