// Every command people script shares one parser: --help exits 0 with the usage on stdout,
// an unknown option (or a missing value) exits 2 naming the problem, on one line of stderr.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { main as benchMain } from "../../../bench/index";
import { main as metricsMain } from "../../../compliance/metrics-cli";
import { main as reportMain } from "../../../compliance/report-cli";
import { parseReplayArgs } from "../../../db/erasure-replay";
import { main as crossguardConfigMain } from "../../../policies/runners/crossguard-config";
import { DB_COMMAND, parseDbCommandLine } from "../../../db/cli";
import { main as auditMain } from "../../../policies/runners/audit-cli";
import { CommandSpec, helpText, parseCommandLine } from "../../../policies/runners/cli-support";
import { InputError } from "../../../policies/runners/errors";
import { main as checkMain } from "../../../policies/runners/offline-cli";
import { main as planMain } from "../../../scripts/plan";
import { main as startMain } from "../../../scripts/start";
import { main as buildDbTasksMain } from "../../../db/build-tasks";
import { main as keysMain } from "../../../db/keys-cli";
import { main as buildLambdasMain } from "../../../lambdas/build";
import { runInProcess } from "./helpers";

const COMMANDS: [string, (argv: string[]) => Promise<number> | number][] = [
    ["check", checkMain],
    ["audit", auditMain],
    ["bench", benchMain],
    ["npm start", startMain],
    ["plan", planMain],
    ["crossguard-config", crossguardConfigMain],
    ["build:lambdas", buildLambdasMain],
    ["build:db-tasks", buildDbTasksMain],
    ["keys:reencrypt", (argv) => keysMain(argv, {})],
    ["compliance:report", (argv) => reportMain(argv, {})],
];

describe("command lines: one parser for every command", () => {
    for (const [name, main] of COMMANDS) {
        describe(name, () => {
            it("--help and -h exit 0 with the usage and every option on stdout", async () => {
                for (const flag of ["--help", "-h"]) {
                    const r = await runInProcess(name, () => main([flag]));
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(r.stderr, "");
                    assert.match(r.stdout, /^usage: /);
                    assert.match(r.stdout, /-h, --help/);
                    assert.match(r.stdout, /Exit codes: /);
                }
            });
            it("--help wins over other arguments, even a bad one", async () => {
                const r = await runInProcess(name, () => main(["--nonsense", "--help"]));
                assert.equal(r.code, 0);
                assert.match(r.stdout, /^usage: /);
            });
            it("an unknown option exits 2, naming it, on one line of stderr, with nothing on stdout", async () => {
                const r = await runInProcess(name, () => main(["--nonsense"]));
                assert.equal(r.code, 2);
                assert.equal(r.stdout, "");
                assert.match(r.stderr, new RegExp(`^${name}: unknown option --nonsense; see .* --help\\n$`));
            });
        });
    }

    it("db: --help, unknown option and unknown command (the db:* scripts)", () => {
        const help = parseDbCommandLine(["--help"]);
        assert.ok("help" in help && help.help.startsWith("usage: ts-node db/cli.ts migrate|status|test|retention"));
        assert.deepEqual(parseDbCommandLine(["status"]), { command: "status" });
        assert.throws(() => parseDbCommandLine(["migrate", "--force"]), /unknown option --force; see ts-node db\/cli\.ts --help/);
        assert.throws(() => parseDbCommandLine(["drop"]), /unknown command "drop" \(one of migrate, status, test, retention\)/);
        assert.throws(() => parseDbCommandLine([]), /missing migrate\|status\|test\|retention/);
        assert.match(helpText(DB_COMMAND), /DATABASE_URL/);
    });

    it("db:replay-erasures and compliance:metrics use the same parser", async () => {
        assert.deepEqual(parseReplayArgs(["--help"]), { help: true });
        assert.throws(() => parseReplayArgs(["--from"]), /option --from needs a value/);
        assert.throws(() => parseReplayArgs(["--from", "postgres://x/y", "--until", "now"]), /unknown option --until; see npm run db:replay-erasures -- --help/);
        const help = await runInProcess("compliance:metrics", () => metricsMain(["--help"], {}));
        assert.equal(help.code, 0);
        assert.match(help.stdout, /^usage: npm run compliance:metrics -- \[--format FORMAT\]/);
        const bad = await runInProcess("compliance:metrics", () => metricsMain(["--colour"], {}));
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /^compliance:metrics: unknown option --colour; see npm run compliance:metrics -- --help\n$/);
    });

    describe("parseCommandLine", () => {
        const spec = {
            invocation: "tool",
            positionals: { name: "FILE", min: 0, max: 1 },
            summary: "Does a thing.",
            options: { format: { type: "string", value: "F", description: "format" }, stack: { type: "string", multiple: true, description: "stack" }, quiet: { type: "boolean", description: "quiet" } },
        } satisfies CommandSpec;
        it("reads values, repeated options and a lone - as standard input", () => {
            const line = parseCommandLine(spec, ["-", "--format", "json", "--stack", "a", "--stack=b", "--quiet"]);
            assert.equal(line.help, false);
            if (line.help) return;
            assert.deepEqual(line.positionals, ["-"]);
            assert.deepEqual(line.values, { format: "json", stack: ["a", "b"], quiet: true });
        });
        it("names the problem: missing value, value on a flag, extra argument", () => {
            assert.throws(() => parseCommandLine(spec, ["--format"]), (e: unknown) => e instanceof InputError && /option --format needs a value/.test(e.message));
            assert.throws(() => parseCommandLine(spec, ["--quiet=yes"]), /option --quiet takes no value/);
            assert.throws(() => parseCommandLine(spec, ["a", "b"]), /expected at most 1 FILE, got 2/);
        });
        it("-- ends the options: a later --help is an argument, not a request for help", () => {
            const line = parseCommandLine(spec, ["--", "--help"]);
            assert.equal(line.help, false);
            if (!line.help) assert.deepEqual(line.positionals, ["--help"]);
        });
    });

    it("`npm run plan` works end to end: exit 0, the plan on stdout; a bad option exits 2", function () {
        this.timeout(120_000);
        const root = path.resolve(__dirname, "..", "..", "..");
        const run = (...args: string[]) => spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "scripts/plan.ts", ...args], { cwd: root, encoding: "utf8" });
        const ok = run("--stack", "dev");
        assert.equal(ok.status, 0, ok.stderr);
        assert.match(ok.stdout, /Stack dev: \d+ resources would be created in ap-northeast-1/);
        assert.match(ok.stdout, /Who can deploy/);
        const bad = run("--stack", "dev", "--colour");
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /^plan: unknown option --colour/);
    });
});
