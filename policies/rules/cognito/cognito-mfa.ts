import { readString } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const cognitoMfa = defineResourceRule({
    id: "cognito-mfa",
    title: "User pools offer multi-factor authentication",
    description: "mfaConfiguration is ON or OPTIONAL (unset is OFF).",
    appi: APPI.accessControl,
    securityHub: [],
    severity: "medium",
    remediation: "Set mfaConfiguration: 'ON' (or 'OPTIONAL') with softwareTokenMfaConfiguration enabled.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:cognito/userPool:UserPool"],
    check(resource) {
        const mfa = readString(resource.props, "mfaConfiguration") ?? "OFF";
        return failIf([mfa !== "ON" && mfa !== "OPTIONAL" && `multi-factor authentication is ${mfa}`]);
    },
});
