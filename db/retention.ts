// `npm run db:retention`: erases PII past its retention period, completes the due deletion requests and
// purges audit rows past theirs, all inside the database's owner-only run_retention() function; the run
// leaves a retention_runs row (counts only) and one erasure_log row per erased user (its id, no PII).
import pg from "pg";

export interface RetentionSummary {
    deletionRequestsCompleted: number;
    usersErasedForRetention: number;
    auditRowsPurged: number;
    provisionRecordsPurged: number;
    startedAt: Date;
    finishedAt: Date;
}

/** Runs the retention job as the connected role (the schema owner: application roles may not). */
export async function runRetention(db: pg.ClientBase | pg.Pool, now?: Date): Promise<RetentionSummary> {
    let rows: Array<Record<string, never>>;
    try {
        ({ rows } = await db.query("SELECT * FROM run_retention(coalesce($1::timestamptz, now()))", [now ?? null]));
    } catch (err) {
        const e = err as { code?: string; message?: string };
        if (e.code === "42501") throw new Error(`the retention job must run as the schema owner (the migration user), not an application role: ${e.message}`);
        if (e.code === "42883") throw new Error("run_retention() does not exist: run npm run db:migrate first");
        throw err;
    }
    const r = rows[0];
    return {
        deletionRequestsCompleted: r.deletion_requests_completed,
        usersErasedForRetention: r.users_erased_for_retention,
        auditRowsPurged: Number(r.audit_rows_purged),
        provisionRecordsPurged: Number(r.provision_records_purged),
        startedAt: r.started_at,
        finishedAt: r.finished_at,
    };
}
