// The CloudWatch namespace and metric names the compliance job publishes and Monitoring alarms on (one list,
// so a renamed metric cannot leave an alarm watching nothing). Every metric carries the dimension Stack.
export const COMPLIANCE_NAMESPACE = "APPI/Compliance";

export const COMPLIANCE_METRICS = {
    consentComplianceRate: "ConsentComplianceRate",
    usersMissingRequiredConsent: "UsersMissingRequiredConsent",
    deletionOverdue: "DeletionRequestsOverdue",
    deletionOldestOverdueMinutes: "DeletionOldestOverdueMinutes",
    dataSubjectRequestsOverdue: "DataSubjectRequestsOverdue",
    incidentsOverduePreliminary: "IncidentReportsOverduePreliminary",
    incidentsOverdueFinal: "IncidentReportsOverdueFinal",
    incidentsDueWithin24h: "IncidentReportsDueWithin24h",
    auditGaps: "AuditGaps",
    provisionRecordsPastRetention: "ProvisionRecordsPastRetention",
    /** Hours since the newest completed backup (automated snapshot or AWS Backup job) of the database. */
    backupAgeHours: "BackupAgeHours",
    /** Customer-managed keys with rotation off or not rotated within their period. */
    keysFailingRotation: "KeysFailingRotation",
    /** PII key versions: data or the rotation log disagree with the current version. */
    keyVersionMismatches: "KeyVersionMismatches",
    /** Published by the nightly drift audit (ci-delivery): mandatory findings on deployed state. */
    policyViolations: "PolicyViolations",
    /** 1 when the last restore drill failed or exceeded the RTO. */
    restoreDrillFailed: "RestoreDrillFailed",
    /** Seconds from the start of the last restore drill's restore to its verified copy (RTO: 28,800). */
    restoreDrillRecoverySeconds: "RestoreDrillRecoverySeconds",
} as const;

/** A backup older than this is missing (daily automated backups, with 2 hours of slack). */
export const BACKUP_MAX_AGE_HOURS = 26;
