// Cognito PreSignUp trigger: accepts or rejects a sign-up before Cognito creates the user. It writes
// nothing (the user row appears in PostConfirmation, once the e-mail is confirmed); throwing makes
// Cognito refuse the sign-up and show the error message to the user.
import type { Context, PreSignUpTriggerEvent } from "aws-lambda";
import { errorSummary, logEvent } from "../shared/log";
import { parseSignUp, SignUpRejected } from "../shared/signup";

const TRIGGERS = new Set(["PreSignUp_SignUp", "PreSignUp_AdminCreateUser", "PreSignUp_ExternalProvider"]);

export async function handler(event: PreSignUpTriggerEvent, context?: Pick<Context, "awsRequestId">): Promise<PreSignUpTriggerEvent> {
    const requestId = context?.awsRequestId;
    const trigger = typeof event?.triggerSource === "string" ? event.triggerSource : "unknown";
    if (!TRIGGERS.has(trigger)) {
        logEvent({ trigger, requestId, outcome: "error", errorType: "WrongTrigger" });
        throw new Error(`pre-signup: unexpected triggerSource ${JSON.stringify(trigger).slice(0, 80)} (expected one of ${[...TRIGGERS].join(", ")})`);
    }
    if (!event.request?.userAttributes || typeof event.request.userAttributes !== "object") {
        logEvent({ trigger, requestId, outcome: "error", errorType: "MalformedEvent" });
        throw new Error("pre-signup: malformed event: request.userAttributes is missing");
    }
    try {
        // The consent travels in ValidationData (not stored by Cognito) or ClientMetadata.
        parseSignUp(event.request.userAttributes, [event.request.validationData ?? {}, event.request.clientMetadata ?? {}]);
    } catch (err) {
        if (err instanceof SignUpRejected) logEvent({ trigger, requestId, outcome: "rejected", problems: err.problems.length });
        else logEvent({ trigger, requestId, outcome: "error", ...errorSummary(err) });
        throw err;
    }
    logEvent({ trigger, requestId, outcome: "ok" });
    // Never auto-confirm: the user proves the e-mail address is theirs.
    return event;
}
