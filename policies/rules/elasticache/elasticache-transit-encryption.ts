import { readBool, readString } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const elasticacheTransitEncryption = defineResourceRule({
    id: "elasticache-transit-encryption",
    title: "ElastiCache requires TLS in transit",
    description: "transitEncryptionEnabled is true (unset is false) and transitEncryptionMode is not 'preferred' (which still accepts plaintext clients).",
    appi: APPI.security,
    securityHub: ["ElastiCache.5"],
    severity: "high",
    remediation: "Set transitEncryptionEnabled: true and transitEncryptionMode: 'required' (after clients have moved to TLS).",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/cluster:Cluster"],
    check(resource) {
        if (resource.type === "aws:elasticache/cluster:Cluster" && readString(resource.props, "replicationGroupId")) return notApplicable();
        if (!readBool(resource.props, "transitEncryptionEnabled", false)) return failIf(["transit encryption is off (transitEncryptionEnabled is false or unset)"]);
        const mode = readString(resource.props, "transitEncryptionMode");
        return failIf([mode === "preferred" && "transitEncryptionMode is 'preferred', so plaintext connections are still accepted; set it to 'required'"]);
    },
});
