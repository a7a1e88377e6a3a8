import { readObjects, readString } from "../../core/props";
import { cannotCheck, defineResourceRule, failIf } from "../../core/rule";
import { resolveOfType } from "../../core/stack-view";
import { APPI } from "../_shared/appi";
import { outsideAllowed, regionalArn } from "../_shared/residency";

export const backupCopyInAllowedRegions = defineResourceRule({
    id: "backup-copy-in-allowed-regions",
    title: "AWS Backup copies recovery points only to vaults in allowed regions",
    description: "Every copyActions[].destinationVaultArn of every rule of an aws:backup/plan is a vault in an allowed region.",
    appi: APPI.crossBorder,
    securityHub: [],
    severity: "high",
    remediation: "Copy backups only to vaults in allowed regions (ap-northeast-3 for a DR copy inside Japan).",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:backup/plan:Plan"],
    check(resource, { config, stack }) {
        const messages: (string | undefined)[] = [];
        const unresolved: string[] = [];
        readObjects(resource.props, "rules").forEach((rule, i) => {
            readObjects(rule, "copyActions").forEach((copy, j) => {
                const vault = readString(copy, "destinationVaultArn");
                if (!vault) return;
                const region = regionalArn(vault) ?? resolveRegion(vault);
                if (region) messages.push(outsideAllowed(`rules[${i}].copyActions[${j}]`, region, config));
                else unresolved.push(`the region of destination vault ${vault} could not be checked (not an ARN and not in this stack)`);
            });
        });
        const outcome = failIf(messages);
        return outcome.kind === "compliant" && unresolved.length ? cannotCheck(unresolved.join("; ")) : outcome;

        function resolveRegion(ref: string): string | undefined {
            const target = resolveOfType(stack, ref, ["aws:backup/vault:Vault"]);
            return typeof target?.region === "string" ? target.region : undefined;
        }
    },
});
