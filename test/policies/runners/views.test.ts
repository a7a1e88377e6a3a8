import assert from "node:assert/strict";
import * as fs from "node:fs";
import { SecretValue, UNKNOWN } from "../../../policies/core/types";
import { readStackExport } from "../../../policies/runners/audit";
import { buildResourceViews, defaultProviderRegion, nameFromUrn, providerUrnOf, stackFromUrn } from "../../../policies/runners/views";
import { fixture } from "./helpers";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

describe("resource views from raw records", () => {
    it("parses names, stacks and provider references out of URNs", () => {
        assert.equal(nameFromUrn("urn:pulumi:prod::appi-infra::appi:data:Database$aws:rds/instance:Instance::appi"), "appi");
        assert.equal(nameFromUrn("urn:pulumi:prod::appi-infra::aws:s3/bucketV2:BucketV2::odd::name"), "odd::name");
        assert.equal(stackFromUrn("urn:pulumi:prod::appi-infra::pulumi:pulumi:Stack::appi-infra-prod"), "prod");
        assert.equal(providerUrnOf("urn:pulumi:prod::appi-infra::pulumi:providers:aws::default_7_48_0::04a1-uuid"), "urn:pulumi:prod::appi-infra::pulumi:providers:aws::default_7_48_0");
    });

    it("normalising in place (the audit's fast path) gives exactly what the copying path gives", () => {
        const text = fs.readFileSync(fixture("export-secrets.json"), "utf8");
        const doc = JSON.parse(text);
        // add an unknown and a nested secret to cover every special value
        const cluster = doc.deployment.resources.find((r: { type: string }) => r.type === "aws:rds/cluster:Cluster");
        cluster.outputs.endpoint = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        cluster.inputs.scalingConfiguration = [{ secondsUntilAutoPause: { [SIG]: SECRET_SIG, value: 300 } }];
        const records = readStackExport(doc, "x").resources;
        const copy = structuredClone(records);
        const region = defaultProviderRegion(records);
        assert.equal(region, "ap-northeast-1");
        const copied = buildResourceViews(copy, region);
        const inPlace = buildResourceViews(records, region, { owned: true });
        assert.deepEqual(inPlace, copied);
        const view = inPlace.find((v) => v.type === "aws:rds/cluster:Cluster")!;
        assert.equal(view.props.endpoint, UNKNOWN);
        assert.ok(view.props.kmsKeyId instanceof SecretValue && !view.props.kmsKeyId.readable);
        assert.equal(view.props.backupRetentionPeriod, 14);
        assert.equal(view.region, "ap-northeast-1");
        assert.equal(view.provider?.isDefault, true);
        assert.equal(view.options?.protect, true);
        // the copying path leaves its input untouched (the offline runner's planned stack is not ours to change)
        assert.equal((copy.find((r) => r.type === "aws:rds/cluster:Cluster")!.outputs as Record<string, unknown>).endpoint, "04da6b54-80e4-46f7-96ec-b56ff0331ba9");
    });

    it("skips the old copy of a replaced resource awaiting deletion", () => {
        const doc = JSON.parse(fs.readFileSync(fixture("export-compliant.json"), "utf8"));
        const dup = { ...doc.deployment.resources[3], delete: true };
        doc.deployment.resources.push(dup);
        assert.equal(readStackExport(doc, "x").resources.length, doc.deployment.resources.length - 1);
    });
});
