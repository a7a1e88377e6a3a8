import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { validateWorkflow } from "@action-validator/core";

const DIR = path.join(__dirname, "..", "..", ".github", "workflows");
const FILES = ["preview.yml", "deploy.yml", "migrate.yml"];

function load(file: string): { text: string; doc: any } {
    const text = fs.readFileSync(path.join(DIR, file), "utf8");
    return { text, doc: YAML.parse(text) };
}

type Step = { uses?: string; run?: string; with?: Record<string, any>; if?: string; env?: Record<string, string>; name?: string };
const steps = (job: any): Step[] => job.steps ?? [];
const runs = (job: any) => steps(job).map((s) => s.run ?? "").join("\n");
const awsLogin = (job: any) => steps(job).find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));

describe("GitHub Actions workflows", function () {
    for (const file of FILES) {
        it(`${file} parses and passes the workflow linter`, function () {
            const { text, doc } = load(file);
            assert.equal(typeof doc, "object");
            const result = validateWorkflow(text);
            assert.deepEqual(result.errors, [], JSON.stringify(result.errors, null, 1));
        });

        it(`${file} pins every third-party action to a commit and grants id-token only to jobs that assume a role`, function () {
            const { text, doc } = load(file);
            const uses = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)/gm)].map((m) => m[1]);
            assert.ok(uses.length > 0);
            for (const ref of uses) {
                assert.ok(ref.startsWith("./") || /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(ref), `${ref} is not pinned to a commit SHA`);
            }
            assert.notEqual(doc.permissions?.["id-token"], "write", "id-token must be granted per job, not workflow-wide");
            for (const [name, job] of Object.entries<any>(doc.jobs)) {
                const login = awsLogin(job);
                if (job.uses || login) assert.equal(job.permissions?.["id-token"], "write", `${file}:${name} needs id-token: write`);
                if (login) {
                    assert.match(login.with!["role-to-assume"], /vars\.AWS_(DEV|PROD)_(PREVIEW|DEPLOY|MIGRATE)_ROLE_ARN/);
                    assert.equal(login.with!["aws-region"], "ap-northeast-1");
                    assert.equal(login.with!["aws-access-key-id"], undefined, "keyless: no stored access key");
                }
            }
        });
    }

    it("preview runs pulumi preview with the policy pack for dev and prod through OIDC and uploads SARIF", function () {
        const { doc } = load("preview.yml");
        assert.ok(doc.on.pull_request);
        const job = doc.jobs.preview;
        assert.deepEqual(job.strategy.matrix.stack, ["dev", "prod"]);
        assert.equal(job.permissions["id-token"], "write");
        assert.equal(job.permissions["security-events"], "write");
        assert.equal(job.environment, "preview");
        assert.match(runs(job), /pulumi preview --stack "\$STACK" --policy-pack policies/);
        const all = steps(job);
        const index = (pred: (s: Step) => boolean) => all.findIndex(pred);
        const planSarif = index((s) => /npm run --silent check -- --stack "\$STACK" --format sarif > "sarif\/plan-\$STACK\.sarif"/.test(s.run ?? ""));
        const stateSarif = index((s) => /npm run --silent audit -- "state-\$STACK\.json" --format sarif > "sarif\/state-\$STACK\.sarif"/.test(s.run ?? ""));
        const previewStep = index((s) => /pulumi preview/.test(s.run ?? ""));
        const uploads = all.map((s, i) => ({ s, i })).filter(({ s }) => s.uses?.startsWith("github/codeql-action/upload-sarif@"));
        assert.ok(planSarif >= 0 && stateSarif >= 0 && previewStep >= 0);
        assert.ok(previewStep > all.indexOf(awsLogin(job)!), "credentials before preview");
        assert.ok(planSarif < previewStep && stateSarif > previewStep, "plan check before preview, state audit after");
        // Findings must be uploaded even when the preview or the checks fail, each under its own category.
        assert.match(all[stateSarif].if!, /always\(\)/);
        assert.deepEqual(uploads.map(({ s }) => s.with!.sarif_file), ["sarif/plan-${{ matrix.stack }}.sarif", "sarif/state-${{ matrix.stack }}.sarif"]);
        assert.deepEqual(uploads.map(({ s }) => s.with!.category), ["appi-plan-${{ matrix.stack }}", "appi-state-${{ matrix.stack }}"]);
        for (const { s, i } of uploads) {
            assert.match(s.if!, /always\(\)/);
            assert.ok(i > stateSarif);
        }
    });

    it("deploy sends main to dev, then prod only through the prod environment, each followed by migrations", function () {
        const { doc } = load("deploy.yml");
        assert.deepEqual(doc.on.push.branches, ["main"]);
        const { "deploy-dev": dev, "deploy-prod": prod, "migrate-dev": migrateDev, "migrate-prod": migrateProd } = doc.jobs;
        // No environment on the dev job: its OIDC subject is `ref:refs/heads/main`, as the dev role trusts.
        assert.equal(dev.environment, undefined);
        assert.equal(prod.environment, "prod");
        assert.match(runs(dev), /pulumi up --stack dev --policy-pack policies --yes/);
        assert.match(runs(prod), /pulumi up --stack prod --policy-pack policies --yes/);
        assert.match(awsLogin(dev)!.with!["role-to-assume"], /AWS_DEV_DEPLOY_ROLE_ARN/);
        assert.match(awsLogin(prod)!.with!["role-to-assume"], /AWS_PROD_DEPLOY_ROLE_ARN/);
        assert.deepEqual([prod.needs].flat().sort(), ["deploy-dev", "migrate-dev"]);
        assert.equal(migrateDev.uses, "./.github/workflows/migrate.yml");
        assert.deepEqual(migrateDev.with, { stack: "dev" });
        assert.equal(migrateProd.needs, "deploy-prod");
        assert.deepEqual(migrateProd.with, { stack: "prod" });
        assert.equal(doc.concurrency["cancel-in-progress"], false);
    });

    it("migrate can be dispatched or called, and only the prod job runs in the prod environment", function () {
        const { doc } = load("migrate.yml");
        assert.deepEqual(doc.on.workflow_dispatch.inputs.stack.options, ["dev", "prod"]);
        assert.equal(doc.on.workflow_call.inputs.stack.required, true);
        assert.equal(doc.jobs["migrate-dev"].environment, undefined);
        assert.equal(doc.jobs["migrate-prod"].environment, "prod");
        // A dispatch from another branch stops with a clear message before it reaches STS.
        const guard = steps(doc.jobs["migrate-dev"])[0];
        assert.equal(guard.if, "github.ref != 'refs/heads/main'");
        assert.match(guard.run!, /exit 1/);
        assert.match(doc.env.DEV_PROJECT, /appi-dev-db-migrate/);
        assert.match(doc.env.PROD_PROJECT, /appi-prod-db-migrate/);
    });

    describe("the migration step's script (run against a stand-in aws CLI)", function () {
        const { doc } = load("migrate.yml");
        const step = steps(doc.jobs["migrate-dev"]).find((s) => /start-build/.test(s.run ?? ""))!;
        let dir: string;

        before(function () {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-wf-"));
            // Answers like the AWS CLI with --output text; build statuses come from $STATUSES, one per poll.
            fs.writeFileSync(path.join(dir, "aws"), `#!/usr/bin/env bash
echo "$*" >> "$CALLS"
case "$1 $2" in
  "codebuild start-build") echo "appi-dev-db-migrate:build-1" ;;
  "codebuild batch-get-builds")
    n=$(wc -l < "$CALLS"); set -- $STATUSES
    i=$(( n - 2 )); [ $i -ge $# ] && i=$(( $# - 1 ))
    shift $i; printf '%s\\t%s\\t%s\\n' "$1" /aws/codebuild/appi-dev-db-migrate stream-1 ;;
  "logs get-log-events") echo "migrations applied: 3" ;;
  *) echo "unexpected aws call: $*" >&2; exit 2 ;;
esac
`, { mode: 0o755 });
        });
        after(function () {
            fs.rmSync(dir, { recursive: true, force: true });
        });

        function runScript(statuses: string[], name: string) {
            const calls = path.join(dir, `${name}.calls`);
            const result = spawnSync("bash", ["-c", step.run!], {
                encoding: "utf8",
                env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, CALLS: calls, STATUSES: statuses.join(" "), PROJECT: "appi-dev-db-migrate", SOURCE_VERSION: "0123abc", POLL_SECONDS: "0" },
            });
            return { ...result, calls: fs.readFileSync(calls, "utf8").trim().split("\n") };
        }

        it("starts the project at the commit, polls until done and passes on SUCCEEDED", function () {
            const r = runScript(["IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"], "ok");
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.calls[0], "codebuild start-build --project-name appi-dev-db-migrate --source-version 0123abc --query build.id --output text");
            assert.equal(r.calls.filter((c) => c.startsWith("codebuild batch-get-builds --ids appi-dev-db-migrate:build-1")).length, 3);
            assert.match(r.stdout, /migrations applied: 3/);
            assert.match(r.stdout, /succeeded/);
        });

        it("fails the job when the build fails, after printing its log", function () {
            const r = runScript(["IN_PROGRESS", "FAILED"], "failed");
            assert.equal(r.status, 1);
            assert.match(r.stdout, /::error::Migration build appi-dev-db-migrate:build-1 ended FAILED/);
            assert.match(r.stdout, /migrations applied: 3/);
        });

        it("fails when the build cannot be started or followed", function () {
            const failing = path.join(dir, "fail-bin");
            fs.mkdirSync(failing, { recursive: true });
            fs.writeFileSync(path.join(failing, "aws"), "#!/usr/bin/env bash\necho 'An error occurred (ResourceNotFoundException)' >&2\nexit 254\n", { mode: 0o755 });
            const refused = spawnSync("bash", ["-c", step.run!], { encoding: "utf8", env: { ...process.env, PATH: `${failing}:${process.env.PATH}`, PROJECT: "nope", SOURCE_VERSION: "x", POLL_SECONDS: "0" } });
            assert.notEqual(refused.status, 0);
            assert.doesNotMatch(refused.stdout, /Started|succeeded/);
        });

        it("runs the same script in the prod job", function () {
            const prodStep = steps(doc.jobs["migrate-prod"]).find((s) => /start-build/.test(s.run ?? ""))!;
            assert.equal(prodStep.run, step.run);
            assert.equal(prodStep.env!.PROJECT, "${{ env.PROD_PROJECT }}");
        });
    });
});
