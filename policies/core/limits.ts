// The one source of the compliance limits the program and the pack share: the
// program's config validation (components/config.ts) accepts exactly the values
// the pack passes by default (policies/core/config.ts), so a stack the program
// accepts never fails the pack on a default it did not know about.
// Kept free of imports: the pack is published on its own (policies/ alone).

/** APPI Art. 28: personal data stays in Japan; both Japanese AWS regions are "in Japan" (Tokyo, Osaka). */
export const JAPAN_REGIONS = ["ap-northeast-1", "ap-northeast-3"] as const;

/** TLS versions a PostgreSQL parameter group can name, weakest first. */
export const TLS_VERSIONS = ["TLSv1.2", "TLSv1.3"] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** The spec: TLS 1.3 for every connection to the data tier. */
export const MIN_TLS_VERSION: TlsVersion = "TLSv1.3";

/** TLS versions at or above the minimum: what the program lets a stack configure. */
export const ACCEPTED_TLS_VERSIONS: readonly TlsVersion[] = TLS_VERSIONS.slice(TLS_VERSIONS.indexOf(MIN_TLS_VERSION));

/** APPI Art. 22/23 and the spec: at least 14 days of backups, snapshots and point-in-time recovery. */
export const MIN_BACKUP_RETENTION_DAYS = 14;
/** RDS's and ElastiCache's largest automated retention. */
export const MAX_BACKUP_RETENTION_DAYS = 35;

/** Audit trail (Art. 23 records of handling): a year of logs at least. */
export const MIN_LOG_RETENTION_DAYS = 365;
/** CloudWatch's largest finite retention (10 years). */
export const MAX_LOG_RETENTION_DAYS = 3653;
