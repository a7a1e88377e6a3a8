// resource-policy-not-public and lambda-not-publicly-invocable: who a resource lets in.
import * as aws from "@pulumi/aws";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { resourcePolicyNotPublic as rule, RESOURCE_POLICIES } from "../../../policies/rules/iam/resource-policy-not-public";
import { lambdaNotPubliclyInvocable as lambdaRule } from "../../../policies/rules/lambda/lambda-not-publicly-invocable";
import { createResourceValidationArgs as view, runRule, secret, unreadableSecret, UNKNOWN } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const everyone = { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::pii/*" };

describe("rule resource-policy-not-public", () => {
    it('fails Principal "*" and {"AWS": "*"} without a condition, on every policy-bearing type', () => {
        assertViolation(runRule(rule, view(aws.s3.BucketPolicy, { bucket: "pii", policy: doc(everyone) })), /Statement\[0\] allows s3:GetObject to everyone/);
        assertViolation(runRule(rule, view(aws.kms.Key, { policy: doc({ Effect: "Allow", Principal: { AWS: "*" }, Action: "kms:Decrypt", Resource: "*" }) })), /kms:Decrypt/);
        assertViolation(runRule(rule, view(aws.sqs.QueuePolicy, { queueUrl: "q", policy: doc({ Effect: "Allow", Principal: { AWS: ["arn:aws:iam::123456789012:root", "*"] }, Action: "sqs:*" }) })), /sqs:\*/);
        assertViolation(runRule(rule, view(aws.sns.TopicPolicy, { arn: "t", policy: doc({ Effect: "Allow", Principal: "*", Action: "sns:Subscribe" }) })), /sns:Subscribe/);
        assertViolation(runRule(rule, view(aws.opensearch.Domain, { accessPolicies: doc({ Effect: "Allow", Principal: { AWS: "*" }, Action: "es:*" }) })), /accessPolicies\.Statement\[0\]/);
    });
    it("passes named principals, service principals, Deny statements, and Principal * tied to an account, an organisation or an endpoint", () => {
        assertCompliant(runRule(rule, view(aws.s3.BucketPolicy, { bucket: "pii", policy: doc({ ...everyone, Principal: { AWS: "arn:aws:iam::123456789012:role/app" } }) })));
        assertCompliant(runRule(rule, view(aws.s3.BucketPolicy, { bucket: "pii", policy: doc({ Effect: "Deny", Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } }) })));
        assertCompliant(runRule(rule, view(aws.s3.BucketPolicy, { bucket: "pii", policy: doc({ ...everyone, Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abc123" } } }) })));
        assertCompliant(runRule(rule, view(aws.s3.BucketPolicy, { bucket: "pii", policy: doc({ ...everyone, Condition: { StringEquals: { "aws:SourceVpce": "vpce-123" } } }) })));
        assertCompliant(runRule(rule, view(aws.sns.Topic, { policy: doc({ Effect: "Allow", Principal: "*", Action: "sns:Publish", Condition: { ArnLike: { "aws:SourceArn": "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:*" } } }) })));
        assertCompliant(runRule(rule, view(aws.sqs.Queue, { policy: doc({ Effect: "Allow", Principal: "*", Action: "sqs:SendMessage", Condition: { IpAddress: { "aws:SourceIp": ["10.0.0.0/8"] } } }) })));
        assertNotApplicable(runRule(rule, view(aws.sqs.Queue, {})));
    });
    it("attacker: conditions that look restrictive but are not", () => {
        const tricks = [
            { StringLike: { "aws:SourceAccount": "*" } },
            { StringEqualsIfExists: { "aws:SourceAccount": "123456789012" } },
            { StringNotEquals: { "aws:SourceAccount": "999999999999" } },
            { ArnLike: { "aws:SourceArn": "arn:aws:sns:*:*:*" } },
            { StringLike: { "aws:PrincipalOrgID": "o-*" } },
            { Bool: { "aws:SecureTransport": "true" } },
            { IpAddress: { "aws:SourceIp": ["10.0.0.0/8", "0.0.0.0/1"] } },
            { Null: { "aws:SourceVpce": "false" } },
        ];
        for (const Condition of tricks) {
            assertViolation(runRule(rule, view(aws.s3.BucketPolicy, { bucket: "pii", policy: doc({ ...everyone, Condition }) })), /without a condition restricting/);
        }
    });
    it("attacker: NotPrincipal with Allow, a public statement after a safe one, a policy given as an object", () => {
        assertViolation(runRule(rule, view(aws.s3.BucketPolicy, { bucket: "pii", policy: doc({ Effect: "Allow", NotPrincipal: { AWS: "arn:aws:iam::1:root" }, Action: "s3:*" }) })), /everyone but the NotPrincipal/);
        assertViolation(runRule(rule, view(aws.sqs.QueuePolicy, { queueUrl: "q", policy: doc({ ...everyone, Principal: { Service: "sns.amazonaws.com" } }, everyone) })), /Statement\[1\]/);
        const asObject = view(aws.s3.BucketPolicy, { bucket: "pii" }, { outputs: { policy: { Version: "2012-10-17", Statement: everyone } } });
        assertViolation(runRule(rule, asObject), /Statement\[0\]/);
    });
    it("cannot check a policy unknown during preview or kept as an unreadable secret, and reads a readable one", () => {
        assertCannotCheck(runRule(rule, view(aws.s3.BucketPolicy, { bucket: "pii", policy: UNKNOWN })));
        assertCannotCheck(runRule(rule, view(aws.s3.BucketPolicy, { bucket: "pii", policy: unreadableSecret() })), /secret/);
        assertViolation(runRule(rule, view(aws.s3.BucketPolicy, { bucket: "pii", policy: secret(doc(everyone)) })), /everyone/);
    });
    it("names real policy inputs of @pulumi/aws v7", () => {
        const root = join(__dirname, "../../../node_modules/@pulumi/aws");
        for (const [type, prop] of Object.entries(RESOURCE_POLICIES)) {
            const [, module, resource] = /^aws:([a-z0-9]+)\/([A-Za-z0-9]+):[A-Za-z0-9]+$/.exec(type) ?? [];
            const file = join(root, module, `${resource}.d.ts`);
            assert.ok(existsSync(file), `${type}: no ${file}`);
            const args = /export interface \w+Args \{([\s\S]*?)\n\}/.exec(readFileSync(file, "utf8"))?.[1] ?? "";
            assert.match(args, new RegExp(`^ {4}${prop}\\??:`, "m"), `${type}: ${prop} is not one of its inputs`);
        }
    });
});

describe("rule lambda-not-publicly-invocable", () => {
    it("fails a function URL without auth and passes AWS_IAM", () => {
        assertViolation(runRule(lambdaRule, view(aws.lambda.FunctionUrl, { functionName: "f", authorizationType: "NONE" })), /anyone on the internet/);
        assertCompliant(runRule(lambdaRule, view(aws.lambda.FunctionUrl, { functionName: "f", authorizationType: "AWS_IAM" })));
        assertCannotCheck(runRule(lambdaRule, view(aws.lambda.FunctionUrl, { functionName: "f", authorizationType: UNKNOWN })));
    });
    it('fails a permission to principal "*" without a source, passes the program\'s Cognito trigger permission', () => {
        assertViolation(runRule(lambdaRule, view(aws.lambda.Permission, { function: "f", action: "lambda:InvokeFunction", principal: "*" })), /everyone/);
        assertViolation(runRule(lambdaRule, view(aws.lambda.Permission, { function: "f", action: "lambda:InvokeFunctionUrl", principal: "*", functionUrlAuthType: "NONE" })), /function URL with no auth/);
        const cognito = view(aws.lambda.Permission, { function: "f", action: "lambda:InvokeFunction", principal: "cognito-idp.amazonaws.com", sourceArn: "arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/ap-northeast-1_abc", sourceAccount: "123456789012" });
        assertCompliant(runRule(lambdaRule, cognito));
        assertCompliant(runRule(lambdaRule, view(aws.lambda.Permission, { function: "f", action: "lambda:InvokeFunction", principal: "123456789012" })));
        assertCompliant(runRule(lambdaRule, view(aws.lambda.Permission, { function: "f", action: "lambda:InvokeFunction", principal: "*", principalOrgId: "o-abc123" })));
    });
    it("attacker: a service principal with no source (any account's bucket can invoke), or a wildcard source account", () => {
        assertViolation(runRule(lambdaRule, view(aws.lambda.Permission, { function: "f", action: "lambda:InvokeFunction", principal: "s3.amazonaws.com" })), /service principal s3\.amazonaws\.com/);
        assertViolation(runRule(lambdaRule, view(aws.lambda.Permission, { function: "f", action: "lambda:InvokeFunction", principal: "*", sourceAccount: "*" })), /everyone/);
    });
});
