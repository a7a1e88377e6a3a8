// The restore drill (issue 12, "Drills"; `npm run drill:restore`, compliance/restore-drill-cli.ts).
//   AWS:   restore the source instance to its latest restorable time as a temporary instance (drill prefix, isolated
//          data-tier subnet group, the data security group, private, same KMS key, tagged appi:drill=restore with an
//          expiry), wait until available within a time budget, verify it, and delete it in every case; leftovers of
//          earlier drills older than N hours are deleted first.
//   Local: the same verification against a server started from a pg_basebackup (compliance/restore-drill-local.ts).
// Verification: every migration applied with its checksum, personal-data row counts against the source, a sample of
// level-2 fields decrypts, RLS enabled and forced on every personal-data table, the audit triggers present.
// The result has per-check pass/fail and counts only (no PII, no user ids); it is recorded with record_drill_result
// (recovery time against the 8-hour RTO) and published as RestoreDrillFailed (1: failed or over the RTO).
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DBInstance, DeleteDBInstanceCommand, DescribeDBInstancesCommand, RDSClient, RestoreDBInstanceToPointInTimeCommand } from "@aws-sdk/client-rds";
import pg from "pg";
import { migrationStatus } from "../db/migrate";
import { PiiCipher } from "../lib/crypto";
import { putMetrics, recordDrillResult } from "./jobs";
import { COMPLIANCE_METRICS } from "./metric-names";
import { DRILL_EXPIRES_TAG_KEY, DRILL_INFIX, DRILL_TAG_KEY, DRILL_TAG_VALUE, RTO_SECONDS } from "./restore-drill-names";

export { DRILL_DB_USER, DRILL_EXPIRES_TAG_KEY, DRILL_INFIX, DRILL_TAG_KEY, DRILL_TAG_VALUE, RTO_SECONDS } from "./restore-drill-names";

/** Personal-data tables: row counts against the source, RLS, audit trigger. */
export const PERSONAL_DATA_TABLES = ["users", "encryption_metadata", "consent_records", "deletion_requests", "data_subject_requests", "third_party_provisions", "erasure_steps"] as const;
/** Tables holding rows about users besides those: RLS enabled and forced on them as well. */
export const USER_AUDIT_TABLES = ["encryption_audit", "audit_log", "erasure_log", "key_rotation_progress"] as const;

export type CheckName = "migrations" | "row-counts" | "decrypt-sample" | "rls" | "audit-triggers" | "instance";

export interface DrillCheck {
    name: CheckName;
    ok: boolean;
    /** What was found: names of tables, migrations and counts, never a value or a user id. */
    detail: string;
    /** How long the check took. */
    ms?: number;
}

export interface VerifyResult {
    ok: boolean;
    checks: DrillCheck[];
    rowCounts: Record<string, { source: number | null; restored: number | null }>;
    decrypted: { sampled: number; failed: number };
}

export interface VerifyOptions {
    /** The source database (the counts the restored copy is compared with). */
    source: pg.ClientConfig;
    /** The application's key set (KMS in AWS, the test keyring locally). */
    cipher: PiiCipher;
    /** Level-2 fields to decrypt (default 20, at most 1000). */
    sampleSize?: number;
    migrationsDir?: string;
}

async function withClient<T>(config: pg.ClientConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client(config);
    client.on("error", () => undefined);
    await client.connect();
    try {
        return await fn(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

async function rowCounts(c: pg.ClientBase): Promise<Map<string, number | null>> {
    const { rows } = await c.query("SELECT table_name, row_count FROM restore_drill_row_counts()");
    return new Map(rows.map((r) => [r.table_name as string, r.row_count === null ? null : Number(r.row_count)]));
}

async function sample(c: pg.ClientBase, n: number): Promise<{ user_id: string; field_name: string; ciphertext: Buffer }[]> {
    return (await c.query("SELECT user_id, field_name, ciphertext FROM restore_drill_sample($1)", [n])).rows;
}

/** A check that threw fails with the error's message (database and SDK messages name objects, not values). */
async function check(name: CheckName, fn: () => Promise<Omit<DrillCheck, "name">>): Promise<DrillCheck> {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    try {
        return { name, ...(await fn()), ms: ms() };
    } catch (err) {
        return { name, ok: false, detail: `could not be checked: ${err instanceof Error ? err.message : String(err)}`, ms: ms() };
    }
}

/** Verifies a restored database against its source; every check runs, whatever the others found. */
export async function verifyRestoredDatabase(restored: pg.ClientConfig, options: VerifyOptions): Promise<VerifyResult> {
    const sampleSize = Math.max(1, Math.min(1000, options.sampleSize ?? 20));
    const counts: VerifyResult["rowCounts"] = {};
    const decrypted = { sampled: 0, failed: 0 };
    const checks = await withClient(restored, async (db) => {
        const out: DrillCheck[] = [];

        out.push(await check("migrations", async () => {
            // db/migrate.ts throws on an applied migration whose checksum differs or whose file is gone.
            const status = await migrationStatus(restored, { dir: options.migrationsDir });
            if (status.pending.length) return { ok: false, detail: `${status.pending.length} migration(s) not applied: ${status.pending.map((p) => p.name).join(", ")}` };
            return { ok: true, detail: `${status.applied.length} migration(s) applied, checksums match` };
        }));

        out.push(await check("row-counts", async () => {
            const [src, dst] = [await withClient(options.source, rowCounts), await rowCounts(db)];
            const problems: string[] = [];
            for (const table of PERSONAL_DATA_TABLES) {
                const s = src.get(table) ?? null;
                const r = dst.get(table) ?? null;
                counts[table] = { source: s, restored: r };
                if (r === null) problems.push(`${table} missing in the restored copy`);
                else if (s !== null && r > s) problems.push(`${table}: ${r} rows restored, more than the source's ${s}`);
                else if (s !== null && s > 0 && r === 0) problems.push(`${table}: empty, the source has ${s} rows`);
            }
            const total = Object.values(counts).reduce((n, c) => n + (c.restored ?? 0), 0);
            return problems.length ? { ok: false, detail: problems.join("; ") } : { ok: true, detail: `${PERSONAL_DATA_TABLES.length} tables, ${total} rows, none above the source, none emptied` };
        }));

        out.push(await check("decrypt-sample", async () => {
            const fields = await sample(db, sampleSize);
            if (!fields.length) {
                // Nothing to decrypt is a pass only when the source has nothing either.
                const sourceHas = (await withClient(options.source, (s) => sample(s, 1))).length > 0;
                return sourceHas ? { ok: false, detail: "no level-2 field in the restored copy, the source has some" } : { ok: true, detail: "no level-2 field in the source either: nothing to decrypt" };
            }
            const failedColumns = new Set<string>();
            const columns = new Set<string>();
            for (const f of fields) {
                decrypted.sampled++;
                columns.add(f.field_name);
                try {
                    await options.cipher.decrypt({ table: "users", column: f.field_name, userId: f.user_id }, f.ciphertext, 2);
                } catch {
                    // The error names the user: keep the column only.
                    decrypted.failed++;
                    failedColumns.add(f.field_name);
                }
            }
            return decrypted.failed
                ? { ok: false, detail: `${decrypted.failed} of ${decrypted.sampled} level-2 field(s) did not decrypt (${[...failedColumns].sort().join(", ")})` }
                : { ok: true, detail: `${decrypted.sampled} level-2 field(s) decrypted (${[...columns].sort().join(", ")})` };
        }));

        out.push(await check("rls", async () => {
            // The listed tables, and any other table of the schema with a user_id column (a later personal-data table).
            const { rows } = await db.query(
                `SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                   AND (c.relname = ANY($1) OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped))`,
                [[...PERSONAL_DATA_TABLES, ...USER_AUDIT_TABLES]],
            );
            const found = new Map(rows.map((r) => [r.name as string, r]));
            const problems: string[] = [];
            for (const t of [...PERSONAL_DATA_TABLES, ...USER_AUDIT_TABLES]) if (!found.has(t)) problems.push(`${t} missing`);
            for (const r of rows) {
                if (!r.enabled) problems.push(`${r.name}: row-level security disabled`);
                else if (!r.forced) problems.push(`${r.name}: row-level security not forced`);
            }
            return problems.length ? { ok: false, detail: problems.join("; ") } : { ok: true, detail: `enabled and forced on ${rows.length} tables` };
        }));

        out.push(await check("audit-triggers", async () => {
            const { rows } = await db.query(
                `SELECT c.relname AS name, bool_or(t.tgenabled IN ('O', 'A')) AS firing
                 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                 JOIN pg_proc p ON p.oid = t.tgfoid AND p.proname = 'audit_row_change'
                 WHERE NOT t.tgisinternal GROUP BY c.relname`,
            );
            const firing = new Map(rows.map((r) => [r.name as string, r.firing as boolean]));
            const problems = PERSONAL_DATA_TABLES.flatMap((t) => (!firing.has(t) ? [`${t}: no audit trigger`] : !firing.get(t) ? [`${t}: audit trigger disabled`] : []));
            return problems.length ? { ok: false, detail: problems.join("; ") } : { ok: true, detail: `audit_row_change fires on ${PERSONAL_DATA_TABLES.length} tables` };
        }));
        return out;
    });
    return { ok: checks.every((c) => c.ok), checks, rowCounts: counts, decrypted };
}

// ---------------------------------------------------------------------------------------------
// AWS

export interface RestoreDrillConfig {
    /** The instance whose automated backups are restored. */
    sourceInstance: string;
    /** Physical name prefix (e.g. `appi-prod`): the temporary instance is `<namePrefix>-drill-<stamp>`. */
    namePrefix: string;
    /** The isolated data-tier subnet group (`<namePrefix>-data`). */
    subnetGroupName: string;
    /** The data tier's security group (the drill's build is admitted to it). */
    securityGroupIds: string[];
    /** Default: the source's class. */
    instanceClass?: string;
    dbName: string;
    /** Wait at most this long for the instance (default 7.5 hours: the drill fails before the RTO is past). */
    timeoutSeconds?: number;
    pollSeconds?: number;
    /** Drill instances older than this are deleted before a new one starts (default 24). */
    leftoverHours?: number;
    stack: string;
}

export interface RestoreDrillDeps {
    rds: RDSClient;
    cloudwatch: CloudWatchClient;
    cipher: PiiCipher;
    /** How the drill logs in to an instance endpoint (IAM token as restore_drill in AWS). */
    connect(endpoint: { host: string; port: number }): pg.ClientConfig | Promise<pg.ClientConfig>;
    /** Where the result is recorded: the source database. */
    source: pg.ClientConfig;
    verify?: typeof verifyRestoredDatabase;
    now?: () => Date;
    sleep?: (ms: number) => Promise<void>;
    log?: (line: string) => void;
}

export interface RestoreDrillResult {
    ok: boolean;
    sourceInstance: string;
    drillInstance: string;
    restoreTime: string | null;
    startedAt: string;
    finishedAt: string;
    /** Restore start to verified (or to the failure). */
    recoverySeconds: number;
    rtoSeconds: number;
    withinRto: boolean;
    checks: DrillCheck[];
    rowCounts: VerifyResult["rowCounts"];
    decrypted: VerifyResult["decrypted"];
    deleted: boolean;
    leftoversDeleted: string[];
    error?: string;
    recordId?: number;
}

const FAILED_STATES = new Set(["failed", "incompatible-restore", "incompatible-parameters", "incompatible-network", "storage-full", "inaccessible-encryption-credentials", "restore-error"]);

export function drillInstanceId(namePrefix: string, at: Date): string {
    const stamp = at.toISOString().replace(/[-:T]/g, "").slice(0, 12);
    return `${namePrefix}${DRILL_INFIX}${stamp}`;
}

function isDrillInstance(i: DBInstance, namePrefix: string): boolean {
    return Boolean(i.DBInstanceIdentifier?.startsWith(`${namePrefix}${DRILL_INFIX}`) && i.TagList?.some((t) => t.Key === DRILL_TAG_KEY && t.Value === DRILL_TAG_VALUE));
}

async function describe(rds: RDSClient, id: string): Promise<DBInstance | undefined> {
    try {
        return (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
    } catch (err) {
        if ((err as { name?: string }).name === "DBInstanceNotFoundFault") return undefined;
        throw err;
    }
}

async function deleteInstance(rds: RDSClient, id: string): Promise<boolean> {
    try {
        // A drill copy is never kept: no final snapshot, no retained automated backups.
        await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }));
        return true;
    } catch (err) {
        const name = (err as { name?: string }).name;
        if (name === "DBInstanceNotFoundFault") return true; // never created, or already gone
        if (name === "InvalidDBInstanceStateFault" && /already being deleted/i.test(String((err as Error).message))) return true;
        throw err;
    }
}

/** Deletes drill instances (prefix AND tag) created more than `hours` ago; returns their identifiers. */
export async function cleanupLeftovers(rds: RDSClient, namePrefix: string, hours: number, now: Date): Promise<string[]> {
    const deleted: string[] = [];
    let marker: string | undefined;
    do {
        const page = await rds.send(new DescribeDBInstancesCommand({ Marker: marker }));
        for (const i of page.DBInstances ?? []) {
            if (!isDrillInstance(i, namePrefix) || i.DBInstanceStatus === "deleting") continue;
            const created = i.InstanceCreateTime ? new Date(i.InstanceCreateTime).getTime() : 0;
            if (now.getTime() - created < hours * 3600_000) continue; // a drill running right now
            if (await deleteInstance(rds, i.DBInstanceIdentifier!)) deleted.push(i.DBInstanceIdentifier!);
        }
        marker = page.Marker;
    } while (marker);
    return deleted;
}

/** The restored instance is what the drill asked for: same key, encrypted, private, in the isolated subnet group. */
function instanceCheck(restored: DBInstance, source: DBInstance, config: RestoreDrillConfig): DrillCheck {
    const problems: string[] = [];
    if (!restored.StorageEncrypted) problems.push("storage not encrypted");
    if (restored.KmsKeyId !== source.KmsKeyId) problems.push(`KMS key ${restored.KmsKeyId} differs from the source's ${source.KmsKeyId}`);
    if (restored.PubliclyAccessible) problems.push("publicly accessible");
    if (restored.DBSubnetGroup?.DBSubnetGroupName !== config.subnetGroupName) problems.push(`subnet group ${restored.DBSubnetGroup?.DBSubnetGroupName} is not ${config.subnetGroupName}`);
    return problems.length ? { name: "instance", ok: false, detail: problems.join("; ") } : { name: "instance", ok: true, detail: `encrypted with the source's key, private, in ${config.subnetGroupName}` };
}

export async function runRestoreDrill(config: RestoreDrillConfig, deps: RestoreDrillDeps): Promise<RestoreDrillResult> {
    const now = deps.now ?? (() => new Date());
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const log = deps.log ?? (() => undefined);
    const verify = deps.verify ?? verifyRestoredDatabase;
    const timeoutSeconds = config.timeoutSeconds ?? 7.5 * 3600;
    const pollMs = (config.pollSeconds ?? 30) * 1000;
    const begin = now();
    const drillInstance = drillInstanceId(config.namePrefix, begin);
    const result: RestoreDrillResult = {
        ok: false, sourceInstance: config.sourceInstance, drillInstance, restoreTime: null, startedAt: begin.toISOString(), finishedAt: begin.toISOString(),
        recoverySeconds: 0, rtoSeconds: RTO_SECONDS, withinRto: false, checks: [], rowCounts: {}, decrypted: { sampled: 0, failed: 0 }, deleted: false, leftoversDeleted: [],
    };

    let started = begin;
    let restoreSent = false;
    try {
        result.leftoversDeleted = await cleanupLeftovers(deps.rds, config.namePrefix, config.leftoverHours ?? 24, begin);
        if (result.leftoversDeleted.length) log(`deleted leftover drill instance(s): ${result.leftoversDeleted.join(", ")}`);
        const source = await describe(deps.rds, config.sourceInstance);
        if (!source) throw new Error(`source instance ${config.sourceInstance} not found`);
        if (!source.LatestRestorableTime) throw new Error(`${config.sourceInstance} has no restorable time (automated backups off?)`);
        const restoreTime = new Date(source.LatestRestorableTime);
        result.restoreTime = restoreTime.toISOString();
        const expires = new Date(begin.getTime() + (config.leftoverHours ?? 24) * 3600_000);

        started = now();
        restoreSent = true;
        log(`restoring ${config.sourceInstance} to ${result.restoreTime} as ${drillInstance}`);
        try {
            await deps.rds.send(new RestoreDBInstanceToPointInTimeCommand({
                SourceDBInstanceIdentifier: config.sourceInstance,
                TargetDBInstanceIdentifier: drillInstance,
                RestoreTime: restoreTime,
                DBInstanceClass: config.instanceClass ?? source.DBInstanceClass,
                DBSubnetGroupName: config.subnetGroupName,
                VpcSecurityGroupIds: config.securityGroupIds,
                PubliclyAccessible: false,
                MultiAZ: false,
                DeletionProtection: false,
                // Restoring an encrypted instance keeps its KMS key (the API takes no other); checked below.
                EnableIAMDatabaseAuthentication: true,
                DBParameterGroupName: source.DBParameterGroups?.[0]?.DBParameterGroupName,
                // A throw-away copy: no backups of it, no snapshots carrying its tags.
                BackupRetentionPeriod: 0,
                CopyTagsToSnapshot: false,
                AutoMinorVersionUpgrade: false,
                Tags: [
                    { Key: DRILL_TAG_KEY, Value: DRILL_TAG_VALUE },
                    { Key: DRILL_EXPIRES_TAG_KEY, Value: expires.toISOString() },
                    { Key: "appi:drill-source", Value: config.sourceInstance },
                    { Key: "appi:personal-data", Value: "restored-copy" },
                ],
            }));
        } catch (err) {
            // Another drill's copy of the same name (a manual run in the same minute): not ours to delete.
            if ((err as { name?: string }).name === "DBInstanceAlreadyExistsFault") restoreSent = false;
            throw err;
        }

        let restored: DBInstance | undefined;
        for (;;) {
            restored = await describe(deps.rds, drillInstance);
            const status = restored?.DBInstanceStatus;
            if (status === "available") break;
            if (status && FAILED_STATES.has(status)) throw new Error(`restore of ${drillInstance} failed: status ${status}`);
            if ((now().getTime() - started.getTime()) / 1000 >= timeoutSeconds) {
                throw new Error(`${drillInstance} not available after ${Math.round(timeoutSeconds / 60)} minutes (status ${status ?? "not found"})`);
            }
            await sleep(pollMs);
        }
        const endpoint = restored!.Endpoint;
        if (!endpoint?.Address) throw new Error(`${drillInstance} is available but has no endpoint`);
        const instance = instanceCheck(restored!, source, config);
        const verified = await verify(await deps.connect({ host: endpoint.Address, port: endpoint.Port ?? 5432 }), { source: deps.source, cipher: deps.cipher });
        result.checks = [instance, ...verified.checks];
        result.rowCounts = verified.rowCounts;
        result.decrypted = verified.decrypted;
        result.ok = instance.ok && verified.ok;
    } catch (err) {
        result.error = err instanceof Error ? err.message : String(err);
        log(`drill failed: ${result.error}`);
    } finally {
        const finished = now();
        result.finishedAt = finished.toISOString();
        result.recoverySeconds = Math.max(0, Math.round((finished.getTime() - started.getTime()) / 1000));
        if (restoreSent) {
            try {
                result.deleted = await deleteInstance(deps.rds, drillInstance);
                log(`deleted ${drillInstance}`);
            } catch (err) {
                // Left for the next drill's cleanup (and its expiry tag); the drill itself has failed.
                result.deleted = false;
                result.error = [result.error, `delete of ${drillInstance} failed: ${err instanceof Error ? err.message : String(err)}`].filter(Boolean).join("; ");
                result.ok = false;
            }
        }
    }
    result.withinRto = result.recoverySeconds <= RTO_SECONDS;
    result.ok = result.ok && result.withinRto && !result.error;
    await recordAndPublish(result, { source: deps.source, cloudwatch: deps.cloudwatch, stack: config.stack, at: new Date(result.finishedAt) });
    return result;
}

/**
 * drill_results row (via record_drill_result) and the RestoreDrillFailed metric: 1 when failed or over the RTO, and
 * also when the result could not be recorded (the report would not see it); the metric goes out in every case.
 */
export async function recordAndPublish(
    result: Pick<RestoreDrillResult, "ok" | "startedAt" | "finishedAt" | "recoverySeconds" | "rtoSeconds"> & { recordId?: number },
    deps: { source: pg.ClientConfig; cloudwatch?: CloudWatchClient; stack: string; at: Date },
): Promise<void> {
    const { recordId: _omit, ...details } = result as RestoreDrillResult;
    let recordError: unknown;
    try {
        result.recordId = await withClient(deps.source, (db) =>
            recordDrillResult(db, {
                drill: "restore",
                startedAt: new Date(result.startedAt),
                finishedAt: new Date(result.finishedAt),
                succeeded: result.ok,
                recoverySeconds: result.recoverySeconds,
                rtoSeconds: result.rtoSeconds,
                details,
            }),
        );
    } catch (err) {
        recordError = err;
    }
    if (deps.cloudwatch) {
        const dims = [{ Name: "Stack", Value: deps.stack }];
        await putMetrics(deps.cloudwatch, [
            { MetricName: COMPLIANCE_METRICS.restoreDrillFailed, Dimensions: dims, Timestamp: deps.at, Value: result.ok && !recordError ? 0 : 1, Unit: "Count" },
            { MetricName: COMPLIANCE_METRICS.restoreDrillRecoverySeconds, Dimensions: dims, Timestamp: deps.at, Value: result.recoverySeconds, Unit: "Seconds" },
        ]);
    }
    if (recordError) throw new Error(`the drill's result could not be recorded in drill_results: ${recordError instanceof Error ? recordError.message : String(recordError)}`);
}
