import assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import { githubOidcTrustPinned } from "../../../policies/rules/iam/github-oidc-trust-pinned";
import { codebuildNoStoredCredentials } from "../../../policies/rules/codebuild/codebuild-no-stored-credentials";
import { createResourceValidationArgs as view, runRule, UNKNOWN } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";

const PROVIDER_ARN = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

function trust(condition: Record<string, Record<string, unknown>>, federated: unknown = PROVIDER_ARN) {
    return {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Federated: federated }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition }],
    };
}

const role = (policy: unknown, asString = true) => view(aws.iam.Role, { assumeRolePolicy: (asString ? JSON.stringify(policy) : policy) as string });

describe("rule github-oidc-trust-pinned", () => {
    const pinnedEnv = { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": "repo:acme/appi-infra:environment:prod" } };

    it("passes aud + sub pinned to one repository and environment, as a JSON string or an object", () => {
        assertCompliant(runRule(githubOidcTrustPinned, role(trust(pinnedEnv))));
        assertCompliant(runRule(githubOidcTrustPinned, role(trust(pinnedEnv), false)));
    });
    it("passes a branch pin under StringLike without wildcards", () => {
        const branch = { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" }, StringLike: { "token.actions.githubusercontent.com:sub": "repo:acme/appi-infra:ref:refs/heads/main" } };
        assertCompliant(runRule(githubOidcTrustPinned, role(trust(branch))));
    });
    it("fails an owner-wide wildcard, whether StringLike or StringEquals", () => {
        const like = { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" }, StringLike: { "token.actions.githubusercontent.com:sub": "repo:acme/*" } };
        assertViolation(runRule(githubOidcTrustPinned, role(trust(like))), /does not pin one repository/);
        const equals = { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": ["repo:acme/*:ref:refs/heads/main"] } };
        assertViolation(runRule(githubOidcTrustPinned, role(trust(equals))), /does not pin one repository/);
    });
    it("fails a repository without a branch or environment, or with a wildcard branch", () => {
        const anyRef = { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" }, StringLike: { "token.actions.githubusercontent.com:sub": "repo:acme/appi-infra:*" } };
        assertViolation(runRule(githubOidcTrustPinned, role(trust(anyRef))), /does not pin a branch .* or environment/);
        const pr = { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": "repo:acme/appi-infra:pull_request" } };
        assertViolation(runRule(githubOidcTrustPinned, role(trust(pr))), /does not pin a branch/);
    });
    it("fails a missing sub (any repository on GitHub) and a missing or wrong aud", () => {
        assertViolation(runRule(githubOidcTrustPinned, role(trust({ StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" } }))), /any repository on GitHub/);
        assertViolation(runRule(githubOidcTrustPinned, role(trust({ StringEquals: { "token.actions.githubusercontent.com:sub": "repo:acme/appi-infra:environment:prod" } }))), /without a token.actions.githubusercontent.com:aud/);
        const wrongAud = { StringEquals: { "token.actions.githubusercontent.com:aud": "https://github.com/acme", "token.actions.githubusercontent.com:sub": "repo:acme/appi-infra:environment:prod" } };
        assertViolation(runRule(githubOidcTrustPinned, role(trust(wrongAud))), /only "sts.amazonaws.com"/);
    });
    it("fails a trust shared by several repositories", () => {
        const two = { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": ["repo:acme/a:environment:prod", "repo:acme/b:environment:prod"] } };
        assertViolation(runRule(githubOidcTrustPinned, role(trust(two))), /names 2 repositories/);
    });
    it("recognises the provider by reference to the aws:iam/openIdConnectProvider resource", () => {
        const provider = view(aws.iam.OpenIdConnectProvider, { url: "https://token.actions.githubusercontent.com", clientIdLists: ["sts.amazonaws.com"] }, { name: "github", outputs: { arn: "arn:aws:iam::1:oidc-provider/custom-name" } });
        const open = role(trust({ StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" } }, "arn:aws:iam::1:oidc-provider/custom-name"));
        assertViolation(runRule(githubOidcTrustPinned, open, [provider]), /any repository/);
    });
    it("does not apply to roles GitHub cannot assume", () => {
        const lambdaRole = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }] };
        assertNotApplicable(runRule(githubOidcTrustPinned, role(lambdaRole)));
    });
    it("cannot check a trust policy still unknown in preview, or an unknown sub value", () => {
        assertCannotCheck(runRule(githubOidcTrustPinned, view(aws.iam.Role, { assumeRolePolicy: UNKNOWN })));
        const pending = trust({ StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": UNKNOWN } }, UNKNOWN);
        assertCannotCheck(runRule(githubOidcTrustPinned, role(pending, false)));
    });
    it("rejects a trust policy that is not JSON with a clear error", () => {
        assert.throws(() => runRule(githubOidcTrustPinned, view(aws.iam.Role, { assumeRolePolicy: "{not json" })), /assumeRolePolicy is not valid JSON/);
    });
});

describe("rule codebuild-no-stored-credentials", () => {
    const env = { computeType: "BUILD_GENERAL1_SMALL", image: "aws/codebuild/amazonlinux-x86_64-standard:5.0", type: "LINUX_CONTAINER" };
    const project = (extra: Partial<aws.codebuild.ProjectArgs> = {}, variables: { name: string; value: string; type?: string }[] = []) =>
        view(aws.codebuild.Project, {
            serviceRole: "arn:aws:iam::123456789012:role/build",
            artifacts: { type: "NO_ARTIFACTS" },
            source: { type: "S3", location: "appi-prod-db-tasks-123456789012/db-tasks/bundle.zip" },
            environment: { ...env, environmentVariables: variables },
            ...(extra as object),
        });

    it("passes an S3 bundle source, connection facts in plaintext and credentials from Secrets Manager or Parameter Store", () => {
        assertCompliant(runRule(codebuildNoStoredCredentials, project({}, [
            { name: "DB_PROXY_ENDPOINT", value: "appi.proxy-abc.ap-northeast-1.rds.amazonaws.com" },
            { name: "DB_USER", value: "migrator", type: "PLAINTEXT" },
            { name: "DB_PASSWORD", value: "prod/db/password", type: "SECRETS_MANAGER" },
            { name: "API_TOKEN", value: "/appi/api-token", type: "PARAMETER_STORE" },
        ])));
        assertCompliant(runRule(codebuildNoStoredCredentials, project({ source: { type: "GITHUB", location: "https://github.com/acme/appi-infra.git" } })));
    });
    it("fails a credential-named variable in plaintext, also when the type is left to its PLAINTEXT default", () => {
        assertViolation(runRule(codebuildNoStoredCredentials, project({}, [{ name: "DB_PASSWORD", value: "hunter2", type: "PLAINTEXT" }])), /DB_PASSWORD is PLAINTEXT/);
        assertViolation(runRule(codebuildNoStoredCredentials, project({}, [{ name: "github_token", value: "ghp_x" }])), /github_token is PLAINTEXT/);
        assertViolation(runRule(codebuildNoStoredCredentials, project({}, [{ name: "AWS_SECRET_ACCESS_KEY", value: "x" }])), /AWS_SECRET_ACCESS_KEY/);
    });
    it("fails a token written into the source or a secondary source URL (the attacker's way around the variable check)", () => {
        assertViolation(runRule(codebuildNoStoredCredentials, project({ source: { type: "GITHUB", location: "https://x-access-token:ghp_abc@github.com/acme/appi-infra.git" } })), /the source location carries a credential/);
        assertViolation(runRule(codebuildNoStoredCredentials, project({ source: { type: "BITBUCKET", location: "https://ghp_abc@bitbucket.org/acme/appi.git" } })), /credential/);
        assertViolation(
            runRule(codebuildNoStoredCredentials, project({ secondarySources: [{ type: "GITHUB", sourceIdentifier: "lib", location: "https://user:pass@github.com/acme/lib.git" }] })),
            /secondary source 1 location carries a credential/,
        );
    });
    it("cannot check a location that is still unknown in preview", () => {
        assertCannotCheck(runRule(codebuildNoStoredCredentials, project({ source: { type: "GITHUB", location: UNKNOWN as unknown as string } })));
    });
});
