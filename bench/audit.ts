// `npm run bench -- --only audit`: the state audit of a generated 10,000-resource
// stack export (read + parse + evaluate + report), beside JSON.parse of the same
// file in the same run; and the per-resource cost at 2,500 vs 10,000 resources.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { resolveConfig } from "../policies/core/config";
import { SECRET_SIG, SIG_KEY } from "../policies/core/values";
import { formatJson } from "../policies/report/json";
import { auditFile } from "../policies/runners/audit";
import { rules } from "../policies/rules";
import { BenchRow, BenchSection } from "./types";
import { median } from "./stats";
import { marginalRows } from "./audit-marginal";

const REGION = "ap-northeast-1";
const ACCOUNT = "123456789012";

const schemaCache = new Map<string, string[]>();

/**
 * The output attributes @pulumi/aws declares for a type token (aws:rds/cluster:Cluster ->
 * rds/cluster.d.ts). A real state records every one of them, most unset (null).
 */
function schemaOutputs(type: string): string[] {
    let names = schemaCache.get(type);
    if (!names) {
        const m = /^aws:([^/]+)\/([^:]+):/.exec(type);
        const file = m ? path.join(path.dirname(require.resolve("@pulumi/aws/package.json")), m[1], `${m[2]}.d.ts`) : "";
        const text = file && fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
        names = [...text.matchAll(/^\s+readonly (\w+): pulumi\.Output</gm)].map((x) => x[1]);
        schemaCache.set(type, names);
    }
    return names;
}

/**
 * A deployment-v3 export with `count` resources: a mix of data stores, network, IAM,
 * keys and logs, shaped like real state (every schema output recorded, unset ones null;
 * `__defaults` in inputs; dependencies) so JSON.parse and the audit see realistic sizes.
 */
export function generateExport(count: number): object {
    const stack = "bench";
    const u = (type: string, name: string) => `urn:pulumi:${stack}::appi-infra::${type}::${name}`;
    const stackUrn = u("pulumi:pulumi:Stack", "appi-infra-bench");
    const providerUrn = u("pulumi:providers:aws", "default_7_48_0");
    const providerRef = `${providerUrn}::5f0c7f3e-0000-4000-8000-000000000000`;
    const resources: object[] = [
        { urn: stackUrn, custom: false, type: "pulumi:pulumi:Stack", outputs: {} },
        { urn: providerUrn, custom: true, id: "5f0c7f3e-0000-4000-8000-000000000000", type: "pulumi:providers:aws", inputs: { region: REGION, version: "7.48.0" }, outputs: { region: REGION, version: "7.48.0" } },
    ];
    // The parameter groups every database shares (TLS forced, TLS 1.3 minimum).
    const tls = [
        { name: "rds.force_ssl", value: "1", applyMethod: "pending-reboot" },
        { name: "ssl_min_protocol_version", value: "TLSv1.3", applyMethod: "pending-reboot" },
    ];
    for (const [type, name, family] of [
        ["aws:rds/clusterParameterGroup:ClusterParameterGroup", "appi-aurora-pg16", "aurora-postgresql16"],
        ["aws:rds/parameterGroup:ParameterGroup", "appi-pg16", "postgres16"],
    ]) {
        const inputs = { name, family, parameters: tls };
        resources.push({ urn: u(type, name), custom: true, id: name, type, inputs, outputs: { ...inputs, id: name, arn: `arn:aws:rds:${REGION}:${ACCOUNT}:pg:${name}` }, provider: providerRef });
    }
    const tags = (i: number) => ({ Project: "appi-infra", Environment: "bench", Owner: `team-${i % 7}`, DataClassification: i % 3 ? "internal" : "personal" });
    const keyArn = (i: number) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${String(i).padStart(8, "0")}-aaaa-4bbb-8ccc-dddddddddddd`;
    const kinds: ((i: number) => { type: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> })[] = [
        (i) => ({ type: "aws:kms/key:Key", inputs: { description: `key ${i}`, enableKeyRotation: true, multiRegion: false, deletionWindowInDays: 30, tags: tags(i) }, outputs: { arn: keyArn(i), keyId: `k-${i}`, keyUsage: "ENCRYPT_DECRYPT", rotationPeriodInDays: 365 } }),
        (i) => ({
            type: "aws:rds/cluster:Cluster",
            inputs: { clusterIdentifier: `db-${i}`, engine: "aurora-postgresql", engineVersion: "16.6", storageEncrypted: true, kmsKeyId: keyArn(i - 1), backupRetentionPeriod: (i >> 3) % 10 ? 14 : 7, masterUsername: "postgres", dbClusterParameterGroupName: "appi-aurora-pg16", iamDatabaseAuthenticationEnabled: true, enabledCloudwatchLogsExports: ["postgresql"], masterPassword: { [SIG_KEY]: SECRET_SIG, ciphertext: `v1:${Buffer.from(String(i)).toString("base64")}:AAAAAAAAAAAAAAAAAAAAAAAA` }, deletionProtection: true, tags: tags(i) },
            outputs: { arn: `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:db-${i}`, endpoint: `db-${i}.cluster-abc.${REGION}.rds.amazonaws.com`, port: 5432, availabilityZones: [`${REGION}a`, `${REGION}c`, `${REGION}d`] },
        }),
        (i) => ({
            type: "aws:rds/instance:Instance",
            inputs: { identifier: `pg-${i}`, engine: "postgres", engineVersion: "16.4", instanceClass: "db.t4g.medium", allocatedStorage: 50, storageEncrypted: true, kmsKeyId: keyArn(i - 2), backupRetentionPeriod: 14, publiclyAccessible: false, multiAz: true, parameterGroupName: "appi-pg16", iamDatabaseAuthenticationEnabled: true, enabledCloudwatchLogsExports: ["postgresql", "upgrade"], tags: tags(i) },
            outputs: { arn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:pg-${i}`, address: `pg-${i}.abc.${REGION}.rds.amazonaws.com`, port: 5432 },
        }),
        (i) => ({ type: "aws:cloudwatch/logGroup:LogGroup", inputs: { name: `/app/service-${i}`, retentionInDays: i % 13 ? 365 : 30, kmsKeyId: keyArn(i - 3), tags: tags(i) }, outputs: { arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/app/service-${i}` } }),
        (i) => ({
            type: "aws:ec2/securityGroup:SecurityGroup",
            inputs: { name: `sg-${i}`, description: "data tier", vpcId: "vpc-0123", ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["10.0.0.0/16"], securityGroups: [] }], egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }], tags: tags(i) },
            outputs: { arn: `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/sg-${i}`, ownerId: ACCOUNT },
        }),
        (i) => ({ type: "aws:s3/bucketV2:BucketV2", inputs: { bucket: `appi-bench-${i}`, forceDestroy: false, tags: tags(i) }, outputs: { arn: `arn:aws:s3:::appi-bench-${i}`, bucketDomainName: `appi-bench-${i}.s3.amazonaws.com`, region: REGION } }),
        (i) => ({
            type: "aws:iam/role:Role",
            inputs: { name: `role-${i}`, assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }] }), tags: tags(i) },
            outputs: { arn: `arn:aws:iam::${ACCOUNT}:role/role-${i}`, uniqueId: `AROA${i}` },
        }),
        (i) => ({
            type: "aws:lambda/function:Function",
            inputs: { name: `fn-${i}`, runtime: "nodejs22.x", handler: "index.handler", role: `arn:aws:iam::${ACCOUNT}:role/role-${i - 1}`, timeout: 5, memorySize: 256, environment: { variables: { TABLE: `t-${i}`, STAGE: "bench" } }, tags: tags(i) },
            outputs: { arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:fn-${i}`, version: "$LATEST" },
        }),
    ];
    for (let i = 0; resources.length < count; i++) {
        const make = kinds[i % kinds.length];
        const { type, inputs, outputs } = make(i);
        const id = `${type.split(":")[1].replace(/\W/g, "-")}-${i}`;
        const recorded: Record<string, unknown> = Object.fromEntries(schemaOutputs(type).map((name) => [name, null]));
        Object.assign(recorded, inputs, { id }, outputs, { tagsAll: inputs.tags ?? {} });
        const previous = resources.length > 2 ? [(resources[resources.length - 1] as { urn: string }).urn] : [];
        resources.push({
            urn: u(type, `r${i}`),
            custom: true,
            id,
            type,
            inputs: { ...inputs, __defaults: [] },
            outputs: recorded,
            parent: stackUrn,
            provider: providerRef,
            dependencies: previous,
            propertyDependencies: Object.fromEntries(Object.keys(inputs).slice(0, 3).map((k) => [k, previous])),
            created: "2026-11-20T01:02:03.456789Z",
            modified: "2026-11-20T01:02:03.456789Z",
        });
    }
    return { version: 3, deployment: { manifest: { time: new Date(0).toISOString(), magic: "bench", version: "v3.248.0" }, resources } };
}

interface Measured {
    auditMs: number;
    parseMs: number;
}

/** Times the whole audit and JSON.parse of the same file, interleaved so both see the same machine load. */
function measure(file: string, repeats: number): Measured {
    const config = resolveConfig(undefined);
    const audits: number[] = [];
    const parses: number[] = [];
    for (let i = 0; i < repeats; i++) {
        const text = fs.readFileSync(file, "utf8");
        let t = performance.now();
        JSON.parse(text);
        parses.push(performance.now() - t);
        t = performance.now();
        const report = auditFile(file, { rules, config });
        formatJson(report);
        audits.push(performance.now() - t);
    }
    return { auditMs: median(audits), parseMs: median(parses) };
}

export const section: BenchSection = {
    title: "State audit (npm run audit)",
    async run({ scale }) {
        const full = Math.max(200, Math.round(10_000 * scale));
        const quarter = Math.max(50, Math.round(full / 4));
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appi-audit-bench-"));
        try {
            const write = (n: number) => {
                const file = path.join(dir, `export-${n}.json`);
                fs.writeFileSync(file, JSON.stringify(generateExport(n)));
                return file;
            };
            const fullFile = write(full);
            const quarterFile = write(quarter);
            // Warm-up at both sizes: JIT and module loading, and the heap grown to the full
            // size, out of the figures (for the audit and JSON.parse alike).
            measure(quarterFile, 2);
            measure(fullFile, 2);
            // Medians of several interleaved runs; the quarter-size runs are short (a few ms
            // each), so they get more runs for an equally steady median.
            const big = measure(fullFile, 9);
            const small = measure(quarterFile, 21);
            const sizeMb = fs.statSync(fullFile).size / 1e6;
            const rows: BenchRow[] = [
                {
                    name: `audit ${full.toLocaleString("en")}-resource export (${sizeMb.toFixed(1)} MB, ${rules.length} rules)`,
                    value: big.auditMs,
                    unit: "ms",
                    referenceLabel: "JSON.parse of the same file",
                    reference: big.parseMs,
                    goalRatio: 3,
                },
                {
                    // Linear cost: per-resource time from the quarter to the full size grows no more than
                    // JSON.parse's own does on the same two files (the heap and caches grow for both).
                    name: `audit per-resource cost growth ${quarter.toLocaleString("en")} -> ${full.toLocaleString("en")} (${((small.auditMs / quarter) * 1000).toFixed(1)} -> ${((big.auditMs / full) * 1000).toFixed(1)} µs)`,
                    value: big.auditMs / full / (small.auditMs / quarter),
                    unit: "x",
                    referenceLabel: "JSON.parse's growth on the same files",
                    reference: big.parseMs / full / (small.parseMs / quarter),
                    goalRatio: 1.5,
                },
            ];
            return [...rows, ...(await marginalRows(scale))];
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    },
};
