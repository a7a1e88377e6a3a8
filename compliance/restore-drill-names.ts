// The restore drill's fixed names, shared by the drill (compliance/restore-drill.ts) and the program that grants
// it exactly these (components/restore-drill.ts), without pulling the drill's runtime into the Pulumi program.

/** The spec's recovery time objective: 8 hours. */
export const RTO_SECONDS = 8 * 3600;
export const DRILL_TAG_KEY = "appi:drill";
export const DRILL_TAG_VALUE = "restore";
export const DRILL_EXPIRES_TAG_KEY = "appi:drill-expires";
/** The temporary instance is `<namePrefix>-drill-<yyyymmddhhmm>`: IAM scopes the drill's deletes to this prefix. */
export const DRILL_INFIX = "-drill-";
/** The login of migrations/0017. */
export const DRILL_DB_USER = "restore_drill";
