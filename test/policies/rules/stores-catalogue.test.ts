// The stores catalogue names only properties @pulumi/aws 7 really has: every path is
// checked against the resource's `<Name>State` interface (first segment) and the
// provider's nested input types (the rest), read from node_modules.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { KeyLocation, STORE_ENTRIES, StoreEntry, storeOf, STORES } from "../../../policies/rules/_shared/stores";

const AWS_DIR = path.dirname(require.resolve("@pulumi/aws/package.json"));
const NESTED = fs.readFileSync(path.join(AWS_DIR, "types/input.d.ts"), "utf8");
const nestedNames = new Set([...NESTED.matchAll(/^ {8}(\w+)\??:/gm)].map((m) => m[1]));

/** `aws:rds/clusterInstance:ClusterInstance` -> the State interface's property names in rds/clusterInstance.d.ts. */
function stateProps(type: string): Set<string> {
    const m = /^aws:([^/]+)\/([^:]+):(\w+)$/.exec(type);
    assert.ok(m, `not an AWS type token: ${type}`);
    const text = fs.readFileSync(path.join(AWS_DIR, m[1], `${m[2]}.d.ts`), "utf8");
    const state = new RegExp(`export interface ${m[3]}State \\{([\\s\\S]*?)\\n\\}`).exec(text);
    assert.ok(state, `${type}: no ${m[3]}State interface`);
    assert.ok(text.includes(`'${type}'`) || fs.readFileSync(path.join(AWS_DIR, m[1], `${m[2]}.js`), "utf8").includes(`'${type}'`), `${type}: token not in the SDK`);
    return new Set([...state[1].matchAll(/^ {4}(\w+)\??:/gm)].map((x) => x[1]));
}

function checkPath(type: string, props: Set<string>, text: string, nestedOnly = false): void {
    const names = text.split(".").map((p) => p.replace(/\[\]$/, ""));
    if (!nestedOnly) assert.ok(props.has(names[0]), `${type}: ${names[0]} (of ${text}) is not a property of the resource in @pulumi/aws 7`);
    for (const name of names.slice(nestedOnly ? 0 : 1)) assert.ok(nestedNames.has(name), `${type}: ${name} (of ${text}) is no nested property in @pulumi/aws 7`);
}

function checkKeys(type: string, keys: readonly KeyLocation[] | undefined): void {
    const props = stateProps(type);
    for (const k of keys ?? []) {
        checkPath(type, props, k.path);
        const topLevel = !k.path.includes(".");
        for (const mode of k.modes ?? []) (topLevel ? checkPath(type, props, mode.path) : checkPath(type, props, mode.path, true));
    }
}

function checkEntry(entry: StoreEntry): void {
    const props = stateProps(entry.type);
    const { encryption: e, backups: b, network: n, tls } = entry;
    checkKeys(entry.type, e?.keys);
    for (const d of e?.declaredBy ?? []) {
        checkPath(d.type, stateProps(d.type), d.refProp);
        checkKeys(d.type, d.keys);
    }
    for (const w of [e?.when, b?.when, n?.when]) if (w) checkPath(entry.type, props, w.path);
    for (const d of [e?.delegate, b?.delegate, n?.delegate]) {
        if (!d) continue;
        checkPath(entry.type, props, d.refProp);
        for (const t of d.types) if (d.byProp) checkPath(t, stateProps(t), d.byProp);
    }
    for (const m of b?.anyOf ?? []) {
        if (m.kind === "retention") checkPath(entry.type, props, m.path);
        if (m.kind === "pitr") [m.enabled, m.period].forEach((p) => p && checkPath(entry.type, props, p));
        if (m.kind === "policy-resource") [m.refProp, m.flag].forEach((p) => checkPath(m.type, stateProps(m.type), p));
    }
    if (n?.subnetGroup) {
        checkPath(entry.type, props, n.subnetGroup.path);
        stateProps(n.subnetGroup.type);
    }
    if (n?.subnets) checkPath(entry.type, props, n.subnets.path);
    for (const f of n?.publicFlags ?? []) checkPath(entry.type, props, f.path);
    for (const r of tls?.required ?? []) checkPath(entry.type, props, r.path);
    if (tls?.minimumVersion) checkPath(entry.type, props, tls.minimumVersion);
    if (tls?.parameterGroup) checkPath(entry.type, props, tls.parameterGroup.path);
}

describe("stores catalogue", () => {
    it("covers every store type issue 10 names", () => {
        const required = [
            "aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance",
            "aws:docdb/cluster:Cluster", "aws:neptune/cluster:Cluster", "aws:redshift/cluster:Cluster",
            "aws:redshiftserverless/namespace:Namespace", "aws:redshiftserverless/workgroup:Workgroup",
            "aws:dynamodb/table:Table", "aws:dynamodb/globalTable:GlobalTable",
            "aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/cluster:Cluster", "aws:elasticache/serverlessCache:ServerlessCache",
            "aws:memorydb/cluster:Cluster", "aws:opensearch/domain:Domain", "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy",
            "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
            "aws:efs/fileSystem:FileSystem", "aws:fsx/lustreFileSystem:LustreFileSystem", "aws:fsx/windowsFileSystem:WindowsFileSystem",
            "aws:fsx/ontapFileSystem:OntapFileSystem", "aws:fsx/openZfsFileSystem:OpenZfsFileSystem",
            "aws:ebs/volume:Volume", "aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/launchConfiguration:LaunchConfiguration",
            "aws:backup/vault:Vault", "aws:kinesis/stream:Stream", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
            "aws:sqs/queue:Queue", "aws:sns/topic:Topic", "aws:secretsmanager/secret:Secret", "aws:ssm/parameter:Parameter",
            "aws:cloudwatch/logGroup:LogGroup", "aws:lambda/function:Function", "aws:codebuild/project:Project",
            "aws:glue/securityConfiguration:SecurityConfiguration", "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings",
            "aws:athena/workgroup:Workgroup", "aws:msk/cluster:Cluster",
        ];
        const missing = required.filter((t) => !STORES.has(t));
        assert.deepEqual(missing, []);
        assert.ok(STORE_ENTRIES.length >= 45, `${STORE_ENTRIES.length} entries`);
    });

    for (const entry of STORE_ENTRIES) {
        it(`${entry.type}: every property it reads exists in @pulumi/aws 7`, () => checkEntry(entry));
    }

    it("finds an entry by type in one lookup, and nothing for a type that holds no data", () => {
        assert.equal(storeOf("aws:rds/instance:Instance")?.what, "RDS instance");
        assert.equal(storeOf("aws:ec2/vpc:Vpc"), undefined);
    });

    it("a misspelled property would be caught (the check can fail)", () => {
        const bad: StoreEntry = { type: "aws:rds/instance:Instance", what: "x", encryption: { keys: [{ path: "kmsKeyID" }], defaultKey: "x" } };
        assert.throws(() => checkEntry(bad), /kmsKeyID/);
    });
});
