import assert from "node:assert/strict";
import { main } from "../../../policies/runners/offline-cli";
import { fixture, runInProcess } from "./helpers";

const check = (...argv: string[]) => runInProcess("check", () => main(argv));

describe("offline check CLI: usage errors exit 2 before planning anything", () => {
    const cases: [string, string[], RegExp][] = [
        ["unknown stack", ["--stack", "staging"], /unknown stack staging \(one of dev, prod\)/],
        ["unknown format", ["--stack", "dev", "--format", "html"], /unknown --format "html"/],
        ["one JSON document only", ["--format", "json"], /--format json prints one document: name one --stack/],
        ["bad config file", ["--stack", "dev", "--config", fixture("config-bad.json")], /minBackupDays/],
        ["expired exception", ["--stack", "dev", "--exceptions", fixture("exceptions-expired.json")], /expired on 2020-01-31/],
        ["unknown option", ["--stak", "dev"], /unknown option --stak; see npm run check -- --help/],
    ];
    for (const [what, argv, message] of cases) {
        it(what, async () => {
            const r = await check(...argv);
            assert.equal(r.code, 2);
            assert.equal(r.stdout, "");
            assert.match(r.stderr, /^check: /);
            assert.match(r.stderr, message);
            assert.equal(r.stderr.trimEnd().includes("\n"), false, "one line");
        });
    }
});

describe("pack config on every entry point: --policy-config", function () {
    this.timeout(120_000);
    it("check: --policy-config changes the verdict (a config without Tokyo fails dev), --config and --policy-config together are refused", async () => {
        const strict = await check("--stack", "dev", "--format", "json", "--policy-config", fixture("config-osaka-only.json"));
        assert.equal(strict.code, 1, strict.stderr);
        assert.ok((JSON.parse(strict.stdout) as { violations: { policyName: string }[] }).violations.some((v) => v.policyName === "region-allowed"));
        const both = await check("--stack", "dev", "--config", fixture("config-tls12.json"), "--policy-config", fixture("config-tls12.json"));
        assert.equal(both.code, 2);
        assert.match(both.stderr, /--config and --policy-config name the same file: give one/);
    });

    it("npm start: --policy-config and --exceptions reach the report; bad input exits 2", async () => {
        const start = (...argv: string[]) => runInProcess("npm start", async () => {
            const log = console.log;
            console.log = (...args: unknown[]) => void process.stdout.write(`${args.join(" ")}\n`);
            try {
                return await (await import("../../../scripts/start")).main(argv);
            } finally {
                console.log = log;
            }
        });
        const strict = await start("--policy-config", fixture("config-osaka-only.json"));
        assert.equal(strict.code, 1);
        assert.match(strict.stdout, /region-allowed/);
        assert.match(strict.stdout, /dev: FAIL/);
        const bad = await start("--policy-config", fixture("config-bad.json"));
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /minBackupDays/);
        const expired = await start("--exceptions", fixture("exceptions-expired.json"));
        assert.equal(expired.code, 2);
        assert.match(expired.stderr, /expired on 2020-01-31/);
    });
});
