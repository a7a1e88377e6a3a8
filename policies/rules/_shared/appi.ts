// The APPI articles rules cite, written once so reports group them consistently.
export const APPI = {
    security: "Art. 23 (security control measures)",
    crossBorder: "Art. 28 (cross-border provision; Art. 23 understanding of the foreign environment)",
    breachSafeHarbour: "Art. 26 (breach report; encryption safe harbour) and Art. 23 (security control measures)",
    accuracyAvailability: "Art. 22 (accuracy and availability of data) and Art. 23 (security control measures)",
    auditTrail: "Art. 23 (security control measures: records of access and handling)",
    accessControl: "Art. 23 (security control measures: access control)",
    supervision: "Art. 24 (supervision of employees) and Art. 23 (security control measures)",
} as const;

/** Stacks where production-only advice (Multi-AZ, deletion protection) applies; an unnamed stack counts as prod. */
export function isProdStack(stack: string | undefined): boolean {
    return stack === undefined || /prod/i.test(stack);
}
