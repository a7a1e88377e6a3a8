import { readBool, readString } from "../../core/props";
import { defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const kmsKeyRotation = defineResourceRule({
    id: "kms-key-rotation",
    title: "KMS keys rotate automatically",
    description: "enableKeyRotation is true (unset is false) on symmetric encryption keys; asymmetric and HMAC keys cannot rotate automatically.",
    appi: APPI.security,
    securityHub: ["KMS.4"],
    severity: "medium",
    remediation: "Set enableKeyRotation: true (rotationPeriodInDays 90-2560, default 365).",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:kms/key:Key"],
    check(resource) {
        const spec = readString(resource.props, "customerMasterKeySpec") ?? "SYMMETRIC_DEFAULT";
        const usage = readString(resource.props, "keyUsage") ?? "ENCRYPT_DECRYPT";
        if (spec !== "SYMMETRIC_DEFAULT" || usage !== "ENCRYPT_DECRYPT") return notApplicable();
        return failIf([!readBool(resource.props, "enableKeyRotation", false) && "automatic key rotation is off (enableKeyRotation is false or unset)"]);
    },
});
