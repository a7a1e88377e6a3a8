// The database setup of ../shared/spec/pii-encryption-database-setup.md, as
// Pulumi resources, through the engine with the whole rule set.
import assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import { resolveConfig } from "../../../policies/core/config";
import { evaluate } from "../../../policies/core/engine";
import { Finding } from "../../../policies/core/types";
import { rules } from "../../../policies/rules";
import { createResourceValidationArgs as view, stackOf } from "../../support/validation-args";
import { SPEC_AURORA_CLUSTER } from "./spec-aurora";

function failed(findings: Finding[], level: "mandatory" | "advisory"): string[] {
    return [...new Set(findings.filter((f) => f.outcome.kind === "non-compliant" && f.enforcementLevel === level).map((f) => f.ruleId))].sort();
}

describe("the spec's Aurora setup (pii-encryption-database-setup.md)", () => {
    const cluster = view(aws.rds.Cluster, SPEC_AURORA_CLUSTER, { name: "pii-database-cluster" });
    const instance = view(aws.rds.ClusterInstance, { identifier: "pii-database-instance-1", instanceClass: "db.t3.medium", engine: "aurora-postgresql", clusterIdentifier: "pii-database-cluster", publiclyAccessible: false });
    const sgRule = view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg-db", ipProtocol: "tcp", fromPort: 5432, toPort: 5432, referencedSecurityGroupId: "sg-lambda" });
    const findings = evaluate(rules, stackOf([cluster, instance, sgRule], "prod"), resolveConfig({}));

    it("is flagged for the AWS-managed key, the 7-day backups and the default cluster parameter group", () => {
        assert.deepEqual(failed(findings, "mandatory"), ["rds-cluster-backup-retention", "rds-cluster-postgres-tls", "store-encrypted-cmk"]);
        const messages = findings.filter((f) => f.outcome.kind === "non-compliant").flatMap((f) => (f.outcome.kind === "non-compliant" ? f.outcome.messages : []));
        assert.ok(messages.some((m) => /alias\/aws\/rds/.test(m)));
        assert.ok(messages.some((m) => /7 day\(s\), below the minimum of 14/.test(m)));
        assert.ok(!messages.some((m) => m.includes("SECURE_PASSWORD")), "secret content never reaches a message");
    });
    it("gets advisory findings too (deletion protection, IAM auth, classification tag)", () => {
        const advisory = failed(findings, "advisory");
        for (const id of ["rds-deletion-protection", "rds-iam-authentication", "data-classification-tag"]) assert.ok(advisory.includes(id), `${id} in ${advisory.join(", ")}`);
    });
    it("passes the mandatory rules once fixed as the APPI spec asks", () => {
        const key = view(aws.kms.Key, { enableKeyRotation: true }, { name: "pii-key", outputs: { arn: "arn:aws:kms:ap-northeast-1:1:key/k-1" } });
        const group = view(aws.rds.ClusterParameterGroup, { name: "pii-aurora16", family: "aurora-postgresql16", parameters: [{ name: "rds.force_ssl", value: "1" }, { name: "ssl_min_protocol_version", value: "TLSv1.3" }] });
        // In isolated subnets (issue 10: a cluster with no subnet group lands in the default VPC).
        const subnet = view(aws.ec2.Subnet, { vpcId: "vpc-1", cidrBlock: "10.0.1.0/24", mapPublicIpOnLaunch: false }, { name: "pii-data-a", id: "subnet-a" });
        const subnets = view(aws.rds.SubnetGroup, { name: "pii-db-subnets", subnetIds: ["subnet-a"] }, { name: "pii-db-subnets" });
        const fixed = view(aws.rds.Cluster, { engine: "aurora-postgresql", storageEncrypted: true, kmsKeyId: "arn:aws:kms:ap-northeast-1:1:key/k-1", backupRetentionPeriod: 14, dbClusterParameterGroupName: "pii-aurora16", dbSubnetGroupName: "pii-db-subnets" }, { name: "pii-database-cluster" });
        const after = evaluate(rules, stackOf([fixed, instance, sgRule, key, group, subnet, subnets], "prod"), resolveConfig({}));
        assert.deepEqual(failed(after, "mandatory"), []);
        assert.ok(after.every((f) => f.outcome.kind !== "cannot-check"), JSON.stringify(after.filter((f) => f.outcome.kind === "cannot-check")));
    });
});
