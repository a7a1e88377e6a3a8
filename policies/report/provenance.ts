// Where a report comes from: the pack's version, the commit and branch checked (CI's
// environment first, then the working copy's git), and when. Evidence a reviewer can trace.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Provenance } from "./model";

let packVersionCache: string | undefined;

/** The pack's semver, from policies/package.json (the version `pulumi policy publish` uses). */
export function packVersion(): string {
    if (packVersionCache === undefined) {
        const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "package.json"), "utf8")) as { version?: unknown };
        packVersionCache = typeof manifest.version === "string" ? manifest.version : "0.0.0";
    }
    return packVersionCache;
}

function git(args: string[], cwd: string): string | undefined {
    try {
        const out = execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 }).trim();
        return out || undefined;
    } catch {
        return undefined;
    }
}

export interface SourceControl {
    commit?: string;
    branch?: string;
    /** Repository URL, for SARIF's versionControlProvenance. */
    repositoryUri?: string;
}

/** CI's variables win (a CI checkout is often a detached HEAD); otherwise ask git. */
export function sourceControl(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): SourceControl {
    const commit = env.GITHUB_SHA || env.CI_COMMIT_SHA || env.GIT_COMMIT || git(["rev-parse", "HEAD"], cwd);
    let branch = env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || env.CI_COMMIT_REF_NAME || env.GIT_BRANCH || git(["rev-parse", "--abbrev-ref", "HEAD"], cwd);
    if (branch === "HEAD") branch = undefined;
    let repositoryUri = env.GITHUB_REPOSITORY ? `${env.GITHUB_SERVER_URL || "https://github.com"}/${env.GITHUB_REPOSITORY}` : env.CI_PROJECT_URL || git(["remote", "get-url", "origin"], cwd);
    // Never put credentials from a remote URL into a report.
    if (repositoryUri) repositoryUri = repositoryUri.replace(/\/\/[^/@]*@/, "//");
    return { commit, branch, repositoryUri };
}

export function provenance(env: NodeJS.ProcessEnv = process.env, now: Date = new Date()): Provenance {
    const { commit, branch } = sourceControl(env);
    return { packVersion: packVersion(), commit, branch, time: now.toISOString() };
}
