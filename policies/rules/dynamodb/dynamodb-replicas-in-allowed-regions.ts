import { readObjects, readString } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { outsideAllowed } from "../_shared/residency";

export const dynamodbReplicasInAllowedRegions = defineResourceRule({
    id: "dynamodb-replicas-in-allowed-regions",
    title: "DynamoDB global-table replicas stay in allowed regions",
    description: "Every entry of a table's `replicas` (global tables) has a regionName in allowedRegions; an aws:dynamodb/tableReplica resource is checked by region-allowed.",
    appi: APPI.crossBorder,
    securityHub: [],
    severity: "high",
    remediation: "Remove replicas outside the allowed regions.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:dynamodb/table:Table"],
    check(resource, { config }) {
        return failIf(
            readObjects(resource.props, "replicas").map((replica, i) => {
                const region = readString(replica, "regionName");
                if (!region) return `replicas[${i}] names no regionName`;
                return outsideAllowed(`table replica ${i}`, region, config);
            }),
        );
    },
});
