import * as aws from "@pulumi/aws";
import { codebuildProjectInVpc } from "../../../policies/rules/codebuild/codebuild-project-in-vpc";
import { codebuildProjectNotPrivileged } from "../../../policies/rules/codebuild/codebuild-project-not-privileged";
import { cognitoAdvancedSecurity } from "../../../policies/rules/cognito/cognito-advanced-security";
import { cognitoDeletionProtection } from "../../../policies/rules/cognito/cognito-deletion-protection";
import { cognitoMfa } from "../../../policies/rules/cognito/cognito-mfa";
import { defaultSecurityGroupClosed } from "../../../policies/rules/ec2/default-security-group-closed";
import { ec2Imdsv2Required } from "../../../policies/rules/ec2/ec2-imdsv2-required";
import { vpcFlowLogsEnabled } from "../../../policies/rules/ec2/vpc-flow-logs-enabled";
import { elasticacheMultiAz } from "../../../policies/rules/elasticache/elasticache-multi-az";
import { databaseProtectedInPulumi } from "../../../policies/rules/rds/database-protected-in-pulumi";
import { rdsAutoMinorVersionUpgrade } from "../../../policies/rules/rds/rds-auto-minor-version-upgrade";
import { elasticacheAuthEnabled } from "../../../policies/rules/elasticache/elasticache-auth-enabled";
import { rdsDeletionProtection } from "../../../policies/rules/rds/rds-deletion-protection";
import { rdsIamAuthentication } from "../../../policies/rules/rds/rds-iam-authentication";
import { rdsLogExports } from "../../../policies/rules/rds/rds-log-exports";
import { rdsMultiAz } from "../../../policies/rules/rds/rds-multi-az";
import { rdsPerformanceInsightsCmk } from "../../../policies/rules/rds/rds-performance-insights-cmk";
import { s3BucketPublicAccessBlocked } from "../../../policies/rules/s3/s3-bucket-public-access-blocked";
import { secretRotation } from "../../../policies/rules/secretsmanager/secret-rotation";
import { dataClassificationTag } from "../../../policies/rules/tagging/data-classification-tag";
import { createResourceValidationArgs as view, runRule, UNKNOWN, unreadableSecret } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";

const CMK = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const pg = (props: Partial<aws.rds.InstanceArgs> = {}) => view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "postgres", ...(props as object) });

describe("advisory rules: databases", () => {
    it("rds-deletion-protection: fails in prod, passes with protection, skips dev", () => {
        assertViolation(runRule(rdsDeletionProtection, pg(), [], {}, "prod"), /deletion protection is off/);
        assertCompliant(runRule(rdsDeletionProtection, pg({ deletionProtection: true }), [], {}, "prod"));
        assertViolation(runRule(rdsDeletionProtection, view(aws.rds.Cluster, { engine: "aurora-postgresql" }), [], {}, "prod"), /off/);
        assertNotApplicable(runRule(rdsDeletionProtection, pg(), [], {}, "dev"));
    });
    it("rds-multi-az: fails single-AZ in prod, passes Multi-AZ", () => {
        assertViolation(runRule(rdsMultiAz, pg(), [], {}, "prod"), /single-AZ/);
        assertCompliant(runRule(rdsMultiAz, pg({ multiAz: true }), [], {}, "prod"));
        assertNotApplicable(runRule(rdsMultiAz, pg(), [], {}, "dev"));
    });
    it("rds-iam-authentication: fails off, passes on (instances and clusters)", () => {
        assertViolation(runRule(rdsIamAuthentication, pg()), /IAM database authentication is off/);
        assertCompliant(runRule(rdsIamAuthentication, view(aws.rds.Cluster, { iamDatabaseAuthenticationEnabled: true })));
    });
    it("rds-performance-insights-cmk: fails PI with the default key, passes a CMK, skips PI off", () => {
        assertViolation(runRule(rdsPerformanceInsightsCmk, pg({ performanceInsightsEnabled: true })), /performanceInsightsKmsKeyId/);
        assertViolation(runRule(rdsPerformanceInsightsCmk, view(aws.rds.ClusterInstance, { clusterIdentifier: "c", instanceClass: "db.r6g.large", engine: "aurora-postgresql", performanceInsightsEnabled: true, performanceInsightsKmsKeyId: "alias/aws/rds" })), /AWS-managed/);
        assertCompliant(runRule(rdsPerformanceInsightsCmk, pg({ performanceInsightsEnabled: true, performanceInsightsKmsKeyId: CMK })));
        assertNotApplicable(runRule(rdsPerformanceInsightsCmk, pg()));
    });
    it("rds-log-exports: fails PostgreSQL without the postgresql log export, passes with it", () => {
        assertViolation(runRule(rdsLogExports, pg()), /not exported/);
        assertCompliant(runRule(rdsLogExports, pg({ enabledCloudwatchLogsExports: ["postgresql", "upgrade"] })));
        assertNotApplicable(runRule(rdsLogExports, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "mysql" })));
    });
    it("database-protected-in-pulumi: fails an unprotected prod database, passes protect: true, silent when options are unseen", () => {
        assertViolation(runRule(databaseProtectedInPulumi, view(aws.rds.Cluster, {}, { protect: false }), [], {}, "prod"), /not protected/);
        assertCompliant(runRule(databaseProtectedInPulumi, view(aws.rds.Cluster, {}, { protect: true }), [], {}, "prod"));
        assertCompliant(runRule(databaseProtectedInPulumi, view(aws.rds.Cluster, {}), [], {}, "prod"));
        assertNotApplicable(runRule(databaseProtectedInPulumi, view(aws.rds.Cluster, {}, { protect: false }), [], {}, "dev"));
    });
    it("elasticache-multi-az: fails without Multi-AZ / failover in prod, passes with both", () => {
        assertViolation(runRule(elasticacheMultiAz, view(aws.elasticache.ReplicationGroup, { description: "c" }), [], {}, "prod"), /Multi-AZ is off/, /automatic failover is off/);
        assertCompliant(runRule(elasticacheMultiAz, view(aws.elasticache.ReplicationGroup, { description: "c", multiAzEnabled: true, automaticFailoverEnabled: true }), [], {}, "prod"));
    });
});

describe("advisory rules: logs, CI, compute", () => {
    const project = (extra: Partial<aws.codebuild.ProjectArgs> = {}, privileged = false) =>
        view(aws.codebuild.Project, {
            artifacts: { type: "NO_ARTIFACTS" },
            environment: { computeType: "BUILD_GENERAL1_SMALL", image: "aws/codebuild/standard:7.0", type: "LINUX_CONTAINER", privilegedMode: privileged },
            serviceRole: "arn:aws:iam::1:role/cb",
            source: { type: "NO_SOURCE" },
            ...(extra as object),
        });
    it("codebuild-project-in-vpc: fails without vpcConfig, passes with it", () => {
        assertViolation(runRule(codebuildProjectInVpc, project()), /outside the VPC/);
        assertCompliant(runRule(codebuildProjectInVpc, project({ vpcConfig: { vpcId: "vpc-1", subnets: ["subnet-app"], securityGroupIds: ["sg-1"] } })));
    });
    it("codebuild-project-not-privileged: fails privileged mode, passes the default", () => {
        assertViolation(runRule(codebuildProjectNotPrivileged, project({}, true)), /privileged mode/);
        assertCompliant(runRule(codebuildProjectNotPrivileged, project()));
    });
    // log-group-encrypted-cmk and lambda-environment-encrypted-cmk are folded into store-encrypted-cmk (encryption-at-rest.test.ts).
    it("ec2-imdsv2-required: fails optional tokens (the default), passes required, on instances and launch templates", () => {
        assertViolation(runRule(ec2Imdsv2Required, view(aws.ec2.Instance, { ami: "ami-1" })), /IMDSv1 is allowed/);
        assertCompliant(runRule(ec2Imdsv2Required, view(aws.ec2.Instance, { ami: "ami-1", metadataOptions: { httpTokens: "required" } })));
        assertViolation(runRule(ec2Imdsv2Required, view(aws.ec2.LaunchTemplate, { metadataOptions: { httpTokens: "optional" } })), /optional/);
    });
    it("default-security-group-closed: fails rules on the default group, passes an empty one", () => {
        assertViolation(runRule(defaultSecurityGroupClosed, view(aws.ec2.DefaultSecurityGroup, { vpcId: "vpc-1", ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, self: true }] })), /ingress/);
        assertCompliant(runRule(defaultSecurityGroupClosed, view(aws.ec2.DefaultSecurityGroup, { vpcId: "vpc-1", ingress: [], egress: [] })));
    });
});

describe("advisory rules: tagging, Cognito, S3, secrets", () => {
    it("data-classification-tag: fails a data store without the tag, passes with it or with provider default tags", () => {
        assertViolation(runRule(dataClassificationTag, view(aws.dynamodb.Table, { hashKey: "id" })), /no DataClassification tag/);
        assertCompliant(runRule(dataClassificationTag, view(aws.dynamodb.Table, { hashKey: "id", tags: { DataClassification: "personal" } })));
        const tagged = view(aws.Provider, { region: "ap-northeast-1", defaultTags: { tags: { DataClassification: "personal" } } }, { name: "tagged" });
        assertCompliant(runRule(dataClassificationTag, view(aws.s3.Bucket, {}, { provider: tagged })));
        assertCannotCheck(runRule(dataClassificationTag, view(aws.s3.Bucket, { tags: { DataClassification: UNKNOWN } })));
        // As the engine records provider settings (state, CrossGuard): an object setting JSON-encoded.
        const recorded = { ...tagged, props: { region: "ap-northeast-1", defaultTags: JSON.stringify({ tags: { DataClassification: "personal" } }) } };
        assertCompliant(runRule(dataClassificationTag, view(aws.s3.Bucket, {}, { provider: recorded })));
        const otherTags = { ...tagged, props: { defaultTags: JSON.stringify({ tags: { Project: "appi" } }) } };
        assertViolation(runRule(dataClassificationTag, view(aws.s3.Bucket, {}, { provider: otherTags })), /no DataClassification tag/);
        assertViolation(runRule(dataClassificationTag, view(aws.s3.Bucket, {}, { provider: { ...tagged, props: { defaultTags: "{not json" } } })), /no DataClassification tag/);
    });
    it("cognito-mfa: fails OFF (the default), passes ON and OPTIONAL", () => {
        assertViolation(runRule(cognitoMfa, view(aws.cognito.UserPool, {})), /OFF/);
        assertCompliant(runRule(cognitoMfa, view(aws.cognito.UserPool, { mfaConfiguration: "ON" })));
        assertCompliant(runRule(cognitoMfa, view(aws.cognito.UserPool, { mfaConfiguration: "OPTIONAL" })));
    });
    it("cognito-advanced-security: fails AUDIT / unset, passes ENFORCED", () => {
        assertViolation(runRule(cognitoAdvancedSecurity, view(aws.cognito.UserPool, { userPoolAddOns: { advancedSecurityMode: "AUDIT" } })), /AUDIT/);
        assertViolation(runRule(cognitoAdvancedSecurity, view(aws.cognito.UserPool, {})), /OFF/);
        assertCompliant(runRule(cognitoAdvancedSecurity, view(aws.cognito.UserPool, { userPoolAddOns: { advancedSecurityMode: "ENFORCED" } })));
    });
    it("cognito-deletion-protection: fails INACTIVE in prod, passes ACTIVE", () => {
        assertViolation(runRule(cognitoDeletionProtection, view(aws.cognito.UserPool, {}), [], {}, "prod"), /not ACTIVE/);
        assertCompliant(runRule(cognitoDeletionProtection, view(aws.cognito.UserPool, { deletionProtection: "ACTIVE" }), [], {}, "prod"));
        assertNotApplicable(runRule(cognitoDeletionProtection, view(aws.cognito.UserPool, {}), [], {}, "dev"));
    });
    it("s3-bucket-public-access-blocked: fails without a block or with a flag off, passes all four", () => {
        const bucket = view(aws.s3.Bucket, {}, { name: "b", outputs: { id: "b-bucket" } });
        assertViolation(runRule(s3BucketPublicAccessBlocked, bucket), /no public access block/);
        const partial = view(aws.s3.BucketPublicAccessBlock, { bucket: "b-bucket", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true });
        assertViolation(runRule(s3BucketPublicAccessBlocked, bucket, [partial]), /restrictPublicBuckets/);
        const full = view(aws.s3.BucketPublicAccessBlock, { bucket: "b-bucket", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
        assertCompliant(runRule(s3BucketPublicAccessBlocked, bucket, [full]));
    });
    it("secret-rotation: fails a secret without rotation, passes with an aws:secretsmanager/secretRotation", () => {
        const secretRes = view(aws.secretsmanager.Secret, {}, { name: "db", outputs: { arn: "arn:aws:secretsmanager:ap-northeast-1:1:secret:db" } });
        assertViolation(runRule(secretRotation, secretRes), /no rotation/);
        const rotation = view(aws.secretsmanager.SecretRotation, { secretId: "arn:aws:secretsmanager:ap-northeast-1:1:secret:db", rotationRules: { automaticallyAfterDays: 30 } });
        assertCompliant(runRule(secretRotation, secretRes, [rotation]));
    });
});

describe("advisory rule vpc-flow-logs-enabled", () => {
    it("fails a VPC without a flow log and passes one that a flow log names", () => {
        const vpc = view(aws.ec2.Vpc, { cidrBlock: "10.0.0.0/16" }, { name: "main", id: "vpc-1" });
        assertViolation(runRule(vpcFlowLogsEnabled, vpc), /no flow log/);
        const log = view(aws.ec2.FlowLog, { vpcId: "vpc-1", trafficType: "ALL", logDestination: "arn:aws:logs:ap-northeast-1:1:log-group:flow" });
        assertCompliant(runRule(vpcFlowLogsEnabled, vpc, [log]));
        const pending = view(aws.ec2.FlowLog, { vpcId: UNKNOWN, trafficType: "ALL" });
        assertCannotCheck(runRule(vpcFlowLogsEnabled, vpc, [pending]));
    });
});

describe("advisory rules from the Security Hub list (RDS.13, ElastiCache.6)", () => {
    it("rds-auto-minor-version-upgrade: fails when turned off, passes the default", () => {
        assertViolation(runRule(rdsAutoMinorVersionUpgrade, pg({ autoMinorVersionUpgrade: false })), /off/);
        assertCompliant(runRule(rdsAutoMinorVersionUpgrade, pg()));
    });
    it("elasticache-auth-enabled: fails no auth, passes an auth token (even unreadable) or RBAC user groups", () => {
        assertViolation(runRule(elasticacheAuthEnabled, view(aws.elasticache.ReplicationGroup, { description: "c" })), /unauthenticated/);
        assertCompliant(runRule(elasticacheAuthEnabled, view(aws.elasticache.ReplicationGroup, { description: "c", authToken: unreadableSecret() })));
        assertCompliant(runRule(elasticacheAuthEnabled, view(aws.elasticache.ReplicationGroup, { description: "c", userGroupIds: ["app-users"] })));
        assertViolation(runRule(elasticacheAuthEnabled, view(aws.elasticache.ServerlessCache, { engine: "valkey" })), /default user/);
        assertCompliant(runRule(elasticacheAuthEnabled, view(aws.elasticache.ServerlessCache, { engine: "valkey", userGroupId: "app-users" })));
    });
});
