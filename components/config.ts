// Reads and validates the stack configuration. Every bad value stops the program with a
// message naming the key and the command that fixes it, before any resource is declared.
import * as pulumi from "@pulumi/pulumi";
import * as ipaddr from "ipaddr.js";
import { ACCEPTED_TLS_VERSIONS, JAPAN_REGIONS, MAX_BACKUP_RETENTION_DAYS, MAX_LOG_RETENTION_DAYS, MIN_BACKUP_RETENTION_DAYS, MIN_LOG_RETENTION_DAYS, MIN_TLS_VERSION, TlsVersion } from "../policies/core/limits";

export const PROJECT = "appi-infra";

/** APPI residency: the program only deploys to AWS regions in Japan (the pack's default allowedRegions, from one list). */
export { JAPAN_REGIONS };

/** PostgreSQL 16 minor versions, which RDS and Aurora both offer (the spec pins 16; 16.6 is the seed's Aurora version). */
export const SUPPORTED_ENGINE_VERSION = /^16\.([1-9]|1[0-9])$/;

export type DbEngine = "postgres" | "aurora-postgresql";
export type NatStrategy = "single" | "perAz";

export interface NetworkConfig {
    vpcCidr: string;
    azCount: number;
    publicSubnetCidrs: string[];
    appSubnetCidrs: string[];
    dataSubnetCidrs: string[];
    natGateways: NatStrategy;
}

export interface DatabaseConfig {
    engine: DbEngine;
    engineVersion: string;
    instanceClass: string;
    multiAz: boolean;
    allocatedStorageGb: number;
    maxAllocatedStorageGb: number;
    backupRetentionDays: number;
    dbName: string;
    masterUsername: string;
    auroraInstanceCount: number;
    minTlsVersion: TlsVersion;
}

export interface CacheConfig {
    nodeType: string;
    replicaCount: number;
    snapshotRetentionDays: number;
}

export interface AppConfig {
    stack: string;
    /** Prefix of every physical name, e.g. `appi-dev`. */
    namePrefix: string;
    region: string;
    network: NetworkConfig;
    database: DatabaseConfig;
    cache: CacheConfig;
    api: { instanceType: string; ingressCidrs: string[] };
    github: { repository: string; deployBranch: string; prodEnvironment: string; existingOidcProviderArn?: string };
    /** Where Pulumi keeps state and encrypts secrets, so the CI roles can reach exactly that. */
    pulumiBackend: { stateBucket?: string; secretsKeyArn?: string };
    alarmEmail: string;
    logRetentionDays: number;
    deletionProtection: boolean;
    tags: Record<string, string>;
}

export class ConfigError extends Error {
    constructor(
        readonly key: string,
        problem: string,
        fix: string,
    ) {
        super(`config ${PROJECT}:${key}: ${problem}. Fix: ${fix}`);
        this.name = "ConfigError";
    }
}

/** Reads raw string values; `pulumi.Config` in the program, a plain map in tests. */
export type ConfigSource = (key: string) => string | undefined;

const setCommand = (key: string, example: string, stack: string) => `pulumi config set ${key} ${example} -s ${stack}`;

class Reader {
    constructor(
        private readonly source: ConfigSource,
        readonly stack: string,
    ) {}

    string(key: string, fallback: string | undefined, example: string): string {
        const value = this.source(key) ?? fallback;
        if (value === undefined || value.trim() === "") throw new ConfigError(key, "is required and not set", setCommand(key, example, this.stack));
        return value.trim();
    }

    /** An optional value that must match `pattern` when set. */
    optionalMatching(key: string, pattern: RegExp, example: string): string | undefined {
        const value = this.source(key)?.trim();
        if (value === undefined || value === "") return undefined;
        if (!pattern.test(value)) throw new ConfigError(key, `${JSON.stringify(value)} is malformed`, setCommand(key, example, this.stack));
        return value;
    }

    integer(key: string, fallback: number, min: number, max: number): number {
        const raw = this.source(key);
        const value = raw === undefined ? fallback : Number(raw);
        if (!Number.isInteger(value) || value < min || value > max) {
            throw new ConfigError(key, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`, setCommand(key, String(fallback), this.stack));
        }
        return value;
    }

    boolean(key: string, fallback: boolean): boolean {
        const raw = this.source(key);
        if (raw === undefined) return fallback;
        if (raw === "true" || raw === "false") return raw === "true";
        throw new ConfigError(key, `must be true or false, got ${JSON.stringify(raw)}`, setCommand(key, String(fallback), this.stack));
    }

    oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
        const value = (this.source(key) ?? fallback) as T;
        if (!allowed.includes(value)) {
            throw new ConfigError(key, `must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`, setCommand(key, fallback, this.stack));
        }
        return value;
    }

    stringList(key: string, fallback: string[]): string[] {
        const raw = this.source(key);
        if (raw === undefined) return fallback;
        let parsed: unknown;
        try {
            parsed = JSON.parse(raw);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
            throw new ConfigError(key, `must be a list of strings, got ${JSON.stringify(raw)}`, `set it as a YAML list in Pulumi.${this.stack}.yaml, e.g. ${key}: ${JSON.stringify(fallback)}`);
        }
        return parsed;
    }
}

type Cidr = [ipaddr.IPv4, number];

function parseCidr(key: string, value: string, stack: string): Cidr {
    try {
        const [address, bits] = ipaddr.parseCIDR(value);
        if (address.kind() !== "ipv4") throw new Error("not IPv4");
        const network = ipaddr.IPv4.networkAddressFromCIDR(value);
        if (network.toString() !== address.toString()) {
            throw new ConfigError(key, `${value} is not a network address (host bits set)`, `use ${network.toString()}/${bits}`);
        }
        return [address as ipaddr.IPv4, bits];
    } catch (err) {
        if (err instanceof ConfigError) throw err;
        throw new ConfigError(key, `${JSON.stringify(value)} is not a valid IPv4 CIDR`, setCommand(key, "10.0.0.0/16", stack));
    }
}

const contains = (outer: Cidr, inner: Cidr) => inner[1] >= outer[1] && inner[0].match(outer);
const overlaps = (a: Cidr, b: Cidr) => a[0].match(b) || b[0].match(a);

function validateNetwork(read: Reader): NetworkConfig {
    const azCount = read.integer("azCount", 2, 2, 3);
    const vpcCidr = read.string("vpcCidr", "10.0.0.0/16", "10.0.0.0/16");
    const vpc = parseCidr("vpcCidr", vpcCidr, read.stack);
    if (vpc[1] < 16 || vpc[1] > 24) throw new ConfigError("vpcCidr", `${vpcCidr}: a VPC block must be between /16 and /24`, setCommand("vpcCidr", "10.0.0.0/16", read.stack));

    const tiers = {
        publicSubnetCidrs: read.stringList("publicSubnetCidrs", ["10.0.10.0/24", "10.0.11.0/24", "10.0.12.0/24"].slice(0, azCount)),
        appSubnetCidrs: read.stringList("appSubnetCidrs", ["10.0.20.0/24", "10.0.21.0/24", "10.0.22.0/24"].slice(0, azCount)),
        dataSubnetCidrs: read.stringList("dataSubnetCidrs", ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"].slice(0, azCount)),
    };
    const seen: { key: string; cidr: string; parsed: Cidr }[] = [];
    for (const [key, cidrs] of Object.entries(tiers)) {
        if (cidrs.length !== azCount) {
            throw new ConfigError(key, `has ${cidrs.length} CIDRs but azCount is ${azCount}: one subnet per availability zone`, `list exactly ${azCount} CIDRs in Pulumi.${read.stack}.yaml`);
        }
        for (const cidr of cidrs) {
            const parsed = parseCidr(key, cidr, read.stack);
            if (!contains(vpc, parsed)) throw new ConfigError(key, `${cidr} does not fit inside vpcCidr ${vpcCidr}`, `choose subnets inside ${vpcCidr} or widen vpcCidr`);
            if (parsed[1] > 28) throw new ConfigError(key, `${cidr} is smaller than /28, the smallest subnet AWS allows`, "use a /24 per subnet");
            const clash = seen.find((other) => overlaps(other.parsed, parsed));
            if (clash) throw new ConfigError(key, `${cidr} overlaps ${clash.cidr} (${clash.key}): tiers must not overlap`, "give every subnet its own range");
            seen.push({ key, cidr, parsed });
        }
    }
    return { vpcCidr, azCount, ...tiers, natGateways: read.oneOf<NatStrategy>("natGateways", "perAz", ["single", "perAz"]) };
}

function validateDatabase(read: Reader): DatabaseConfig {
    const engine = read.oneOf<DbEngine>("dbEngine", "postgres", ["postgres", "aurora-postgresql"]);
    const engineVersion = read.string("dbEngineVersion", "16.6", "16.6");
    if (!SUPPORTED_ENGINE_VERSION.test(engineVersion)) {
        throw new ConfigError("dbEngineVersion", `${JSON.stringify(engineVersion)} is not a supported ${engine} version: this project runs PostgreSQL 16 (16.1 to 16.19)`, setCommand("dbEngineVersion", "16.6", read.stack));
    }
    const instanceClass = read.string("dbInstanceClass", "db.r6g.large", "db.r6g.large");
    if (!/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(instanceClass)) throw new ConfigError("dbInstanceClass", `${JSON.stringify(instanceClass)} is not an RDS instance class`, setCommand("dbInstanceClass", "db.t4g.medium", read.stack));
    if (engine === "aurora-postgresql" && /\.(micro|small)$/.test(instanceClass)) {
        throw new ConfigError("dbInstanceClass", `Aurora PostgreSQL does not offer ${instanceClass}`, setCommand("dbInstanceClass", "db.t4g.medium", read.stack));
    }
    const allocatedStorageGb = read.integer("dbAllocatedStorageGb", 20, 20, 65536);
    const dbName = read.string("dbName", "pii_db", "pii_db");
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(dbName)) throw new ConfigError("dbName", `${JSON.stringify(dbName)} must start with a letter and hold only a-z, 0-9 and _`, setCommand("dbName", "pii_db", read.stack));
    const masterUsername = read.string("dbMasterUsername", "appi_admin", "appi_admin");
    if (!/^[a-z][a-z0-9_]{0,15}$/.test(masterUsername) || masterUsername === "rdsadmin") {
        throw new ConfigError("dbMasterUsername", `${JSON.stringify(masterUsername)} must be 1-16 of a-z, 0-9, _ starting with a letter (not rdsadmin)`, setCommand("dbMasterUsername", "appi_admin", read.stack));
    }
    return {
        engine,
        engineVersion,
        instanceClass,
        multiAz: read.boolean("dbMultiAz", true),
        allocatedStorageGb,
        maxAllocatedStorageGb: read.integer("dbMaxAllocatedStorageGb", Math.max(100, allocatedStorageGb), allocatedStorageGb, 65536),
        // APPI Art. 23 + the spec: at least 14 days; 35 is RDS's maximum.
        backupRetentionDays: read.integer("backupRetentionDays", MIN_BACKUP_RETENTION_DAYS, MIN_BACKUP_RETENTION_DAYS, MAX_BACKUP_RETENTION_DAYS),
        dbName,
        masterUsername,
        auroraInstanceCount: read.integer("auroraInstanceCount", 2, 1, 15),
        // Only versions the pack accepts by default: a weaker one would pass here and fail the gate.
        minTlsVersion: read.oneOf<TlsVersion>("dbMinTlsVersion", MIN_TLS_VERSION, ACCEPTED_TLS_VERSIONS),
    };
}

/** Validates raw config values into the program's settings (pure: tests call it directly). */
export function parseConfig(source: ConfigSource, stack: string): AppConfig {
    const read = new Reader(source, stack);
    const region = read.string("region", "ap-northeast-1", "ap-northeast-1");
    if (!(JAPAN_REGIONS as readonly string[]).includes(region)) {
        throw new ConfigError("region", `${region} is outside Japan; APPI residency allows ${JAPAN_REGIONS.join(", ")}`, setCommand("region", "ap-northeast-1", stack));
    }
    const repository = read.string("githubRepository", undefined, "owner/name");
    if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repository)) {
        throw new ConfigError("githubRepository", `${JSON.stringify(repository)} must be one repository as owner/name (no wildcards)`, setCommand("githubRepository", "marczenn/rento", stack));
    }
    const alarmEmail = read.string("alarmEmail", undefined, "oncall@example.com");
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) throw new ConfigError("alarmEmail", `${JSON.stringify(alarmEmail)} is not an e-mail address`, setCommand("alarmEmail", "oncall@example.com", stack));

    const apiIngressCidrs = read.stringList("apiIngressCidrs", ["0.0.0.0/0"]);
    for (const cidr of apiIngressCidrs) parseCidr("apiIngressCidrs", cidr, stack);

    const replicaCount = read.integer("redisReplicaCount", 1, 0, 5);
    return {
        stack,
        namePrefix: `appi-${stack}`,
        region,
        network: validateNetwork(read),
        database: validateDatabase(read),
        cache: {
            nodeType: read.string("redisNodeType", "cache.r7g.large", "cache.t4g.small"),
            replicaCount,
            snapshotRetentionDays: read.integer("redisSnapshotRetentionDays", MIN_BACKUP_RETENTION_DAYS, MIN_BACKUP_RETENTION_DAYS, MAX_BACKUP_RETENTION_DAYS),
        },
        api: { instanceType: read.string("apiInstanceType", "t3.small", "t3.small"), ingressCidrs: apiIngressCidrs },
        github: {
            repository,
            deployBranch: read.string("githubDeployBranch", "main", "main"),
            prodEnvironment: read.string("githubProdEnvironment", "prod", "prod"),
            existingOidcProviderArn: read.optionalMatching("githubOidcProviderArn", /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/, "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"),
        },
        pulumiBackend: {
            stateBucket: read.optionalMatching("pulumiStateBucket", /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "my-pulumi-state"),
            secretsKeyArn: read.optionalMatching("pulumiSecretsKeyArn", /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]+$/, "arn:aws:kms:ap-northeast-1:123456789012:key/..."),
        },
        alarmEmail,
        // The policy pack's audit-trail minimum; 3653 (10 years) is CloudWatch's largest finite value.
        logRetentionDays: read.integer("logRetentionDays", MIN_LOG_RETENTION_DAYS, MIN_LOG_RETENTION_DAYS, MAX_LOG_RETENTION_DAYS),
        deletionProtection: read.boolean("deletionProtection", true),
        tags: {
            Project: PROJECT,
            Environment: stack,
            ManagedBy: "pulumi",
            Compliance: "APPI",
        },
    };
}

/** The program's entry: reads `pulumi.Config` of this project for the current stack. */
export function loadConfig(): AppConfig & { redisAuthToken?: pulumi.Output<string> } {
    const config = new pulumi.Config(PROJECT);
    // Secrets stay Outputs marked secret; everything else is validated as plain values.
    return { ...parseConfig((key) => config.get(key), pulumi.getStack()), redisAuthToken: config.getSecret("redisAuthToken") };
}
