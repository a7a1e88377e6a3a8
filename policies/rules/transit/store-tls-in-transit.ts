import { tlsRank } from "../../core/config";
import { CannotCheckError, known, readObjects, readString, readTags } from "../../core/props";
import { cannotCheck, defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { resolveOfType } from "../../core/stack-view";
import { PackConfig, PropValue, Props, ResourceView, SecretValue, StackView, UNKNOWN } from "../../core/types";
import { APPI } from "../_shared/appi";
import { conditionValues, grantsEveryone, parsePolicyDocument, PolicyStatement } from "../_shared/iam";
import { isPostgres, parametersOf } from "../_shared/rds";
import { referrersOf } from "../_shared/references";
import { NO_PERSONAL_DATA, PERSONAL_DATA_TAG, STORE_ENTRIES, TlsSpec } from "../_shared/stores";

/** Types whose transit TLS an older, exact rule already decides (elasticache-transit-encryption; PostgreSQL in rds-*-postgres-tls). */
const DECIDED_ELSEWHERE = new Set(["aws:elasticache/replicationGroup:ReplicationGroup"]);

const TLS_STORES = STORE_ENTRIES.filter((e) => e.tls !== undefined && !DECIDED_ELSEWHERE.has(e.type));
const TLS_BY_TYPE = new Map<string, TlsSpec>(TLS_STORES.map((e) => [e.type, e.tls!]));

/** The value at a dotted path; a one-element list on the way (v7 list-shaped blocks, state files) counts as its element. */
const splitPaths = new Map<string, readonly string[]>();
const isPlain = (v: PropValue) => v !== UNKNOWN && !(v instanceof SecretValue);

function valueAt(props: Props, path: string): PropValue {
    let current: PropValue = props;
    let parts = splitPaths.get(path);
    if (!parts) splitPaths.set(path, (parts = path.split(".")));
    for (let i = 0; i < parts.length; i++) {
        // The path text for a message only when a value is unknown or a secret (once per store otherwise wasted).
        if (!isPlain(current)) current = known(current, parts.slice(0, i).join(".") || "(resource)");
        if (Array.isArray(current)) current = isPlain(current[0]) ? current[0] : known(current[0], `${parts.slice(0, i).join(".")}[0]`);
        if (current === null || current === undefined || typeof current !== "object") return undefined;
        current = (current as Props)[parts[i]];
    }
    return known(current, path);
}

const asFlag = (v: PropValue): PropValue => (v === "true" ? true : v === "false" ? false : v);

/** The minimum TLS version an engine's TLS parameters can enforce at best (the configured one when the service offers it). */
function floor(config: PackConfig, best: number): number {
    return Math.min(tlsRank(config.minTlsVersion) ?? 1.3, best);
}

const ON = new Set(["1", "on", "true"]);

/** What a parameter group has to say, by engine: MySQL/MariaDB, SQL Server, DocumentDB, Redshift. */
function parameterProblems(engine: string | undefined, type: string, parameters: ReadonlyMap<string, string | undefined>, group: string, config: PackConfig): string[] {
    const get = (name: string) => parameters.get(name)?.trim();
    if (type.startsWith("aws:docdb/")) {
        const tls = get("tls") ?? "enabled";
        const wanted = floor(config, 1.3);
        const rank = tls === "tls1.3+" ? 1.3 : tls === "tls1.2+" || tls === "fips-140-3" ? 1.2 : tls === "enabled" ? 1.0 : 0;
        if (rank === 0) return [`parameter group ${group} sets tls=${tls}: clients may connect without TLS`];
        return rank < wanted ? [`parameter group ${group} sets tls=${tls}, which accepts TLS below ${config.minTlsVersion}; set tls to ${wanted >= 1.3 ? "tls1.3+" : "tls1.2+"}`] : [];
    }
    if (type.startsWith("aws:redshift/")) {
        return ON.has((get("require_ssl") ?? "false").toLowerCase()) ? [] : [`parameter group ${group} does not set require_ssl=true: clients may connect without TLS`];
    }
    if (engine && /^(mysql|mariadb|aurora-mysql|aurora)$/.test(engine)) {
        const problems: string[] = [];
        const secure = get("require_secure_transport");
        if (!secure || !ON.has(secure.toLowerCase())) problems.push(`parameter group ${group} does not set require_secure_transport=1${secure ? ` (it is ${secure})` : ""}: clients may connect without TLS`);
        const versions = (get("tls_version") ?? "TLSv1.2,TLSv1.3").split(",").map((v) => v.trim()).filter(Boolean);
        const wanted = floor(config, 1.3);
        const weak = versions.filter((v) => (tlsRank(v) ?? 0) < wanted);
        if (weak.length) problems.push(`parameter group ${group} accepts ${weak.join(", ")}${parameters.has("tls_version") ? "" : " (tls_version unset)"}; set tls_version to ${config.minTlsVersion} only`);
        return problems;
    }
    if (engine?.startsWith("sqlserver")) {
        const problems: string[] = [];
        if (!ON.has((get("rds.force_ssl") ?? "0").toLowerCase())) problems.push(`parameter group ${group} does not set rds.force_ssl=1: clients may connect without TLS`);
        const enabled = ["rds.tls10", "rds.tls11"].filter((p) => get(p) !== "disabled");
        if (enabled.length) problems.push(`parameter group ${group} does not disable ${enabled.join(", ")} (set them to "disabled"): TLS below 1.2 stays available`);
        return problems;
    }
    throw new CannotCheckError("engine", `TLS for engine ${engine ?? "(unset)"} is configured in settings this rule does not read (Db2: db2comm / ssl_svcename), so it could not be checked`);
}

// ---- Oracle: TLS is the SSL option of the instance's option group ----------------------------

const OPTION_GROUP = "aws:rds/optionGroup:OptionGroup";
const OPTION_GROUP_TYPES = [OPTION_GROUP];

function isOracle(engine: string | undefined): boolean {
    return engine !== undefined && (engine.startsWith("oracle") || engine.startsWith("custom-oracle"));
}

/**
 * RDS for Oracle speaks TLS only through the SSL option of a custom aws.rds.OptionGroup
 * (OptionGroupOption { optionName: "SSL", port, optionSettings: [{ name: "SQLNET.SSL_VERSION", value }] }):
 * the default option group has none. SQLNET.SSL_VERSION must name 1.2 alone (Oracle offers no 1.3,
 * so 1.2 is the floor whatever minTlsVersion says); "1.0" or "1.2 or 1.0" still accept TLS 1.0.
 */
function oracleProblems(resource: ResourceView, stack: StackView): string[] {
    const name = readString(resource.props, "optionGroupName");
    if (!name || name.startsWith("default:")) return [`optionGroupName is ${name ?? "unset"}: the default option group has no SSL option, so clients connect without TLS; attach an aws.rds.OptionGroup with the SSL option (port 2484, SQLNET.SSL_VERSION 1.2)`];
    const group = resolveOfType(stack, name, OPTION_GROUP_TYPES);
    if (!group) throw new CannotCheckError("optionGroupName", `option group ${name} is not in this stack, so its SSL option could not be checked`);
    const ssl = readObjects(group.props, "options").find((o) => (readString(o, "optionName") ?? "").toUpperCase() === "SSL");
    if (!ssl) return [`option group ${group.name} has no SSL option, so clients connect without TLS; add { optionName: "SSL", port: 2484, optionSettings: [{ name: "SQLNET.SSL_VERSION", value: "1.2" }] }`];
    const version = readObjects(ssl, "optionSettings").find((o) => readString(o, "name")?.toUpperCase() === "SQLNET.SSL_VERSION");
    const value = version ? (readString(version, "value") ?? "").trim() : undefined;
    if (value !== "1.2") return [`option group ${group.name}'s SSL option sets SQLNET.SSL_VERSION to ${value === undefined ? "nothing (TLS 1.0 stays allowed)" : JSON.stringify(value)}; set it to "1.2"`];
    return [];
}

function groupProblems(resource: ResourceView, spec: NonNullable<TlsSpec["parameterGroup"]>, stack: StackView, config: PackConfig): string[] {
    const engine = readString(resource.props, "engine");
    const name = readString(resource.props, spec.path);
    if (!name || name.startsWith("default.") || name.startsWith("default:")) {
        // Default groups: DocumentDB's has tls=enabled (TLS 1.0+); RDS MySQL/MariaDB/SQL Server and Redshift do not force TLS.
        return parameterProblems(engine, resource.type, new Map(), name ?? `the default ${spec.type.split(":").pop()}`, config).map((p) => `${p} (no custom ${spec.path}: the default group applies)`);
    }
    const group = resolveOfType(stack, name, [spec.type]);
    if (!group) throw new CannotCheckError(spec.path, `parameter group ${name} is not in this stack, so its TLS settings could not be checked`);
    return parameterProblems(engine, resource.type, parametersOf(group.props), group.name, config);
}

/** Buckets: S3 accepts plain HTTP unless a bucket policy denies requests without aws:SecureTransport (Security Hub S3.5). */
const BUCKETS = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];
const BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy";

function deniesPlainHttp(statement: PolicyStatement): boolean {
    if (statement.effect !== "Deny" || !grantsEveryone({ ...statement, effect: "Allow" })) return false;
    if (!statement.actions.some((a) => a === "*" || a === "s3:*")) return false;
    return conditionValues(statement, "aws:SecureTransport", ["Bool", "BoolIfExists"]).some(({ values }) => values.some((v) => String(known(v, "aws:SecureTransport")).toLowerCase() === "false"));
}

function bucketTlsProblems(bucket: ResourceView, stack: StackView): string[] {
    const documents: { where: string; value: PropValue }[] = [];
    if (bucket.props.policy !== undefined && bucket.props.policy !== null && bucket.props.policy !== "") documents.push({ where: "policy", value: bucket.props.policy });
    for (const policy of referrersOf(stack, BUCKET_POLICY, "bucket", bucket)) documents.push({ where: `bucket policy ${policy.name}`, value: policy.props.policy });
    for (const { where, value } of documents) {
        if (parsePolicyDocument(value, where).some(deniesPlainHttp)) return [];
    }
    return [`no bucket policy denies requests without TLS (a Deny of s3:* to Principal "*" when aws:SecureTransport is "false"), so the bucket also answers plain HTTP`];
}

/** "Policy-Min-TLS-1-2-PFS-2023-10" -> 1.2 */
function policyFloor(policy: string): number | undefined {
    const m = /TLS-?1-(\d)/i.exec(policy);
    return m ? Number(`1.${m[1]}`) : undefined;
}

export const storeTlsInTransit = defineResourceRule({
    id: "store-tls-in-transit",
    title: "Every store endpoint forces TLS at the configured minimum version",
    description:
        "From the stores catalogue's TLS entries: MySQL/MariaDB (instance or cluster) parameter groups set require_secure_transport=1 and tls_version at minTlsVersion; SQL Server sets rds.force_ssl=1 and disables rds.tls10/rds.tls11; DocumentDB sets tls to tls1.3+ (tls1.2+ when minTlsVersion is TLSv1.2); Redshift sets require_ssl; S3 buckets have a bucket policy denying requests without aws:SecureTransport; MemoryDB keeps tlsEnabled; ElastiCache clusters enable transit encryption; MSK brokers speak TLS only; OpenSearch enforces HTTPS with a Policy-Min-TLS-1-2 policy (the highest floor it offers). A default parameter group does not force TLS. Oracle instances attach an aws.rds.OptionGroup whose SSL option sets SQLNET.SSL_VERSION to 1.2 (the default option group has no SSL option; the plain listener stays open to whoever the security group admits, so keep the group to the TLS port). PostgreSQL and ElastiCache replication groups are decided by their own rules; Db2 is reported as not checked. Stores tagged appi:personal-data=none are skipped.",
    appi: APPI.security,
    securityHub: ["Opensearch.8", "MSK.1", "Redshift.2", "S3.5"],
    severity: "high",
    remediation:
        "Attach a custom parameter group that forces TLS (require_secure_transport=1 and tls_version=TLSv1.3 for MySQL/MariaDB; rds.force_ssl=1 for SQL Server; tls=tls1.3+ for DocumentDB; require_ssl=true for Redshift), an aws.rds.OptionGroup with the SSL option and SQLNET.SSL_VERSION 1.2 for Oracle, add a bucket policy statement denying s3:* to Principal * when aws:SecureTransport is false to every bucket, keep tlsEnabled on MemoryDB, set domainEndpointOptions { enforceHttps: true, tlsSecurityPolicy: \"Policy-Min-TLS-1-2-PFS-2023-10\" } on OpenSearch.",
    defaultEnforcement: "mandatory",
    resourceTypes: [...TLS_STORES.map((e) => e.type), ...BUCKETS],
    reviews: [...new Set(TLS_STORES.map((e) => e.tls?.parameterGroup?.type).filter((t): t is string => t !== undefined)), BUCKET_POLICY, OPTION_GROUP],
    check(resource, { config, stack }) {
        if (String(readTags(resource.props)[PERSONAL_DATA_TAG] ?? "").toLowerCase() === NO_PERSONAL_DATA) return notApplicable();
        if (BUCKETS.includes(resource.type)) return failIf(bucketTlsProblems(resource, stack));
        const spec = TLS_BY_TYPE.get(resource.type);
        if (!spec) return notApplicable();
        // A cluster that is a member of a replication group speaks the group's TLS (elasticache-transit-encryption).
        if (resource.type === "aws:elasticache/cluster:Cluster" && readString(resource.props, "replicationGroupId")) return notApplicable();
        if (spec.parameterGroup && resource.type.startsWith("aws:rds/") && isPostgres(readString(resource.props, "engine"))) return notApplicable();
        const problems: string[] = [];
        for (const flag of spec.required ?? []) {
            let value = asFlag(valueAt(resource.props, flag.path));
            if (value === undefined || value === null) value = flag.awsDefault;
            if (!flag.oneOf.some((ok) => ok === value)) problems.push(`${flag.path} is ${value === undefined ? "unset" : JSON.stringify(value)}; TLS needs ${flag.oneOf.map((v) => JSON.stringify(v)).join(" or ")}`);
        }
        if (spec.minimumVersion) {
            const policy = valueAt(resource.props, spec.minimumVersion);
            const wanted = floor(config, 1.2);
            const have = typeof policy === "string" ? policyFloor(policy) : undefined;
            if (have === undefined || have < wanted) problems.push(`${spec.minimumVersion} is ${typeof policy === "string" ? policy : "unset"}; set a policy with a TLS ${wanted} floor (e.g. Policy-Min-TLS-1-2-PFS-2023-10)`);
        }
        if (spec.parameterGroup) {
            try {
                const oracle = resource.type === "aws:rds/instance:Instance" && isOracle(readString(resource.props, "engine"));
                problems.push(...(oracle ? oracleProblems(resource, stack) : groupProblems(resource, spec.parameterGroup, stack, config)));
            } catch (err) {
                if (err instanceof CannotCheckError && !problems.length) return cannotCheck(err.message);
                if (!(err instanceof CannotCheckError)) throw err;
            }
        }
        return failIf(problems);
    },
});
