// Database figures beside the spec's targets: consent validation < 100 ms, audit log queries < 200 ms,
// deletion within 1 hour. Goals of our own: consent p99 < 2 ms, audit p99 < 10 ms.
// Runs on DATABASE_URL if set, else on an embedded PostgreSQL 16, in a database of its own.
import os from "node:os";
import pg from "pg";
import { DEFAULT_OWNER_ROLE, migrate } from "../db/migrate";
import { signIdentityToken } from "../lib/crypto";
import { checkConsent } from "../lib/db";
import { freshDatabase, setTestServerSettings, stopTestServer } from "../test/support/postgres";
import { BenchOptions, BenchRow, BenchSection } from "./types";
import { percentile } from "./stats";

const PURPOSES = ["privacy_notice", "service_provision", "marketing_email", "analytics", "third_party_provision", "cross_border_transfer"];
const SAMPLES = 5000;
const WARMUP = 200;
const BENCH_IDENTITY_SECRET = Buffer.from("appi-bench-identity-secret-0123456789abcdef", "utf8");

/** Deterministic user id for index i, so samples can be drawn without reading the table. */
const userIdSql = (expr: string) => `md5((${expr})::text)::uuid`;

function progress(message: string): void {
    process.stderr.write(`  [db bench] ${message}\n`);
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
    const start = process.hrtime.bigint();
    const result = await fn();
    return [Number(process.hrtime.bigint() - start) / 1e6, result];
}

async function load(client: pg.Client, users: number, consentRows: number, auditRows: number): Promise<void> {
    // Bulk load without triggers or foreign-key checks (superuser only), as a restore would.
    await client.query("SET session_replication_role = replica");
    let [ms] = await timed(() =>
        client.query(
            `INSERT INTO users (id, email, first_name, last_name, phone, address_encrypted, date_of_birth_encrypted, ip_address_encrypted,
                                ssn_encrypted, created_at, last_activity_at)
             SELECT ${userIdSql("i")}, 'user' || i || '@example.jp', 'First' || i, 'Last' || i, '+81-90-' || lpad(i::text, 8, '0'),
                    decode(repeat(md5(i::text), 8), 'hex'), decode(repeat(md5(i::text), 4), 'hex'), decode(repeat(md5(i::text), 4), 'hex'),
                    decode(repeat(md5(i::text), 12), 'hex'), now() - (i % 1000) * interval '1 day', now() - (i % 700) * interval '1 day'
             FROM generate_series(1, $1::int) i`,
            [users],
        ),
    );
    progress(`${users.toLocaleString()} users loaded in ${(ms / 1000).toFixed(1)} s`);
    const perUser = Math.max(1, Math.round(consentRows / users));
    [ms] = await timed(() =>
        client.query(
            `INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor, source, recorded_at)
             SELECT ${userIdSql("u")}, ($2::text[])[1 + (k % 6)], (u + k) % 3 <> 0, 'v' || (1 + k / 6), 'user', 'bench',
                    now() - (($3::int - k) * interval '1 hour') - (u % 97) * interval '1 minute'
             FROM generate_series(1, $1::int) u, generate_series(1, $3::int) k`,
            [users, PURPOSES, perUser],
        ),
    );
    progress(`${(users * perUser).toLocaleString()} consent rows loaded in ${(ms / 1000).toFixed(1)} s`);
    // audit_log is partitioned by month (migrations/0007): create the months the load spans.
    await client.query("SELECT audit_log_create_partitions(now() - make_interval(secs => $1::int + 60), now())", [auditRows]);
    [ms] = await timed(() =>
        client.query(
            `INSERT INTO audit_log (user_id, table_name, operation, row_id, changed_columns, db_role, app_user_id, occurred_at)
             SELECT ${userIdSql("1 + (g % $2::int)")}, 'users', 'UPDATE', NULL, '{first_name}', 'bench', NULL,
                    now() - g * interval '1 second'
             FROM generate_series(1, $1::int) g`,
            [auditRows, users],
        ),
    );
    progress(`${auditRows.toLocaleString()} audit rows loaded in ${(ms / 1000).toFixed(1)} s`);
    // The floor of the last-50 read: the same rows (every column) in one unpartitioned table with the same index,
    // read the same way: by pii_audit, under the same forced row-level security policy. Only partitioning differs.
    [ms] = await timed(async () => {
        await client.query("CREATE TABLE audit_floor (LIKE audit_log INCLUDING DEFAULTS)");
        await client.query("INSERT INTO audit_floor SELECT * FROM audit_log");
        await client.query("CREATE INDEX ON audit_floor (user_id, occurred_at DESC, id DESC)");
        await client.query("ALTER TABLE audit_floor ENABLE ROW LEVEL SECURITY");
        await client.query("ALTER TABLE audit_floor FORCE ROW LEVEL SECURITY");
        await client.query("CREATE POLICY auditor_read ON audit_floor FOR SELECT TO pii_audit USING (true)");
        await client.query("GRANT SELECT ON audit_floor TO pii_audit");
    });
    progress(`unpartitioned copy for the audit floor in ${(ms / 1000).toFixed(1)} s`);
    await client.query("SET session_replication_role = origin");
    [ms] = await timed(async () => {
        await client.query("VACUUM (ANALYZE) users, consent_records, audit_log, audit_floor, deletion_requests");
        // Flush the load now rather than during the measurements.
        await client.query("CHECKPOINT");
    });
    progress(`vacuum analyze + checkpoint in ${(ms / 1000).toFixed(1)} s`);
}

/** p50/p99 of the durations fn returns (fn times only the part that counts), after a warm-up. */
async function latencies(samples: number, fn: (i: number, measured: boolean) => Promise<number>, warmup = WARMUP): Promise<{ p50: number; p99: number }> {
    for (let i = 0; i < warmup; i++) await fn(i, false);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) times.push(await fn(i, true));
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function run({ scale }: BenchOptions): Promise<BenchRow[]> {
    const users = Math.max(1000, Math.round(1_000_000 * scale));
    const consentRows = Math.max(10_000, Math.round(10_000_000 * scale));
    const auditRows = Math.max(10_000, Math.round(10_000_000 * scale));
    const queued = Math.min(10_000, Math.floor(users / 4));
    const randomUser = () => 1 + Math.floor(Math.random() * users);

    // RDS gives shared_buffers a quarter of the instance's memory (4 GB on 16 GiB); PostgreSQL's default of 128 MB
    // would keep 10M rows' indexes and users' rows out of the buffers, as no RDS instance would. 1 GB holds them.
    if (!process.env.DATABASE_URL) setTestServerSettings({ shared_buffers: "1GB" });
    const db = await freshDatabase("bench");
    // As production (and test/support/postgres.ts) does: 0015 onwards as the schema owner appi_owner.
    await migrate({ connectionString: db.url }, { log: () => undefined, ownerRole: DEFAULT_OWNER_ROLE });
    const admin = new pg.Client({ connectionString: db.url });
    const appUrl = await db.loginUrl("pii_read");
    const app = new pg.Client({ connectionString: appUrl });
    // The consent check and its reference run on one connection: on 2 vCPUs, which CPU the server process of a
    // connection shares with this process moves a round trip by up to 2x, so two connections compare placements,
    // not queries. The login is a member of pii_read (the check runs exactly as the application's does: a
    // SECURITY DEFINER function, 0026) and has BYPASSRLS only so that the bare lookup on the same connection
    // reads the rows without a policy.
    const sameConnectionUrl = await db.loginUrl("pii_read");
    const measurePool = new pg.Pool({ connectionString: sameConnectionUrl, max: 1 });
    const auditor = new pg.Client({ connectionString: await db.loginUrl("pii_audit") });
    try {
        await Promise.all([admin.connect(), app.connect(), auditor.connect()]);
        await admin.query(`ALTER ROLE ${admin.escapeIdentifier(new URL(sameConnectionUrl).username)} BYPASSRLS`);
        const version = (await admin.query("SHOW server_version")).rows[0].server_version;
        const buffers = (await admin.query("SHOW shared_buffers")).rows[0].shared_buffers;
        progress(`PostgreSQL ${version} (shared_buffers ${buffers}), database ${db.name}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} on ${os.cpus().length} CPUs`);
        await load(admin, users, consentRows, auditRows);

        // 500 random users (ids computed in SQL the way the load computed them).
        const picks = Array.from({ length: 500 }, randomUser);
        const idList: string[] = (await admin.query(`SELECT ${userIdSql("i")} AS id FROM unnest($1::int[]) i`, [picks])).rows.map((r) => r.id);
        // The consent check as the application runs it: checkConsent (lib/db.ts) through a pool of pii_read
        // connections, one statement, app_check_consent (0026), which verifies the signed token in the database
        // and reads the newest consent record of the user it names, and is its own transaction. Its reference,
        // measured in the same loop (alternating which goes first) on the same connection: the bare indexed lookup
        // of the same answer (no function, no policy, no transaction).
        await admin.query("SELECT app_set_identity_secret($1)", [BENCH_IDENTITY_SECRET]);
        const tokens = idList.map((id) => signIdentityToken(BENCH_IDENTITY_SECRET, id, { ttlSeconds: 3600 }));
        let consentGranted = 0;
        let disagreements = 0;
        const bareTimes: number[] = [];
        const bareLookup = (k: number, purpose: string) =>
            timed(() =>
                measurePool.query({
                    name: "bare_consent",
                    text: "SELECT granted FROM consent_records WHERE user_id = $1 AND purpose = $2 ORDER BY id DESC LIMIT 1",
                    values: [idList[k], purpose],
                }),
            );
        // The warm-up visits every user once, so the loop measures the steady state: a user's first check in a
        // minute also records activity (an UPDATE, its audit row, a commit that waits for WAL), measured below.
        const consent = await latencies(SAMPLES, async (i, measured) => {
            const k = i % idList.length;
            const purpose = PURPOSES[i % PURPOSES.length];
            let bareMs: number, bare: pg.QueryResult, checkMs: number, ok: boolean;
            if (i % 2 === 0) {
                [bareMs, bare] = await bareLookup(k, purpose);
                [checkMs, ok] = await timed(() => checkConsent(measurePool, tokens[k], purpose));
            } else {
                [checkMs, ok] = await timed(() => checkConsent(measurePool, tokens[k], purpose));
                [bareMs, bare] = await bareLookup(k, purpose);
            }
            if (measured) bareTimes.push(bareMs);
            if (ok) consentGranted++;
            if (ok !== (bare.rows[0]?.granted === true)) disagreements++;
            return checkMs;
        }, Math.max(WARMUP, idList.length));
        if (consentGranted === 0) throw new Error("consent benchmark saw no granted consent: the data or the RLS setup is wrong");
        if (disagreements > 0) throw new Error(`checkConsent and the bare lookup disagreed ${disagreements} times`);
        bareTimes.sort((x, y) => x - y);
        const bare = { p50: percentile(bareTimes, 50), p99: percentile(bareTimes, 99) };
        // Informational, in a loop of its own (interleaved, a third connection's work slowed whichever call
        // followed it): the older way, four round trips on one connection.
        const transaction = await latencies(SAMPLES, async (i) => {
            const k = i % idList.length;
            const [txMs] = await timed(async () => {
                await app.query("BEGIN");
                await app.query({ name: "begin_identity", text: "SELECT app_begin_identity($1)", values: [tokens[k]] });
                await app.query({ name: "has_consent", text: "SELECT has_consent($1, $2) AS ok", values: [idList[k], PURPOSES[i % PURPOSES.length]] });
                await app.query("COMMIT");
            });
            return txMs;
        });
        // Activity is recorded where Cognito issues tokens (0025, lambdas/pre-token-generation), not by the check:
        // the trigger's database step for users whose activity is a day old (an UPDATE, its audit row, a commit).
        // Each user once and no warm-up: a second call within the minute writes nothing.
        const activityPool = new pg.Pool({ connectionString: await db.loginUrl("activity_recorder"), max: 1 });
        const activityIds = [...new Set(idList)].slice(0, 200);
        let activity: { p50: number };
        try {
            await admin.query("UPDATE users SET last_activity_at = now() - interval '1 day' WHERE id = ANY($1)", [activityIds]);
            activity = await latencies(activityIds.length, async (i) => {
                const [ms] = await timed(() => activityPool.query({ name: "app_record_activity", text: "SELECT app_record_activity($1)", values: [activityIds[i]] }));
                return ms;
            }, 0);
        } finally {
            await activityPool.end();
        }
        const touched = (await admin.query("SELECT count(*)::int AS n FROM users WHERE id = ANY($1) AND last_activity_at > now() - interval '1 minute'", [activityIds])).rows[0].n;
        if (touched !== activityIds.length) throw new Error(`app_record_activity recorded activity for ${touched} of ${activityIds.length} users`);

        // A rotation's grace window (0021, 0026): a new key is current, the bench's key is the previous one. Tokens of
        // the current key take the one-query path (0026); the previous key's go to the fallback. Alternately, same
        // connection, every user visited once before.
        const nextSecret = Buffer.from("appi-bench-identity-secret-next-0123456789abcdef", "utf8");
        await admin.query("SELECT app_identity_key_add('bench-next', $1)", [nextSecret]);
        await admin.query("SELECT app_identity_key_finish('bench-next', interval '2 hours')");
        const currentKeyTokens = idList.map((id) => signIdentityToken(nextSecret, id, { ttlSeconds: 3600 }));
        const currentKeyTimes: number[] = [];
        const previousKey = await latencies(SAMPLES / 5, async (i, measured) => {
            const k = i % idList.length;
            const purpose = PURPOSES[i % PURPOSES.length];
            const [currentMs, currentOk] = await timed(() => checkConsent(measurePool, currentKeyTokens[k], purpose));
            const [previousMs, previousOk] = await timed(() => checkConsent(measurePool, tokens[k], purpose));
            if (currentOk !== previousOk) throw new Error("a token of the previous key answered differently during the grace window");
            if (measured) currentKeyTimes.push(currentMs);
            return previousMs;
        }, idList.length);
        currentKeyTimes.sort((x, y) => x - y);

        // Last 50 audit events of a user: the partitioned trail (one index per month, merged) against its floor,
        // the same index on one unpartitioned table holding the same rows, measured alternately in the same loop.
        let auditRowsSeen = 0;
        const floorTimes: number[] = [];
        const audit = await latencies(SAMPLES, async (i, measured) => {
            const id = idList[i % idList.length];
            const [floorMs] = await timed(() =>
                auditor.query({
                    name: "audit_floor",
                    text: "SELECT id, occurred_at, table_name, operation, changed_columns FROM audit_floor WHERE user_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT 50",
                    values: [id],
                }),
            );
            const [ms, r] = await timed(() =>
                auditor.query({
                    name: "last_audit_events",
                    text: "SELECT id, occurred_at, table_name, operation, changed_columns FROM audit_log WHERE user_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT 50",
                    values: [id],
                }),
            );
            if (measured) floorTimes.push(floorMs);
            auditRowsSeen += r.rowCount ?? 0;
            return ms;
        });
        if (auditRowsSeen === 0) throw new Error("audit benchmark returned no rows");
        floorTimes.sort((x, y) => x - y);
        const auditFloor = { p50: percentile(floorTimes, 50) };
        const months = (await admin.query("SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'audit_log'::regclass")).rows[0].n;

        // Erasing one user: one due deletion request, its database step done by the retention function (cascades,
        // triggers); the other stores' steps (0010) belong to the erasure worker and are not timed here.
        const usersLeft = async (ids: string[]) => (await admin.query("SELECT count(*)::int AS n FROM users WHERE id = ANY($1)", [ids])).rows[0].n as number;
        const eraseTimes: number[] = [];
        const erased = [...new Set(idList)].slice(0, 20);
        for (const id of erased) {
            await admin.query("INSERT INTO deletion_requests (user_id, requested_at) VALUES ($1, now() - interval '1 minute')", [id]);
            const [ms] = await timed(() => admin.query("SELECT complete_due_deletion_requests() AS n"));
            if ((await usersLeft([id])) !== 0) throw new Error("the due deletion request did not erase its user");
            eraseTimes.push(ms);
        }
        eraseTimes.sort((a, b) => a - b);

        // A queue of deletion requests, completed in one run of the job.
        await admin.query(
            `INSERT INTO deletion_requests (user_id, requested_at)
             SELECT ${userIdSql("i")}, now() - interval '1 minute' FROM generate_series($1::int, $1::int + $2::int - 1) i
             ON CONFLICT DO NOTHING`,
            [Math.floor(users / 2), queued],
        );
        const [queueMs] = await timed(() => admin.query("SELECT complete_due_deletion_requests() AS n"));
        const stillThere = (await admin.query(`SELECT count(*)::int AS n FROM users WHERE id IN (SELECT ${userIdSql("i")} FROM generate_series($1::int, $1::int + $2::int - 1) i)`, [Math.floor(users / 2), queued])).rows[0].n;
        if (stillThere !== 0) throw new Error(`${stillThere} of ${queued} queued users were not erased`);

        const spec = "spec target";
        return [
            { name: `consent check as the application runs it (checkConsent: token verified in the database, one statement) p50 (${consentRows.toLocaleString()} consent rows)`, value: consent.p50, unit: "ms", referenceLabel: "bare indexed lookup p50, same run", reference: bare.p50, goalRatio: 1.5 },
            { name: "consent check as the application runs it p99", value: consent.p99, unit: "ms", referenceLabel: "bare indexed lookup p99, same run", reference: bare.p99, goalRatio: 1.5 },
            { name: `activity at token issuance, the PreTokenGeneration trigger's database step (UPDATE, audit row, commit) p50 of ${activityIds.length}`, value: activity.p50, unit: "ms", referenceLabel: "Cognito's trigger limit", reference: 5000 },
            { name: "informational: during a rotation's grace window, a token of the previous key p50", value: previousKey.p50, unit: "ms", referenceLabel: "a token of the current key p50, same run", reference: percentile(currentKeyTimes, 50), informational: true },
            { name: "informational: BEGIN, app_begin_identity, has_consent, COMMIT (4 round trips) p50", value: transaction.p50, unit: "ms", referenceLabel: "bare indexed lookup p50, same run", reference: bare.p50, informational: true },
            { name: "informational: BEGIN, app_begin_identity, has_consent, COMMIT (4 round trips) p99", value: transaction.p99, unit: "ms", referenceLabel: "bare indexed lookup p99, same run", reference: bare.p99, informational: true },
            { name: `consent check p50 (${consentRows.toLocaleString()} consent rows)`, value: consent.p50, unit: "ms", referenceLabel: spec, reference: 100 },
            { name: "consent check p99 (goal < 2 ms)", value: consent.p99, unit: "ms", referenceLabel: spec, reference: 100, goalRatio: 2 / 100 },
            { name: `last 50 audit events of a user p50 (${auditRows.toLocaleString()} audit rows, ${months} monthly partitions)`, value: audit.p50, unit: "ms", referenceLabel: "same read, one unpartitioned table, same run", reference: auditFloor.p50, goalRatio: 1.5 },
            { name: `last 50 audit events of a user p50 (${auditRows.toLocaleString()} audit rows)`, value: audit.p50, unit: "ms", referenceLabel: spec, reference: 200 },
            { name: "last 50 audit events of a user p99 (goal < 10 ms)", value: audit.p99, unit: "ms", referenceLabel: spec, reference: 200, goalRatio: 10 / 200 },
            { name: `erase one user, database step (median of ${eraseTimes.length}, ${users.toLocaleString()} users)`, value: percentile(eraseTimes, 50), unit: "ms", referenceLabel: "spec SLA 1 hour", reference: 3_600_000 },
            { name: `complete ${queued.toLocaleString()} queued deletion requests`, value: queueMs, unit: "ms", referenceLabel: "spec SLA 1 hour", reference: 3_600_000 },
        ];
    } finally {
        await Promise.all([admin.end(), app.end(), auditor.end(), measurePool.end()].map((p) => p.catch(() => undefined)));
        await db.drop().catch(() => undefined);
        await stopTestServer();
    }
}

export const section: BenchSection = { title: "database (PostgreSQL: consent, audit, deletion)", run };
