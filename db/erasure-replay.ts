// `npm run db:replay-erasures -- --from LIVE_DATABASE_URL [--since ISO-8601]`, with DATABASE_URL naming the
// restored copy: re-applies to a database restored from backup every erasure the live database recorded
// (erasure_log) since the backup was taken. A restore brings back users erased after the backup; running
// this before the copy serves traffic erases them again and records `replayed_after_restore` for each.
// Both connections must be the schema owner (the migration user); only user ids (Cognito subs) move.
import pg from "pg";
import { CommandSpec, helpText, parseCommandLine } from "../policies/runners/cli-support";

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

export const REPLAY_COMMAND = {
    invocation: "npm run db:replay-erasures --",
    summary: "Re-applies to a database restored from backup (DATABASE_URL) every erasure the live database recorded since the backup.",
    options: {
        from: { type: "string", value: "LIVE_DATABASE_URL", description: "the live database whose erasure_log is replayed (required)" },
        since: { type: "string", value: "ISO-8601", description: "only erasures at or after this time (the backup's time)" },
    },
    epilogue: ["Exit codes: 0 replayed, 1 the replay failed, 2 bad usage."],
} satisfies CommandSpec;

/** The shared parser (unknown option, missing value: InputError naming it), then this command's own checks. */
export function parseReplayArgs(argv: string[]): { from: string; since?: Date } | { help: true; usage?: string } {
    const line = parseCommandLine(REPLAY_COMMAND, argv);
    if (line.help) return { help: true };
    const { from, since: sinceText } = line.values;
    let since: Date | undefined;
    if (sinceText !== undefined) {
        since = new Date(sinceText);
        if (Number.isNaN(since.getTime())) throw new Error(`--since: "${sinceText}" is not an ISO-8601 date-time`);
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
            process.stdout.write(helpText(REPLAY_COMMAND));
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
