import { readObject } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const codebuildProjectInVpc = defineResourceRule({
    id: "codebuild-project-in-vpc",
    title: "CodeBuild projects run inside the VPC",
    description: "vpcConfig is set, so builds that reach the database (migrations) do so privately.",
    appi: APPI.accessControl,
    securityHub: [],
    severity: "low",
    remediation: "Set vpcConfig with private subnets and a security group.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:codebuild/project:Project"],
    check(resource) {
        return failIf([!readObject(resource.props, "vpcConfig") && "the project runs outside the VPC (no vpcConfig)"]);
    },
});
