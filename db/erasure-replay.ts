// `npm run db:replay-erasures -- --from LIVE_DATABASE_URL [--since ISO-8601]`, with DATABASE_URL naming the
// restored copy: re-applies to a database restored from backup every erasure the live database recorded
// (erasure_log) since the backup was taken. A restore brings back users erased after the backup; running
// this before the copy serves traffic erases them again and records `replayed_after_restore` for each.
// Both connections must be the schema owner (the migration user); only user ids (Cognito subs) move.
import pg from "pg";

export interface ReplaySummary {
    /** Users the live database erased in the window. */
    erasedInLive: number;
    /** Of those, users present in the restored copy and erased again now. */
    replayed: number;
}

const BATCH = 1000;

export async function replayErasures(live: pg.ClientBase, restored: pg.ClientBase, since?: Date): Promise<ReplaySummary> {
    const { rows } = await live.query(
        "SELECT DISTINCT user_id FROM erasure_log WHERE erased_at >= coalesce($1::timestamptz, '-infinity') ORDER BY user_id",
        [since ?? null],
    );
    const ids = rows.map((r) => r.user_id as string);
    let replayed = 0;
    await restored.query("BEGIN");
    try {
        for (let i = 0; i < ids.length; i += BATCH) {
            const result = await restored.query("SELECT erasure_replay($1::uuid[]) AS n", [ids.slice(i, i + BATCH)]);
            replayed += result.rows[0].n;
        }
        await restored.query("COMMIT");
    } catch (err) {
        await restored.query("ROLLBACK").catch(() => undefined);
        throw err;
    }
    return { erasedInLive: ids.length, replayed };
}

const USAGE = "usage: npm run db:replay-erasures -- --from LIVE_DATABASE_URL [--since ISO-8601]  (DATABASE_URL = the restored copy)";

export function parseReplayArgs(argv: string[]): { from: string; since?: Date } | { help: true } {
    let from: string | undefined;
    let since: Date | undefined;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--help" || arg === "-h") return { help: true };
        if (arg === "--from" || arg === "--since") {
            const value = argv[++i];
            if (value === undefined || value.startsWith("--")) throw new Error(`${arg} needs a value`);
            if (arg === "--from") from = value;
            else {
                since = new Date(value);
                if (Number.isNaN(since.getTime())) throw new Error(`--since: "${value}" is not an ISO-8601 date-time`);
            }
            continue;
        }
        throw new Error(`unknown option ${arg}`);
    }
    if (!from) throw new Error("--from LIVE_DATABASE_URL is required");
    return { from, since };
}

if (require.main === module) {
    (async () => {
        let args;
        try {
            args = parseReplayArgs(process.argv.slice(2));
        } catch (err) {
            console.error(`db:replay-erasures: ${(err as Error).message}\n${USAGE}`);
            return 2;
        }
        if ("help" in args) {
            console.log(USAGE);
            return 0;
        }
        if (!process.env.DATABASE_URL) {
            console.error(`db:replay-erasures: set DATABASE_URL to the restored copy\n${USAGE}`);
            return 2;
        }
        const live = new pg.Client({ connectionString: args.from });
        const restored = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await live.connect();
        await restored.connect();
        try {
            const summary = await replayErasures(live, restored, args.since);
            console.log(`replay: ${summary.erasedInLive} erasure(s) in the live database since ${args.since?.toISOString() ?? "the beginning"}, ${summary.replayed} user(s) erased again in the restored copy`);
            return 0;
        } finally {
            await Promise.all([live.end(), restored.end()]);
        }
    })().then(
        (code) => process.exit(code),
        (err) => {
            console.error(`db:replay-erasures: ${err instanceof Error ? err.message : String(err)}`);
            process.exit(1);
        },
    );
}
