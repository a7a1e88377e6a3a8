import assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import * as random from "@pulumi/random";
import { coverageLine, coverageOf, reviewedTypes } from "../../../policies/core/coverage";
import { resolveConfig } from "../../../policies/core/config";
import { compliant, defineResourceRule } from "../../../policies/core/rule";
import { ResourceView, Rule } from "../../../policies/core/types";
import { formatReport, Report } from "../../../policies/report";
import { toJsonReport } from "../../../policies/report/json";
import { toSarif } from "../../../policies/report/sarif";
import { rules } from "../../../policies/rules";
import { resourceTypesReviewed } from "../../../policies/rules/global/resource-types-reviewed";
import { evaluate } from "../../../policies/core/engine";
import { createResourceValidationArgs as view, runStackRule, stackOf } from "../../support/validation-args";
import { assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";

const BUCKET = "aws:s3/bucketV2:BucketV2";
const QUEUE = "aws:sqs/queue:Queue";
const ruleFor = (id: string, resourceTypes: readonly string[] | "*", extra: Partial<Rule> = {}): Rule =>
    defineResourceRule({ id, title: id, description: "d", appi: "Art. 23", securityHub: [], severity: "low", remediation: "r", defaultEnforcement: "mandatory", resourceTypes, check: () => compliant(), ...(extra as object) });

const bucketRule = ruleFor("bucket-rule", [BUCKET]);
const everything = ruleFor("everything", "*");
const bucket = () => view(aws.s3.BucketV2, {});
const queue = () => view(aws.sqs.Queue, {});
const eip = () => view(aws.ec2.Eip, {});

describe("coverage: AWS resource types no rule reviews", () => {
    const coverageRule = resourceTypesReviewed([bucketRule, everything]);

    it("fails (advisory) naming each unreviewed type with its resource count and the coverage line", () => {
        const outcome = runStackRule(coverageRule, [bucket(), queue(), queue(), eip()]);
        assertViolation(outcome, /^1 of 3 resource types reviewed; not reviewed by the APPI pack: aws:ec2\/eip:Eip \(1\), aws:sqs\/queue:Queue \(2\)$/);
        assert.equal(coverageRule.defaultEnforcement, "advisory");
    });

    it("passes when every AWS type is reviewed; not applicable to a stack with no AWS resource", () => {
        assertCompliant(runStackRule(coverageRule, [bucket(), bucket()]));
        assertNotApplicable(runStackRule(coverageRule, [view(random.RandomPassword, { length: 32 })]));
    });

    it("a rule for every type ('*', e.g. region-allowed) reviews no type: it looks at where, not at what", () => {
        assert.deepEqual([...reviewedTypes([everything])], []);
        assertViolation(runStackRule(resourceTypesReviewed([everything]), [bucket()]), /0 of 1 resource type reviewed/);
    });

    it("providers, components and other packages' types are not counted; a rule's `reviews` types are reviewed", () => {
        const provider = view(aws.Provider, { region: "ap-northeast-1" });
        const component: ResourceView = { ...bucket(), type: "appi:data:Database", urn: "urn:pulumi:test::appi::appi:data:Database::db" };
        const coverage = coverageOf([ruleFor("subnets", [BUCKET], { reviews: [QUEUE] })], [provider, component, view(random.RandomPassword, { length: 8 }), bucket(), queue()]);
        assert.deepEqual(coverage, { types: [BUCKET, QUEUE], unreviewed: [] });
        assert.equal(coverageLine(coverage), "2 of 2 resource types reviewed");
    });

    it("attacker: disabling the only rule for a type through enforcement makes the type unreviewed again", () => {
        const outcome = runStackRule(coverageRule, [bucket()], { enforcement: { "bucket-rule": "disabled" } });
        assertViolation(outcome, /0 of 1 resource type reviewed.*aws:s3\/bucketV2:BucketV2 \(1\)/);
    });

    it("the pack's own coverage rule reviews with every other rule, and is last", () => {
        const last = rules[rules.length - 1];
        assert.equal(last.id, "resource-types-reviewed");
        const reviewed = reviewedTypes(rules);
        for (const type of ["aws:rds/instance:Instance", "aws:ec2/subnet:Subnet", "aws:rds/parameterGroup:ParameterGroup", "aws:ec2/flowLog:FlowLog"]) assert.ok(reviewed.has(type), type);
    });
});

describe("coverage in every report format", () => {
    const resources = [bucket(), queue(), eip(), eip()];
    const pack = [bucketRule, resourceTypesReviewed([bucketRule])];
    const config = resolveConfig(undefined);
    const report: Report = { stack: "prod", source: "x.json", rules: pack, findings: evaluate(pack, stackOf(resources, "prod"), config), resources: resources.length, coverage: coverageOf(pack, resources, config) };
    const LINE = "1 of 3 resource types reviewed";

    it("text and markdown print the coverage line and the unreviewed types as advisory", () => {
        for (const format of ["text", "markdown"] as const) {
            const out = formatReport(report, format);
            assert.match(out, new RegExp(`Coverage: ${LINE}`), format);
            assert.match(out, /not reviewed by the APPI pack: `?aws:ec2\/eip:Eip`? \(2\), `?aws:sqs\/queue:Queue`? \(1\)/, format);
            assert.match(out, /resource-types-reviewed/, `${format}: the advisory finding too`);
        }
        assert.match(formatReport(report, "text"), /PASS: no mandatory violation, 1 advisory/);
    });

    it("JSON and SARIF carry coverage as data, and the advisory finding on the stack", () => {
        const json = toJsonReport(report);
        assert.deepEqual(json.coverage, { line: LINE, types: 3, reviewed: 1, unreviewed: [{ type: "aws:ec2/eip:Eip", resources: 2 }, { type: QUEUE, resources: 1 }] });
        assert.deepEqual(json.violations.map((v) => [v.policyName, v.enforcementLevel, v.urn]), [["resource-types-reviewed", "advisory", "stack:prod"]]);
        const run = toSarif(report).runs[0];
        assert.equal((run.properties?.coverage as { line: string }).line, LINE);
        assert.deepEqual(run.results?.map((r) => [r.ruleId, r.level]), [["resource-types-reviewed", "warning"]]);
    });
});
