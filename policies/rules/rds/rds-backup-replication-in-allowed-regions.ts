import { cannotCheck, defineResourceRule, failIf } from "../../core/rule";
import { UNKNOWN } from "../../core/types";
import { APPI } from "../_shared/appi";
import { outsideAllowed } from "../_shared/residency";

export const rdsBackupReplicationInAllowedRegions = defineResourceRule({
    id: "rds-backup-replication-in-allowed-regions",
    title: "RDS automated backups are replicated only to allowed regions",
    description: "An aws:rds/instanceAutomatedBackupsReplication copies a database's automated backups into its own (effective) region, which must be allowed.",
    appi: APPI.crossBorder,
    securityHub: [],
    severity: "high",
    remediation: "Create the replication with a provider in an allowed region (ap-northeast-3 for a DR copy inside Japan), or remove it.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"],
    check(resource, { config }) {
        if (resource.region === UNKNOWN) return cannotCheck("the replication's destination region is not known yet (computed during preview), so it could not be checked yet");
        if (resource.region === undefined) return failIf(["the replication's destination region cannot be determined"]);
        return failIf([outsideAllowed("automated backup replication", resource.region, config)]);
    },
});
