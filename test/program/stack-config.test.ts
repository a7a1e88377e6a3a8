// Stack config as strict as the Pulumi CLI: unknown project keys, plain-text secrets and
// version strings YAML turns into numbers stop the plan (exit 2) with the fix.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadStackConfig, StackConfigError } from "../../plan/stack-config";
import { runInProcess } from "../policies/runners/helpers";
import { asInputError } from "../../scripts/cli-errors";

const ROOT = path.resolve(__dirname, "..", "..");

describe("stack config: as strict as the Pulumi CLI", function () {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "appi-stack-config-"));
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const withStack = (lines: string[]) => fs.writeFileSync(path.join(dir, "Pulumi.t.yaml"), ["config:", "  aws:region: ap-northeast-1", ...lines.map((l) => `  ${l}`), ""].join("\n"));
    const rejects = (lines: string[], message: RegExp) => {
        withStack(lines);
        assert.throws(() => loadStackConfig("t", dir), (err: unknown) => {
            assert.ok(err instanceof StackConfigError, String(err));
            assert.match(err.message, message);
            assert.match(err.message, /Fix: /);
            return true;
        });
    };

    it("the repository's dev and prod stacks load", () => {
        for (const stack of ["dev", "prod"]) assert.equal(loadStackConfig(stack).values["appi-infra:githubRepository"], "marczenn/rento");
    });

    it("accepts quoted versions, other namespaces and encrypted secrets", () => {
        withStack(['appi-infra:dbEngineVersion: "16.10"', "aws:profile: rento", "appi-infra:redisAuthToken:", "    secure: v1:abc"]);
        const config = loadStackConfig("t", dir);
        assert.equal(config.values["appi-infra:dbEngineVersion"], "16.10");
        assert.deepEqual(config.secretKeys, ["appi-infra:redisAuthToken"]);
    });

    it("rejects a key the project does not declare, suggesting the near one", () =>
        rejects(["appi-infra:backupRetentionDay: 14"], /appi-infra:backupRetentionDay is not a configuration key of project appi-infra[\s\S]*did you mean appi-infra:backupRetentionDays\?/));

    it("rejects an undeclared key written without the namespace too", () => rejects(["dbPasswordRotation: true"], /appi-infra:dbPasswordRotation is not a configuration key/));

    it("rejects a plain-text value for a key declared secret: true", () =>
        rejects(["appi-infra:redisAuthToken: hunter2hunter2hunter2"], /redisAuthToken is declared secret: true in Pulumi\.yaml, but this file holds it in plain text\. Fix: pulumi config set --secret redisAuthToken <value> -s t/));

    it("rejects a version YAML reads as a number, showing what the program would get", () => {
        rejects(["appi-infra:dbEngineVersion: 16.10"], /YAML reads 16\.10 as the number 16\.1 \(the program would get "16\.1"\)\. Fix: quote it, appi-infra:dbEngineVersion: "16\.10"/);
        rejects(["appi-infra:dbEngineVersion: 16"], /YAML reads 16 as the number 16\. Fix: quote it/);
    });

    it("rejects a version default YAML reads as a number in Pulumi.yaml itself", () => {
        const project = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8").replace('default: "16.6"', "default: 7.0");
        assert.notEqual(project, fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"), "the fixture has the quoted default");
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), project);
        rejects([], /dbEngineVersion \(default\) is a string in Pulumi\.yaml, but YAML reads 7\.0 as the number 7/);
    });

    it("a config error is bad input: exit 2 with one line naming the key", async () => {
        withStack(["appi-infra:bogus: 1"]);
        const r = await runInProcess("check", async () => {
            try {
                loadStackConfig("t", dir);
            } catch (err) {
                asInputError(err);
            }
            return 0;
        });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /^check: Pulumi\.t\.yaml: appi-infra:bogus is not a configuration key/);
    });

    it("a value the program rejects (components/config) is bad input too: exit 2 naming the key", async function () {
        this.timeout(60_000);
        const { planStack } = await import("../../plan/run");
        const r = await runInProcess("npm start", async () => {
            await planStack("dev", { configOverrides: { "appi-infra:region": "us-east-1" } }).catch(asInputError);
            return 0;
        });
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /^npm start: config appi-infra:region: .*outside Japan.*Fix: /);
    });

    it("an internal error is not dressed up as bad input: exit 70 with the stack", async () => {
        const r = await runInProcess("npm start", async () => asInputError(new TypeError("boom")));
        assert.equal(r.code, 70);
        assert.match(r.stderr, /internal error: TypeError: boom/);
    });
});
