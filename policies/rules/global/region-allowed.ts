import { AWS_PROVIDER_TYPE, isAwsType } from "../../core/region";
import { cannotCheck, compliant, defineResourceRule, fail, notApplicable } from "../../core/rule";
import { UNKNOWN } from "../../core/types";
import { APPI } from "../_shared/appi";

/** Every AWS resource, and every AWS provider, lives in an allowed region. */
export const regionAllowed = defineResourceRule({
    id: "region-allowed",
    title: "Resources and providers stay in the allowed regions",
    description:
        "Every AWS resource's effective region (its own `region` property, else its provider's region, else the stack's aws:region) is in allowedRegions; an explicit provider configured outside the list is itself a violation.",
    appi: APPI.crossBorder,
    securityHub: [],
    severity: "critical",
    remediation:
        "Create the resource in an allowed region: remove or correct its `region` property, or pass a provider whose `region` is allowed. Delete providers configured for other regions, or add the region to allowedRegions only with a documented Art. 28 basis (consent or equivalent measures).",
    defaultEnforcement: "mandatory",
    resourceTypes: "*",
    check(resource, { config }) {
        if (!isAwsType(resource.type)) return notApplicable();
        const what = resource.type === AWS_PROVIDER_TYPE ? "AWS provider" : "resource";
        if (resource.region === UNKNOWN) return cannotCheck(`the ${what}'s region is not known yet (computed during preview), so it could not be checked yet`);
        if (resource.region === undefined) {
            return fail(`the ${what}'s region cannot be determined (no region property, provider region or aws:region); set one of ${config.allowedRegions.join(", ")}`);
        }
        if (config.allowedRegions.includes(resource.region)) return compliant();
        const source =
            resource.type === AWS_PROVIDER_TYPE
                ? "its region setting"
                : typeof resource.props.region === "string"
                  ? "its own region property"
                  : resource.provider && typeof resource.provider.props.region === "string"
                    ? `its provider ${resource.provider.name}`
                    : "the stack's aws:region";
        return fail(`${what} is in ${resource.region} (from ${source}), outside the allowed regions ${config.allowedRegions.join(", ")}`);
    },
});
