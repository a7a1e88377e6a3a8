// Turns a planned stack into what an operator or reviewer reads first: what would be
// created, where each subnet routes, and how each data store is keyed and backed up.
// It reads the same resource views, and calls the same route-table and key derivations,
// as the policy pack's verdict printed beside it, so the two cannot disagree.
import { CannotCheckError } from "../policies/core/props";
import { resolveConfig } from "../policies/core/config";
import { evaluate } from "../policies/core/engine";
import { buildStackView } from "../policies/core/stack-view";
import { PropValue, ResourceView, Rule, StackView, UNKNOWN } from "../policies/core/types";
import { Report } from "../policies/report/model";
import { isProdStack } from "../policies/rules/_shared/appi";
import { conditionValues, parsePolicyDocument } from "../policies/rules/_shared/iam";
import { classifyKey } from "../policies/rules/_shared/kms";
import { isWorldCidr } from "../policies/rules/_shared/ports";
import { subnetEgress, SubnetEgress } from "../policies/rules/_shared/network";
import { plannedStackViews } from "../policies/runners/offline";
import { wrap } from "../policies/report/text";
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

/** Something reachable from the internet, and how. */
export interface Exposure {
    what: string;
    how: string;
}

/** A role GitHub Actions can assume, and the OIDC subjects (`sub` claims) it trusts. */
export interface Deployer {
    role: string;
    subjects: string[];
}

/** When and with what the plan was checked: what makes it evidence. */
export interface Evidence {
    time: string;
    commit?: string;
    branch?: string;
    packVersion: string;
    thresholds: string;
}

export interface PlanSummary {
    stack: string;
    evidence?: Evidence;
    region: string;
    resourceCount: number;
    countsByType: [string, number][];
    subnets: SubnetSummary[];
    dataStores: DataStoreSummary[];
    logGroups: { count: number; minRetentionDays: number | undefined; unencrypted: number };
    exposure: Exposure[];
    deployers: Deployer[];
    /** Rules that check this stack's resources only in prod (Multi-AZ, deletion protection): not applicable here. */
    prodOnlyRules: string[];
}

const GITHUB_OIDC = "token.actions.githubusercontent.com";

function deployersOf(stack: StackView): Deployer[] {
    const out: Deployer[] = [];
    for (const role of stack.ofType("aws:iam/role:Role")) {
        let statements;
        try {
            statements = parsePolicyDocument(role.props.assumeRolePolicy, "assumeRolePolicy");
        } catch {
            continue;
        }
        const subjects: string[] = [];
        let trustsGithub = false;
        for (const st of statements) {
            if (st.effect !== "Allow") continue;
            const federated = (st.principals.Federated ?? []).some((p) => typeof p === "string" && p.includes(GITHUB_OIDC));
            const subs = conditionValues(st, `${GITHUB_OIDC}:sub`, ["StringEquals", "StringEqualsIgnoreCase", "StringLike"]);
            if (!federated && !subs.length) continue;
            trustsGithub = true;
            for (const { values } of subs) for (const v of values) subjects.push(v === UNKNOWN ? "(not known until deploy)" : String(v));
        }
        if (trustsGithub) out.push({ role: str(role.props.name) || role.name, subjects: subjects.length ? subjects : ["ANY (no sub condition)"] });
    }
    return out;
}

function exposureOf(stack: StackView): Exposure[] {
    const out: Exposure[] = [];
    const nameOf = (ref: PropValue) => {
        const r = stack.resolve(ref);
        return r ? str(r.props.name) || r.name : str(ref);
    };
    // Who can reach what: ingress open to every address.
    for (const rule of stack.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")) {
        const cidr = str(rule.props.cidrIpv4) || str(rule.props.cidrIpv6);
        if (!cidr || !isWorldCidr(cidr)) continue;
        const from = rule.props.fromPort;
        const to = rule.props.toPort;
        const ports = from === to ? str(from) : `${str(from)}-${str(to)}`;
        out.push({ what: `security group ${nameOf(rule.props.securityGroupId)}`, how: `${str(rule.props.ipProtocol) || "tcp"} ${ports} from ${cidr}` });
    }
    for (const sg of stack.ofType("aws:ec2/securityGroup:SecurityGroup")) {
        for (const ingress of (sg.props.ingress as { [k: string]: PropValue }[] | undefined) ?? []) {
            const cidrs = [...((ingress?.cidrBlocks as PropValue[]) ?? []), ...((ingress?.ipv6CidrBlocks as PropValue[]) ?? [])].map(str).filter(isWorldCidr);
            if (cidrs.length) out.push({ what: `security group ${str(sg.props.name) || sg.name}`, how: `${str(ingress.protocol)} ${str(ingress.fromPort)}-${str(ingress.toPort)} from ${cidrs.join(", ")}` });
        }
    }
    // Public addresses: Elastic IPs on instances, instances with a public IP, public databases.
    for (const eip of stack.ofType("aws:ec2/eip:Eip")) {
        const instance = eip.props.instance;
        if (instance) out.push({ what: `instance ${nameOf(instance)}`, how: `Elastic IP ${str(eip.props.publicIp) || "(assigned at deploy)"}` });
    }
    for (const assoc of stack.ofType("aws:ec2/eipAssociation:EipAssociation")) out.push({ what: `instance ${nameOf(assoc.props.instanceId)}`, how: "Elastic IP association" });
    for (const instance of stack.ofType("aws:ec2/instance:Instance")) {
        if (instance.props.associatePublicIpAddress === true) out.push({ what: `instance ${instance.name}`, how: "public IPv4 address" });
    }
    for (const db of [...stack.ofType("aws:rds/instance:Instance"), ...stack.ofType("aws:rds/clusterInstance:ClusterInstance")]) {
        if (db.props.publiclyAccessible === true) out.push({ what: `database ${db.name}`, how: "publicly accessible endpoint" });
    }
    for (const pool of stack.ofType("aws:cognito/userPool:UserPool")) {
        out.push({ what: `Cognito user pool ${str(pool.props.name) || pool.name}`, how: "AWS public sign-up / sign-in endpoint (by design)" });
    }
    return out;
}

/** Rules that find something to check in these resources only when the stack is prod. */
function prodOnlyRules(views: readonly ResourceView[], stackName: string, rules: readonly Rule[]): string[] {
    if (isProdStack(stackName)) return [];
    const config = resolveConfig(undefined);
    const here = new Set(evaluate(rules, buildStackView([...views], stackName), config).map((f) => f.ruleId));
    const inProd = new Set(evaluate(rules, buildStackView([...views], "prod"), config).map((f) => f.ruleId));
    return rules.filter((r) => inProd.has(r.id) && !here.has(r.id)).map((r) => r.id);
}

export interface SummaryOptions {
    /** The compliance report of the same plan: its provenance and thresholds head the summary. */
    report?: Report;
    /** The rule set (for prod-only rules); the report's rules when it is given. */
    rules?: readonly Rule[];
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

export function summarisePlan(plan: PlannedStack, options: SummaryOptions = {}): PlanSummary {
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
    for (const pool of ofType("aws:cognito/userPool:UserPool")) {
        // Cognito keeps its users' personal data (e-mail, phone, attributes) itself, encrypted with an AWS-owned key.
        dataStores.push({
            kind: `Cognito user pool (personal data; MFA ${str(pool.props.mfaConfiguration) || "OFF"})`,
            name: str(pool.props.name) || pool.name,
            encryption: "AWS-owned key (Cognito offers no CMK)",
            backupDays: undefined,
            multiAz: true,
            tiers: [],
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

    const report = options.report;
    const ruleSet = options.rules ?? (report?.rules as readonly Rule[] | undefined);
    const cfg = report?.config;
    const evidence: Evidence | undefined = report?.provenance && {
        time: report.provenance.time,
        commit: report.provenance.commit,
        branch: report.provenance.branch,
        packVersion: report.provenance.packVersion,
        thresholds: cfg
            ? `regions ${cfg.allowedRegions.join(", ")}; backups >= ${cfg.minBackupRetentionDays} days; logs >= ${cfg.minLogRetentionDays} days; TLS >= ${cfg.minTlsVersion}; fail on ${report.failOn ?? "mandatory"}`
            : `fail on ${report.failOn ?? "mandatory"}`,
    };

    return {
        stack: plan.stack,
        ...(evidence ? { evidence } : {}),
        exposure: exposureOf(stack),
        deployers: deployersOf(stack),
        prodOnlyRules: ruleSet && typeof (ruleSet[0] as Rule | undefined)?.check === "function" ? prodOnlyRules(views, plan.stack, ruleSet) : [],
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
    const e = summary.evidence;
    if (e) {
        lines.push(`Evidence: planned ${e.time}; commit ${e.commit ? e.commit.slice(0, 12) : "(not a git checkout)"}${e.branch ? ` (${e.branch})` : ""}; policy pack ${e.packVersion}`);
        lines.push(...wrap(`Thresholds: ${e.thresholds}`, ""));
    }
    lines.push(`Stack ${summary.stack}: ${summary.resourceCount} resources would be created in ${summary.region}`);
    lines.push("", "What would be created (count by type):");
    lines.push(table(summary.countsByType.map(([type, n]) => [String(n).padStart(4), type])));
    lines.push("", "Subnets (tier from tags; internet route derived from route tables):");
    lines.push(table([["tier", "cidr", "zone", "internet route", "name"], ...summary.subnets.map((s) => [s.tier, s.cidr, s.zone, s.internetRoute, s.name])]));
    // One block per store (the key names alone are long): every line fits 100 columns.
    lines.push("", "Data stores (personal data, and what protects it):");
    for (const d of summary.dataStores) {
        lines.push(`  ${d.kind}  ${d.name}`);
        const facts = [`key ${d.encryption}`, `backups ${d.backupDays === undefined ? "-" : `${d.backupDays} days`}`, `multi-AZ ${d.multiAz ? "yes" : "no"}`, `subnets ${d.tiers.join(", ") || "-"}`];
        lines.push(...wrap(facts.join("; "), "      "));
    }
    const lg = summary.logGroups;
    lines.push("", `Log groups: ${lg.count}, shortest retention ${lg.minRetentionDays ?? "-"} days, ${lg.unencrypted} without a customer-managed key`);
    lines.push("", "Exposed to the internet:");
    lines.push(summary.exposure.length ? table(summary.exposure.map((x) => [x.what, x.how])) : "  nothing");
    lines.push("", "Who can deploy (GitHub OIDC subjects each role trusts):");
    lines.push(summary.deployers.length ? summary.deployers.map((d) => `  ${d.role}\n${d.subjects.map((s) => `    ${s}`).join("\n")}`).join("\n") : "  no role trusts GitHub OIDC");
    if (summary.prodOnlyRules.length) {
        lines.push("", ...wrap(`Not applicable in ${summary.stack} (prod-only rules): ${summary.prodOnlyRules.join(", ")}`, ""));
    }
    return lines.join("\n");
}

