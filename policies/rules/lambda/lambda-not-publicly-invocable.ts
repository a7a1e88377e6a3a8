import { readString } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

const FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl";

export const lambdaNotPubliclyInvocable = defineResourceRule({
    id: "lambda-not-publicly-invocable",
    title: "Lambda functions cannot be invoked by anyone",
    description:
        'A function URL uses authorizationType AWS_IAM (NONE lets anyone on the internet call it); a lambda permission naming principal "*" (or a service principal, which any account\'s resource of that service can use) also names sourceArn, sourceAccount or principalOrgId.',
    appi: APPI.accessControl,
    securityHub: ["Lambda.1"],
    severity: "critical",
    remediation:
        "Set authorizationType: \"AWS_IAM\" on function URLs (put an authenticated API Gateway or CloudFront with OAC in front for browsers), and give every lambda.Permission a sourceArn (and sourceAccount) or principalOrgId.",
    defaultEnforcement: "mandatory",
    resourceTypes: [FUNCTION_URL, "aws:lambda/permission:Permission"],
    check(resource) {
        if (resource.type === FUNCTION_URL) {
            const auth = readString(resource.props, "authorizationType");
            return failIf([auth !== "AWS_IAM" && `the function URL has authorizationType ${auth ?? "(unset)"}: anyone on the internet can invoke the function`]);
        }
        const principal = (readString(resource.props, "principal") ?? "").trim();
        const everyone = principal === "*";
        const service = /\.amazonaws\.com(\.cn)?$/.test(principal);
        if (!everyone && !service) return failIf([]);
        const scoped = [readString(resource.props, "sourceArn"), readString(resource.props, "sourceAccount"), readString(resource.props, "principalOrgId")].some((v) => v !== undefined && v.trim() !== "" && !/^[*?]+$/.test(v.trim()));
        if (scoped) return failIf([]);
        const urlAuth = readString(resource.props, "functionUrlAuthType");
        const who = everyone ? `principal "${principal}" (everyone)` : `service principal ${principal} (any account's ${principal.split(".")[0]} resource)`;
        return failIf([`the permission lets ${who} invoke the function without sourceArn, sourceAccount or principalOrgId${urlAuth === "NONE" ? ", through a function URL with no auth" : ""}`]);
    },
});
