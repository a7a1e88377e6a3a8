// The scheduled compliance jobs in the app tier (components/compliance-jobs.ts schedules one invocation per
// task with EventBridge Scheduler): { "task": "metrics" | "backups" | "key-rotation" }.
// Connects as compliance_job through the RDS Proxy (IAM auth): aggregates only, no personal data.
// Environment: STACK, DB_PROXY_ENDPOINT / DB_USER / DB_NAME / AWS_REGION (lib/db.ts), DB_INSTANCE_ID or
// DB_CLUSTER_ID (+ DB_RESOURCE_ARN for AWS Backup), KEY_IDS (comma-separated customer-managed key ARNs).
import { BackupClient } from "@aws-sdk/client-backup";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { KMSClient } from "@aws-sdk/client-kms";
import { RDSClient } from "@aws-sdk/client-rds";
import { BackupTarget, runBackupJob, runKeyRotationJob, runMetricsJob } from "../../compliance/jobs";
import { getPool } from "../../lib/db";

export const TASKS = ["metrics", "backups", "key-rotation"] as const;
export type Task = (typeof TASKS)[number];

function required(env: NodeJS.ProcessEnv, name: string): string {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set`);
    return value;
}

function backupTarget(env: NodeJS.ProcessEnv): BackupTarget {
    if (env.DB_CLUSTER_ID) return { kind: "cluster", identifier: env.DB_CLUSTER_ID, resourceArn: env.DB_RESOURCE_ARN };
    return { kind: "instance", identifier: required(env, "DB_INSTANCE_ID"), resourceArn: env.DB_RESOURCE_ARN };
}

// Clients live across warm invocations.
let clients: { cloudwatch: CloudWatchClient; rds: RDSClient; backup: BackupClient; kms: KMSClient } | undefined;

export async function handler(event: { task?: string }, env: NodeJS.ProcessEnv = process.env): Promise<{ task: Task; ok: boolean; problems: string[] }> {
    const task = event?.task as Task;
    if (!TASKS.includes(task)) throw new Error(`unknown task ${JSON.stringify(event?.task)}: expected one of ${TASKS.join(", ")}`);
    clients ??= { cloudwatch: new CloudWatchClient({}), rds: new RDSClient({}), backup: new BackupClient({}), kms: new KMSClient({}) };
    const stack = required(env, "STACK");
    let problems: string[];
    switch (task) {
        case "metrics": {
            const m = await runMetricsJob({ db: getPool(env), cloudwatch: clients.cloudwatch, stack });
            problems = m.audit.gaps ? [`${m.audit.gaps} audit gap(s)`] : [];
            break;
        }
        case "backups":
            problems = (await runBackupJob({ ...clients, target: backupTarget(env), stack })).problems;
            break;
        case "key-rotation": {
            const keyIds = required(env, "KEY_IDS").split(",").filter(Boolean);
            const result = await runKeyRotationJob({ kms: clients.kms, db: getPool(env), cloudwatch: clients.cloudwatch, keyIds, stack });
            problems = [...result.keys, ...result.versions].flatMap((c) => c.problems);
            break;
        }
    }
    // Structured log line: counts and key ids, never personal data.
    console.log(JSON.stringify({ task, ok: problems.length === 0, problems }));
    return { task, ok: problems.length === 0, problems };
}

/** Tests inject their mocked clients. */
export function setClientsForTest(c: typeof clients): void {
    clients = c;
}
