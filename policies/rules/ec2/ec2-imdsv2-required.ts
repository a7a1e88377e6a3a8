import { readString } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const ec2Imdsv2Required = defineResourceRule({
    id: "ec2-imdsv2-required",
    title: "Instances require IMDSv2",
    description: "metadataOptions.httpTokens is 'required' on instances and launch templates: IMDSv1 lets SSRF bugs steal the instance role's credentials.",
    appi: APPI.accessControl,
    securityHub: ["EC2.8", "EC2.170"],
    severity: "medium",
    remediation: "Set metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 }.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate"],
    check(resource) {
        if (readString(resource.props, "metadataOptions.httpEndpoint") === "disabled") return failIf([]);
        const tokens = readString(resource.props, "metadataOptions.httpTokens") ?? "optional";
        return failIf([tokens !== "required" && `IMDSv1 is allowed (metadataOptions.httpTokens is ${tokens})`]);
    },
});
