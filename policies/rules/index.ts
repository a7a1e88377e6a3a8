// Every APPI rule, one per file under policies/rules/<service>/<rule-id>.ts (file name == rule id).
import { Rule } from "../core/types";
import { logGroupRetention } from "./cloudwatch/log-group-retention";
import { codebuildProjectInVpc } from "./codebuild/codebuild-project-in-vpc";
import { codebuildProjectNotPrivileged } from "./codebuild/codebuild-project-not-privileged";
import { codebuildNoStoredCredentials } from "./codebuild/codebuild-no-stored-credentials";
import { cognitoAdvancedSecurity } from "./cognito/cognito-advanced-security";
import { cognitoDeletionProtection } from "./cognito/cognito-deletion-protection";
import { cognitoMfa } from "./cognito/cognito-mfa";
import { dynamodbPointInTimeRecovery } from "./dynamodb/dynamodb-point-in-time-recovery";
import { defaultSecurityGroupClosed } from "./ec2/default-security-group-closed";
import { ec2Imdsv2Required } from "./ec2/ec2-imdsv2-required";
import { securityGroupNoPublicDataPort } from "./ec2/security-group-no-public-data-port";
import { vpcFlowLogsEnabled } from "./ec2/vpc-flow-logs-enabled";
import { cacheSubnetGroupPrivate } from "./elasticache/cache-subnet-group-private";
import { elasticacheAuthEnabled } from "./elasticache/elasticache-auth-enabled";
import { elasticacheMultiAz } from "./elasticache/elasticache-multi-az";
import { elasticacheSnapshotRetention } from "./elasticache/elasticache-snapshot-retention";
import { elasticacheTransitEncryption } from "./elasticache/elasticache-transit-encryption";
import { dataFlowsInAllowedRegions } from "./global/data-flows-in-allowed-regions";
import { regionAllowed } from "./global/region-allowed";
import { resourceTypesReviewed } from "./global/resource-types-reviewed";
import { githubOidcTrustPinned } from "./iam/github-oidc-trust-pinned";
import { resourcePolicyNotPublic } from "./iam/resource-policy-not-public";
import { kmsKeyRotation } from "./kms/kms-key-rotation";
import { kmsKeySingleRegion } from "./kms/kms-key-single-region";
import { lambdaInPrivateSubnet } from "./lambda/lambda-in-private-subnet";
import { lambdaNotPubliclyInvocable } from "./lambda/lambda-not-publicly-invocable";
import { databaseProtectedInPulumi } from "./rds/database-protected-in-pulumi";
import { dbSubnetGroupPrivate } from "./rds/db-subnet-group-private";
import { rdsAutoMinorVersionUpgrade } from "./rds/rds-auto-minor-version-upgrade";
import { rdsClusterBackupRetention } from "./rds/rds-cluster-backup-retention";
import { rdsClusterPostgresTls } from "./rds/rds-cluster-postgres-tls";
import { rdsDeletionProtection } from "./rds/rds-deletion-protection";
import { rdsIamAuthentication } from "./rds/rds-iam-authentication";
import { rdsInstanceBackupRetention } from "./rds/rds-instance-backup-retention";
import { rdsInstancePostgresTls } from "./rds/rds-instance-postgres-tls";
import { rdsLogExports } from "./rds/rds-log-exports";
import { rdsMultiAz } from "./rds/rds-multi-az";
import { rdsNotPubliclyAccessible } from "./rds/rds-not-publicly-accessible";
import { rdsPerformanceInsightsCmk } from "./rds/rds-performance-insights-cmk";
import { rdsProxyRequireTls } from "./rds/rds-proxy-require-tls";
import { s3BucketPublicAccessBlocked } from "./s3/s3-bucket-public-access-blocked";
import { secretRotation } from "./secretsmanager/secret-rotation";
import { storeBackups } from "./stores/store-backups";
import { storeEncryptedCmk } from "./stores/store-encrypted-cmk";
import { storePrivate } from "./stores/store-private";
import { dataClassificationTag } from "./tagging/data-classification-tag";
import { edgeTlsModern } from "./transit/edge-tls-modern";
import { storeTlsInTransit } from "./transit/store-tls-in-transit";

/** Every rule that reviews resources; `rules` adds the coverage rule over them. */
const reviewingRules: readonly Rule[] = [
    // Residency and cross-border transfer (Art. 28)
    regionAllowed,
    dataFlowsInAllowedRegions,
    kmsKeySingleRegion,
    // Encryption at rest with customer-managed keys (Art. 26 safe harbour): one rule for every store type;
    // the retired per-service ids (rds-instance-encrypted-cmk, ...) are aliases of it (aliases.ts).
    storeEncryptedCmk,
    // Encryption in transit
    elasticacheTransitEncryption,
    rdsInstancePostgresTls,
    rdsClusterPostgresTls,
    rdsProxyRequireTls,
    storeTlsInTransit,
    edgeTlsModern,
    // Private data tier
    rdsNotPubliclyAccessible,
    dbSubnetGroupPrivate,
    cacheSubnetGroupPrivate,
    securityGroupNoPublicDataPort,
    resourcePolicyNotPublic,
    lambdaNotPubliclyInvocable,
    lambdaInPrivateSubnet,
    storePrivate,
    // Backups
    rdsInstanceBackupRetention,
    rdsClusterBackupRetention,
    elasticacheSnapshotRetention,
    dynamodbPointInTimeRecovery,
    storeBackups,
    // Keys
    kmsKeyRotation,
    // Keyless CI
    githubOidcTrustPinned,
    codebuildNoStoredCredentials,
    // Audit trail
    logGroupRetention,
    vpcFlowLogsEnabled,
    // Advisory by default
    rdsDeletionProtection,
    cognitoDeletionProtection,
    databaseProtectedInPulumi,
    rdsMultiAz,
    elasticacheMultiAz,
    rdsIamAuthentication,
    rdsAutoMinorVersionUpgrade,
    elasticacheAuthEnabled,
    rdsPerformanceInsightsCmk,
    rdsLogExports,
    codebuildProjectInVpc,
    codebuildProjectNotPrivileged,
    dataClassificationTag,
    cognitoMfa,
    cognitoAdvancedSecurity,
    ec2Imdsv2Required,
    defaultSecurityGroupClosed,
    s3BucketPublicAccessBlocked,
    secretRotation,
];

/** The pack: every reviewing rule, then the advisory coverage rule that names the types none of them reviews. */
export const rules: readonly Rule[] = [...reviewingRules, resourceTypesReviewed(reviewingRules)];
