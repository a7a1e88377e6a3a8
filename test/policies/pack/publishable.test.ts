// The publishable pack: policies/ alone is what `pulumi policy publish` uploads and what
// Pulumi Cloud policy groups run. Its committed bundle must match the sources, its own
// package.json must name everything the bundle needs, and a copy of policies/ alone,
// `npm ci`ed in an empty directory, must start as the engine starts it and enforce the rules.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { parse as parseYaml } from "yaml";
import { BUNDLE, PACK_DIR, bundleText } from "../../../policies/bundler/bundle";
import { rules } from "../../../policies/rules";
import { StartedPack, startPack } from "../../../scripts/pack-process";

const run = promisify(execFile);
const packageJson = JSON.parse(fs.readFileSync(path.join(PACK_DIR, "package.json"), "utf8")) as {
    name: string;
    main: string;
    files: string[];
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
};

/** Bare package names a source imports at run time (type-only imports and node: builtins excluded). */
function runtimeImports(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const names: string[] = [];
    for (const m of text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+"([^".][^"]*)"/gm)) {
        const spec = m[1];
        if (spec.startsWith("node:")) continue;
        names.push(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
    }
    return names;
}

function packSources(dir = PACK_DIR): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) return ["node_modules", "bin", "bundler"].includes(e.name) ? [] : packSources(full);
        return e.name.endsWith(".ts") ? [full] : [];
    });
}

describe("publishable pack (policies/ alone)", function () {
    this.timeout(60_000);

    it("the committed bundle policies/bin/index.js is built from the current sources (npm run build:pack)", async () => {
        const fresh = await bundleText();
        const committed = fs.existsSync(BUNDLE) ? fs.readFileSync(BUNDLE, "utf8") : "";
        assert.ok(committed === fresh, "policies/bin/index.js is stale: run `npm run build:pack` and commit it");
    });

    it("PulumiPolicy.yaml and package.json point at the bundle, and the published files include it", () => {
        const project = parseYaml(fs.readFileSync(path.join(PACK_DIR, "PulumiPolicy.yaml"), "utf8")) as { runtime: unknown; main?: string };
        assert.equal(project.runtime, "nodejs");
        assert.equal(project.main, "bin/index.js");
        assert.equal(packageJson.main, "bin/index.js");
        assert.ok(packageJson.files.includes("bin/index.js") && packageJson.files.includes("PulumiPolicy.yaml"));
        assert.equal(fs.existsSync(path.join(PACK_DIR, "tsconfig.json")), false, "a tsconfig.json would make run-policy-pack configure ts-node for a pack that has no TypeScript to run");
    });

    it("the pack's package.json names every package: run-time ones as dependencies, bundled ones as devDependencies", () => {
        const bundle = fs.readFileSync(BUNDLE, "utf8");
        const external = [...new Set([...bundle.matchAll(/(?<![`'"])\brequire\("([^".][^"]*)"\)/g)].map((m) => m[1]).filter((s) => !s.startsWith("node:") && !/^(fs|path|os|util|crypto|buffer|events|stream|url|net|http|https|zlib|child_process|assert|tty)$/.test(s)))];
        for (const name of external) assert.ok(name in packageJson.dependencies, `the bundle requires ${name} at run time: add it to policies/package.json dependencies`);
        // A package a rule starts to import must be declared, or the standalone build breaks.
        const declared = { ...packageJson.dependencies, ...packageJson.devDependencies };
        for (const file of packSources()) {
            for (const name of runtimeImports(file)) assert.ok(name in declared, `${path.relative(PACK_DIR, file)} imports ${name}, which policies/package.json does not declare`);
        }
    });

    describe("copied alone into an empty directory, npm ci'd, started as the engine starts it", () => {
        let dir: string;
        let pack: StartedPack | undefined;
        let client: analyzerGrpc.AnalyzerClient | undefined;

        before(async function () {
            // npm ci from the npm cache when it holds the pinned tarballs (the project's own install put them there), else the registry.
            this.timeout(180_000);
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "appi-pack-"));
            const target = path.join(dir, "appi-aws");
            fs.cpSync(PACK_DIR, target, { recursive: true, filter: (src) => path.basename(src) !== "node_modules" });
            const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_PATH" && !k.startsWith("npm_")));
            await run("npm", ["ci", "--prefer-offline", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: target, env, maxBuffer: 1 << 24 });
            assert.ok(fs.existsSync(path.join(target, "node_modules", "@pulumi", "policy")), "the pack's own dependency is installed");
            pack = await startPack(target, { env: { PULUMI_CONFIG: JSON.stringify({ "aws:region": "ap-northeast-1" }), PULUMI_STACK: "prod" } });
            client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${pack.port}`, grpc.credentials.createInsecure());
        });

        after(async () => {
            client?.close();
            await pack?.stop();
            if (dir) fs.rmSync(dir, { recursive: true, force: true });
        });

        type Call<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown;
        const call = <Req, Res>(fn: Call<Req, Res>, req: Req): Promise<Res> => new Promise((resolve, reject) => fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));
        const urn = (type: string, name: string) => `urn:pulumi:prod::appi-infra::${type}::${name}`;

        function analyzeRequest(type: string, name: string, props: Record<string, unknown>): analyzerPb.AnalyzeRequest {
            const req = new analyzerPb.AnalyzeRequest();
            req.setType(type);
            req.setName(name);
            req.setUrn(urn(type, name));
            req.setProperties(Struct.fromJavaScript(props as never));
            const options = new analyzerPb.AnalyzerResourceOptions();
            options.setProtect(false);
            req.setOptions(options);
            const provider = new analyzerPb.AnalyzerProviderResource();
            provider.setType("pulumi:providers:aws");
            provider.setName("default_7_48_0");
            provider.setUrn(urn("pulumi:providers:aws", "default_7_48_0"));
            provider.setProperties(Struct.fromJavaScript({ region: "ap-northeast-1" }));
            req.setProvider(provider);
            return req;
        }

        it("serves every rule of the pack, from its own node_modules", async () => {
            const info = (await call(client!.getAnalyzerInfo as never, new Empty())) as analyzerPb.AnalyzerInfo;
            assert.equal(info.getName(), packageJson.name);
            assert.deepEqual(info.getPoliciesList().map((p) => p.getName()).sort(), rules.map((r) => r.id).sort());
            assert.equal(pack!.child.exitCode, null, pack!.stderr());
        });

        it("Analyze: enforces a rule (mandatory), and honours an exception from the policy pack config (advisory 'exempted')", async () => {
            const conf = new analyzerPb.ConfigureAnalyzerRequest();
            const retention = new analyzerPb.PolicyConfig();
            retention.setEnforcementlevel(analyzerPb.EnforcementLevel.MANDATORY);
            retention.setProperties(
                Struct.fromJavaScript({
                    exceptions: [{ rule: "log-group-retention", urn: urn("aws:cloudwatch/logGroup:LogGroup", "debug-*"), reason: "Debug logs hold no personal data (SEC-142).", approver: "yamada", expires: "2099-12-31" }],
                }),
            );
            conf.getPolicyconfigMap().set("log-group-retention", retention);
            await call(client!.configure as never, conf);

            const spec = (await call(client!.analyze as never, analyzeRequest("aws:rds/cluster:Cluster", "pii-database-cluster", { engine: "aurora-postgresql", storageEncrypted: true, kmsKeyId: "alias/aws/rds", backupRetentionPeriod: 7 }))) as analyzerPb.AnalyzeResponse;
            const cmk = spec.getDiagnosticsList().find((d) => d.getPolicyname() === "store-encrypted-cmk");
            assert.ok(cmk, pack!.stderr());
            assert.equal(cmk.getEnforcementlevel(), analyzerPb.EnforcementLevel.MANDATORY);

            const debug = (await call(client!.analyze as never, analyzeRequest("aws:cloudwatch/logGroup:LogGroup", "debug-logs", { name: "/debug", retentionInDays: 7 }))) as analyzerPb.AnalyzeResponse;
            const exempted = debug.getDiagnosticsList().find((d) => d.getPolicyname() === "log-group-retention");
            assert.equal(exempted?.getEnforcementlevel(), analyzerPb.EnforcementLevel.ADVISORY);
            assert.match(exempted!.getMessage(), /^exempted until 2099-12-31, approved by yamada/);
            const other = (await call(client!.analyze as never, analyzeRequest("aws:cloudwatch/logGroup:LogGroup", "audit-logs", { name: "/audit", retentionInDays: 7 }))) as analyzerPb.AnalyzeResponse;
            assert.equal(other.getDiagnosticsList().find((d) => d.getPolicyname() === "log-group-retention")?.getEnforcementlevel(), analyzerPb.EnforcementLevel.MANDATORY);
        });
    });
});
