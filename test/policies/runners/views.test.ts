import assert from "node:assert/strict";
import * as fs from "node:fs";
import { resolveConfig } from "../../../policies/core/config";
import { buildStackView } from "../../../policies/core/stack-view";
import { SecretValue, UNKNOWN } from "../../../policies/core/types";
import { rules } from "../../../policies/rules";
import { auditParsedExport, readStackExport } from "../../../policies/runners/audit";
import { plannedStackViews } from "../../../policies/runners/offline";
import { buildResourceViews, defaultProviderRegion, nameFromUrn, providerUrnOf, stackFromUrn } from "../../../policies/runners/views";
import type { PlannedStack } from "../../../plan/types";
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

    describe("physical ids", () => {
        const u = (type: string, name: string) => `urn:pulumi:dev::appi-infra::${type}::${name}`;
        const providerUrn = u("pulumi:providers:aws", "default_7_48_0");
        // As `pulumi stack export` writes state: the physical id beside the record, not repeated in its outputs.
        const exportDoc = () => ({
            version: 3,
            deployment: {
                resources: [
                    { urn: u("pulumi:pulumi:Stack", "appi-infra-dev"), custom: false, type: "pulumi:pulumi:Stack", outputs: {} },
                    { urn: providerUrn, custom: true, id: "prov-1", type: "pulumi:providers:aws", inputs: { region: "ap-northeast-1" }, outputs: { region: "ap-northeast-1" } },
                    {
                        urn: u("aws:ec2/subnet:Subnet", "db-a"),
                        custom: true,
                        id: "subnet-0aaa1111",
                        type: "aws:ec2/subnet:Subnet",
                        inputs: { vpcId: "vpc-0123", cidrBlock: "10.0.1.0/24", mapPublicIpOnLaunch: true },
                        outputs: { vpcId: "vpc-0123", cidrBlock: "10.0.1.0/24", mapPublicIpOnLaunch: true, arn: "arn:aws:ec2:ap-northeast-1:123456789012:subnet/subnet-0aaa1111" },
                        provider: `${providerUrn}::prov-1`,
                    },
                    {
                        urn: u("aws:rds/subnetGroup:SubnetGroup", "db"),
                        custom: true,
                        id: "appi-db",
                        type: "aws:rds/subnetGroup:SubnetGroup",
                        inputs: { subnetIds: ["subnet-0aaa1111"] },
                        outputs: { subnetIds: ["subnet-0aaa1111"], arn: "arn:aws:rds:ap-northeast-1:123456789012:subgrp:appi-db" },
                        provider: `${providerUrn}::prov-1`,
                    },
                ],
            },
        });

        it("a stack export's view carries the record's id, and a reference by that id resolves", () => {
            const records = readStackExport(exportDoc(), "x").resources;
            const views = buildResourceViews(records, defaultProviderRegion(records), { owned: true });
            const subnet = views.find((v) => v.type === "aws:ec2/subnet:Subnet")!;
            assert.equal(subnet.id, "subnet-0aaa1111");
            assert.equal(subnet.props.id, undefined, "the id is not in the outputs: only the view's id names it");
            assert.equal(views.find((v) => v.type === "pulumi:pulumi:Stack")!.id, undefined, "no id recorded, none set");
            const stack = buildStackView(views, "dev");
            assert.equal(stack.resolve("subnet-0aaa1111"), subnet);
            assert.deepEqual(stack.resolveAll("subnet-0aaa1111"), [subnet]);
        });

        it("a rule follows a reference by physical id (the DB subnet group's subnet is found, and is public)", () => {
            const config = resolveConfig(undefined);
            const finding = (doc: object) => auditParsedExport({ ...readStackExport(doc, "x"), owned: true }, { rules, config }).findings.find((f) => f.ruleId === "db-subnet-group-private")!;
            const found = finding(exportDoc());
            assert.equal(found.outcome.kind, "non-compliant");
            assert.match(found.outcome.kind === "non-compliant" ? found.outcome.messages.join("\n") : "", /subnet db-a gives instances public IPs/);
            // Without the physical id the subnet cannot be found, so the rule could not decide.
            const withoutId = exportDoc();
            delete (withoutId.deployment.resources[2] as { id?: string }).id;
            const missing = finding(withoutId);
            assert.equal(missing.outcome.kind, "cannot-check");
            assert.match(missing.outcome.kind === "cannot-check" ? missing.outcome.message : "", /subnet subnet-0aaa1111 is not in this stack/);
        });

        it("the offline runner's view carries the id the mocks assigned (none for components)", () => {
            const planned: PlannedStack = {
                project: "appi-infra",
                stack: "dev",
                config: { "aws:region": "ap-northeast-1" },
                outputs: {},
                resources: [
                    { urn: u("appi:network:Network", "net"), type: "appi:network:Network", name: "net", id: "", custom: false, inputs: {}, state: {} },
                    { urn: u("aws:ec2/subnet:Subnet", "db-a"), type: "aws:ec2/subnet:Subnet", name: "db-a", id: "subnet-0bbb2222", custom: true, inputs: { vpcId: "vpc-1" }, state: { vpcId: "vpc-1" } },
                ],
            };
            const [component, subnet] = plannedStackViews(planned);
            assert.equal(component.id, undefined);
            assert.equal(subnet.id, "subnet-0bbb2222");
            assert.equal(buildStackView([component, subnet], "dev").resolve("subnet-0bbb2222"), subnet);
        });
    });
});
