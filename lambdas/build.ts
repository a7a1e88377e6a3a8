// `npm run build:lambdas [-- outDir]`: bundles each Lambda (the Cognito triggers, the erasure worker, the compliance
// jobs, the identity-secret rotation) with esbuild into
// build/lambdas/<name>/index.js for the Node.js 22 Lambda runtime (CommonJS, `exports.handler`).
import { statSync } from "node:fs";
import path from "node:path";
import { build, BuildOptions } from "esbuild";
import { CommandSpec, parseCommandLine, printHelp, runCli } from "../policies/runners/cli-support";

export const LAMBDA_NAMES = ["pre-signup", "post-confirmation", "erasure-worker", "compliance-jobs", "identity-secret-rotation", "pre-token-generation"] as const;
export type LambdaName = (typeof LAMBDA_NAMES)[number];

export const DEFAULT_OUT_DIR = path.resolve(__dirname, "..", "build", "lambdas");

// The Node.js 22 runtime ships the AWS SDK for JavaScript v3 clients, so those come from there: client-kms
// (used by @aws-crypto/kms-keyring-node) and client-dynamodb (only loaded, never used, by the branch-keystore
// part of @aws-crypto/client-node). Everything else is bundled: @aws-crypto/* is not in the runtime, and
// @aws-sdk/rds-signer is a library rather than a client, so we do not count on the runtime having it.
// pg-native and pg-cloudflare are optional backends pg only loads on request.
const EXTERNAL = ["@aws-sdk/client-kms", "@aws-sdk/client-dynamodb", "@aws-sdk/client-cloudwatch", "@aws-sdk/client-rds", "@aws-sdk/client-backup", "@aws-sdk/client-secrets-manager", "pg-native", "cloudflare:sockets"];

export interface BundleInfo {
    name: LambdaName;
    /** Absolute path of the bundle (index.js). */
    path: string;
    bytes: number;
}

/** The esbuild options of every Lambda bundle (exported so tests can bundle a probe the same way). */
export function bundleOptions(entryPoint: string, outfile: string): BuildOptions {
    return {
        entryPoints: [entryPoint],
        outfile,
        bundle: true,
        platform: "node",
        target: "node22",
        format: "cjs",
        // Prefer packages' ES module builds: esbuild can drop their unused exports (the AWS SDK's
        // especially), ~20% less code than their CommonJS builds.
        mainFields: ["module", "main"],
        minify: true,
        keepNames: true, // readable error names and stack frames in CloudWatch
        legalComments: "none",
        external: EXTERNAL,
        logLevel: "silent",
    };
}

export async function buildLambdas(outDir: string = DEFAULT_OUT_DIR): Promise<BundleInfo[]> {
    const bundles: BundleInfo[] = [];
    for (const name of LAMBDA_NAMES) {
        const outfile = path.resolve(outDir, name, "index.js");
        const result = await build(bundleOptions(path.resolve(__dirname, name, "index.ts"), outfile));
        if (result.errors.length) throw new Error(`esbuild failed for ${name}: ${result.errors.map((e) => e.text).join("; ")}`);
        bundles.push({ name, path: outfile, bytes: statSync(outfile).size });
    }
    return bundles;
}

let pendingBuild: Promise<BundleInfo[]> | undefined;

/** One build per process: the offline planner evaluates the program once per stack, with the same code. */
export function buildLambdasOnce(): Promise<BundleInfo[]> {
    pendingBuild ??= buildLambdas();
    return pendingBuild;
}

export const BUILD_LAMBDAS_COMMAND = {
    invocation: "npm run build:lambdas --",
    summary: "Bundles every Lambda handler with esbuild (what the program deploys).",
    positionals: { name: "OUT_DIR", min: 0, max: 1, description: `where the bundles go (default ${path.relative(process.cwd(), DEFAULT_OUT_DIR)})` },
    options: {},
    epilogue: ["Exit codes: 0 built, 1 the build failed, 2 bad usage."],
} satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
    const line = parseCommandLine(BUILD_LAMBDAS_COMMAND, argv);
    if (line.help) return printHelp(line.usage);
    const bundles = await buildLambdas(line.positionals[0] ? path.resolve(line.positionals[0]) : DEFAULT_OUT_DIR);
    for (const b of bundles) console.log(`${b.name}: ${path.relative(process.cwd(), b.path)} (${(b.bytes / 1024).toFixed(1)} KiB)`);
    return 0;
}

if (require.main === module) void runCli("build:lambdas", () => main(process.argv.slice(2)));
