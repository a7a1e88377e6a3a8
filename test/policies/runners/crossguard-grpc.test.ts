// Starts the pack exactly as the Pulumi engine does (run-policy-pack with the
// pack dir as cwd; it loads the compiled bundle policies/bin/index.js, then prints
// its port) and drives it over the Analyzer gRPC interface, so the pack is proven
// without the CLI. test/policies/pack keeps the bundle in step with the sources.
import assert from "node:assert/strict";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { StartedPack, startPack } from "../../../scripts/pack-process";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const PACK_DIR = path.join(ROOT, "policies");
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const { EnforcementLevel } = analyzerPb;

const urn = (type: string, name: string) => `urn:pulumi:prod::appi-infra::${type}::${name}`;
const PROVIDER_URN = urn("pulumi:providers:aws", "default_7_48_0");

type Call<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown;
function call<Req, Res>(fn: Call<Req, Res>, client: analyzerGrpc.AnalyzerClient, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));
}

function provider(region = "ap-northeast-1"): analyzerPb.AnalyzerProviderResource {
    const p = new analyzerPb.AnalyzerProviderResource();
    p.setType("pulumi:providers:aws");
    p.setName("default_7_48_0");
    p.setUrn(PROVIDER_URN);
    p.setProperties(Struct.fromJavaScript({ region }));
    return p;
}

function options(protect = false): analyzerPb.AnalyzerResourceOptions {
    const o = new analyzerPb.AnalyzerResourceOptions();
    o.setProtect(protect);
    return o;
}

function analyzeRequest(type: string, name: string, props: Record<string, unknown>, protect = false): analyzerPb.AnalyzeRequest {
    const req = new analyzerPb.AnalyzeRequest();
    req.setType(type);
    req.setName(name);
    req.setUrn(urn(type, name));
    req.setProperties(Struct.fromJavaScript(props as never));
    req.setOptions(options(protect));
    req.setProvider(provider());
    return req;
}

function stackResource(type: string, name: string, props: Record<string, unknown>): analyzerPb.AnalyzerResource {
    const r = new analyzerPb.AnalyzerResource();
    r.setType(type);
    r.setName(name);
    r.setUrn(urn(type, name));
    r.setProperties(Struct.fromJavaScript(props as never));
    r.setOptions(options());
    r.setProvider(provider());
    return r;
}

const KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/1111aaaa-22bb-33cc-44dd-555555eeeeee";
const COMPLIANT_CLUSTER = {
    engine: "aurora-postgresql",
    storageEncrypted: true,
    kmsKeyId: KEY_ARN,
    backupRetentionPeriod: 14,
    dbClusterParameterGroupName: "appi-aurora-pg16-tls13",
    dbSubnetGroupName: "appi-data-subnets",
    deletionProtection: true,
    iamDatabaseAuthenticationEnabled: true,
    enabledCloudwatchLogsExports: ["postgresql"],
    tags: { DataClassification: "personal" },
};
// A PostgreSQL instance as this project builds it; references to its key and parameter group are decided in AnalyzeStack.
const COMPLIANT_INSTANCE = {
    identifier: "appi-prod",
    engine: "postgres",
    engineVersion: "16.4",
    instanceClass: "db.t4g.medium",
    storageEncrypted: true,
    kmsKeyId: KEY_ARN,
    backupRetentionPeriod: 14,
    publiclyAccessible: false,
    multiAz: true,
    deletionProtection: true,
    iamDatabaseAuthenticationEnabled: true,
    enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
    performanceInsightsEnabled: true,
    performanceInsightsKmsKeyId: KEY_ARN,
    parameterGroupName: "appi-pg16-tls13",
    dbSubnetGroupName: "appi-prod-data",
    tags: { DataClassification: "personal", Project: "appi-infra" },
};
// The spec's Aurora setup: the AWS-managed key and 7 days of backups.
const SPEC_CLUSTER = { engine: "aurora-postgresql", storageEncrypted: true, kmsKeyId: "alias/aws/rds", backupRetentionPeriod: 7 };

describe("CrossGuard pack over gRPC (started like the Pulumi engine does)", function () {
    this.timeout(60_000);
    let pack: StartedPack;
    let client: analyzerGrpc.AnalyzerClient;
    let stderr = "";

    before(async () => {
        pack = await startPack(PACK_DIR, { env: { PULUMI_CONFIG: JSON.stringify({ "aws:region": "ap-northeast-1" }), PULUMI_STACK: "prod" } });
        pack.child.stderr!.on("data", (d) => (stderr += String(d)));
        client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${pack.port}`, grpc.credentials.createInsecure());
    });

    after(async () => {
        client?.close();
        await pack?.stop();
    });

    it("GetAnalyzerInfo lists every policy with its enforcement level and config schema", async () => {
        const typed = (await call(client.getAnalyzerInfo as never, client, new Empty())) as analyzerPb.AnalyzerInfo;
        assert.equal(typed.getName(), "appi-aws");
        assert.equal(typed.getVersion(), "0.1.0");
        assert.equal(typed.getSupportsconfig(), true);
        const policies = new Map(typed.getPoliciesList().map((p) => [p.getName(), p]));
        for (const name of ["region-allowed", "store-encrypted-cmk", "rds-cluster-backup-retention", "log-group-retention"]) {
            const p = policies.get(name);
            assert.ok(p, `policy ${name} listed`);
            assert.equal(p.getEnforcementlevel(), EnforcementLevel.MANDATORY, name);
            assert.ok(p.getConfigschema()?.getProperties()?.toJavaScript().allowedRegions, `${name} has the config schema`);
            assert.ok(p.getRemediationSteps().length > 0);
        }
    });

    it("ConfigureStack and Configure are accepted", async () => {
        const stackReq = new analyzerPb.AnalyzerStackConfigureRequest();
        stackReq.setStack("prod");
        stackReq.setProject("appi-infra");
        await call(client.configureStack as never, client, stackReq);
        // Per-policy config as `--policy-pack-config` delivers it: enforcement plus properties (schema defaults already applied).
        const conf = new analyzerPb.ConfigureAnalyzerRequest();
        const backups = new analyzerPb.PolicyConfig();
        backups.setEnforcementlevel(EnforcementLevel.ADVISORY);
        backups.setProperties(Struct.fromJavaScript({ minBackupRetentionDays: 14 }));
        conf.getPolicyconfigMap().set("rds-cluster-backup-retention", backups);
        await call(client.configure as never, client, conf);
    });

    it("Analyze: a non-compliant RDS instance gets a MANDATORY diagnostic naming the rule; a compliant one none", async () => {
        const bad = (await call(client.analyze as never, client, analyzeRequest("aws:rds/instance:Instance", "appi", { ...COMPLIANT_INSTANCE, storageEncrypted: false }, true))) as analyzerPb.AnalyzeResponse;
        const diag = bad.getDiagnosticsList().find((d) => d.getPolicyname() === "store-encrypted-cmk");
        assert.ok(diag, `diagnostics: ${bad.getDiagnosticsList().map((d) => d.getPolicyname()).join(", ")}\n${stderr}`);
        assert.equal(diag.getEnforcementlevel(), EnforcementLevel.MANDATORY);
        assert.equal(diag.getPolicypackname(), "appi-aws");
        assert.match(diag.getMessage(), /storageEncrypted is false/);
        const good = (await call(client.analyze as never, client, analyzeRequest("aws:rds/instance:Instance", "appi", COMPLIANT_INSTANCE, true))) as analyzerPb.AnalyzeResponse;
        assert.deepEqual(
            good.getDiagnosticsList().map((d) => `${d.getPolicyname()}: ${d.getMessage()}`),
            [],
        );
    });

    it("Analyze: the spec's Aurora cluster gets a MANDATORY diagnostic naming the rule; a compliant one none", async () => {
        const bad = (await call(client.analyze as never, client, analyzeRequest("aws:rds/cluster:Cluster", "pii-database-cluster", SPEC_CLUSTER))) as analyzerPb.AnalyzeResponse;
        const diags = bad.getDiagnosticsList();
        const cmk = diags.find((d) => d.getPolicyname() === "store-encrypted-cmk");
        assert.ok(cmk, `diagnostics: ${diags.map((d) => d.getPolicyname()).join(", ")}\n${stderr}`);
        assert.equal(cmk.getEnforcementlevel(), EnforcementLevel.MANDATORY);
        assert.match(cmk.getMessage(), /alias\/aws\/rds/);
        // configured above as advisory: the engine's level wins
        const backups = diags.find((d) => d.getPolicyname() === "rds-cluster-backup-retention");
        assert.equal(backups?.getEnforcementlevel(), EnforcementLevel.ADVISORY);
        assert.match(backups!.getMessage(), /7 day/);

        const good = (await call(client.analyze as never, client, analyzeRequest("aws:rds/cluster:Cluster", "pii-database-cluster", COMPLIANT_CLUSTER, true))) as analyzerPb.AnalyzeResponse;
        assert.deepEqual(
            good.getDiagnosticsList().map((d) => `${d.getPolicyname()}: ${d.getMessage()}`),
            [],
        );
    });

    it("Analyze: a value unknown during preview is reported as advisory 'could not be checked'", async () => {
        const res = (await call(client.analyze as never, client, analyzeRequest("aws:rds/cluster:Cluster", "pii-database-cluster", { ...COMPLIANT_CLUSTER, storageEncrypted: UNKNOWN_STRING }))) as analyzerPb.AnalyzeResponse;
        const d = res.getDiagnosticsList().find((x) => x.getPolicyname() === "store-encrypted-cmk");
        assert.ok(d, "an unknown must not pass silently");
        assert.equal(d.getEnforcementlevel(), EnforcementLevel.ADVISORY);
        assert.match(d.getMessage(), /could not be checked/);
    });

    it("Analyze: secrets arrive as Pulumi's envelope; they never crash a rule and never reach a message", async () => {
        const secret = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });
        const res = (await call(
            client.analyze as never,
            client,
            analyzeRequest("aws:rds/cluster:Cluster", "pii-database-cluster", { ...SPEC_CLUSTER, masterPassword: secret("hunter2-very-secret"), backupRetentionPeriod: secret(7) }, true),
        )) as analyzerPb.AnalyzeResponse;
        const diags = res.getDiagnosticsList();
        assert.ok(diags.some((d) => d.getPolicyname() === "store-encrypted-cmk"), stderr);
        assert.ok(diags.some((d) => d.getPolicyname() === "rds-cluster-backup-retention"), "a secret number is still read where the engine lets the pack see it");
        for (const d of diags) assert.doesNotMatch(d.getMessage(), /hunter2/);
    });

    it("AnalyzeStack: decides what needs other resources (a key alias followed to its target), without repeating per-resource findings", async () => {
        // kmsKeyId names an alias of this stack: only the whole stack tells what key it is.
        const viaAlias = { ...COMPLIANT_CLUSTER, kmsKeyId: "alias/legacy-rds" };
        const perResource = (await call(client.analyze as never, client, analyzeRequest("aws:rds/cluster:Cluster", "legacy-cluster", viaAlias))) as analyzerPb.AnalyzeResponse;
        assert.equal(perResource.getDiagnosticsList().some((d) => d.getPolicyname() === "store-encrypted-cmk"), false, "deferred to the stack phase, not guessed");

        const req = new analyzerPb.AnalyzeStackRequest();
        req.setResourcesList([
            stackResource("aws:kms/alias:Alias", "legacy-rds", { name: "alias/legacy-rds", targetKeyId: "alias/aws/rds" }),
            stackResource("aws:rds/cluster:Cluster", "legacy-cluster", viaAlias),
            stackResource("aws:rds/cluster:Cluster", "pii-database-cluster", COMPLIANT_CLUSTER),
            // The compliant cluster's key, created in the stack: what proves it customer-managed.
            stackResource("aws:kms/key:Key", "pii-key", { arn: KEY_ARN, enableKeyRotation: true }),
            stackResource("aws:cloudwatch/logGroup:LogGroup", "app-logs", { name: "/app/logs" }),
        ]);
        const res = (await call(client.analyzeStack as never, client, req)) as analyzerPb.AnalyzeResponse;
        const diags = res.getDiagnosticsList();
        const cmk = diags.filter((d) => d.getPolicyname() === "store-encrypted-cmk");
        assert.deepEqual(cmk.map((d) => d.getUrn()), [urn("aws:rds/cluster:Cluster", "legacy-cluster")], diags.map((d) => `${d.getPolicyname()} ${d.getUrn()}`).join("\n"));
        assert.equal(cmk[0].getEnforcementlevel(), EnforcementLevel.MANDATORY);
        assert.match(cmk[0].getMessage(), /AWS-managed key/);
        // log-group-retention needs no other resource: Analyze reports it, the stack phase does not repeat it.
        assert.equal(diags.some((d) => d.getPolicyname() === "log-group-retention"), false);
        assert.equal(pack.child.exitCode, null, "the pack keeps serving");
    });
});
