import { defineResourceRule } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { checkStoreKey } from "../_shared/store-checks";
import { NO_PERSONAL_DATA, PERSONAL_DATA_TAG, storeOf, storeTypesWith } from "../_shared/stores";
import { RULE_ALIASES } from "../aliases";

const retiredIds = RULE_ALIASES.filter((a) => a.foldedInto === "store-encrypted-cmk").map((a) => a.id);

export const storeEncryptedCmk = defineResourceRule({
    id: "store-encrypted-cmk",
    title: "Every store of personal data is encrypted with a provably customer-managed KMS key",
    description:
        `Every data store in the stores catalogue (policies/rules/_shared/stores.ts: RDS, Aurora, DocumentDB, Neptune, Redshift, DynamoDB, ElastiCache, MemoryDB, OpenSearch, S3 in every v7 form (Bucket, BucketV2's list-shaped fields, the separate server-side encryption configurations), EFS, FSx, EBS volumes, instance disks, launch templates and configurations (with the account's EBS defaults), Backup vaults, Kinesis, Firehose, SQS, SNS, Secrets Manager, SSM SecureString, log groups, Lambda environments, CodeBuild, Glue, Athena, MSK) names, at every place its type declares a key, a key that provably is customer-managed: a KMS key created in the stack, an alias or ARN of one, or a key listed in the pack config's externalKmsKeys. A key only in recorded outputs (AWS filled it in) is the AWS-managed default and fails; a key not known during preview passes only when its property depends on a KMS key or alias in the stack. A store tagged ${PERSONAL_DATA_TAG}=${NO_PERSONAL_DATA} is out of scope; untagged stores are treated as holding personal data. ` +
        `This one rule decides the key for every store type; the retired per-service rule ids (${retiredIds.join(", ")}) are aliases: exceptions, acknowledgement tags and baselines naming one still cover this rule's findings on the types that rule judged, with a deprecation note.`,
    appi: APPI.breachSafeHarbour,
    securityHub: ["RDS.3", "RDS.27", "EC2.3", "EC2.7", "S3.17", "SNS.1", "DynamoDB.3", "ElastiCache.4"],
    severity: "critical",
    remediation:
        "Create an aws.kms.Key (with rotation) in the stack and pass its ARN (or an alias of it) to the property the message names; for a key made elsewhere, list its ARN in the pack config's externalKmsKeys. If the store holds no personal data, tag it appi:personal-data=none. Rename waivers filed under a retired rule id to store-encrypted-cmk.",
    defaultEnforcement: "mandatory",
    resourceTypes: storeTypesWith("encryption"),
    check(resource, ctx) {
        const { stack, config } = ctx;
        return checkStoreKey(resource, storeOf(resource.type)!, stack, config);
    },
});
