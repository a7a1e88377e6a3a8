// `npm run bench -- --only pack`: how fast the policy pack is ready for the engine (its gRPC
// port printed), started exactly as the engine starts it, median of three starts; in the
// repository and as installed standalone (policies/ alone, npm ci'd in an empty directory).
// Each beside two references: a one-policy no-op pack started the same way in the same run
// (the engine's own start-up cost: run-policy-pack, @pulumi/pulumi, gRPC), and the 2 s goal.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { startPack } from "../scripts/pack-process";
import { median } from "./stats";
import { BenchRow, BenchSection } from "./types";

const ROOT = path.resolve(__dirname, "..");
const PACK_DIR = path.join(ROOT, "policies");
const GOAL_MS = 2_000;
const STARTS = 3;

async function medianReadyMs(packDir: string): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < STARTS; i++) {
        const pack = await startPack(packDir, { env: { PULUMI_CONFIG: JSON.stringify({ "aws:region": "ap-northeast-1" }), PULUMI_STACK: "bench" } });
        times.push(pack.readyMs);
        await pack.stop();
    }
    return median(times);
}

/** A pack with one policy that does nothing, resolving @pulumi/policy from `nodeModulesOwner`'s tree. */
function noopPack(parent: string): string {
    const dir = fs.mkdtempSync(path.join(parent, "noop-pack-"));
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "noop", version: "0.0.0", main: "index.js" }));
    fs.writeFileSync(
        path.join(dir, "index.js"),
        `const { PolicyPack } = require("@pulumi/policy");\nnew PolicyPack("noop", { policies: [{ name: "noop", description: "does nothing", enforcementLevel: "advisory", validateResource: () => undefined }] });\n`,
    );
    return dir;
}

export const section: BenchSection = {
    title: "policy pack start (ready = gRPC port printed, median of 3 starts)",
    async run(): Promise<BenchRow[]> {
        const rows: BenchRow[] = [];
        const scratch = path.join(ROOT, ".scratch");
        fs.mkdirSync(scratch, { recursive: true });
        const repoNoop = noopPack(scratch);
        const standalone = fs.mkdtempSync(path.join(os.tmpdir(), "appi-pack-bench-"));
        try {
            const reference = await medianReadyMs(repoNoop);
            const inRepo = await medianReadyMs(PACK_DIR);
            rows.push({ name: "pack ready, in the repository", value: inRepo, unit: "ms", referenceLabel: "no-op pack, same start", reference, goalRatio: 1.5 });
            rows.push({ name: "pack ready, in the repository", value: inRepo, unit: "ms", referenceLabel: "goal", reference: GOAL_MS });

            // policies/ alone, as `pulumi policy publish` ships it and a policy group installs it.
            const target = path.join(standalone, "appi-aws");
            fs.cpSync(PACK_DIR, target, { recursive: true, filter: (src) => path.basename(src) !== "node_modules" });
            await promisify(execFile)("npm", ["ci", "--prefer-offline", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: target, maxBuffer: 1 << 24 });
            const standaloneNoop = noopPack(target);
            const standaloneReference = await medianReadyMs(standaloneNoop);
            const alone = await medianReadyMs(target);
            rows.push({ name: "pack ready, installed standalone", value: alone, unit: "ms", referenceLabel: "no-op pack, same install", reference: standaloneReference, goalRatio: 1.5 });
            rows.push({ name: "pack ready, installed standalone", value: alone, unit: "ms", referenceLabel: "goal", reference: GOAL_MS });
        } finally {
            fs.rmSync(repoNoop, { recursive: true, force: true });
            fs.rmSync(standalone, { recursive: true, force: true });
        }
        return rows;
    },
};
