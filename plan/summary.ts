// Turns a planned stack into what an operator or reviewer reads first: what would be
// created, where each subnet routes, and how each data store is keyed and backed up.
import { PlannedStack } from "./types";

export interface SubnetSummary {
    name: string;
    tier: string;
    cidr: string;
    zone: string;
    /** Derived from route tables, not from tags: "internet gateway", "NAT gateway" or "none". */
    internetRoute: "internet gateway" | "NAT gateway" | "none";
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

const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));

export function summarisePlan(plan: PlannedStack): PlanSummary {
    const custom = plan.resources.filter((r) => r.custom);
    const ofType = (type: string) => custom.filter((r) => r.type === type);
    const byId = new Map(custom.map((r) => [r.id, r]));

    // Which route table each subnet uses, and where that table sends 0.0.0.0/0.
    const tableOfSubnet = new Map(ofType("aws:ec2/routeTableAssociation:RouteTableAssociation").map((a) => [str(a.state.subnetId), str(a.state.routeTableId)]));
    const exitOfTable = new Map<string, SubnetSummary["internetRoute"]>();
    for (const route of ofType("aws:ec2/route:Route")) {
        const table = str(route.state.routeTableId);
        const target = byId.get(str(route.state.gatewayId));
        if (target?.type === "aws:ec2/internetGateway:InternetGateway") exitOfTable.set(table, "internet gateway");
        else if (route.state.natGatewayId && exitOfTable.get(table) !== "internet gateway") exitOfTable.set(table, "NAT gateway");
    }
    const subnets: SubnetSummary[] = ofType("aws:ec2/subnet:Subnet").map((s) => ({
        name: s.name,
        tier: str((s.state.tags as Record<string, string> | undefined)?.Tier) || "?",
        cidr: str(s.state.cidrBlock),
        zone: str(s.state.availabilityZone),
        internetRoute: exitOfTable.get(tableOfSubnet.get(s.id) ?? "") ?? "none",
    }));
    const tierOfSubnet = new Map(ofType("aws:ec2/subnet:Subnet").map((s) => [s.id, subnets.find((x) => x.name === s.name)!.tier]));

    // Key ARN -> alias, so a reviewer sees "alias/appi-dev/data", not a UUID.
    const keys = ofType("aws:kms/key:Key");
    const aliasOfKey = new Map<string, string>();
    for (const alias of ofType("aws:kms/alias:Alias")) {
        const key = keys.find((k) => k.state.keyId === alias.state.targetKeyId || k.state.arn === alias.state.targetKeyId);
        if (key) aliasOfKey.set(str(key.state.arn), str(alias.state.name));
    }
    const describeKey = (enabled: unknown, keyArn: unknown) => {
        if (enabled === false) return "NOT ENCRYPTED";
        if (!keyArn) return "AWS-managed key";
        return `${aliasOfKey.get(str(keyArn)) ?? str(keyArn)} (customer-managed)`;
    };
    const subnetGroupTiers = (type: string, groupName: unknown) => {
        const group = ofType(type).find((g) => g.state.name === groupName);
        const ids = (group?.state.subnetIds as string[] | undefined) ?? [];
        return [...new Set(ids.map((id) => tierOfSubnet.get(id) ?? "?"))];
    };

    const dataStores: DataStoreSummary[] = [];
    for (const db of ofType("aws:rds/instance:Instance")) {
        dataStores.push({
            kind: `RDS PostgreSQL ${str(db.state.engineVersion)}`,
            name: str(db.state.identifier) || db.name,
            encryption: describeKey(db.state.storageEncrypted ?? false, db.state.kmsKeyId),
            backupDays: Number(db.state.backupRetentionPeriod ?? 1),
            multiAz: db.state.multiAz === true,
            tiers: subnetGroupTiers("aws:rds/subnetGroup:SubnetGroup", db.state.dbSubnetGroupName),
        });
    }
    for (const cluster of ofType("aws:rds/cluster:Cluster")) {
        const instances = ofType("aws:rds/clusterInstance:ClusterInstance").length;
        dataStores.push({
            kind: `Aurora PostgreSQL ${str(cluster.state.engineVersion)} (${instances} instances)`,
            name: str(cluster.state.clusterIdentifier) || cluster.name,
            encryption: describeKey(cluster.state.storageEncrypted ?? false, cluster.state.kmsKeyId),
            backupDays: Number(cluster.state.backupRetentionPeriod ?? 1),
            multiAz: instances > 1,
            tiers: subnetGroupTiers("aws:rds/subnetGroup:SubnetGroup", cluster.state.dbSubnetGroupName),
        });
    }
    for (const redis of ofType("aws:elasticache/replicationGroup:ReplicationGroup")) {
        const transit = redis.state.transitEncryptionEnabled === true ? `TLS ${str(redis.state.transitEncryptionMode) || "required"}` : "NO TLS";
        dataStores.push({
            kind: `ElastiCache Redis ${str(redis.state.engineVersion)}`,
            name: str(redis.state.replicationGroupId) || redis.name,
            encryption: `${describeKey(redis.state.atRestEncryptionEnabled ?? false, redis.state.kmsKeyId)}; in transit ${transit}`,
            backupDays: Number(redis.state.snapshotRetentionLimit ?? 0),
            multiAz: redis.state.multiAzEnabled === true,
            tiers: subnetGroupTiers("aws:elasticache/subnetGroup:SubnetGroup", redis.state.subnetGroupName),
        });
    }
    for (const topic of ofType("aws:sns/topic:Topic")) {
        dataStores.push({ kind: "SNS topic", name: str(topic.state.name) || topic.name, encryption: describeKey(undefined, topic.state.kmsMasterKeyId), backupDays: undefined, multiAz: true, tiers: [] });
    }
    for (const project of ofType("aws:codebuild/project:Project")) {
        dataStores.push({ kind: "CodeBuild project", name: str(project.state.name) || project.name, encryption: describeKey(undefined, project.state.encryptionKey), backupDays: undefined, multiAz: true, tiers: [] });
    }

    const logGroups = ofType("aws:cloudwatch/logGroup:LogGroup");
    const retentions = logGroups.map((g) => Number(g.state.retentionInDays ?? 0));
    const counts = new Map<string, number>();
    for (const r of plan.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);

    return {
        stack: plan.stack,
        region: plan.config["aws:region"] ?? "?",
        resourceCount: plan.resources.length,
        countsByType: [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
        subnets,
        dataStores,
        logGroups: { count: logGroups.length, minRetentionDays: retentions.length ? Math.min(...retentions) : undefined, unencrypted: logGroups.filter((g) => !g.state.kmsKeyId).length },
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

