// `npm run bench [-- --scale 0.1] [-- --only audit,db,lambdas]`: every figure beside its reference, as a ratio.
import { parseArgs as parseNodeArgs } from "node:util";
import { BenchRow, BenchSection } from "./types";

const SECTIONS: Record<string, () => Promise<BenchSection>> = {
    audit: async () => (await import("./audit")).section,
    db: async () => (await import("./db")).section,
    lambdas: async () => (await import("./lambdas")).section,
    keys: async () => (await import("./keys")).section,
};

function parseArgs(argv: string[]): { scale: number; only: string[] } {
    const usage = `usage: npm run bench -- [--scale 0.1] [--only ${Object.keys(SECTIONS).join(",")}]`;
    let values;
    try {
        ({ values } = parseNodeArgs({ args: argv, options: { scale: { type: "string" }, only: { type: "string" } } }));
    } catch (err) {
        throw new Error(`${(err as Error).message}; ${usage}`);
    }
    const scale = values.scale === undefined ? 1 : Number(values.scale);
    if (!(scale > 0 && scale <= 1)) throw new Error(`--scale must be a number in (0, 1], got ${values.scale}`);
    const only = values.only === undefined ? Object.keys(SECTIONS) : values.only.split(",").filter(Boolean);
    const unknown = only.filter((s) => !(s in SECTIONS));
    if (unknown.length) throw new Error(`--only: unknown section(s) ${unknown.join(", ")}; known: ${Object.keys(SECTIONS).join(", ")}`);
    return { scale, only };
}

export function formatRows(rows: BenchRow[]): string {
    const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3));
    const lines = rows.map((r) => {
        const ratio = r.value / r.reference;
        const goal = r.goalRatio === undefined ? (ratio <= 1 ? "within target" : "OVER target") : ratio <= r.goalRatio ? `goal ≤${r.goalRatio}x met` : `goal ≤${r.goalRatio}x MISSED`;
        return [r.name, `${fmt(r.value)} ${r.unit}`, `${r.referenceLabel}: ${fmt(r.reference)} ${r.unit}`, `${ratio.toFixed(3)}x`, goal];
    });
    const header = ["figure", "measured", "reference", "ratio", "verdict"];
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [row(header), row(widths.map((w) => "-".repeat(w))), ...lines.map(row)].join("\n");
}

async function main(): Promise<void> {
    const { scale, only } = parseArgs(process.argv.slice(2));
    for (const key of only) {
        const section = await SECTIONS[key]();
        console.log(`\n== ${section.title} (scale ${scale}) ==`);
        console.log(formatRows(await section.run({ scale })));
    }
}

if (require.main === module) {
    main().catch((err) => {
        console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
    });
}
