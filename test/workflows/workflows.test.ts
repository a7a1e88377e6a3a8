import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { validateWorkflow } from "@action-validator/core";
import { COMPLIANCE_METRIC_NAMESPACE } from "../../components/github-oidc";

const DIR = path.join(__dirname, "..", "..", ".github", "workflows");
const FILES = ["preview.yml", "deploy.yml", "migrate.yml", "drift-audit.yml"];
const ROOT = path.join(__dirname, "..", "..");

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
                    assert.match(login.with!["role-to-assume"], /vars\.AWS_(DEV|PROD)_(PREVIEW|DEPLOY|MIGRATE|AUDIT)_ROLE_ARN/);
                    assert.equal(login.with!["aws-region"], "ap-northeast-1");
                    assert.equal(login.with!["aws-access-key-id"], undefined, "keyless: no stored access key");
                }
            }
        });
    }

    for (const file of FILES) {
        it(`${file}: every job that uploads SARIF may write security events and read the run (private repositories need both)`, function () {
            const { doc } = load(file);
            for (const [name, job] of Object.entries<any>(doc.jobs)) {
                if (!steps(job).some((s) => s.uses?.startsWith("github/codeql-action/upload-sarif@"))) continue;
                assert.equal(job.permissions?.["security-events"], "write", `${file}:${name}`);
                assert.equal(job.permissions?.actions, "read", `${file}:${name}`);
            }
        });

        it(`${file}: installs the pinned Pulumi CLI and runs preview / up only through the gate script`, function () {
            const { doc } = load(file);
            for (const [name, job] of Object.entries<any>(doc.jobs)) {
                for (const step of steps(job).filter((s) => s.uses?.startsWith("pulumi/actions@"))) {
                    assert.deepEqual(step.with, { "pulumi-version-file": ".pulumi.version" }, `${file}:${name} must install the CLI from .pulumi.version`);
                }
                assert.doesNotMatch(runs(job), /(^|[;&|\s])pulumi (preview|up)\b/m, `${file}:${name}: call scripts/pulumi-gate.sh, not pulumi preview/up`);
                if (/(^|[;&|\s])(pulumi |scripts\/(pulumi-gate|drift-audit)\.sh)/m.test(runs(job))) {
                    assert.ok(steps(job).some((s) => s.uses?.startsWith("pulumi/actions@")), `${file}:${name} runs pulumi without installing the pinned CLI`);
                }
            }
        });
    }

    it("pins a Pulumi CLI with the documented exit codes (3.226.1 or later), the same release as the SDK", function () {
        const pinned = fs.readFileSync(path.join(ROOT, ".pulumi.version"), "utf8").trim();
        assert.match(pinned, /^\d+\.\d+\.\d+$/);
        const [major, minor, patch] = pinned.split(".").map(Number);
        assert.ok(major > 3 || (major === 3 && (minor > 226 || (minor === 226 && patch >= 1))), `${pinned} predates the CLI's exit-code mapping (policy failure = 5)`);
        assert.equal(pinned, require("@pulumi/pulumi/package.json").version, "CLI and @pulumi/pulumi from the same release");
    });

    it("README states the CLI's real exit code for a policy failure", function () {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        assert.match(readme, /mandatory policy violation stops `pulumi preview` and `pulumi up` \(exit code 5/);
        assert.doesNotMatch(readme, /\(a mandatory violation stops it, exit 1\)/);
        assert.doesNotMatch(readme, /stops `pulumi preview` and `pulumi up` \(exit code 1\)/);
    });

    it("preview runs the gate for dev and prod through OIDC, one preview per stack, and skips forks and Dependabot", function () {
        const { doc } = load("preview.yml");
        assert.ok(doc.on.pull_request);
        const job = doc.jobs.preview;
        assert.deepEqual(job.strategy.matrix.stack, ["dev", "prod"]);
        assert.equal(job.permissions["id-token"], "write");
        assert.equal(job.environment, "preview");
        assert.match(runs(job), /scripts\/pulumi-gate\.sh preview "\$STACK"/);
        // Per stack, queued rather than cancelled: two previews of one stack would fight over its state lock.
        assert.deepEqual(job.concurrency, { group: "pulumi-preview-${{ matrix.stack }}", "cancel-in-progress": false });
        // Forks and Dependabot get no OIDC token: the job is skipped (a job-level `if`), never failed in STS.
        assert.match(job.if, /github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
        assert.match(job.if, /github\.event\.pull_request\.user\.login != 'dependabot\[bot\]'/);
        assert.equal(doc.jobs.test.if, undefined, "the tests still run for forks");
        assert.match(runs(job), /--format markdown >> "\$GITHUB_STEP_SUMMARY"/);
        const all = steps(job);
        const index = (pred: (s: Step) => boolean) => all.findIndex(pred);
        const planSarif = index((s) => /npm run --silent check -- --stack "\$STACK" --format sarif > "sarif\/plan-\$STACK\.sarif"/.test(s.run ?? ""));
        const stateSarif = index((s) => /npm run --silent audit -- "state-\$STACK\.json" --format sarif > "sarif\/state-\$STACK\.sarif"/.test(s.run ?? ""));
        const previewStep = index((s) => /pulumi-gate\.sh preview/.test(s.run ?? ""));
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
        assert.equal(dev.env.STACK, "dev");
        assert.equal(prod.env.STACK, "prod");
        assert.match(runs(dev), /scripts\/pulumi-gate\.sh up "\$STACK"/);
        assert.match(runs(prod), /scripts\/pulumi-gate\.sh up "\$STACK"/);
        assert.match(awsLogin(dev)!.with!["role-to-assume"], /AWS_DEV_DEPLOY_ROLE_ARN/);
        assert.match(awsLogin(prod)!.with!["role-to-assume"], /AWS_PROD_DEPLOY_ROLE_ARN/);
        assert.deepEqual([prod.needs].flat().sort(), ["deploy-dev", "migrate-dev"]);
        assert.equal(migrateDev.uses, "./.github/workflows/migrate.yml");
        assert.deepEqual(migrateDev.with, { stack: "dev" });
        assert.equal(migrateProd.needs, "deploy-prod");
        assert.deepEqual(migrateProd.with, { stack: "prod" });
        assert.equal(doc.concurrency["cancel-in-progress"], false);
    });

    it("every push to main uploads the plan's and the deployed state's SARIF under the pull requests' categories", function () {
        const { doc } = load("deploy.yml");
        for (const stack of ["dev", "prod"]) {
            const job = doc.jobs[`deploy-${stack}`];
            const uploads = steps(job).filter((s) => s.uses?.startsWith("github/codeql-action/upload-sarif@"));
            assert.deepEqual(uploads.map((s) => s.with!.category), [`appi-plan-${stack}`, `appi-state-${stack}`]);
            assert.deepEqual(uploads.map((s) => s.with!.sarif_file), [`sarif/plan-${stack}.sarif`, `sarif/state-${stack}.sarif`]);
            for (const u of uploads) assert.match(u.if!, /always\(\)/);
            assert.match(runs(job), /check -- --stack "\$STACK" --format markdown >> "\$GITHUB_STEP_SUMMARY"/);
            assert.match(runs(job), /audit -- "state-\$STACK\.json" --format markdown >> "\$GITHUB_STEP_SUMMARY"/);
        }
        // The categories match the preview's, so code scanning compares a pull request with main.
        const preview = load("preview.yml").doc.jobs.preview;
        const previewCategories = steps(preview).filter((s) => s.uses?.startsWith("github/codeql-action/upload-sarif@")).map((s) => s.with!.category);
        assert.deepEqual(previewCategories, ["appi-plan-${{ matrix.stack }}", "appi-state-${{ matrix.stack }}"]);
    });

    it("drift-audit runs nightly on main for each stack with the audit role, one SARIF category per stack, failing on drift", function () {
        const { doc } = load("drift-audit.yml");
        assert.equal(doc.on.schedule.length, 1);
        assert.match(doc.on.schedule[0].cron, /^\d+ \d+ \* \* \*$/, "once a day");
        assert.ok("workflow_dispatch" in doc.on);
        assert.equal(doc.on.pull_request, undefined);
        const job = doc.jobs.audit;
        assert.equal(job.if, "github.ref == 'refs/heads/main'");
        assert.deepEqual(job.strategy.matrix.stack, ["dev", "prod"]);
        assert.equal(job.strategy["fail-fast"], false, "drift in dev must not hide prod's report");
        assert.equal(job.environment, "drift-audit");
        assert.deepEqual(job.permissions, { contents: "read", "id-token": "write", "security-events": "write", actions: "read" });
        assert.match(awsLogin(job)!.with!["role-to-assume"], /AWS_PROD_AUDIT_ROLE_ARN/);
        assert.match(awsLogin(job)!.with!["role-to-assume"], /AWS_DEV_AUDIT_ROLE_ARN/);
        const all = steps(job);
        const auditStep = all.findIndex((s) => s.run === 'scripts/drift-audit.sh "$STACK"');
        const upload = all.findIndex((s) => s.uses?.startsWith("github/codeql-action/upload-sarif@"));
        assert.ok(auditStep > all.indexOf(awsLogin(job)!) && upload > auditStep);
        assert.equal(all[upload].with!.category, "appi-drift-${{ matrix.stack }}");
        assert.equal(all[upload].with!.sarif_file, "drift/appi-drift-${{ matrix.stack }}.sarif");
        assert.equal(job.env.DRIFT_OUT_DIR, "drift");
        assert.match(all[upload].if!, /always\(\)/, "findings are uploaded when the audit fails on drift");
        // The audit role trusts the drift-audit environment: no other workflow may name it.
        for (const file of FILES.filter((f) => f !== "drift-audit.yml")) {
            for (const [name, other] of Object.entries<any>(load(file).doc.jobs)) assert.notEqual(other.environment, "drift-audit", `${file}:${name}`);
        }
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

    it("migrate bundles the tasks at the deployed commit and runs them through scripts/migrate-build.sh, in both jobs", function () {
        const { doc } = load("migrate.yml");
        for (const [name, project] of [["migrate-dev", "$DEV_PROJECT"], ["migrate-prod", "$PROD_PROJECT"]]) {
            const all = steps(doc.jobs[name]);
            const bundle = all.findIndex((s) => /npm run build:db-tasks/.test(s.run ?? "") && /zip -qrX \.\.\/db-tasks\.zip \./.test(s.run ?? ""));
            const run = all.findIndex((s) => s.run === `scripts/migrate-build.sh "${project}" build/db-tasks.zip`);
            assert.ok(bundle >= 0 && run > bundle, name);
            assert.ok(all.indexOf(awsLogin(doc.jobs[name])!) > bundle, `${name}: AWS credentials only after npm ci and the bundle build`);
            assert.doesNotMatch(runs(doc.jobs[name]), /start-build|put-object/, `${name}: AWS calls live in the script`);
        }
    });

    describe("scripts/migrate-build.sh (run against a stand-in aws CLI)", function () {
        const SCRIPT = path.join(ROOT, "scripts", "migrate-build.sh");
        let dir: string;
        let bundle: string;

        before(function () {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-build-"));
            bundle = path.join(dir, "db-tasks.zip");
            fs.writeFileSync(bundle, "PK fake zip");
            // Answers like the AWS CLI with --output text; build statuses come from $STATUSES, one per poll.
            fs.writeFileSync(path.join(dir, "aws"), `#!/usr/bin/env bash
echo "$*" >> "$CALLS"
case "$1 $2" in
  "codebuild batch-get-projects") echo "\${LOCATION-appi-dev-db-tasks-123456789012/db-tasks/bundle.zip}" ;;
  "s3api put-object") echo "\${VERSION-v3HL4kqtJlcpXroDTDmJ.rmSp}" ;;
  "codebuild start-build") echo "appi-dev-db-migrate:build-1" ;;
  "codebuild batch-get-builds")
    n=$(cat "$CALLS.polls" 2>/dev/null || echo 0); echo $((n + 1)) > "$CALLS.polls"
    set -- $STATUSES; i=$n; [ $i -ge $# ] && i=$(( $# - 1 )); shift $i
    printf '%s\\t%s\\t%s\\n' "$1" /aws/codebuild/appi-dev-db-migrate stream-1 ;;
  "logs get-log-events") echo "migrations applied: 3" ;;
  *) echo "unexpected aws call: $*" >&2; exit 2 ;;
esac
`, { mode: 0o755 });
        });
        after(function () {
            fs.rmSync(dir, { recursive: true, force: true });
        });

        function runScript(statuses: string[], name: string, env: Record<string, string> = {}, args = ["appi-dev-db-migrate", bundle]) {
            const calls = path.join(dir, `${name}.calls`);
            const result = spawnSync("bash", [SCRIPT, ...args], {
                encoding: "utf8",
                env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, CALLS: calls, STATUSES: statuses.join(" "), POLL_SECONDS: "0", ...env },
            });
            return { ...result, calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [] };
        }

        it("uploads the bundle to the project's own source object, starts the build on that exact version, and passes on SUCCEEDED", function () {
            const r = runScript(["IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"], "ok");
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.calls.slice(0, 3), [
                "codebuild batch-get-projects --names appi-dev-db-migrate --query projects[0].source.location --output text",
                `s3api put-object --bucket appi-dev-db-tasks-123456789012 --key db-tasks/bundle.zip --body ${bundle} --query VersionId --output text`,
                "codebuild start-build --project-name appi-dev-db-migrate --source-version v3HL4kqtJlcpXroDTDmJ.rmSp --query build.id --output text",
            ]);
            assert.equal(r.calls.filter((c) => c.startsWith("codebuild batch-get-builds --ids appi-dev-db-migrate:build-1")).length, 3);
            assert.match(r.stdout, /migrations applied: 3/);
            assert.match(r.stdout, /succeeded/);
            assert.ok(r.calls.every((c) => !/--buildspec-override|--source-location-override|--source-type-override/.test(c)), "never overrides the project's source or buildspec");
        });

        it("fails the job when the build fails, after printing its log", function () {
            const r = runScript(["IN_PROGRESS", "FAILED"], "failed");
            assert.equal(r.status, 1);
            assert.match(r.stdout, /::error::Migration build appi-dev-db-migrate:build-1 ended FAILED/);
            assert.match(r.stdout, /migrations applied: 3/);
        });

        it("refuses to start a build on an unpinned source (no version id) or a project without an S3 bundle source", function () {
            const unversioned = runScript(["SUCCEEDED"], "unversioned", { VERSION: "None" });
            assert.equal(unversioned.status, 1);
            assert.match(unversioned.stdout, /no version id/);
            assert.ok(!unversioned.calls.some((c) => c.includes("start-build")));
            const github = runScript(["SUCCEEDED"], "github", { LOCATION: "https://github.com/marczenn/rento.git" });
            assert.equal(github.status, 1);
            assert.ok(!github.calls.some((c) => c.includes("put-object") || c.includes("start-build")));
        });

        it("fails when the build cannot be started or followed", function () {
            const failing = path.join(dir, "fail-bin");
            fs.mkdirSync(failing, { recursive: true });
            fs.writeFileSync(path.join(failing, "aws"), "#!/usr/bin/env bash\necho 'An error occurred (ResourceNotFoundException)' >&2\nexit 254\n", { mode: 0o755 });
            const refused = spawnSync("bash", [SCRIPT, "nope", bundle], { encoding: "utf8", env: { ...process.env, PATH: `${failing}:${process.env.PATH}`, POLL_SECONDS: "0" } });
            assert.notEqual(refused.status, 0);
            assert.doesNotMatch(refused.stdout, /Started|succeeded/);
        });

        it("refuses a missing bundle or a malformed project name with exit 2, before any AWS call", function () {
            for (const args of [["appi-dev-db-migrate", path.join(dir, "missing.zip")], ["appi dev; id", bundle], ["appi-dev-db-migrate"]]) {
                const r = runScript(["SUCCEEDED"], `bad-${args.length}-${args[0].length}`, {}, args);
                assert.equal(r.status, 2, args.join(" "));
                assert.deepEqual(r.calls, []);
            }
        });
    });

    describe("scripts/pulumi-gate.sh (run against a stand-in pulumi CLI)", function () {
        const GATE = path.join(ROOT, "scripts", "pulumi-gate.sh");
        let dir: string;

        before(function () {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-gate-"));
            // `pulumi version` answers $FAKE_VERSION; any other command is recorded and exits $FAKE_EXIT.
            fs.writeFileSync(path.join(dir, "pulumi"), `#!/usr/bin/env bash
if [ "$1" = version ]; then echo "v$FAKE_VERSION"; exit 0; fi
echo "$*" >> "$CALLS"
echo "fake pulumi output"
exit "$FAKE_EXIT"
`, { mode: 0o755 });
        });
        after(function () {
            fs.rmSync(dir, { recursive: true, force: true });
        });

        function gate(args: string[], fakeExit: number, name: string, version = fs.readFileSync(path.join(ROOT, ".pulumi.version"), "utf8").trim()) {
            const calls = path.join(dir, `${name}.calls`);
            const summary = path.join(dir, `${name}.md`);
            const r = spawnSync("bash", [GATE, ...args], {
                encoding: "utf8",
                cwd: dir,
                env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, CALLS: calls, FAKE_EXIT: String(fakeExit), FAKE_VERSION: version, GITHUB_STEP_SUMMARY: summary },
            });
            const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
            return { ...r, calls: read(calls).trim().split("\n").filter(Boolean), summary: read(summary) };
        }

        it("passes the syntax check", function () {
            assert.equal(spawnSync("bash", ["-n", GATE]).status, 0);
        });

        it("runs preview with the policy pack, non-interactively, and passes when pulumi exits 0", function () {
            const r = gate(["preview", "dev"], 0, "ok");
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.calls, [`preview --stack dev --policy-pack ${path.join(ROOT, "policies")} --non-interactive --diff`]);
            assert.match(r.summary, /`pulumi preview` \*\*dev\*\*: passed/);
            assert.doesNotMatch(r.stdout, /::error/);
        });

        it("up adds --yes and passes extra flags through", function () {
            const r = gate(["up", "prod", "--refresh"], 0, "up");
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.calls, [`up --stack prod --policy-pack ${path.join(ROOT, "policies")} --non-interactive --diff --yes --refresh`]);
        });

        it("keeps the CLI's exit code 5 for a mandatory policy failure and says so", function () {
            const r = gate(["preview", "prod"], 5, "policy");
            assert.equal(r.status, 5);
            assert.match(r.stdout, /::error title=pulumi preview prod::BLOCKED by a mandatory APPI policy \(pulumi exit 5\)/);
            assert.match(r.summary, /:x: BLOCKED by a mandatory APPI policy/);
        });

        it("tells an outage from a policy block: auth (3), missing stack (6), provider error (4)", function () {
            assert.match(gate(["preview", "dev"], 3, "auth").stdout, /not authenticated or not authorised \(pulumi exit 3\)/);
            const missing = gate(["preview", "dev"], 6, "missing");
            assert.equal(missing.status, 6);
            assert.match(missing.stdout, /stack dev not found.*scripts\/bootstrap\.sh/);
            const provider = gate(["up", "dev"], 4, "provider");
            assert.equal(provider.status, 4);
            assert.doesNotMatch(provider.stdout, /BLOCKED/);
        });

        it("refuses a CLI other than the pinned one before running anything (its exit codes differ)", function () {
            const r = gate(["preview", "dev"], 0, "old", "3.200.0");
            assert.equal(r.status, 2);
            assert.match(r.stderr, /pulumi CLI 3\.200\.0 is installed but \.pulumi\.version pins/);
            assert.deepEqual(r.calls, []);
        });

        it("refuses a bad command or stack name with exit 2, and cannot be steered into another pulumi command", function () {
            for (const args of [["destroy", "dev"], ["preview"], ["preview", "dev; rm -rf /"], ["preview", "--stack=prod"]]) {
                const r = gate(args, 0, `bad-${args.join("-").replace(/\W/g, "")}`);
                assert.equal(r.status, 2, args.join(" "));
                assert.deepEqual(r.calls, [], args.join(" "));
            }
            const help = gate(["--help"], 0, "help");
            assert.equal(help.status, 0);
            assert.match(help.stdout, /usage: scripts\/pulumi-gate\.sh preview\|up STACK/);
        });
    });

    describe("scripts/drift-audit.sh (stand-in pulumi and aws; the real APPI audit)", function () {
        const DRIFT = path.join(ROOT, "scripts", "drift-audit.sh");
        const FIXTURES = path.join(ROOT, "test", "fixtures");
        let dir: string;

        before(function () {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "drift-audit-"));
            // `pulumi stack export --stack S --file F` copies $EXPORT to F (or fails when EXPORT is unset).
            fs.writeFileSync(path.join(dir, "pulumi"), `#!/usr/bin/env bash
echo "pulumi $*" >> "$CALLS"
if [ "$1 $2 $3 $5" = "stack export --stack --file" ] && [ -n "\${EXPORT:-}" ]; then cp "$EXPORT" "$6"; exit 0; fi
echo "error: could not read the state" >&2; exit 3
`, { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "aws"), `#!/usr/bin/env bash
echo "aws $*" >> "$CALLS"
exit "\${AWS_EXIT:-0}"
`, { mode: 0o755 });
        });
        after(function () {
            fs.rmSync(dir, { recursive: true, force: true });
        });

        function drift(name: string, env: Record<string, string>, args = ["prod"]) {
            const work = path.join(dir, name);
            fs.mkdirSync(work);
            const calls = path.join(work, "calls");
            const summary = path.join(work, "summary.md");
            const r = spawnSync("bash", [DRIFT, ...args], {
                encoding: "utf8",
                cwd: work,
                env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, CALLS: calls, GITHUB_STEP_SUMMARY: summary, DRIFT_OUT_DIR: "drift", ...env },
            });
            const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
            return { ...r, work, calls: read(calls).trim().split("\n").filter(Boolean), summary: read(summary) };
        }
        const metricCall = (stack: string, value: number) =>
            // The namespace the audit role may write to: a rename on either side fails here, not at night in STS.
            `aws cloudwatch put-metric-data --namespace ${COMPLIANCE_METRIC_NAMESPACE} --metric-name PolicyViolations --dimensions Stack=${stack} --value ${value} --unit Count`;

        it("fails loudly on drift: exit 1, the mandatory count published, SARIF for code scanning, the report in the summary", function () {
            const r = drift("drifted", { EXPORT: path.join(FIXTURES, "export-noncompliant.json") });
            assert.equal(r.status, 1, r.stderr);
            assert.equal(r.calls[0], `pulumi stack export --stack prod --file ${path.join(r.work, "drift", "state-prod.json")}`);
            const audit = JSON.parse(fs.readFileSync(path.join(r.work, "drift", "audit-prod.json"), "utf8"));
            const mandatory = audit.violations.filter((v: any) => v.enforcementLevel === "mandatory").length;
            assert.ok(mandatory > 0);
            assert.equal(r.calls[1], metricCall("prod", mandatory));
            const sarif = JSON.parse(fs.readFileSync(path.join(r.work, "drift", "appi-drift-prod.sarif"), "utf8"));
            assert.equal(sarif.version, "2.1.0");
            assert.ok(sarif.runs[0].results.some((x: any) => x.level === "error"));
            assert.match(r.stdout, new RegExp(`::error title=drift audit prod::DRIFT: ${mandatory} mandatory APPI finding`));
            assert.match(r.summary, /### APPI drift audit: prod/);
            assert.match(r.summary, /APPI policy report/);
        });

        it("passes a compliant state and publishes 0, so the alarm sees fresh data every night", function () {
            const r = drift("clean", { EXPORT: path.join(FIXTURES, "export-compliant.json") }, ["dev"]);
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.equal(r.calls[1], metricCall("dev", 0));
            assert.match(r.summary, /no mandatory finding on the deployed state of dev/);
        });

        it("fails with exit 3 and publishes nothing when the stack cannot be exported", function () {
            const r = drift("no-export", {});
            assert.equal(r.status, 3);
            assert.equal(r.calls.filter((c) => c.startsWith("aws ")).length, 0, "no 0 published for a state nobody read");
            assert.match(r.stdout, /::error title=drift audit prod::pulumi stack export of prod failed/);
        });

        it("fails with exit 2 when the export is not a stack export, rather than publishing a clean 0", function () {
            const r = drift("not-export", { EXPORT: path.join(FIXTURES, "not-an-export.json") });
            assert.equal(r.status, 2);
            assert.equal(r.calls.filter((c) => c.startsWith("aws ")).length, 0);
        });

        it("fails with exit 4 when the metric cannot be published (the alarm would have no data)", function () {
            const clean = drift("no-metric", { EXPORT: path.join(FIXTURES, "export-compliant.json"), AWS_EXIT: "255" });
            assert.equal(clean.status, 4);
            assert.match(clean.stdout, /could not publish APPI\/Compliance PolicyViolations/);
        });

        it("refuses anything but one plain stack name", function () {
            for (const args of [[], ["prod", "dev"], ["../prod"], ["prod;id"]]) {
                const r = drift(`bad-${args.join("").replace(/\W/g, "") || "none"}`, {}, args);
                assert.equal(r.status, 2, args.join(" "));
                assert.deepEqual(r.calls, []);
            }
        });
    });
});
