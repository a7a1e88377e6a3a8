import * as aws from "@pulumi/aws";
import { regionAllowed } from "../../../policies/rules/global/region-allowed";
import { kmsKeySingleRegion } from "../../../policies/rules/kms/kms-key-single-region";
import { createResourceValidationArgs as view, runRule, secret, UNKNOWN } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";

const OSAKA = { allowedRegions: ["ap-northeast-1", "ap-northeast-3"] };

describe("rule region-allowed", () => {
    const virginia = view(aws.Provider, { region: "us-east-1" }, { name: "virginia" });
    const tokyo = view(aws.Provider, { region: "ap-northeast-1" }, { name: "tokyo" });

    it("passes a resource on the default provider in Tokyo", () => {
        assertCompliant(runRule(regionAllowed, view(aws.s3.Bucket, {})));
    });
    it("fails a resource whose stack region is outside the list", () => {
        assertViolation(runRule(regionAllowed, view(aws.s3.Bucket, {}, { stackRegion: "us-west-2" })), /us-west-2 \(from the stack's aws:region\)/);
    });
    it("fails a resource created with an explicit provider in another region", () => {
        assertViolation(runRule(regionAllowed, view(aws.kms.Key, {}, { provider: virginia })), /us-east-1 \(from its provider virginia\)/);
    });
    it("lets the per-resource region property win over the provider's region, both ways", () => {
        assertViolation(runRule(regionAllowed, view(aws.rds.Cluster, { region: "eu-west-1" }, { provider: tokyo })), /eu-west-1 \(from its own region property\)/);
        assertCompliant(runRule(regionAllowed, view(aws.rds.Cluster, { region: "ap-northeast-1" }, { provider: virginia })));
    });
    it("fails a provider configured outside the list even with no resources on it, and passes one inside", () => {
        assertViolation(runRule(regionAllowed, virginia), /AWS provider is in us-east-1/);
        assertCompliant(runRule(regionAllowed, tokyo));
    });
    it("says a region still unknown during preview could not be checked yet", () => {
        assertCannotCheck(runRule(regionAllowed, view(aws.s3.Bucket, { region: UNKNOWN })));
    });
    it("reads a region kept as a secret without printing it", () => {
        assertViolation(runRule(regionAllowed, view(aws.s3.Bucket, { region: secret("us-east-2") })), /us-east-2/);
    });
    it("fails when no region can be determined, and ignores non-AWS resources", () => {
        assertViolation(runRule(regionAllowed, view(aws.s3.Bucket, {}, { stackRegion: null })), /cannot be determined/);
        assertNotApplicable(regionAllowed.check({ urn: "u", type: "random:index/randomPassword:RandomPassword", name: "p", props: {}, region: undefined, isProvider: false }, { stack: { resources: [], ofType: () => [], resolve: () => undefined }, config: { allowedRegions: ["ap-northeast-1"], minBackupRetentionDays: 14, minLogRetentionDays: 365, minTlsVersion: "TLSv1.3", dataPorts: [5432], enforcement: {} } }));
    });
    it("honours a widened allowedRegions list", () => {
        assertCompliant(runRule(regionAllowed, view(aws.s3.Bucket, { region: "ap-northeast-3" }), [], OSAKA));
    });
});

describe("rule kms-key-single-region", () => {
    it("fails a multi-region key and a replica key, passes a single-region key", () => {
        assertViolation(runRule(kmsKeySingleRegion, view(aws.kms.Key, { multiRegion: true })), /multi-region/);
        assertViolation(runRule(kmsKeySingleRegion, view(aws.kms.ReplicaKey, { primaryKeyArn: "arn:aws:kms:ap-northeast-1:1:key/mrk-1" })), /replica/);
        assertCompliant(runRule(kmsKeySingleRegion, view(aws.kms.Key, {})));
    });
    it("cannot check an unknown multiRegion", () => {
        assertCannotCheck(runRule(kmsKeySingleRegion, view(aws.kms.Key, { multiRegion: UNKNOWN })));
    });
});
