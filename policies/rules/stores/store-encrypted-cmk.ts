import { defineResourceRule, notApplicable } from "../../core/rule";
import { rdsInstanceEncryptedCmk } from "../rds/rds-instance-encrypted-cmk";
import { rdsClusterEncryptedCmk } from "../rds/rds-cluster-encrypted-cmk";
import { elasticacheEncryptedCmk } from "../elasticache/elasticache-encrypted-cmk";
import { ebsEncryptedCmk } from "../ec2/ebs-encrypted-cmk";
import { s3BucketEncryptedCmk } from "../s3/s3-bucket-encrypted-cmk";
import { secretEncryptedCmk } from "../secretsmanager/secret-encrypted-cmk";
import { dynamodbTableEncryptedCmk } from "../dynamodb/dynamodb-table-encrypted-cmk";
import { snsTopicEncryptedCmk } from "../sns/sns-topic-encrypted-cmk";
import { codebuildProjectEncryptedCmk } from "../codebuild/codebuild-project-encrypted-cmk";

import { APPI } from "../_shared/appi";
import { dedicatedRules, checkStoreKey } from "../_shared/store-checks";
import { NO_PERSONAL_DATA, PERSONAL_DATA_TAG, storeOf, storeTypesWith } from "../_shared/stores";

/** Per-service rules that already report some of these types: a resource they fail is theirs. */
const reportedByDedicatedRule = dedicatedRules([rdsInstanceEncryptedCmk, rdsClusterEncryptedCmk, elasticacheEncryptedCmk, ebsEncryptedCmk, s3BucketEncryptedCmk, secretEncryptedCmk, dynamodbTableEncryptedCmk, snsTopicEncryptedCmk, codebuildProjectEncryptedCmk]);

export const storeEncryptedCmk = defineResourceRule({
    id: "store-encrypted-cmk",
    title: "Every store of personal data is encrypted with a provably customer-managed KMS key",
    description:
        `Every data store in the stores catalogue (policies/rules/_shared/stores.ts: RDS, Aurora, DocumentDB, Neptune, Redshift, DynamoDB, ElastiCache, MemoryDB, OpenSearch, S3, EFS, FSx, EBS and instance disks, Backup vaults, Kinesis, Firehose, SQS, SNS, Secrets Manager, SSM SecureString, log groups, Lambda environments, CodeBuild, Glue, Athena, MSK) names, at every place its type declares a key, a key that provably is customer-managed: a KMS key created in the stack, an alias or ARN of one, or a key listed in the pack config's externalKmsKeys. A key only in recorded outputs (AWS filled it in) is the AWS-managed default and fails; a key not known during preview passes only when its property depends on a KMS key or alias in the stack. A store tagged ${PERSONAL_DATA_TAG}=${NO_PERSONAL_DATA} is out of scope; untagged stores are treated as holding personal data.`,
    appi: APPI.breachSafeHarbour,
    securityHub: ["RDS.3", "RDS.27", "EC2.3", "S3.17", "SNS.1", "DynamoDB.3"],
    severity: "critical",
    remediation:
        "Create an aws.kms.Key (with rotation) in the stack and pass its ARN (or an alias of it) to the property the message names; for a key made elsewhere, list its ARN in the pack config's externalKmsKeys. If the store holds no personal data, tag it appi:personal-data=none.",
    defaultEnforcement: "mandatory",
    resourceTypes: storeTypesWith("encryption"),
    check(resource, ctx) {
        if (reportedByDedicatedRule(resource, ctx)) return notApplicable();
        const { stack, config } = ctx;
        return checkStoreKey(resource, storeOf(resource.type)!, stack, config);
    },
});
