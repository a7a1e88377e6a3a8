import { readObject, readObjects, readString } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

// Names that say the value is a credential. A build that needs one reads it at run time
// (type PARAMETER_STORE or SECRETS_MANAGER, or an IAM role), never from the project definition.
const CREDENTIAL_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL)/i;

/** `https://user:pass@host/...` or `https://token@host/...`: a credential written into a source URL. */
function credentialInUrl(location: string | undefined): boolean {
    if (!location) return false;
    return /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]+@/i.test(location.trim());
}

export const codebuildNoStoredCredentials = defineResourceRule({
    id: "codebuild-no-stored-credentials",
    title: "CodeBuild projects store no credentials in their source URLs or plaintext environment variables",
    description:
        "No source or secondary source location carries a user name or token (https://user:token@...), and no environment variable named like a credential (password, secret, token, API or access key) has type PLAINTEXT (the default): the project definition is readable by anyone with codebuild:BatchGetProjects and is kept in the Pulumi state.",
    appi: APPI.accessControl,
    securityHub: ["CodeBuild.1", "CodeBuild.2"],
    severity: "critical",
    remediation:
        "Fetch private source without a stored credential (an S3 bundle uploaded by the workflow, or a CodeConnections connection), and give credentials to the build as environment variables of type SECRETS_MANAGER or PARAMETER_STORE, or through the service role (IAM database authentication).",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:codebuild/project:Project"],
    check(resource) {
        const sources = [readObject(resource.props, "source"), ...readObjects(resource.props, "secondarySources")].filter((s) => s !== undefined);
        const problems = sources.map((source, i) => credentialInUrl(readString(source, "location")) && `${i === 0 ? "the source" : `secondary source ${i}`} location carries a credential (user:token@)`);
        for (const variable of readObjects(resource.props, "environment.environmentVariables")) {
            const name = readString(variable, "name") ?? "";
            const type = readString(variable, "type") ?? "PLAINTEXT";
            if (type === "PLAINTEXT" && CREDENTIAL_NAME.test(name)) problems.push(`environment variable ${name} is PLAINTEXT: a credential stored in the project definition`);
        }
        return failIf(problems);
    },
});
