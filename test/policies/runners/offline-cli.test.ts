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
