import { readBool } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const codebuildProjectNotPrivileged = defineResourceRule({
    id: "codebuild-project-not-privileged",
    title: "CodeBuild projects do not run privileged",
    description: "environment.privilegedMode is false (the default): privileged builds get root on the build host.",
    appi: APPI.accessControl,
    securityHub: ["CodeBuild.5"],
    severity: "medium",
    remediation: "Set environment.privilegedMode: false; build images with a dedicated, isolated project if needed.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:codebuild/project:Project"],
    check(resource) {
        return failIf([readBool(resource.props, "environment.privilegedMode", false) && "the build runs in privileged mode"]);
    },
});
