// Alarms from the specs (connections, CPU, memory, latency, errors) to an encrypted SNS
// topic, and one dashboard an operator opens first.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_MAX_AGE_HOURS, COMPLIANCE_METRICS, COMPLIANCE_NAMESPACE } from "../compliance/metric-names";

export interface MonitoringArgs {
    namePrefix: string;
    alarmEmail: string;
    topicKeyArn: pulumi.Input<string>;
    database: { dimensionName: "DBInstanceIdentifier" | "DBClusterIdentifier"; dimensionValue: pulumi.Input<string>; maxConnections?: number };
    /** ElastiCache member cluster ids (`<group>-001`, ...). */
    cacheClusterIds: pulumi.Input<string>[];
    /** Lambda functions whose errors page the operator (the Cognito triggers). */
    functionNames?: pulumi.Input<string>[];
    apiInstanceId?: pulumi.Input<string>;
    /**
     * The APP_IDENTITY_SECRET rotation Lambda (components/identity-secret-rotation.ts): a failed step leaves the old
     * key current (tokens keep working) but the secret unrotated, and a pending key accepted until the next rotation.
     */
    identitySecretRotationFunctionName?: pulumi.Input<string>;
    /**
     * CodeBuild project that migrates and runs the retention job every 15 minutes: a failed build
     * may mean deletion requests miss their 1-hour deadline.
     */
    migrationProjectName?: pulumi.Input<string>;
    /**
     * The monthly restore drill's CodeBuild project (components/restore-drill.ts): a build that fails before the drill
     * publishes RestoreDrillFailed (no bundle, no database, a crash) still pages.
     */
    restoreDrillProjectName?: pulumi.Input<string>;
    /**
     * APPI compliance alarms on the APPI/Compliance metrics of this stack: what the compliance jobs publish
     * (components/compliance-jobs.ts) and the nightly drift audit's PolicyViolations.
     */
    compliance?: {
        stack: string;
        /** Alarm when the share of users holding every required consent falls below this (default 0.99). */
        consentTargetRate?: number;
    };
    tags?: Record<string, string>;
}

export interface AlarmSpec {
    key: string;
    description: string;
    namespace: string;
    metricName: string;
    dimensions: Record<string, pulumi.Input<string>>;
    statistic: string;
    comparisonOperator: string;
    threshold: number;
    periodSeconds?: number;
    evaluationPeriods?: number;
    /** Default: notBreaching for Lambda and CodeBuild (no invocations is healthy), missing otherwise. */
    treatMissingData?: "breaching" | "notBreaching" | "ignore" | "missing";
}

export class Monitoring extends pulumi.ComponentResource {
    readonly topicArn: pulumi.Output<string>;
    readonly alarmNames: pulumi.Output<string>[];
    readonly dashboardName: pulumi.Output<string>;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:ops:Monitoring", name, {}, opts);
        const parent = { parent: this };

        const topic = new aws.sns.Topic(name, { name: `${args.namePrefix}-alarms`, kmsMasterKeyId: args.topicKeyArn, tags: args.tags }, parent);
        new aws.sns.TopicSubscription(`${name}-email`, { topic: topic.arn, protocol: "email", endpoint: args.alarmEmail }, parent);

        const db = { [args.database.dimensionName]: args.database.dimensionValue };
        const specs: AlarmSpec[] = [
            { key: "db-connections", description: "Database connections near the limit", namespace: "AWS/RDS", metricName: "DatabaseConnections", dimensions: db, statistic: "Maximum", comparisonOperator: "GreaterThanThreshold", threshold: Math.floor((args.database.maxConnections ?? 400) * 0.8) },
            { key: "db-cpu", description: "Database CPU above 80%", namespace: "AWS/RDS", metricName: "CPUUtilization", dimensions: db, statistic: "Average", comparisonOperator: "GreaterThanThreshold", threshold: 80, evaluationPeriods: 3 },
            { key: "db-memory", description: "Database freeable memory below 256 MiB", namespace: "AWS/RDS", metricName: "FreeableMemory", dimensions: db, statistic: "Minimum", comparisonOperator: "LessThanThreshold", threshold: 256 * 1024 * 1024 },
            // The spec's targets: consent checks < 100 ms, audit queries < 200 ms end to end.
            { key: "db-read-latency", description: "Database read latency above 20 ms", namespace: "AWS/RDS", metricName: "ReadLatency", dimensions: db, statistic: "Average", comparisonOperator: "GreaterThanThreshold", threshold: 0.02, evaluationPeriods: 3 },
            { key: "db-write-latency", description: "Database write latency above 50 ms", namespace: "AWS/RDS", metricName: "WriteLatency", dimensions: db, statistic: "Average", comparisonOperator: "GreaterThanThreshold", threshold: 0.05, evaluationPeriods: 3 },
        ];
        args.cacheClusterIds.forEach((clusterId, i) => {
            const dims = { CacheClusterId: clusterId };
            specs.push(
                { key: `redis-${i + 1}-cpu`, description: "Redis engine CPU above 80%", namespace: "AWS/ElastiCache", metricName: "EngineCPUUtilization", dimensions: dims, statistic: "Average", comparisonOperator: "GreaterThanThreshold", threshold: 80, evaluationPeriods: 3 },
                { key: `redis-${i + 1}-memory`, description: "Redis memory above 80%", namespace: "AWS/ElastiCache", metricName: "DatabaseMemoryUsagePercentage", dimensions: dims, statistic: "Average", comparisonOperator: "GreaterThanThreshold", threshold: 80 },
            );
        });
        (args.functionNames ?? []).forEach((functionName, i) =>
            specs.push({ key: `lambda-${i + 1}-errors`, description: "Cognito trigger errors (sign-up, or sign-in and token refresh, blocked)", namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: functionName }, statistic: "Sum", comparisonOperator: "GreaterThanThreshold", threshold: 0, periodSeconds: 60, evaluationPeriods: 1 }),
        );
        if (args.identitySecretRotationFunctionName) {
            specs.push({ key: "identity-secret-rotation-errors", description: "APP_IDENTITY_SECRET rotation step failed (secret not rotated; see the function's log, rerun with RotateSecret)", namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: args.identitySecretRotationFunctionName }, statistic: "Sum", comparisonOperator: "GreaterThanThreshold", threshold: 0, periodSeconds: 300, evaluationPeriods: 1 });
        }
        if (args.migrationProjectName) {
            specs.push({ key: "db-jobs-failed", description: "Migration or retention build failed (deletion SLA at risk)", namespace: "AWS/CodeBuild", metricName: "FailedBuilds", dimensions: { ProjectName: args.migrationProjectName }, statistic: "Sum", comparisonOperator: "GreaterThanThreshold", threshold: 0, periodSeconds: 900, evaluationPeriods: 1 });
        }
        if (args.restoreDrillProjectName) {
            specs.push({ key: "restore-drill-build-failed", description: "Restore drill build failed, timed out or could not run (RTO not evidenced)", namespace: "AWS/CodeBuild", metricName: "FailedBuilds", dimensions: { ProjectName: args.restoreDrillProjectName }, statistic: "Sum", comparisonOperator: "GreaterThanThreshold", threshold: 0, periodSeconds: 3600, evaluationPeriods: 1 });
        }
        if (args.apiInstanceId) {
            specs.push({ key: "api-status", description: "GraphQL API host failed its status checks", namespace: "AWS/EC2", metricName: "StatusCheckFailed", dimensions: { InstanceId: args.apiInstanceId }, statistic: "Maximum", comparisonOperator: "GreaterThanThreshold", threshold: 0, evaluationPeriods: 2 });
        }

        if (args.compliance) specs.push(...complianceAlarmSpecs(args.compliance));

        const alarms = specs.map(
            (spec) =>
                new aws.cloudwatch.MetricAlarm(
                    `${name}-${spec.key}`,
                    {
                        name: `${args.namePrefix}-${spec.key}`,
                        alarmDescription: spec.description,
                        namespace: spec.namespace,
                        metricName: spec.metricName,
                        dimensions: spec.dimensions,
                        statistic: spec.statistic,
                        comparisonOperator: spec.comparisonOperator,
                        threshold: spec.threshold,
                        period: spec.periodSeconds ?? 300,
                        evaluationPeriods: spec.evaluationPeriods ?? 2,
                        // No invocations or builds in a period is healthy, not missing data.
                        treatMissingData: spec.treatMissingData ?? (spec.namespace === "AWS/Lambda" || spec.namespace === "AWS/CodeBuild" ? "notBreaching" : "missing"),
                        alarmActions: [topic.arn],
                        okActions: [topic.arn],
                        tags: args.tags,
                    },
                    parent,
                ),
        );

        const dashboard = new aws.cloudwatch.Dashboard(
            name,
            {
                dashboardName: `${args.namePrefix}-overview`,
                dashboardBody: pulumi
                    .all([pulumi.all(specs.map((spec) => pulumi.output(spec.dimensions))), aws.getRegionOutput({}, parent).region])
                    .apply(([dimensions, region]) =>
                        JSON.stringify({
                            widgets: specs.map((spec, i) => ({
                                type: "metric",
                                width: 8,
                                height: 6,
                                x: (i % 3) * 8,
                                y: Math.floor(i / 3) * 6,
                                properties: {
                                    title: spec.description,
                                    region,
                                    stat: spec.statistic,
                                    period: spec.periodSeconds ?? 300,
                                    metrics: [[spec.namespace, spec.metricName, ...Object.entries(dimensions[i]).flat()]],
                                    annotations: { horizontal: [{ value: spec.threshold, label: "alarm" }] },
                                },
                            })),
                        }),
                    ),
            },
            parent,
        );

        this.topicArn = topic.arn;
        this.alarmNames = alarms.map((a) => a.name);
        this.dashboardName = dashboard.dashboardName;
        this.registerOutputs({ topicArn: this.topicArn, alarmNames: this.alarmNames, dashboardName: this.dashboardName });
    }
}

/**
 * Compliance alarms. The job publishes every 15 minutes (metrics) or hourly (backups): a silent job is itself
 * a problem, so missing data breaches. The weekly key-rotation result and the nightly drift audit keep their
 * state between runs (ignore), so an alarm stays raised until a run finds the problem gone.
 */
export function complianceAlarmSpecs(compliance: { stack: string; consentTargetRate?: number }): AlarmSpec[] {
    const target = compliance.consentTargetRate ?? 0.99;
    if (!(target > 0 && target <= 1)) throw new Error(`compliance.consentTargetRate: ${target} must be in (0, 1]`);
    const dimensions = { Stack: compliance.stack };
    const spec = (key: string, description: string, metricName: string, extra: Partial<AlarmSpec> = {}): AlarmSpec => ({
        key: `compliance-${key}`,
        description,
        namespace: COMPLIANCE_NAMESPACE,
        metricName,
        dimensions,
        statistic: "Maximum",
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        periodSeconds: 900,
        evaluationPeriods: 1,
        treatMissingData: "breaching",
        ...extra,
    });
    const daily = { periodSeconds: 86400, treatMissingData: "ignore" as const };
    return [
        spec("deletion-overdue", "Deletion requests past the 1-hour SLA (APPI Art. 35)", COMPLIANCE_METRICS.deletionOverdue),
        spec("incident-report-overdue-preliminary", "Art. 26 preliminary report to the PPC overdue", COMPLIANCE_METRICS.incidentsOverduePreliminary),
        spec("incident-report-overdue-final", "Art. 26 final report to the PPC overdue", COMPLIANCE_METRICS.incidentsOverdueFinal),
        spec("incident-report-due-24h", "Art. 26 report due within 24 hours", COMPLIANCE_METRICS.incidentsDueWithin24h),
        spec("audit-gaps", "Changes to personal data without an audit record", COMPLIANCE_METRICS.auditGaps),
        spec("consent-below-target", `Consent compliance below ${target * 100}%`, COMPLIANCE_METRICS.consentComplianceRate, { statistic: "Minimum", comparisonOperator: "LessThanThreshold", threshold: target }),
        spec("dsr-overdue", "Data-subject requests past their due date (APPI Art. 33-35)", COMPLIANCE_METRICS.dataSubjectRequestsOverdue),
        spec("backup-missing", `No completed database backup in the last ${BACKUP_MAX_AGE_HOURS} hours`, COMPLIANCE_METRICS.backupAgeHours, { threshold: BACKUP_MAX_AGE_HOURS, periodSeconds: 3600 }),
        spec("backup-failed", "AWS Backup job failed", "BackupJobsFailed", { periodSeconds: 3600 }),
        spec("key-rotation", "A customer-managed key has rotation off or is overdue", COMPLIANCE_METRICS.keysFailingRotation, daily),
        spec("key-versions", "PII key versions in the data disagree with key_rotation_log", COMPLIANCE_METRICS.keyVersionMismatches, daily),
        spec("restore-drill", "The last restore drill failed or exceeded the 8-hour RTO", COMPLIANCE_METRICS.restoreDrillFailed, daily),
        spec("drift-policy-violations", "Nightly drift audit: mandatory policy violations on deployed state", COMPLIANCE_METRICS.policyViolations, { ...daily, statistic: "Maximum" }),
    ];
}
