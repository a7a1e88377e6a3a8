import { known, readObject } from "../../core/props";
import { Props } from "../../core/types";
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

/** Whether a tag map sets TAG itself (what a spread `{ ...tags }` would copy). */
function hasOwnTag(tags: Props | undefined): tags is Props {
    return tags !== undefined && Object.prototype.propertyIsEnumerable.call(tags, TAG);
}

/**
 * The provider's default tags. The engine records provider settings as strings, an object
 * setting JSON-encoded (`defaultTags: "{\"tags\":{...}}"` in state and in CrossGuard's
 * provider props), so both spellings are read.
 */
function providerDefaultTags(providerProps: Props): Props | undefined {
    const raw = providerProps.defaultTags;
    if (typeof raw !== "string") return readObject(providerProps, "defaultTags.tags");
    try {
        const tags = (JSON.parse(raw) as { tags?: unknown } | null)?.tags;
        return tags !== null && typeof tags === "object" && !Array.isArray(tags) ? (tags as Props) : undefined;
    } catch {
        return undefined;
    }
}

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
        // tagsAll (outputs) includes the provider's default tags; `tags` wins over it, and
        // the provider's defaultTags count when neither sets the tag. (Looked up in place:
        // the same answer as merging copies of the three maps, without the copies.)
        const tagsAll = readObject(resource.props, "tagsAll");
        const tags = readObject(resource.props, "tags");
        const defaultTags = resource.provider ? providerDefaultTags(resource.provider.props) : undefined;
        const own = hasOwnTag(tags) ? tags[TAG] : hasOwnTag(tagsAll) ? tagsAll[TAG] : undefined;
        const value = known(own ?? (hasOwnTag(defaultTags) ? defaultTags[TAG] : undefined), `tags.${TAG}`);
        return failIf([(typeof value !== "string" || value.trim() === "") && `no ${TAG} tag`]);
    },
});
