import { readObjects, readString } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { outsideAllowed } from "../_shared/residency";

export const secretReplicasInAllowedRegions = defineResourceRule({
    id: "secret-replicas-in-allowed-regions",
    title: "Secrets Manager secrets replicate only to allowed regions",
    description: "Every entry of a secret's `replicas` names a region in allowedRegions.",
    appi: APPI.crossBorder,
    securityHub: [],
    severity: "high",
    remediation: "Remove replicas outside the allowed regions (e.g. keep only ap-northeast-3 for a Japanese DR copy).",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:secretsmanager/secret:Secret"],
    check(resource, { config }) {
        return failIf(
            readObjects(resource.props, "replicas").map((replica, i) => {
                const region = readString(replica, "region");
                if (!region) return `replicas[${i}] names no region`;
                return outsideAllowed(`secret replica ${i}`, region, config);
            }),
        );
    },
});
