// Rule ids that were folded into a general rule and are kept as aliases, so the waivers
// users already wrote under them keep working: an exception (file or CrossGuard policy
// config), an acknowledgement tag `appi:ack:<old id>` or a baseline entry naming an old id
// covers the folded rule's finding on the resource types the old rule judged (and only
// those), and says so: the exemption carries a deprecation note into every report.
//
// The per-service key rules (rds-instance-encrypted-cmk, ...) each decided "customer-managed
// key" for one service with their own reading of the key; store-encrypted-cmk decides it for
// every store type from the stores catalogue (_shared/stores.ts), with provable keys. Keeping
// both reported the same fact on the same resource twice. Enforcement overrides are not
// aliased: an override is per rule, and a level for one old id cannot apply to the other
// types of the folded rule (config validation names the rule to set instead).
//
// No imports: core modules (exceptions, acknowledgements, baselines) read this table.

export interface RuleAlias {
    /** The retired rule id users may still have in exceptions, acknowledgements and baselines. */
    id: string;
    /** The rule that now decides the same fact. */
    foldedInto: string;
    /** The types the old rule judged: the alias covers the folded rule's findings on these only. */
    resourceTypes: readonly string[];
}

const STORE_KEY = "store-encrypted-cmk";

export const RULE_ALIASES: readonly RuleAlias[] = Object.freeze([
    { id: "rds-instance-encrypted-cmk", foldedInto: STORE_KEY, resourceTypes: ["aws:rds/instance:Instance"] },
    { id: "rds-cluster-encrypted-cmk", foldedInto: STORE_KEY, resourceTypes: ["aws:rds/cluster:Cluster"] },
    {
        id: "elasticache-encrypted-cmk",
        foldedInto: STORE_KEY,
        resourceTypes: ["aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/serverlessCache:ServerlessCache", "aws:elasticache/cluster:Cluster"],
    },
    { id: "ebs-encrypted-cmk", foldedInto: STORE_KEY, resourceTypes: ["aws:ebs/volume:Volume", "aws:ec2/instance:Instance"] },
    {
        id: "s3-bucket-encrypted-cmk",
        foldedInto: STORE_KEY,
        // The configuration resources too: the folded rule reports a weak one where it is written.
        resourceTypes: [
            "aws:s3/bucket:Bucket",
            "aws:s3/bucketV2:BucketV2",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        ],
    },
    { id: "secret-encrypted-cmk", foldedInto: STORE_KEY, resourceTypes: ["aws:secretsmanager/secret:Secret"] },
    { id: "dynamodb-table-encrypted-cmk", foldedInto: STORE_KEY, resourceTypes: ["aws:dynamodb/table:Table"] },
    { id: "sns-topic-encrypted-cmk", foldedInto: STORE_KEY, resourceTypes: ["aws:sns/topic:Topic"] },
    { id: "codebuild-project-encrypted-cmk", foldedInto: STORE_KEY, resourceTypes: ["aws:codebuild/project:Project"] },
    { id: "log-group-encrypted-cmk", foldedInto: STORE_KEY, resourceTypes: ["aws:cloudwatch/logGroup:LogGroup"] },
    { id: "lambda-environment-encrypted-cmk", foldedInto: STORE_KEY, resourceTypes: ["aws:lambda/function:Function"] },
]);

const byId = new Map(RULE_ALIASES.map((a) => [a.id, a]));

/** The alias of a retired rule id, or undefined for any other id. */
export function aliasOf(id: string): RuleAlias | undefined {
    return byId.get(id);
}

/** The rule an id stands for now: the folded rule for an alias, the id itself otherwise. */
export function canonicalRuleId(id: string): string {
    return byId.get(id)?.foldedInto ?? id;
}

/** Whether a waiver filed under `filedUnder` covers a finding of rule `ruleId` on a resource of `resourceType`. */
export function waiverCovers(filedUnder: string, ruleId: string, resourceType: string | undefined): boolean {
    if (filedUnder === ruleId) return true;
    const alias = byId.get(filedUnder);
    return alias !== undefined && alias.foldedInto === ruleId && resourceType !== undefined && alias.resourceTypes.includes(resourceType);
}

/** The retired ids whose waivers cover findings of `ruleId` on `resourceType`. */
export function aliasesCovering(ruleId: string, resourceType: string): readonly RuleAlias[] {
    const out: RuleAlias[] = [];
    for (const a of RULE_ALIASES) if (a.foldedInto === ruleId && a.resourceTypes.includes(resourceType)) out.push(a);
    return out;
}

/** The note every report carries where a waiver under a retired id was applied. */
export function deprecationNote(id: string): string {
    const alias = byId.get(id);
    return alias ? `filed under the deprecated rule id ${id}, now ${alias.foldedInto}: file it under ${alias.foldedInto}` : "";
}
