// The audit's marginal cost on realistic growth: the program's own prod stack export
// (planned under mocks, plan/export.ts) plus N copies of its AWS resources, each copy a
// resource of its own (own URN, id, ARN, name), pointing at the same VPC, keys and roles as
// the original, as a bigger deployment of the same program would. Compared with JSON.parse
// of the same bytes: the audit's extra cost over the parse for the added resources.
import { performance } from "node:perf_hooks";
import { ExportedResource, StackExport, exportPlannedStack } from "../plan/export";
import { planStack } from "../plan/run";
import { resolveConfig } from "../policies/core/config";
import { formatJson } from "../policies/report/json";
import { auditParsedExport, parseStackExport } from "../policies/runners/audit";
import { rules } from "../policies/rules";
import { median } from "./stats";
import { BenchRow } from "./types";

/** Props that hold a resource's own handles: a copy gets its own. */
const OWN_HANDLES = ["id", "arn", "name", "bucket", "identifier", "clusterIdentifier", "replicationGroupId", "keyId", "functionName", "dashboardName"];

function renamed(bag: Record<string, unknown> | undefined, suffix: string): Record<string, unknown> | undefined {
    if (!bag) return bag;
    const copy = { ...bag };
    for (const key of OWN_HANDLES) if (typeof copy[key] === "string" && copy[key] !== "") copy[key] = `${copy[key]}${suffix}`;
    return copy;
}

/** `base` plus `count` copies of its AWS resources (cycling through them). */
export function withCopies(base: StackExport, count: number): StackExport {
    const originals = base.deployment.resources.filter((r) => r.custom && r.type.startsWith("aws:"));
    const copies: ExportedResource[] = new Array(count);
    for (let i = 0; i < count; i++) {
        const r = originals[i % originals.length];
        const suffix = `-c${Math.floor(i / originals.length) + 1}`;
        copies[i] = { ...r, urn: `${r.urn}${suffix}`, id: r.id ? `${r.id}${suffix}` : r.id, inputs: renamed(r.inputs, suffix), outputs: renamed(r.outputs, suffix) };
    }
    return { ...base, deployment: { ...base.deployment, resources: [...base.deployment.resources, ...copies] } };
}

interface Timing {
    auditMs: number;
    parseMs: number;
    bytes: number;
}

/** Medians of interleaved runs: JSON.parse of the text, and the audit of the same text (parse, evaluate, JSON report). */
function measure(text: string, repeats: number): Timing {
    const config = resolveConfig(undefined);
    const audits: number[] = [];
    const parses: number[] = [];
    for (let i = 0; i < repeats; i++) {
        let t = performance.now();
        JSON.parse(text);
        parses.push(performance.now() - t);
        t = performance.now();
        formatJson(auditParsedExport(parseStackExport(text, "bench.json"), { rules, config }));
        audits.push(performance.now() - t);
    }
    return { auditMs: median(audits), parseMs: median(parses), bytes: text.length };
}

export async function marginalRows(scale: number): Promise<BenchRow[]> {
    const added = Math.max(500, Math.round(10_000 * scale));
    const base = exportPlannedStack(await planStack("prod"));
    const texts = [0, added, 2 * added].map((n) => JSON.stringify(withCopies(base, n)));
    // Warm-up (JIT, module loading, heap grown to the biggest size), out of the figures.
    for (const text of texts) measure(text, 2);
    const repeats = 7;
    const [t0, t1, t2] = texts.map((text, i) => measure(text, i === 0 ? 3 * repeats : repeats));
    const audit1 = t1.auditMs - t0.auditMs;
    const audit2 = t2.auditMs - t0.auditMs;
    const parse1 = t1.parseMs - t0.parseMs;
    const parse2 = t2.parseMs - t0.parseMs;
    const n = added.toLocaleString("en");
    const mb = ((t1.bytes - t0.bytes) / 1e6).toFixed(1);
    return [
        {
            name: `audit, marginal cost of +${n} copies of the prod stack's resources (+${mb} MB; ${base.deployment.resources.length} resources before)`,
            value: audit1,
            unit: "ms",
            referenceLabel: "JSON.parse of the same added bytes",
            reference: parse1,
            goalRatio: 3,
        },
        {
            // Linear: the marginal cost per resource at +2N is what it is at +N (1.0), as close as JSON.parse's own.
            name: `audit, marginal cost per resource +${n} -> +${(2 * added).toLocaleString("en")} (${((audit1 / added) * 1000).toFixed(1)} -> ${((audit2 / (2 * added)) * 1000).toFixed(1)} µs)`,
            value: audit2 / (2 * added) / (audit1 / added),
            unit: "x",
            referenceLabel: "JSON.parse's on the same files",
            reference: parse2 / (2 * added) / (parse1 / added),
            goalRatio: 1.25,
        },
    ];
}
