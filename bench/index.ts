// `npm run bench [-- --scale 0.1] [-- --only audit,db,lambdas]`: every figure beside its reference, as a ratio.
import { CommandSpec, parseCommandLine, printHelp, runCli } from "../policies/runners/cli-support";
import { InputError } from "../policies/runners/errors";
import { BenchRow, BenchSection } from "./types";

const SECTIONS: Record<string, () => Promise<BenchSection>> = {
    audit: async () => (await import("./audit")).section,
    db: async () => (await import("./db")).section,
    lambdas: async () => (await import("./lambdas")).section,
    keys: async () => (await import("./keys")).section,
    "db-tasks": async () => (await import("./db-tasks")).section,
    pack: async () => (await import("./pack")).section,
    restore: async () => (await import("./restore")).section,
};

export const BENCH_COMMAND = {
    invocation: "npm run bench --",
    summary: "Measures the gate's speed goals, each figure as a ratio to a reference measured in the same run.",
    options: {
        scale: { type: "string", value: "N", description: "fraction of the full workload, in (0, 1] (default 1)" },
        only: { type: "string", value: "LIST", description: `comma-separated sections: ${Object.keys(SECTIONS).join(", ")} (default all)` },
    },
    epilogue: ["Exit codes: 0 done, 2 bad usage, 70 internal error."],
} satisfies CommandSpec;

/** The bench's settings, or undefined when --help was asked (and printed). */
export function parseArgs(argv: string[]): { scale: number; only: string[] } | undefined {
    const line = parseCommandLine(BENCH_COMMAND, argv);
    if (line.help) {
        printHelp(line.usage);
        return undefined;
    }
    const { values } = line;
    const scale = values.scale === undefined ? 1 : Number(values.scale);
    if (!(scale > 0 && scale <= 1)) throw new InputError(`--scale must be a number in (0, 1], got ${values.scale}`);
    const only = values.only === undefined ? Object.keys(SECTIONS) : values.only.split(",").filter(Boolean);
    const unknown = only.filter((s) => !(s in SECTIONS));
    if (unknown.length) throw new InputError(`--only: unknown section(s) ${unknown.join(", ")}; known: ${Object.keys(SECTIONS).join(", ")}`);
    return { scale, only };
}

export function formatRows(rows: BenchRow[]): string {
    const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3));
    const lines = rows.map((r) => {
        const ratio = r.value / r.reference;
        const goal = r.informational ? "informational" : r.goalRatio === undefined ? (ratio <= 1 ? "within target" : "OVER target") : ratio <= r.goalRatio ? `goal ≤${r.goalRatio}x met` : `goal ≤${r.goalRatio}x MISSED`;
        return [r.name, `${fmt(r.value)} ${r.unit}`, `${r.referenceLabel}: ${fmt(r.reference)} ${r.unit}`, `${ratio.toFixed(3)}x`, goal];
    });
    const header = ["figure", "measured", "reference", "ratio", "verdict"];
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [row(header), row(widths.map((w) => "-".repeat(w))), ...lines.map(row)].join("\n");
}

export async function main(argv: string[]): Promise<number> {
    const parsed = parseArgs(argv);
    if (!parsed) return 0;
    for (const key of parsed.only) {
        const section = await SECTIONS[key]();
        console.log(`\n== ${section.title} (scale ${parsed.scale}) ==`);
        console.log(formatRows(await section.run({ scale: parsed.scale })));
    }
    return 0;
}

if (require.main === module) void runCli("bench", () => main(process.argv.slice(2)));
