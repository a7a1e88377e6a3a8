import { readBool } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const kmsKeySingleRegion = defineResourceRule({
    id: "kms-key-single-region",
    title: "KMS keys are single-region",
    description: "multiRegion is false (the default): a multi-region key can be replicated to, and decrypt data in, regions outside Japan.",
    appi: APPI.crossBorder,
    securityHub: [],
    severity: "high",
    remediation: "Create the key with multiRegion: false; use a separate key per allowed region.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey"],
    check(resource) {
        if (resource.type === "aws:kms/replicaKey:ReplicaKey") return failIf(["a replica of a multi-region key copies key material to another region"]);
        return failIf([readBool(resource.props, "multiRegion", false) && "the key is multi-region (multiRegion: true)"]);
    },
});
