// What the corpus knows the pack does not (yet) decide as it should, each with the reason.
// The corpus test fails when a listed gap starts being caught or a listed disagreement
// stops happening, so this list stays honest: delete the entry when that happens.
export type RunnerName = "audit" | "offline" | "crossguard";

/** A mutation whose expectation some runners do not meet. */
export interface KnownGap {
    mutation: string;
    /** The runners that miss it (all three when absent). */
    runners?: RunnerName[];
    reason: string;
}

/** A rule on which one runner answers differently from the audit (the reference), for the reason given. */
export interface KnownDisagreement {
    rule: string;
    runner: RunnerName;
    reason: string;
}

const SEALED_SECRET =
    "a stack export holds a secret's ciphertext only: the audit reports the value as could-not-be-checked (advisory, never a pass or a silent fail); CrossGuard and the offline check read the plaintext and decide";

export const knownGaps: KnownGap[] = [
    { mutation: "region/provider-region-secret", runners: ["audit"], reason: SEALED_SECRET },
    { mutation: "kms/rotation-secret", runners: ["audit"], reason: SEALED_SECRET },
    { mutation: "rds/backup-secret", runners: ["audit"], reason: SEALED_SECRET },
    { mutation: "logs/retention-secret", runners: ["audit"], reason: SEALED_SECRET },
    { mutation: "rds/multi-az-secret", runners: ["audit"], reason: SEALED_SECRET },
    {
        mutation: "rds/publicly-accessible-only-in-outputs",
        runners: ["crossguard"],
        reason: "CrossGuard's per-resource phase judges what the program asks for (inputs); a public flag only AWS recorded is drift that shows in state: the audit and the offline check, which read recorded outputs, catch it",
    },
    {
        mutation: "rds/not-protected-in-pulumi",
        runners: ["offline"],
        reason: "the offline check runs the program under Pulumi's mocks, which do not pass resource options (protect) to the runner",
    },
];

export const knownDisagreements: KnownDisagreement[] = [
    {
        rule: "store-backups",
        runner: "crossguard",
        reason: "a backup retention unknown during preview: the audit and the offline check report store-backups as could-not-be-checked, CrossGuard stays silent on it (rds-instance-backup-retention still reports it unchecked in all three)",
    },
    {
        rule: "database-protected-in-pulumi",
        runner: "crossguard",
        reason: "the engine always tells CrossGuard whether a resource is protected, and the program does not protect its prod data stores; a stack export omits protect: false and the mocks record no options, so the audit and the offline check cannot see it (they stay silent rather than guess)",
    },
];

/**
 * Findings the program itself still has on its compliant prod stack, each an advisory the reports show
 * (never exempted): the corpus baseline tolerates exactly these. The test fails when one stops happening.
 */
export interface KnownProgramFinding {
    /** `rule|urn` of the finding. */
    finding: string;
    reason: string;
}

export const knownProgramFindings: KnownProgramFinding[] = [];
