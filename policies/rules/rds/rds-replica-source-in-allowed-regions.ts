import { readString } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { outsideAllowed, regionalArn } from "../_shared/residency";

export const rdsReplicaSourceInAllowedRegions = defineResourceRule({
    id: "rds-replica-source-in-allowed-regions",
    title: "Cross-region read replicas copy data only between allowed regions",
    description:
        "A read replica (replicateSourceDb on an instance, replicationSourceIdentifier on a cluster) given as an ARN from another region moves the data across regions: the source's region must be allowed as well as the replica's.",
    appi: APPI.crossBorder,
    securityHub: [],
    severity: "high",
    remediation: "Replicate only from and to allowed regions; remove the cross-region replica otherwise.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:rds/instance:Instance", "aws:rds/cluster:Cluster"],
    check(resource, { config }) {
        const key = resource.type === "aws:rds/cluster:Cluster" ? "replicationSourceIdentifier" : "replicateSourceDb";
        const source = readString(resource.props, key);
        if (!source) return notApplicable();
        const sourceRegion = regionalArn(source);
        if (!sourceRegion) return notApplicable(); // same-region replica, named by identifier
        const messages = [outsideAllowed(`replica source ${key}`, sourceRegion, config)];
        if (typeof resource.region === "string" && resource.region !== sourceRegion) {
            messages.push(outsideAllowed(`cross-region replica from ${sourceRegion}`, resource.region, config));
        }
        return failIf(messages);
    },
});
