import { known, readTags } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const DATA_STORE_TYPES = [
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:elasticache/serverlessCache:ServerlessCache",
    "aws:dynamodb/table:Table",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:secretsmanager/secret:Secret",
    "aws:ebs/volume:Volume",
] as const;

const TAG = "DataClassification";

export const dataClassificationTag = defineResourceRule({
    id: "data-classification-tag",
    title: "Data stores say what class of data they hold",
    description: `Every data store carries a non-empty ${TAG} tag (e.g. personal, special-care-required, internal, public), so reviewers can scope APPI obligations.`,
    appi: APPI.security,
    securityHub: [],
    severity: "low",
    remediation: `Add tags: { ${TAG}: "personal" } (or the class that applies); default tags on the provider work too.`,
    defaultEnforcement: "advisory",
    resourceTypes: DATA_STORE_TYPES,
    check(resource) {
        // tagsAll (outputs) includes the provider's default tags.
        const tags = { ...readTags(resource.props, "tagsAll"), ...readTags(resource.props, "tags") };
        const defaultTags = resource.provider ? readTags(resource.provider.props, "defaultTags.tags") : {};
        const value = known(tags[TAG] ?? defaultTags[TAG], `tags.${TAG}`);
        return failIf([(typeof value !== "string" || value.trim() === "") && `no ${TAG} tag`]);
    },
});
