// The deploy gate passes the same pack config and exceptions files as npm start / check / audit
// to CrossGuard: APPI_POLICY_CONFIG / APPI_EXCEPTIONS -> --policy-pack-config. A fake `pulumi`
// on PATH records what the gate runs (no CLI, no cloud here).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const fixture = (name: string) => path.join(ROOT, "test", "fixtures", name);

function gate(env: Record<string, string>) {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-pulumi-"));
    const pinned = fs.readFileSync(path.join(ROOT, ".pulumi.version"), "utf8").trim();
    // Prints its arguments and the --policy-pack-config file it was given.
    fs.writeFileSync(
        path.join(bin, "pulumi"),
        `#!/usr/bin/env bash\nif [ "$1" = version ]; then echo v${pinned}; exit 0; fi\necho "ARGS $*"\nwhile [ $# -gt 0 ]; do if [ "$1" = --policy-pack-config ]; then echo "CONFIG"; cat "$2"; fi; shift; done\n`,
        { mode: 0o755 },
    );
    try {
        return spawnSync("bash", [path.join(ROOT, "scripts", "pulumi-gate.sh"), "preview", "prod"], { cwd: ROOT, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, GITHUB_STEP_SUMMARY: "", ...env }, encoding: "utf8" });
    } finally {
        fs.rmSync(bin, { recursive: true, force: true });
    }
}

describe("scripts/pulumi-gate.sh: pack config and exceptions reach CrossGuard", function () {
    this.timeout(120_000);

    it("without them, no --policy-pack-config", () => {
        const r = gate({});
        assert.equal(r.status, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /--policy-pack-config/);
    });

    it("APPI_POLICY_CONFIG and APPI_EXCEPTIONS become the per-policy config, exceptions under their policy", () => {
        const r = gate({ APPI_POLICY_CONFIG: fixture("config-osaka-only.json"), APPI_EXCEPTIONS: fixture("exceptions-valid.json") });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /ARGS preview --stack prod --policy-pack .*policies .*--policy-pack-config /);
        const config = JSON.parse(r.stdout.slice(r.stdout.indexOf("CONFIG\n") + "CONFIG\n".length).split("\npulumi preview prod")[0]) as Record<string, { allowedRegions: string[]; exceptions?: { approver: string }[] }>;
        assert.deepEqual(config["region-allowed"].allowedRegions, ["ap-northeast-3"]);
        assert.equal(config["log-group-retention"].exceptions?.[0].approver, "yamada.hanako@example.co.jp");
    });

    it("an expired exception stops the gate (exit 2) before pulumi runs", () => {
        const r = gate({ APPI_EXCEPTIONS: fixture("exceptions-expired.json") });
        assert.equal(r.status, 2);
        assert.doesNotMatch(r.stdout, /ARGS/);
        assert.match(r.stderr, /expired on 2020-01-31/);
    });
});
