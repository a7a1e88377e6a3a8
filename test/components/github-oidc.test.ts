import { strict as assert } from "node:assert";
import { runUnderMocks } from "../../plan/mocks";
import { PlannedResource } from "../../plan/types";
import { COMPLIANCE_METRIC_NAMESPACE, GithubOidc, GithubOidcArgs, githubSubjectClaim } from "../../components/github-oidc";
import { isAllowed, trustAllows } from "../support/iam-eval";

const PROJECT_ARN = "arn:aws:codebuild:ap-northeast-1:123456789012:project/appi-test-db-migrate";
const LOG_GROUP_ARN = "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/codebuild/appi-test-db-migrate";
const STATE_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/55555555-5555-4555-8555-555555555555";
const BUNDLE_ARN = "arn:aws:s3:::appi-test-db-tasks-123456789012/db-tasks/bundle.zip";
const DATA_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/44444444-4444-4444-8444-444444444444";
const SECRETS_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/66666666-6666-4666-8666-666666666666";

function baseArgs(overrides: Partial<GithubOidcArgs> = {}): GithubOidcArgs {
    return {
        namePrefix: "appi-test",
        repository: "marczenn/rento",
        deploy: { branch: "main" },
        migrationProjectArn: PROJECT_ARN,
        migrationLogGroupArn: LOG_GROUP_ARN,
        migrationBundle: { objectArn: BUNDLE_ARN, kmsKeyArn: DATA_KEY },
        stateBackend: { bucketName: "appi-pulumi-state", kmsKeyArn: STATE_KEY },
        secretsProviderKeyArn: SECRETS_KEY,
        ownershipTag: { key: "Project", value: "appi-infra" },
        ...overrides,
    };
}

const ofType = (resources: PlannedResource[], type: string) => resources.filter((r) => r.type === type);
const inputs = (r: PlannedResource) => r.inputs as Record<string, any>;
const roleNamed = (resources: PlannedResource[], name: string) => inputs(ofType(resources, "aws:iam/role:Role").find((r) => inputs(r).name === name)!);
const policyOf = (resources: PlannedResource[], logicalName: string) => JSON.parse(inputs(ofType(resources, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === logicalName)!).policy);

/** Reads a trust policy the way the policy pack does: every condition value, flattened. */
function trustOf(role: Record<string, any>) {
    const doc = JSON.parse(role.assumeRolePolicy);
    assert.equal(doc.Statement.length, 1);
    const [s] = doc.Statement;
    assert.equal(s.Action, "sts:AssumeRoleWithWebIdentity");
    assert.deepEqual(Object.keys(s.Condition), ["StringEquals"], "only exact matches, no StringLike");
    const cond = s.Condition.StringEquals;
    return { federated: s.Principal.Federated, aud: cond["token.actions.githubusercontent.com:aud"], sub: [cond["token.actions.githubusercontent.com:sub"]].flat() as string[] };
}

describe("GithubOidc component", function () {
    let dev: PlannedResource[];
    let prod: PlannedResource[];

    before(async function () {
        ({ resources: dev } = await runUnderMocks(() => new GithubOidc("github", baseArgs()), { stack: "dev" }));
        ({ resources: prod } = await runUnderMocks(() => new GithubOidc("github", baseArgs({ deploy: { environment: "prod" } })), { stack: "prod" }));
    });

    it("creates GitHub's OIDC provider for the STS audience", function () {
        const [provider] = ofType(dev, "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
        assert.equal(inputs(provider).url, "https://token.actions.githubusercontent.com");
        assert.deepEqual(inputs(provider).clientIdLists, ["sts.amazonaws.com"]);
        assert.ok(inputs(provider).thumbprintLists.every((t: string) => /^[0-9a-f]{40}$/.test(t)));
    });

    it("pins every role to the repository and one branch or environment, with the STS audience", function () {
        const [provider] = ofType(dev, "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
        const expected: Record<string, string[]> = {
            "appi-test-github-preview": ["repo:marczenn/rento:ref:refs/heads/main", "repo:marczenn/rento:environment:preview"],
            "appi-test-github-deploy": ["repo:marczenn/rento:ref:refs/heads/main"],
            "appi-test-github-migrate": ["repo:marczenn/rento:ref:refs/heads/main"],
            "appi-test-github-audit": ["repo:marczenn/rento:environment:drift-audit"],
        };
        assert.equal(ofType(dev, "aws:iam/role:Role").length, 4);
        for (const [name, subjects] of Object.entries(expected)) {
            const trust = trustOf(roleNamed(dev, name));
            assert.equal(trust.federated, provider.state.arn);
            assert.equal(trust.aud, "sts.amazonaws.com");
            assert.deepEqual(trust.sub, subjects);
            for (const sub of trust.sub) assert.ok(!/[*?]/.test(sub), `${name}: ${sub} has a wildcard`);
        }
    });

    it("lets prod deploy and migrate only from the prod environment", function () {
        assert.deepEqual(trustOf(roleNamed(prod, "appi-test-github-deploy")).sub, ["repo:marczenn/rento:environment:prod"]);
        assert.deepEqual(trustOf(roleNamed(prod, "appi-test-github-migrate")).sub, ["repo:marczenn/rento:environment:prod"]);
    });

    it("scopes the migrate role to the migration project and its log group", function () {
        const doc = policyOf(dev, "github-migrate");
        const allows = doc.Statement.filter((s: any) => s.Effect === "Allow");
        const resources = allows.flatMap((s: any) => [s.Resource].flat());
        assert.deepEqual(resources.sort(), [LOG_GROUP_ARN, `${LOG_GROUP_ARN}:*`, PROJECT_ARN, BUNDLE_ARN, DATA_KEY].sort());
        const actions = allows.flatMap((s: any) => [s.Action].flat());
        assert.ok(actions.includes("codebuild:StartBuild") && actions.includes("codebuild:BatchGetBuilds"));
        assert.ok(actions.every((a: string) => /^(codebuild|logs):/.test(a) || ["s3:PutObject", "kms:GenerateDataKey"].includes(a)));
        assert.ok(actions.every((a: string) => !a.includes("*")));
    });

    it("lets the migrate role upload the bundle and run it, never point the build at other code", function () {
        const doc = policyOf(dev, "github-migrate");
        const inTokyo = { "aws:RequestedRegion": "ap-northeast-1" };
        assert.ok(isAllowed(doc, "s3:PutObject", BUNDLE_ARN));
        assert.ok(isAllowed(doc, "kms:GenerateDataKey", DATA_KEY, { "kms:ViaService": "s3.ap-northeast-1.amazonaws.com" }));
        assert.ok(isAllowed(doc, "codebuild:BatchGetProjects", PROJECT_ARN, inTokyo), "reads the project's source location");
        // Choosing which uploaded version runs is the job; anything that replaces the source or buildspec is not.
        assert.ok(isAllowed(doc, "codebuild:StartBuild", PROJECT_ARN, { ...inTokyo, "codebuild:sourceVersion": "v1" }));
        for (const key of ["codebuild:source.buildspec", "codebuild:source.location", "codebuild:source.type", "codebuild:source.auth", "codebuild:secondarySources.location"]) {
            assert.ok(!isAllowed(doc, "codebuild:StartBuild", PROJECT_ARN, { ...inTokyo, [key]: "attacker" }), key);
        }
        // Attacker's cases: other objects in the bucket, the key used directly, other projects.
        assert.ok(!isAllowed(doc, "s3:PutObject", "arn:aws:s3:::appi-test-db-tasks-123456789012/other.zip"));
        assert.ok(!isAllowed(doc, "s3:GetObject", BUNDLE_ARN));
        assert.ok(!isAllowed(doc, "kms:GenerateDataKey", DATA_KEY), "the key only through S3");
        assert.ok(!isAllowed(doc, "kms:Decrypt", DATA_KEY, { "kms:ViaService": "s3.ap-northeast-1.amazonaws.com" }));
        assert.ok(!isAllowed(doc, "codebuild:StartBuild", "arn:aws:codebuild:ap-northeast-1:123456789012:project/other", inTokyo));
    });

    it("keeps the preview role read-only apart from the state lock", function () {
        const doc = policyOf(dev, "github-preview");
        const writes = doc.Statement.filter((s: any) => s.Effect === "Allow").flatMap((s: any) => [s.Action].flat().map((a: string) => ({ a, r: s.Resource })))
            .filter(({ a }: { a: string }) => !/^[a-z0-9-]+:(Describe|Get|List|BatchGet)/.test(a) && a !== "kms:Decrypt" && a !== "kms:GenerateDataKey");
        assert.deepEqual(writes.map((w: any) => w.a).sort(), ["s3:DeleteObject", "s3:PutObject"]);
        const reads = doc.Statement.filter((s: any) => s.Effect === "Allow").flatMap((s: any) => [s.Action].flat());
        assert.ok(reads.includes("scheduler:GetSchedule"), "preview reads the retention schedule");
        assert.deepEqual(writes.map((w: any) => w.r), ["arn:aws:s3:::appi-pulumi-state/.pulumi/locks/*", "arn:aws:s3:::appi-pulumi-state/.pulumi/locks/*"]);
    });

    it("bounds the deploy role to Tokyo, the stack's IAM names and no data-plane reads", function () {
        const doc = policyOf(dev, "github-deploy");
        const bySid = Object.fromEntries(doc.Statement.map((s: any) => [s.Sid, s]));
        assert.equal(bySid.ManageStackServicesInRegion.Condition.StringEquals["aws:RequestedRegion"], "ap-northeast-1");
        // The MigrationRunner's retention schedule is part of the stack.
        assert.ok(bySid.ManageStackServicesInRegion.Action.includes("scheduler:*"));
        assert.equal(bySid.DenyOutsideRegion.Effect, "Deny");
        assert.equal(bySid.DenyOutsideRegion.Condition.StringNotEquals["aws:RequestedRegion"], "ap-northeast-1");
        assert.ok([bySid.ManageStackIam.Resource].flat().every((r: string) => r.startsWith("arn:aws:iam::123456789012:") && !r.endsWith(":*")));
        assert.ok(bySid.DenyReadingPersonalData.Action.includes("secretsmanager:GetSecretValue"));
        assert.deepEqual(bySid.DenyDirectDataKeyUse.NotResource, [SECRETS_KEY, STATE_KEY]);
        assert.equal(bySid.ReadPublicAmiParameters.Resource, "arn:aws:ssm:ap-northeast-1::parameter/aws/service/*");
        assert.equal(bySid.DenyDeletingOthersStores.Condition.StringNotEquals["aws:ResourceTag/Project"], "appi-infra");
        for (const s of doc.Statement.filter((x: any) => x.Effect === "Allow" && x.Resource === "*")) {
            const global = [s.Action].flat().every((a: string) => a.startsWith("sts:"));
            assert.ok(global || s.Condition?.StringEquals?.["aws:RequestedRegion"] === "ap-northeast-1" || s.Condition?.StringEquals?.["iam:AWSServiceName"], `${s.Sid} is unbounded`);
        }
    });

    it("reuses an existing provider instead of creating a second one", async function () {
        const existing = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
        const { resources } = await runUnderMocks(() => new GithubOidc("github", baseArgs({ existingProviderArn: existing })), { stack: "dev2" });
        assert.equal(ofType(resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 0);
        assert.equal(trustOf(roleNamed(resources, "appi-test-github-deploy")).federated, existing);
    });

    it("refuses wildcards and malformed subjects with a message naming the argument", function () {
        assert.throws(() => githubSubjectClaim("marczenn/*", { branch: "main" }), /repository: "marczenn\/\*" must be one GitHub repository/);
        assert.throws(() => githubSubjectClaim("marczenn", { branch: "main" }), /repository:/);
        assert.throws(() => githubSubjectClaim("marczenn/rento", { branch: "release/*" }, "deploy"), /deploy\.branch: "release\/\*" must be one branch name/);
        assert.throws(() => githubSubjectClaim("marczenn/rento", { environment: "pr*" }, "preview[0]"), /preview\[0\]\.environment/);
        assert.throws(() => new GithubOidc("bad", baseArgs({ preview: [] })), /preview: give at least one/);
        assert.equal(githubSubjectClaim("marczenn/rento", { branch: "release/v1" }), "repo:marczenn/rento:ref:refs/heads/release/v1");
    });
    describe("the audit role (nightly drift audit)", function () {
        const STATE = "arn:aws:s3:::appi-pulumi-state";
        const inTokyo = { "aws:RequestedRegion": "ap-northeast-1" };
        let audit: string;
        let trust: string;
        let providerArn: string;

        before(function () {
            audit = inputs(ofType(dev, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "github-audit")!).policy;
            trust = roleNamed(dev, "appi-test-github-audit").assumeRolePolicy;
            providerArn = ofType(dev, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")[0].state.arn as string;
        });

        it("is assumable only by the drift-audit environment of this repository", function () {
            const claims = (sub: string) => ({ "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": sub });
            assert.ok(trustAllows(trust, providerArn, claims("repo:marczenn/rento:environment:drift-audit")));
            // main itself (the deploy-dev job's subject), a pull request, another environment, another repository.
            assert.ok(!trustAllows(trust, providerArn, claims("repo:marczenn/rento:ref:refs/heads/main")));
            assert.ok(!trustAllows(trust, providerArn, claims("repo:marczenn/rento:pull_request")));
            assert.ok(!trustAllows(trust, providerArn, claims("repo:marczenn/rento:environment:preview")));
            assert.ok(!trustAllows(trust, providerArn, claims("repo:attacker/rento:environment:drift-audit")));
            assert.ok(!trustAllows(trust, providerArn, { ...claims("repo:marczenn/rento:environment:drift-audit"), "token.actions.githubusercontent.com:aud": "https://github.com/attacker" }));
        });

        it("reads the state and lists the bucket, which `pulumi stack export` needs", function () {
            assert.ok(isAllowed(audit, "s3:GetObject", `${STATE}/.pulumi/stacks/appi-infra/prod.json`));
            assert.ok(isAllowed(audit, "s3:ListBucket", STATE));
            assert.ok(isAllowed(audit, "kms:Decrypt", STATE_KEY, { "kms:ViaService": "s3.ap-northeast-1.amazonaws.com" }));
            assert.ok(isAllowed(audit, "sts:GetCallerIdentity"));
        });

        it("publishes metrics only in the APPI/Compliance namespace, in Tokyo", function () {
            assert.equal(COMPLIANCE_METRIC_NAMESPACE, "APPI/Compliance");
            assert.ok(isAllowed(audit, "cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "APPI/Compliance", ...inTokyo }));
            // An attacker with the role cannot forge other metrics (and so silence or trip other alarms).
            assert.ok(!isAllowed(audit, "cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "AWS/RDS", ...inTokyo }));
            assert.ok(!isAllowed(audit, "cloudwatch:PutMetricData", "*", { ...inTokyo }));
            assert.ok(!isAllowed(audit, "cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "APPI/Compliance", "aws:RequestedRegion": "us-east-1" }));
        });

        it("cannot write or lock the state, decrypt stack secrets, or decrypt outside S3", function () {
            for (const action of ["s3:PutObject", "s3:DeleteObject"]) {
                assert.ok(!isAllowed(audit, action, `${STATE}/.pulumi/stacks/appi-infra/prod.json`), action);
                assert.ok(!isAllowed(audit, action, `${STATE}/.pulumi/locks/appi-infra/prod/lock.json`), `${action} (lock)`);
            }
            assert.ok(!isAllowed(audit, "kms:Decrypt", SECRETS_KEY), "stack secrets stay encrypted in the export");
            assert.ok(!isAllowed(audit, "kms:Decrypt", STATE_KEY), "the state key only through S3");
            assert.ok(!isAllowed(audit, "s3:GetObject", "arn:aws:s3:::another-bucket/x"));
            // Nothing of the deploy role's reach: no describe-everything, no IAM, no builds.
            for (const action of ["ec2:DescribeInstances", "iam:PassRole", "codebuild:StartBuild", "secretsmanager:GetSecretValue", "logs:GetLogEvents"]) {
                assert.ok(!isAllowed(audit, action, "*", inTokyo), action);
            }
        });
    });

    it("never lets the deploy role start a build (a build holds database access)", function () {
        const deploy = inputs(ofType(dev, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "github-deploy")!).policy;
        const inTokyo = { "aws:RequestedRegion": "ap-northeast-1" };
        // It may still manage the project itself (that is its job) ...
        assert.ok(isAllowed(deploy, "codebuild:UpdateProject", PROJECT_ARN, inTokyo));
        // ... but not start it, with or without overrides.
        for (const action of ["codebuild:StartBuild", "codebuild:StartBuildBatch", "codebuild:RetryBuild"]) {
            assert.ok(!isAllowed(deploy, action, PROJECT_ARN, inTokyo), action);
        }
        assert.ok(!isAllowed(deploy, "codebuild:StartBuild", PROJECT_ARN, { ...inTokyo, "codebuild:source.location": "attacker-bucket/payload.zip" }));
    });
});
