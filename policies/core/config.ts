// The pack's settings: defaults in code (CrossGuard applies schema defaults
// only inside the engine) and one JSON schema reused as CrossGuard's
// configSchema and for the config file of the other runners.
import Ajv, { ErrorObject } from "ajv";
import { JAPAN_REGIONS, MAX_BACKUP_RETENTION_DAYS, MIN_BACKUP_RETENTION_DAYS, MIN_LOG_RETENTION_DAYS, MIN_TLS_VERSION, TLS_VERSIONS } from "./limits";
import { EnforcementLevel, PackConfig } from "./types";

export class ConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ConfigError";
    }
}

export const ENFORCEMENT_LEVELS: readonly EnforcementLevel[] = ["mandatory", "advisory", "disabled"];

export const DEFAULT_CONFIG: PackConfig = Object.freeze({
    // The limits the program validates its config against (core/limits.ts): one truth.
    // APPI Art. 28: personal data stays in Japan unless a reviewer widens the list.
    allowedRegions: [...JAPAN_REGIONS],
    minBackupRetentionDays: MIN_BACKUP_RETENTION_DAYS,
    minLogRetentionDays: MIN_LOG_RETENTION_DAYS,
    minTlsVersion: MIN_TLS_VERSION,
    // PostgreSQL, Redis, then MySQL, SQL Server, Oracle, MongoDB/DocumentDB, OpenSearch, Memcached.
    dataPorts: [5432, 6379, 3306, 1433, 1521, 27017, 9200, 11211],
    externalKmsKeys: [],
    enforcement: {},
}) as PackConfig;

export const CONFIG_JSON_SCHEMA = {
    type: "object",
    additionalProperties: false,
    properties: {
        allowedRegions: {
            type: "array",
            minItems: 1,
            uniqueItems: true,
            items: { type: "string", pattern: "^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\\d$" },
            default: DEFAULT_CONFIG.allowedRegions,
            description: "AWS regions where resources and copies of data may live (APPI Art. 28).",
        },
        minBackupRetentionDays: {
            type: "integer",
            minimum: 1,
            maximum: MAX_BACKUP_RETENTION_DAYS,
            default: DEFAULT_CONFIG.minBackupRetentionDays,
            description: "Minimum days of automated backups / snapshots / point-in-time recovery.",
        },
        minLogRetentionDays: {
            type: "integer",
            minimum: 1,
            default: DEFAULT_CONFIG.minLogRetentionDays,
            description: "Minimum days CloudWatch log groups keep logs.",
        },
        minTlsVersion: {
            type: "string",
            enum: TLS_VERSIONS,
            default: DEFAULT_CONFIG.minTlsVersion,
            description: "Lowest TLS version a database may accept.",
        },
        dataPorts: {
            type: "array",
            minItems: 1,
            uniqueItems: true,
            items: { type: "integer", minimum: 1, maximum: 65535 },
            default: DEFAULT_CONFIG.dataPorts,
            description: "Ports that must never be open to the internet.",
        },
        externalKmsKeys: {
            type: "array",
            uniqueItems: true,
            items: { type: "string", pattern: "^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:(key|alias)/.+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$" },
            default: [],
            description: "Customer-managed KMS keys created outside this stack (key ARNs, alias ARNs or key ids) that stores may use; a key neither in the stack nor listed here is not provably customer-managed.",
        },
        enforcement: {
            type: "object",
            additionalProperties: { type: "string", enum: ENFORCEMENT_LEVELS },
            propertyNames: { pattern: "^[a-z0-9]+(-[a-z0-9]+)*$" },
            default: {},
            description: "Per-rule enforcement level overrides, by rule id.",
        },
    },
} as const;

const ajv = new Ajv({ allErrors: true, useDefaults: false, strict: true });
const validate = ajv.compile(CONFIG_JSON_SCHEMA);

function describe(error: ErrorObject): string {
    const where = error.instancePath ? error.instancePath.slice(1).replace(/\//g, ".") : "";
    if (error.keyword === "additionalProperties") {
        const extra = (error.params as { additionalProperty: string }).additionalProperty;
        return `unknown key "${where ? `${where}.` : ""}${extra}" (known: ${Object.keys(CONFIG_JSON_SCHEMA.properties).join(", ")})`;
    }
    if (error.keyword === "propertyNames") {
        return `"${where}" has a key that is not a rule id: ${JSON.stringify((error.params as { propertyName: string }).propertyName)}`;
    }
    if (error.keyword === "enum") {
        return `"${where}" must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`;
    }
    return `"${where || "(config)"}" ${error.message ?? "is invalid"}`;
}

/** Validates a (partial) config and fills in the defaults; throws ConfigError naming the bad key. */
export function resolveConfig(partial: unknown): PackConfig {
    if (partial === undefined || partial === null) return cloneDefaults();
    if (typeof partial !== "object" || Array.isArray(partial)) {
        throw new ConfigError(`policy config must be a JSON object, got ${Array.isArray(partial) ? "an array" : typeof partial}`);
    }
    if (!validate(partial)) {
        const errors = (validate.errors ?? []).map(describe);
        throw new ConfigError(`invalid policy config: ${[...new Set(errors)].join("; ")}`);
    }
    const given = partial as Partial<PackConfig>;
    const defaults = cloneDefaults();
    return {
        allowedRegions: given.allowedRegions ? [...given.allowedRegions] : defaults.allowedRegions,
        minBackupRetentionDays: given.minBackupRetentionDays ?? defaults.minBackupRetentionDays,
        minLogRetentionDays: given.minLogRetentionDays ?? defaults.minLogRetentionDays,
        minTlsVersion: given.minTlsVersion ?? defaults.minTlsVersion,
        dataPorts: given.dataPorts ? [...given.dataPorts] : defaults.dataPorts,
        externalKmsKeys: given.externalKmsKeys ? [...given.externalKmsKeys] : defaults.externalKmsKeys,
        enforcement: { ...(given.enforcement ?? {}) },
    };
}

function cloneDefaults(): PackConfig {
    return {
        ...DEFAULT_CONFIG,
        allowedRegions: [...DEFAULT_CONFIG.allowedRegions],
        dataPorts: [...DEFAULT_CONFIG.dataPorts],
        externalKmsKeys: [...(DEFAULT_CONFIG.externalKmsKeys ?? [])],
        enforcement: {},
    };
}

const tlsRanks = new Map<string, number | undefined>();

/** Numeric rank of a TLS version name ("TLSv1.2" -> 1.2); undefined when unrecognised. */
export function tlsRank(version: string): number | undefined {
    // A handful of distinct spellings, asked for once per database: each is parsed once.
    if (tlsRanks.has(version)) return tlsRanks.get(version);
    const m = /^TLSv?(1(?:\.[0-3])?)$/i.exec(version.trim());
    const rank = m ? Number(m[1]) : undefined;
    if (tlsRanks.size >= 256) tlsRanks.clear();
    tlsRanks.set(version, rank);
    return rank;
}
