import { readBool, readObject, readObjects } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { Props, ResourceView, StackView } from "../../core/types";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem, KeyKind } from "../_shared/kms";

/** Account-level EBS defaults set in this stack for the resource's region. */
function accountDefaults(stack: StackView, resource: ResourceView): { encrypted: boolean; key?: Props } {
    const sameRegion = (r: ResourceView) => r.region === resource.region;
    const encrypted = stack.ofType("aws:ebs/encryptionByDefault:EncryptionByDefault").some((r) => sameRegion(r) && readBool(r.props, "enabled", true));
    const key = stack.ofType("aws:ebs/defaultKmsKey:DefaultKmsKey").find(sameRegion);
    return { encrypted, key: key?.props };
}

function checkDevice(device: Props, what: string, stack: StackView, defaults: { encrypted: boolean; key?: Props }): string | undefined {
    const encrypted = readBool(device, "encrypted", defaults.encrypted);
    if (!encrypted) return `${what} is not encrypted`;
    let key: KeyKind = classifyKey(device, "kmsKeyId", stack);
    if (key.kind === "none" && defaults.key) key = classifyKey(defaults.key, "keyArn", stack);
    return cmkProblem(what, key, "kmsKeyId");
}

export const ebsEncryptedCmk = defineResourceRule({
    id: "ebs-encrypted-cmk",
    title: "EBS volumes and instance disks are encrypted with a customer-managed KMS key",
    description:
        "aws:ebs/volume, and the root and EBS block devices of aws:ec2/instance, are encrypted (unset is false unless aws:ebs/encryptionByDefault is on) with a customer-managed key (kmsKeyId, or the account default aws:ebs/defaultKmsKey).",
    appi: APPI.breachSafeHarbour,
    securityHub: ["EC2.3", "EC2.7"],
    severity: "high",
    remediation: "Set encrypted: true and kmsKeyId to a customer-managed key on every volume and block device, or enable aws.ebs.EncryptionByDefault with an aws.ebs.DefaultKmsKey.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:ebs/volume:Volume", "aws:ec2/instance:Instance"],
    check(resource, { stack }) {
        const defaults = accountDefaults(stack, resource);
        if (resource.type === "aws:ebs/volume:Volume") return failIf([checkDevice(resource.props, "the volume", stack, defaults)]);
        const root = readObject(resource.props, "rootBlockDevice") ?? {};
        return failIf([
            checkDevice(root, "the root block device", stack, defaults),
            ...readObjects(resource.props, "ebsBlockDevices").map((d, i) => checkDevice(d, `ebsBlockDevices[${i}]`, stack, defaults)),
        ]);
    },
});
