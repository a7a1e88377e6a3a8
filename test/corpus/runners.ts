// The corpus's three runners over one stack export: the state audit (the export as
// `pulumi stack export` writes it, secrets sealed), the offline check (the same
// records as a planned stack, secrets readable as under mocks) and the CrossGuard pack
// over gRPC, started once as the Pulumi engine starts it and fed the way the engine
// feeds it: Analyze with each resource's inputs, AnalyzeStack with every resource's outputs.
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";
import * as grpc from "@grpc/grpc-js";
import * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { ExportedResource, StackExport, plannedStackOfExport, sealSecrets } from "../../plan/export";
import { resolveConfig } from "../../policies/core/config";
import { Report, violations } from "../../policies/report/model";
import { auditParsedExport, parseStackExport } from "../../policies/runners/audit";
import { checkPlannedStack } from "../../policies/runners/offline";
import { rules } from "../../policies/rules";

const ROOT = path.resolve(__dirname, "..", "..");
const PACK_DIR = path.join(ROOT, "policies");
const RUN_POLICY_PACK = path.join(ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");

export type Verdict = "fail" | "unchecked";
/** `rule|urn` -> what the runner said (only violations and unchecked values are listed). */
export type Findings = Map<string, Verdict>;

export const findingKey = (rule: string, urn: string) => `${rule}|${urn}`;

function fromReport(report: Report): Findings {
    const out: Findings = new Map();
    for (const v of violations(report)) {
        const unchecked = /could not be checked/i.test(v.message) && v.enforcementLevel === "advisory";
        out.set(findingKey(v.policyName, v.urn), unchecked && out.get(findingKey(v.policyName, v.urn)) !== "fail" ? "unchecked" : "fail");
    }
    return out;
}

const packConfig = resolveConfig(undefined);

export function auditFindings(doc: StackExport): Findings {
    const text = JSON.stringify(sealSecrets(doc));
    return fromReport(auditParsedExport(parseStackExport(text, "corpus.json"), { rules, config: packConfig }));
}

export function offlineFindings(doc: StackExport, stackConfig: Record<string, string>): Findings {
    return fromReport(checkPlannedStack(plannedStackOfExport(doc, stackConfig), { rules, config: packConfig }));
}

type Call<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown;
function call<Req, Res>(fn: Call<Req, Res>, client: analyzerGrpc.AnalyzerClient, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));
}

const nameOf = (urn: string) => urn.split("::").slice(3).join("::");

/** The CrossGuard pack in its own process, as `pulumi preview --policy-pack policies` starts it. */
export class CrossGuardPack {
    private child?: ChildProcess;
    private client?: analyzerGrpc.AnalyzerClient;
    private stderr = "";
    /** Analyze answers by what the engine would send: an unchanged resource is not asked twice. */
    private analyzed = new Map<string, Promise<[string, Verdict][]>>();
    private ready?: Promise<void>;

    start(env: { stack: string; region: string }): Promise<void> {
        if (this.ready) return this.ready;
        const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TS_NODE_")));
        const child = spawn(process.execPath, [...(process.env.CORPUS_PACK_NODE_ARGS ?? "").split(" ").filter(Boolean), RUN_POLICY_PACK, "127.0.0.1:1", PACK_DIR], {
            cwd: PACK_DIR,
            env: { ...inherited, PULUMI_CONFIG: JSON.stringify({ "aws:region": env.region }), PULUMI_STACK: env.stack },
            stdio: ["ignore", "pipe", "pipe"],
        });
        this.child = child;
        child.stderr!.on("data", (d) => (this.stderr += String(d)));
        this.ready = new Promise<number>((resolve, reject) => {
            readline.createInterface({ input: child.stdout! }).once("line", (line) => resolve(Number(line.trim())));
            child.once("exit", (code) => reject(new Error(`policy pack exited with ${code} before printing its port:\n${this.stderr}`)));
        }).then((port) => {
            this.client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        });
        return this.ready;
    }

    stop(): void {
        this.client?.close();
        if (this.child && this.child.exitCode === null) this.child.kill("SIGTERM");
    }

    private providerOf(r: ExportedResource, byUrn: Map<string, ExportedResource>): analyzerPb.AnalyzerProviderResource | undefined {
        if (!r.provider) return undefined;
        const providerUrn = r.provider.slice(0, r.provider.lastIndexOf("::"));
        const record = byUrn.get(providerUrn);
        const p = new analyzerPb.AnalyzerProviderResource();
        p.setType(record?.type ?? providerUrn.split("::")[2]);
        p.setName(nameOf(providerUrn));
        p.setUrn(providerUrn);
        p.setProperties(Struct.fromJavaScript((record?.inputs ?? {}) as never));
        return p;
    }

    private options(r: ExportedResource): analyzerPb.AnalyzerResourceOptions {
        const o = new analyzerPb.AnalyzerResourceOptions();
        o.setProtect(r.protect === true);
        if (r.parent) o.setParent(r.parent);
        return o;
    }

    private async analyze(r: ExportedResource, byUrn: Map<string, ExportedResource>): Promise<[string, Verdict][]> {
        const provider = this.providerOf(r, byUrn);
        const signature = JSON.stringify([r.urn, r.type, r.inputs, r.protect, r.parent, provider?.toObject()]);
        let answer = this.analyzed.get(signature);
        if (!answer) {
            const req = new analyzerPb.AnalyzeRequest();
            req.setType(r.type);
            req.setName(nameOf(r.urn));
            req.setUrn(r.urn);
            req.setProperties(Struct.fromJavaScript((r.inputs ?? {}) as never));
            req.setOptions(this.options(r));
            if (provider) req.setProvider(provider);
            answer = call(this.client!.analyze as never, this.client!, req).then((res) => diagnostics(res as analyzerPb.AnalyzeResponse, r.urn));
            this.analyzed.set(signature, answer);
        }
        return answer;
    }

    /** Every finding the engine would print for this stack: per-resource diagnostics, then the stack phase's. */
    async findings(doc: StackExport): Promise<Findings> {
        await this.ready;
        const resources = doc.deployment.resources;
        const byUrn = new Map(resources.map((r) => [r.urn, r]));
        const perResource = Promise.all(resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => this.analyze(r, byUrn)));
        const stackReq = new analyzerPb.AnalyzeStackRequest();
        stackReq.setResourcesList(
            resources.map((r) => {
                const a = new analyzerPb.AnalyzerResource();
                a.setType(r.type);
                a.setName(nameOf(r.urn));
                a.setUrn(r.urn);
                // AnalyzeStack sees each resource's final outputs (inputs when it has none).
                a.setProperties(Struct.fromJavaScript((r.outputs && Object.keys(r.outputs).length ? r.outputs : (r.inputs ?? {})) as never));
                a.setOptions(this.options(r));
                const provider = this.providerOf(r, byUrn);
                if (provider) a.setProvider(provider);
                if (r.parent) a.setParent(r.parent);
                if (r.dependencies) a.setDependenciesList(r.dependencies);
                return a;
            }),
        );
        const stackPhase = call(this.client!.analyzeStack as never, this.client!, stackReq).then((res) => diagnostics(res as analyzerPb.AnalyzeResponse, ""));
        const out: Findings = new Map();
        for (const list of [...(await perResource), await stackPhase]) {
            for (const [key, verdict] of list) if (out.get(key) !== "fail") out.set(key, verdict);
        }
        return out;
    }
}

function diagnostics(res: analyzerPb.AnalyzeResponse, urn: string): [string, Verdict][] {
    return res.getDiagnosticsList().map((d) => {
        const unchecked = d.getEnforcementlevel() === analyzerPb.EnforcementLevel.ADVISORY && /could not be checked/i.test(d.getMessage());
        return [findingKey(d.getPolicyname(), d.getUrn() || urn), unchecked ? "unchecked" : "fail"];
    });
}
