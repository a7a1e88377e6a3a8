import assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import { ConfigError, DEFAULT_CONFIG, resolveConfig } from "../../../policies/core/config";
import { evaluate } from "../../../policies/core/engine";
import { CannotCheckError, read, readBool, readNumber } from "../../../policies/core/props";
import { arnRegion, effectiveRegion } from "../../../policies/core/region";
import { defineResourceRule, compliant } from "../../../policies/core/rule";
import { buildStackView } from "../../../policies/core/stack-view";
import { SecretValue, UNKNOWN } from "../../../policies/core/types";
import { normaliseProps, normaliseValue } from "../../../policies/core/values";
import { rules } from "../../../policies/rules";
import { asProvider, createResourceValidationArgs, secret, stackOf } from "../../support/validation-args";

const SIG = "4dabf18193072939515e22adb298388d";

describe("policy core: values", () => {
    it("turns secret envelopes into SecretValue, readable or not, without leaking content", () => {
        const readable = normaliseValue({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", value: "hunter2" });
        assert.ok(readable instanceof SecretValue);
        assert.equal((readable as SecretValue).readable, true);
        assert.equal((readable as SecretValue).plaintext, "hunter2");
        assert.equal(String(readable), "[secret]");
        assert.equal(JSON.stringify({ p: readable }), '{"p":"[secret]"}');

        const exported = normaliseValue({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:abc" });
        assert.ok(exported instanceof SecretValue);
        assert.equal((exported as SecretValue).readable, false);

        const decrypted = normaliseValue({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", plaintext: '{"a":1}' });
        assert.deepEqual((decrypted as SecretValue).plaintext, { a: 1 });
    });

    it("turns the engine's and @pulumi/policy's unknown sentinels into UNKNOWN, recursively", () => {
        const props = normaliseProps({
            a: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
            b: ["1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", 3],
            c: { d: "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", e: "plain" },
            f: { [SIG]: "d0e6a833031e9bbcd3f4e8bde6ca49a4", known: false },
            g: { [SIG]: "d0e6a833031e9bbcd3f4e8bde6ca49a4", known: true, value: 7 },
        });
        assert.equal(props.a, UNKNOWN);
        assert.deepEqual(props.b, [UNKNOWN, 3]);
        assert.deepEqual(props.c, { d: UNKNOWN, e: "plain" });
        assert.equal(props.f, UNKNOWN);
        assert.equal(props.g, 7);
    });

    it("reads a resource reference as the id it stands for, and an output value as its value or UNKNOWN", () => {
        const props = normaliseProps({
            ref: { [SIG]: "5cf8f73096256a8f31e491e813e4eb8e", urn: "urn:pulumi:dev::p::aws:kms/key:Key::k", id: "key-1" },
            secretOutput: { [SIG]: "d0e6a833031e9bbcd3f4e8bde6ca49a4", known: true, secret: true, value: "pw" },
        });
        assert.equal(props.ref, "key-1");
        assert.ok(props.secretOutput instanceof SecretValue);
        assert.equal(JSON.stringify(props), '{"ref":"key-1","secretOutput":"[secret]"}');
    });

    it("rejects a non-object property bag with a clear error", () => {
        assert.throws(() => normaliseProps([] as unknown as Record<string, unknown>), /expected an object of properties, got an array/);
    });
});

describe("policy core: prop readers", () => {
    const props = normaliseProps({ on: true, n: "14", nested: { deep: [{ x: 1 }] }, later: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" });
    it("apply AWS defaults to unset values and read nested paths", () => {
        assert.equal(readBool(props, "missing", false), false);
        assert.equal(readBool(props, "on", false), true);
        assert.equal(readNumber(props, "n", 1), 14);
        assert.equal(read(props, ["nested", "deep", 0, "x"]), 1);
    });
    it("throw CannotCheckError on unknowns and unreadable secrets, naming the path but not the content", () => {
        assert.throws(() => readBool(props, "later", false), (e: unknown) => e instanceof CannotCheckError && /later is not known yet/.test(e.message));
        const hidden = { pw: new SecretValue(undefined, false) };
        assert.throws(() => read(hidden, "pw"), /pw is a secret this runner cannot read/);
        assert.equal(read({ pw: secret("x") }, "pw"), "x");
    });
    it("refuse a value of the wrong type", () => {
        assert.throws(() => readNumber({ n: "many" }, "n", 1), /n should be a number, got "many"/);
    });
});

describe("policy core: effective region", () => {
    const provider = asProvider(createResourceValidationArgs(aws.Provider, { region: "us-east-1" }, { name: "virginia" }));
    it("prefers the resource's own region, then its provider's, then the stack's", () => {
        assert.equal(effectiveRegion({ region: "eu-west-1" }, provider, "ap-northeast-1"), "eu-west-1");
        assert.equal(effectiveRegion({}, provider, "ap-northeast-1"), "us-east-1");
        assert.equal(effectiveRegion({}, undefined, "ap-northeast-1"), "ap-northeast-1");
        assert.equal(effectiveRegion({}, undefined, undefined), undefined);
        assert.equal(effectiveRegion({ region: UNKNOWN }, provider, "ap-northeast-1"), UNKNOWN);
    });
    it("reads regions out of ARNs", () => {
        assert.equal(arnRegion("arn:aws:kms:us-west-2:123456789012:key/abc"), "us-west-2");
        assert.equal(arnRegion("arn:aws:s3:::bucket"), "");
        assert.equal(arnRegion("alias/x"), undefined);
    });
});

describe("policy core: stack view", () => {
    it("indexes by type and resolves by id, arn, name and urn", () => {
        const subnet = createResourceValidationArgs(aws.ec2.Subnet, { vpcId: "vpc-1" }, { name: "db-a", outputs: { id: "subnet-123", arn: "arn:aws:ec2:ap-northeast-1:1:subnet/subnet-123" } });
        const key = createResourceValidationArgs(aws.kms.Key, {}, { name: "pii", outputs: { id: "k-1" } });
        const view = buildStackView([subnet, key], "dev");
        assert.deepEqual(view.ofType("aws:ec2/subnet:Subnet"), [subnet]);
        assert.equal(view.resolve("subnet-123"), subnet);
        assert.equal(view.resolve("arn:aws:ec2:ap-northeast-1:1:subnet/subnet-123"), subnet);
        assert.equal(view.resolve(subnet.urn), subnet);
        assert.equal(view.resolve("pii"), key);
        assert.equal(view.resolve(UNKNOWN), undefined);
        assert.equal(view.resolve("nothing"), undefined);
    });
});

describe("policy core: config", () => {
    it("defaults to Japan (Tokyo, Osaka: what the program allows), 14 days of backups, 365 days of logs, TLS 1.3, PostgreSQL and Redis ports", () => {
        const config = resolveConfig(undefined);
        assert.deepEqual(config.allowedRegions, ["ap-northeast-1", "ap-northeast-3"]);
        assert.equal(config.minBackupRetentionDays, 14);
        assert.equal(config.minLogRetentionDays, 365);
        assert.equal(config.minTlsVersion, "TLSv1.3");
        assert.ok(config.dataPorts.includes(5432) && config.dataPorts.includes(6379));
        assert.notEqual(config.allowedRegions, DEFAULT_CONFIG.allowedRegions, "defaults are copied, not shared");
    });
    it("keeps given values and names the bad key in errors", () => {
        assert.deepEqual(resolveConfig({ allowedRegions: ["ap-northeast-1", "ap-northeast-3"] }).allowedRegions, ["ap-northeast-1", "ap-northeast-3"]);
        assert.throws(() => resolveConfig({ minBackupRetentionDay: 14 }), (e: unknown) => e instanceof ConfigError && /unknown key "minBackupRetentionDay"/.test(e.message));
        assert.throws(() => resolveConfig({ minTlsVersion: "SSLv3" }), /"minTlsVersion" must be one of TLSv1.2, TLSv1.3/);
        assert.throws(() => resolveConfig({ enforcement: { "region-allowed": "off" } }), /"enforcement.region-allowed" must be one of/);
        assert.throws(() => resolveConfig("x"), /must be a JSON object/);
    });
});

describe("policy core: engine", () => {
    const exploding = defineResourceRule({
        id: "exploding",
        title: "t",
        description: "d",
        appi: "Art. 23",
        securityHub: [],
        severity: "low",
        remediation: "r",
        defaultEnforcement: "advisory",
        resourceTypes: ["aws:kms/key:Key"],
        check() {
            throw new Error("boom");
        },
    });
    const alwaysOk = defineResourceRule({ ...exploding, id: "always-ok", resourceTypes: "*", check: () => compliant() });
    const key = createResourceValidationArgs(aws.kms.Key, {});
    const log = createResourceValidationArgs(aws.cloudwatch.LogGroup, {});

    it("evaluates every applicable pair and turns a throwing rule into a non-compliant finding", () => {
        const findings = evaluate([exploding, alwaysOk], stackOf([key, log]), resolveConfig({}));
        assert.equal(findings.length, 3);
        const boom = findings.find((f) => f.ruleId === "exploding")!;
        assert.equal(boom.urn, key.urn);
        assert.equal(boom.enforcementLevel, "advisory");
        assert.deepEqual(boom.outcome, { kind: "non-compliant", messages: ["rule exploding failed with an error and could not decide: boom"] });
    });
    it("applies enforcement overrides, skips disabled rules and refuses overrides for unknown rules", () => {
        const findings = evaluate([exploding, alwaysOk], stackOf([key, log]), resolveConfig({ enforcement: { exploding: "mandatory", "always-ok": "disabled" } }));
        assert.deepEqual(findings.map((f) => [f.ruleId, f.enforcementLevel]), [["exploding", "mandatory"]]);
        assert.throws(() => evaluate([exploding], stackOf([key]), resolveConfig({ enforcement: { "no-such-rule": "advisory" } })), /unknown rule\(s\): no-such-rule/);
    });
    it("runs the real rule set over a stack without errors", () => {
        const findings = evaluate(rules, stackOf([key, log]), resolveConfig({}));
        assert.ok(findings.every((f) => !(f.outcome.kind === "non-compliant" && f.outcome.messages.some((m) => /failed with an error/.test(m)))));
    });
});
