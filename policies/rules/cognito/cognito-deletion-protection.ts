import { readString } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI, isProdStack } from "../_shared/appi";

export const cognitoDeletionProtection = defineResourceRule({
    id: "cognito-deletion-protection",
    title: "Production user pools have deletion protection",
    description: "deletionProtection is ACTIVE (unset is INACTIVE) on Cognito user pools in production stacks: deleting a pool deletes every user's profile.",
    appi: APPI.accuracyAvailability,
    securityHub: [],
    severity: "medium",
    remediation: "Set deletionProtection: 'ACTIVE'.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:cognito/userPool:UserPool"],
    check(resource, { stack }) {
        if (!isProdStack(stack.stack)) return notApplicable();
        return failIf([readString(resource.props, "deletionProtection") !== "ACTIVE" && "deletion protection is not ACTIVE"]);
    },
});
