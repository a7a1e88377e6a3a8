import { cannotCheck, compliant, defineResourceRule, notApplicable } from "../../core/rule";
import { Outcome, UNKNOWN } from "../../core/types";
import { APPI } from "../_shared/appi";
import { FLOWS, flowEnds, flowSpecOf } from "../_shared/flows";
import { outsideAllowed } from "../_shared/residency";

/**
 * Every end of every data flow stays in the allowed regions: the catalogue in
 * _shared/flows.ts says which properties copy, replicate, subscribe, target or
 * forward data, and how each names the other end (a region, an ARN, an endpoint,
 * a resource of this stack).
 */
export const dataFlowsInAllowedRegions = defineResourceRule({
    id: "data-flows-in-allowed-regions",
    title: "Data is copied, replicated and forwarded only to allowed regions",
    description:
        "Every property that copies, replicates, subscribes, targets or forwards data (replicas, global clusters/tables/datastores, snapshot and backup copies, S3/ECR/EFS replication, subscriptions, event targets and sources, dead-letter queues, delivery streams, log destinations, replica keys) names a place in allowedRegions: the region of an ARN, of an `*.REGION.amazonaws.com` endpoint, a region property, or the region of the resource of this stack it names. A copy's own region, and the far end of a cross-region flow, count too; a global datastore/cluster needs two allowed regions; a destination outside AWS fails; global services (IAM, CloudFront, Route 53, ...) place no data.",
    appi: APPI.crossBorder,
    securityHub: [],
    severity: "high",
    remediation:
        "Point the copy, replica, subscription, target or destination at a resource in an allowed region (ap-northeast-3 for a DR copy inside Japan, if allowed), or remove it. A transfer abroad or outside AWS needs a documented Art. 28 basis (consent or equivalent measures) recorded as an exception.",
    defaultEnforcement: "mandatory",
    resourceTypes: FLOWS.map((spec) => spec.type),
    check(resource, { config, stack }): Outcome {
        const spec = flowSpecOf(resource.type);
        if (!spec) return notApplicable();
        const messages: string[] = [];
        const unknowns: string[] = [];
        if (spec.global && config.allowedRegions.length < 2) {
            messages.push(`a global resource replicates to a second region, but only ${config.allowedRegions.join(", ")} is allowed`);
        }
        let crossRegion = false;
        for (const { what, place } of flowEnds(resource, spec, stack)) {
            if (place.kind === "region") {
                const message = outsideAllowed(what, place.region, config);
                if (message) messages.push(place.how ? `${message} (${place.how})` : message);
                if (place.region !== resource.region) crossRegion = true;
            } else if (place.kind === "unknown") unknowns.push(place.message);
            else if (place.kind === "outside-aws") messages.push(`${what} sends data outside AWS to ${place.host}, where no allowed region can be shown`);
        }
        // The resource is the other end: a copy receives the data; a cross-region flow starts or ends here.
        if (spec.isCopy || crossRegion) {
            const own = spec.isCopy ? "the copy" : "this end of the cross-region flow";
            if (resource.region === UNKNOWN) unknowns.push(`the region of ${own} is not known yet (computed during preview), so it could not be checked yet`);
            else if (resource.region === undefined) messages.push(`the region of ${own} cannot be determined`);
            else {
                const message = outsideAllowed(own, resource.region, config);
                if (message) messages.push(message.replace(" sends data to ", " is in "));
            }
        }
        if (messages.length) return { kind: "non-compliant", messages: [...messages, ...unknowns.map((u) => `(also) ${u}`)] };
        if (unknowns.length) return cannotCheck(unknowns.join("; "));
        return compliant();
    },
});
