// `npm run drill:restore -- [options]`: the restore drill (compliance/restore-drill.ts).
//   In AWS (the monthly CodeBuild run, components/restore-drill.ts): restores the source instance's latest restorable
//   time as a temporary instance, verifies it, records the recovery time against the 8-hour RTO, publishes
//   RestoreDrillFailed and deletes the instance. Settings from the options or the project's DRILL_* variables.
//   --local: the same verification for real on this machine, against a pg_basebackup of a throw-away local
//   PostgreSQL seeded with --users users (compliance/restore-drill-local.ts).
// Exit codes: 0 the drill passed, 1 it failed (a check, the RTO, or AWS), 2 bad usage.
import { randomBytes } from "node:crypto";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { keySetFromEnv, localKeySet, PiiCipher } from "../lib/crypto";
import { connectionConfigFromEnv } from "../lib/db";
import { CommandSpec, parseCommandLine } from "../policies/runners/cli-support";
import { InputError } from "../policies/runners/errors";
import { DRILL_DB_USER, DrillCheck, RTO_SECONDS, runRestoreDrill } from "./restore-drill";
import { findPgBinDir, localRestoreDrill, makeWorkDir, prepareSourceDatabase, removeWorkDir, seedDrillData, startSourceCluster } from "./restore-drill-local";

export const DRILL_COMMAND = {
    invocation: "npm run drill:restore --",
    summary:
        "Restore drill: restores the database's latest restorable time as a temporary instance (isolated subnets, private, same KMS key), " +
        "verifies it (migrations and checksums, personal-data row counts against the source, a level-2 decrypt sample, RLS forced, audit triggers), " +
        "records the recovery time against the 8-hour RTO, publishes RestoreDrillFailed, and deletes the instance, also on failure.",
    options: {
        local: { type: "boolean", description: "run the drill on this machine: pg_basebackup of a throw-away local PostgreSQL, started as a second server, verified" },
        users: { type: "string", value: "N", description: "--local: users in the source database (default 1000)" },
        "source-instance": { type: "string", value: "ID", description: "RDS instance to restore (default $DRILL_SOURCE_INSTANCE)" },
        "name-prefix": { type: "string", value: "PREFIX", description: "physical name prefix; the copy is PREFIX-drill-<time> (default $DRILL_NAME_PREFIX)" },
        "subnet-group": { type: "string", value: "NAME", description: "isolated data-tier DB subnet group (default $DRILL_SUBNET_GROUP)" },
        "security-group": { type: "string", value: "ID", multiple: true, description: "data-tier security group of the copy (default $DRILL_SECURITY_GROUP_IDS, comma-separated)" },
        "instance-class": { type: "string", value: "CLASS", description: "class of the copy (default the source's, or $DRILL_INSTANCE_CLASS)" },
        "timeout-minutes": { type: "string", value: "N", description: "give up waiting for the copy after N minutes (default 450: before the 480-minute RTO)" },
        "cleanup-hours": { type: "string", value: "N", description: "delete drill instances older than N hours first (default 24)" },
        stack: { type: "string", value: "NAME", description: "Stack dimension of the metric (default $STACK)" },
        format: { type: "string", value: "FORMAT", description: "text (default) or json" },
    },
    epilogue: [
        "In AWS the database login is restore_drill (migrations/0017) with an IAM token; DB_NAME and AWS_REGION must be set,",
        "and the PII keys as the application has them (PII_KMS_KEY_ARN, PII_L3_KMS_KEY_ARN). --local uses PII_LOCAL_KEY or a random key.",
        "Exit codes: 0 the drill passed, 1 it failed (a check, the RTO, or AWS), 2 bad usage.",
    ],
} satisfies CommandSpec;

function positiveInt(value: string | undefined, option: string, fallback: number): number {
    if (value === undefined || value === "") return fallback;
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InputError(`--${option} must be a positive integer, got "${value}"`);
    return Number(value);
}

function formatChecks(checks: DrillCheck[]): string {
    return checks.map((c) => `  ${c.ok ? "PASS" : "FAIL"}  ${c.name.padEnd(15)} ${c.detail}`).join("\n");
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
    let line;
    try {
        line = parseCommandLine(DRILL_COMMAND, argv);
        if (line.help) {
            process.stdout.write(line.usage);
            return 0;
        }
    } catch (err) {
        console.error(`drill:restore: ${(err as Error).message}`);
        return 2;
    }
    const v = line.values;
    let settings;
    try {
        const format = v.format ?? "text";
        if (format !== "text" && format !== "json") throw new InputError(`--format must be text or json, got "${format}"`);
        settings = {
            format,
            users: positiveInt(v.users, "users", 1000),
            timeoutMinutes: positiveInt(v["timeout-minutes"], "timeout-minutes", 450),
            cleanupHours: positiveInt(v["cleanup-hours"], "cleanup-hours", 24),
        };
        if (v.local && (v["source-instance"] || v["subnet-group"] || v["security-group"])) throw new InputError("--local runs on this machine: it takes no AWS option");
        if (!v.local && v.users !== undefined) throw new InputError("--users applies to --local only");
    } catch (err) {
        console.error(`drill:restore: ${(err as Error).message}`);
        return 2;
    }
    const print = (checks: DrillCheck[], summary: string, json: unknown) => {
        if (settings.format === "json") console.log(JSON.stringify(json, null, 2));
        else console.log(`${formatChecks(checks)}\n${summary}`);
    };

    if (v.local) {
        const cipher = new PiiCipher(env.PII_LOCAL_KEY ? keySetFromEnv({ PII_LOCAL_KEY: env.PII_LOCAL_KEY, PII_LOCAL_KEY_VERSION: env.PII_LOCAL_KEY_VERSION }) : localKeySet(randomBytes(32)));
        const workDir = makeWorkDir();
        const source = await startSourceCluster(findPgBinDir(env), workDir);
        try {
            await prepareSourceDatabase(source, "appi");
            await seedDrillData(source.url("appi"), cipher, settings.users, Math.min(settings.users, 200));
            const result = await localRestoreDrill({ source, database: "appi", workDir, cipher });
            print(
                result.verify.checks,
                `${result.ok ? "PASSED" : "FAILED"}: backup ${result.backupSeconds.toFixed(1)} s + start ${result.startSeconds.toFixed(1)} s + verify ${result.verifySeconds.toFixed(1)} s = ` +
                    `${result.recoverySeconds.toFixed(1)} s recovery (RTO ${RTO_SECONDS} s), ${settings.users} users`,
                result,
            );
            return result.ok ? 0 : 1;
        } finally {
            source.stop();
            removeWorkDir(workDir);
        }
    }

    const list = (value: string | undefined) => (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    const config = {
        sourceInstance: v["source-instance"] ?? env.DRILL_SOURCE_INSTANCE ?? "",
        namePrefix: v["name-prefix"] ?? env.DRILL_NAME_PREFIX ?? "",
        subnetGroupName: v["subnet-group"] ?? env.DRILL_SUBNET_GROUP ?? "",
        securityGroupIds: v["security-group"]?.length ? v["security-group"] : list(env.DRILL_SECURITY_GROUP_IDS),
        instanceClass: v["instance-class"] ?? (env.DRILL_INSTANCE_CLASS || undefined),
        dbName: env.DB_NAME ?? "",
        timeoutSeconds: settings.timeoutMinutes * 60,
        leftoverHours: settings.cleanupHours,
        stack: v.stack ?? env.STACK ?? "",
    };
    const missing = [
        ["--source-instance / DRILL_SOURCE_INSTANCE", config.sourceInstance],
        ["--name-prefix / DRILL_NAME_PREFIX", config.namePrefix],
        ["--subnet-group / DRILL_SUBNET_GROUP", config.subnetGroupName],
        ["--security-group / DRILL_SECURITY_GROUP_IDS", config.securityGroupIds.length ? "x" : ""],
        ["--stack / STACK", config.stack],
        ["DB_NAME", config.dbName],
        ["AWS_REGION", env.AWS_REGION ?? ""],
    ].filter(([, value]) => !value).map(([name]) => name);
    if (missing.length) {
        console.error(`drill:restore: missing ${missing.join(", ")} (or run --local); see npm run drill:restore -- --help`);
        return 2;
    }
    if (!/^[a-z][a-z0-9-]{1,30}$/.test(config.namePrefix)) {
        console.error(`drill:restore: --name-prefix "${config.namePrefix}" must be 2-31 of a-z, 0-9, - starting with a letter`);
        return 2;
    }
    const rds = new RDSClient({ region: env.AWS_REGION });
    const cloudwatch = new CloudWatchClient({ region: env.AWS_REGION });
    // Direct to an instance endpoint (the source's and the copy's) with an IAM token as restore_drill, TLS verified.
    const connect = async (endpoint: { host: string; port: number }) =>
        connectionConfigFromEnv({ AWS_REGION: env.AWS_REGION, DB_PROXY_ENDPOINT: endpoint.host, DB_PORT: String(endpoint.port), DB_USER: DRILL_DB_USER, DB_NAME: config.dbName });
    const described = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: config.sourceInstance }))).DBInstances?.[0];
    if (!described?.Endpoint?.Address) {
        console.error(`drill:restore: source instance ${config.sourceInstance} has no endpoint`);
        return 1;
    }
    const source = await connect({ host: described.Endpoint.Address, port: described.Endpoint.Port ?? 5432 });
    const result = await runRestoreDrill(config, { rds, cloudwatch, cipher: new PiiCipher(keySetFromEnv(env)), connect, source, log: (l) => console.error(l) });
    print(
        result.checks,
        `${result.ok ? "PASSED" : "FAILED"}: ${result.drillInstance} from ${result.restoreTime ?? "(no restore)"}, recovery ${result.recoverySeconds} s ` +
            `(RTO ${result.rtoSeconds} s${result.withinRto ? "" : ", EXCEEDED"})${result.error ? `; ${result.error}` : ""}; copy deleted: ${result.deleted}`,
        result,
    );
    return result.ok ? 0 : 1;
}

if (require.main === module) {
    main(process.argv.slice(2), process.env).then(
        (code) => process.exit(code),
        (err) => {
            console.error(`drill:restore: ${err instanceof Error ? err.message : String(err)}`);
            process.exit(1);
        },
    );
}
