// Turns a planned stack into what an operator or reviewer reads first: what would be
// created, where each subnet routes, and how each data store is keyed and backed up.
// It reads the same resource views, and calls the same route-table and key derivations,
// as the policy pack's verdict printed beside it, so the two cannot disagree.
import { CannotCheckError } from "../policies/core/props";
import { buildStackView } from "../policies/core/stack-view";
import { PropValue, ResourceView, StackView } from "../policies/core/types";
import { classifyKey } from "../policies/rules/_shared/kms";
import { subnetEgress, SubnetEgress } from "../policies/rules/_shared/network";
import { plannedStackViews } from "../policies/runners/offline";
import { PlannedStack } from "./types";

export interface SubnetSummary {
    name: string;
    tier: string;
    cidr: string;
    zone: string;
    /** Derived from route tables, not from tags; "unknown" when the plan leaves a route unresolved. */
    internetRoute: SubnetEgress | "unknown";
}

export interface DataStoreSummary {
    kind: string;
    name: string;
    /** Key alias (or ARN when no alias names it), or why there is none. */
    encryption: string;
    backupDays: number | undefined;
    multiAz: boolean;
    tiers: string[];
}

export interface PlanSummary {
    stack: string;
    region: string;
    resourceCount: number;
    countsByType: [string, number][];
    subnets: SubnetSummary[];
    dataStores: DataStoreSummary[];
    logGroups: { count: number; minRetentionDays: number | undefined; unencrypted: number };
}

const str = (v: PropValue) => (v === undefined || v === null ? "" : String(v));
const tagsOf = (r: ResourceView) => (r.props.tags ?? {}) as Record<string, PropValue>;

function egressOf(stack: StackView, subnet: ResourceView): SubnetSummary["internetRoute"] {
    try {
        return subnetEgress(stack, subnet);
    } catch (err) {
        if (err instanceof CannotCheckError) return "unknown";
        throw err;
    }
}

export function summarisePlan(plan: PlannedStack): PlanSummary {
    const views = plannedStackViews(plan);
    const stack = buildStackView(views, plan.stack);
    const ofType = (type: string) => stack.ofType(type);

    const subnets: SubnetSummary[] = ofType("aws:ec2/subnet:Subnet").map((s) => ({
        name: s.name,
        tier: str(tagsOf(s).Tier) || "?",
        cidr: str(s.props.cidrBlock),
        zone: str(s.props.availabilityZone),
        internetRoute: egressOf(stack, s),
    }));
    const tierOfSubnet = (ref: PropValue) => {
        const subnet = stack.resolve(ref);
        return subnet?.type === "aws:ec2/subnet:Subnet" ? str(tagsOf(subnet).Tier) || "?" : "?";
    };
    const subnetGroupTiers = (groupName: PropValue) => {
        const group = stack.resolve(groupName);
        const ids = (group?.props.subnetIds as PropValue[] | undefined) ?? [];
        return [...new Set(ids.map(tierOfSubnet))];
    };

    // Key ARN -> alias, so a reviewer sees "alias/appi-dev/data", not a UUID.
    const aliasOfKey = new Map<string, string>();
    for (const alias of ofType("aws:kms/alias:Alias")) {
        const key = stack.resolve(alias.props.targetKeyId);
        if (key) aliasOfKey.set(str(key.props.arn), str(alias.props.name));
    }
    const describeKey = (store: ResourceView, keyPath: string, enabled: PropValue = true) => {
        if (enabled !== true) return "NOT ENCRYPTED";
        const key = classifyKey(store.props, keyPath, stack);
        if (key.kind === "none") return "AWS-managed key";
        if (key.kind === "aws-managed") return `${key.ref} (AWS-managed)`;
        return `${aliasOfKey.get(key.ref) ?? key.ref} (customer-managed)`;
    };

    const dataStores: DataStoreSummary[] = [];
    for (const db of ofType("aws:rds/instance:Instance")) {
        dataStores.push({
            kind: `RDS PostgreSQL ${str(db.props.engineVersion)}`,
            name: str(db.props.identifier) || db.name,
            encryption: describeKey(db, "kmsKeyId", db.props.storageEncrypted ?? false),
            backupDays: Number(db.props.backupRetentionPeriod ?? 1),
            multiAz: db.props.multiAz === true,
            tiers: subnetGroupTiers(db.props.dbSubnetGroupName),
        });
    }
    for (const cluster of ofType("aws:rds/cluster:Cluster")) {
        const instances = ofType("aws:rds/clusterInstance:ClusterInstance").length;
        dataStores.push({
            kind: `Aurora PostgreSQL ${str(cluster.props.engineVersion)} (${instances} instances)`,
            name: str(cluster.props.clusterIdentifier) || cluster.name,
            encryption: describeKey(cluster, "kmsKeyId", cluster.props.storageEncrypted ?? false),
            backupDays: Number(cluster.props.backupRetentionPeriod ?? 1),
            multiAz: instances > 1,
            tiers: subnetGroupTiers(cluster.props.dbSubnetGroupName),
        });
    }
    for (const redis of ofType("aws:elasticache/replicationGroup:ReplicationGroup")) {
        const transit = redis.props.transitEncryptionEnabled === true ? `TLS ${str(redis.props.transitEncryptionMode) || "required"}` : "NO TLS";
        dataStores.push({
            kind: `ElastiCache Redis ${str(redis.props.engineVersion)}`,
            name: str(redis.props.replicationGroupId) || redis.name,
            encryption: `${describeKey(redis, "kmsKeyId", redis.props.atRestEncryptionEnabled ?? false)}; in transit ${transit}`,
            backupDays: Number(redis.props.snapshotRetentionLimit ?? 0),
            multiAz: redis.props.multiAzEnabled === true,
            tiers: subnetGroupTiers(redis.props.subnetGroupName),
        });
    }
    for (const topic of ofType("aws:sns/topic:Topic")) {
        dataStores.push({ kind: "SNS topic", name: str(topic.props.name) || topic.name, encryption: describeKey(topic, "kmsMasterKeyId"), backupDays: undefined, multiAz: true, tiers: [] });
    }
    for (const project of ofType("aws:codebuild/project:Project")) {
        dataStores.push({ kind: "CodeBuild project", name: str(project.props.name) || project.name, encryption: describeKey(project, "encryptionKey"), backupDays: undefined, multiAz: true, tiers: [] });
    }

    const logGroups = ofType("aws:cloudwatch/logGroup:LogGroup");
    const retentions = logGroups.map((g) => Number(g.props.retentionInDays ?? 0));
    const counts = new Map<string, number>();
    for (const r of plan.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);

    return {
        stack: plan.stack,
        region: plan.config["aws:region"] ?? "?",
        resourceCount: plan.resources.length,
        countsByType: [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
        subnets,
        dataStores,
        logGroups: { count: logGroups.length, minRetentionDays: retentions.length ? Math.min(...retentions) : undefined, unencrypted: logGroups.filter((g) => !g.props.kmsKeyId).length },
    };
}

function table(rows: string[][], indent = "  "): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) => indent + r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

export function formatPlanSummary(summary: PlanSummary): string {
    const lines: string[] = [];
    lines.push(`Stack ${summary.stack}: ${summary.resourceCount} resources would be created in ${summary.region}`);
    lines.push("", "What would be created (count by type):");
    lines.push(table(summary.countsByType.map(([type, n]) => [String(n).padStart(4), type])));
    lines.push("", "Subnets (tier from tags; internet route derived from route tables):");
    lines.push(table([["tier", "cidr", "zone", "internet route", "name"], ...summary.subnets.map((s) => [s.tier, s.cidr, s.zone, s.internetRoute, s.name])]));
    lines.push("", "Data stores:");
    lines.push(
        table([
            ["store", "name", "encryption key", "backups", "multi-AZ", "subnets"],
            ...summary.dataStores.map((d) => [d.kind, d.name, d.encryption, d.backupDays === undefined ? "-" : `${d.backupDays} days`, d.multiAz ? "yes" : "no", d.tiers.join(", ") || "-"]),
        ]),
    );
    const lg = summary.logGroups;
    lines.push("", `Log groups: ${lg.count}, shortest retention ${lg.minRetentionDays ?? "-"} days, ${lg.unencrypted} without a customer-managed key`);
    return lines.join("\n");
}

