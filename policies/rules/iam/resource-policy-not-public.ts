import { combine, defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { grantsEveryone, parsePolicyDocument, restrictingCondition } from "../_shared/iam";
import { isPublicCidr } from "../_shared/ports";

/** Resource types with a resource policy, and the property that holds it (names from @pulumi/aws 7's Args). */
export const RESOURCE_POLICIES: Readonly<Record<string, string>> = {
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:s3/bucket:Bucket": "policy",
    "aws:s3/bucketV2:BucketV2": "policy",
    "aws:kms/key:Key": "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    "aws:kms/replicaKey:ReplicaKey": "policy",
    "aws:opensearch/domain:Domain": "accessPolicies",
    "aws:opensearch/domainPolicy:DomainPolicy": "accessPolicies",
    "aws:elasticsearch/domainPolicy:DomainPolicy": "accessPolicies",
    "aws:sqs/queue:Queue": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:efs/fileSystemPolicy:FileSystemPolicy": "policy",
    "aws:backup/vaultPolicy:VaultPolicy": "policy",
    "aws:dynamodb/resourcePolicy:ResourcePolicy": "policy",
    "aws:kinesis/resourcePolicy:ResourcePolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:glacier/vault:Vault": "accessPolicy",
};

export const resourcePolicyNotPublic = defineResourceRule({
    id: "resource-policy-not-public",
    title: "Resource policies do not grant access to everyone",
    description:
        'No Allow statement of a resource policy (S3 bucket, KMS key, OpenSearch domain, SQS queue, SNS topic, Secrets Manager secret, EFS, Backup vault, DynamoDB, Kinesis, ECR, Glacier) names Principal "*", {"AWS": "*"} or NotPrincipal without a condition that ties it to chosen callers: StringEquals/StringLike/ArnEquals/ArnLike on aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:PrincipalAccount, aws:SourceVpc(e), kms:CallerAccount ... with no wildcard value, or aws:SourceIp limited to private ranges. ...IfExists, negated operators and aws:SecureTransport do not restrict.',
    appi: APPI.accessControl,
    securityHub: ["SNS.4", "SQS.3"],
    severity: "critical",
    remediation:
        'Name the principals that need access (an account, a role, a service with aws:SourceArn / aws:SourceAccount), or keep Principal "*" only together with aws:PrincipalOrgID, aws:SourceVpce or aws:SourceAccount equal to a concrete value.',
    defaultEnforcement: "mandatory",
    resourceTypes: Object.keys(RESOURCE_POLICIES),
    check(resource) {
        const prop = RESOURCE_POLICIES[resource.type];
        if (!prop || resource.props[prop] === undefined || resource.props[prop] === null || resource.props[prop] === "") return notApplicable();
        const statements = parsePolicyDocument(resource.props[prop], prop);
        return combine(
            statements.map((statement, i) => () => {
                if (!grantsEveryone(statement)) return failIf([]);
                if (restrictingCondition(statement, isPublicCidr)) return failIf([]);
                const who = statement.notPrincipal ? "everyone but the NotPrincipal" : "everyone (Principal *)";
                return failIf([`${prop}.Statement[${i}] allows ${statement.actions.join(", ") || "its actions"} to ${who} without a condition restricting the caller`]);
            }),
        );
    },
});
