// Where data goes: the properties through which a resource copies, replicates,
// subscribes, targets or forwards data, and how to tell the region at the other end.
//
// One catalogue (FLOWS, data) read by one mechanism (flowEndpoints): a flow property
// holds a region name, or a reference (ARN, endpoint URL, name) whose region is parsed
// from the ARN (`arn:aws:svc:REGION:...`), the host (`*.REGION.amazonaws.com`), or
// the resource of this stack it names. Property names are the v7 SDK's
// (node_modules/@pulumi/aws/<service>/<resource>.d.ts and types/input.d.ts); a test
// checks every type token and top-level property against those files.
import { CannotCheckError, known } from "../../core/props";
import { resolveOfType } from "../../core/stack-view";
import { PropValue, Props, ResourceView, SecretValue, StackView, UNKNOWN } from "../../core/types";
import { referrersOf } from "./references";

/**
 * Services whose ARNs carry no region because they are global (control-plane) services:
 * a flow to one of them does not place data in a region. S3 is not here: its bucket ARNs
 * have no region either, but a bucket lives in one, looked up in the stack.
 */
export const GLOBAL_SERVICES: ReadonlySet<string> = new Set([
    "iam",
    "sts",
    "organizations",
    "cloudfront",
    "route53",
    "route53domains",
    "waf",
    "shield",
    "budgets",
    "ce",
    "health",
    "globalaccelerator",
    "networkmanager",
]);

/** How a value that is neither an ARN nor an AWS endpoint is placed. */
export type BareReference =
    /** A name or id the API only accepts from the resource's own region (replicateSourceDb "pii"). */
    | "local"
    /** Must name a resource of this stack of one of these types, whose region is used; else it cannot be checked. */
    | { types: readonly string[] };

export interface FlowProperty {
    /**
     * Dotted path; `[]` after a segment walks every element of a list (a single block
     * counts as a one-element list); `@json` after a segment parses a JSON string.
     */
    path: string;
    /** `region`: the value is a region name; `target`: an ARN, endpoint or reference. */
    kind: "region" | "target";
    /** What the flow is, for messages: "replica", "copy action", "event target". */
    what: string;
    /** For targets: how a bare name or id is placed (default: "local"). */
    bare?: BareReference;
    /** Only when the block holding the value passes (e.g. an SNS subscription's protocol). */
    when?: (block: Props) => boolean;
}

export interface FlowSpec {
    /** Pulumi type token. */
    type: string;
    flows: readonly FlowProperty[];
    /** The resource is itself a copy of data held elsewhere (a replica key, a snapshot copy): its own region receives the data. */
    isCopy?: boolean;
    /** A global resource (global cluster, global datastore): it exists to span regions, so it needs two allowed ones, and every member is an end of the flow. */
    global?: { members: readonly { type: string; prop: string }[] };
}

const S3_BUCKETS = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];
const BACKUP_VAULTS = ["aws:backup/vault:Vault", "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault"];

/** Subscriptions delivered to a person (email, SMS, a mobile app), not to a store in a region. */
const PERSONAL_PROTOCOLS = new Set(["email", "email-json", "sms", "application"]);

const region = (path: string, what: string): FlowProperty => ({ path, kind: "region", what });
const target = (path: string, what: string, bare?: BareReference): FlowProperty => ({ path, kind: "target", what, bare });

/** Firehose destinations each keep a backup / error bucket in `s3Configuration`. */
const firehoseDestination = (block: string, endpoints: readonly string[]): FlowProperty[] => [
    ...endpoints.map((p) => target(`${block}.${p}`, `delivery stream destination ${block}.${p}`)),
    target(`${block}.s3Configuration.bucketArn`, `delivery stream backup bucket ${block}.s3Configuration`),
];

export const FLOWS: readonly FlowSpec[] = [
    // Replicas and global tables / clusters / datastores
    { type: "aws:secretsmanager/secret:Secret", flows: [region("replicas[].region", "secret replica")] },
    { type: "aws:dynamodb/table:Table", flows: [region("replicas[].regionName", "table replica")] },
    { type: "aws:dynamodb/globalTable:GlobalTable", flows: [region("replicas[].regionName", "global table replica")], global: { members: [] } },
    { type: "aws:dynamodb/tableReplica:TableReplica", flows: [target("globalTableArn", "replica of table")], isCopy: true },
    { type: "aws:dynamodb/kinesisStreamingDestination:KinesisStreamingDestination", flows: [target("streamArn", "table change stream")] },
    { type: "aws:rds/instance:Instance", flows: [target("replicateSourceDb", "replica source replicateSourceDb")] },
    { type: "aws:rds/cluster:Cluster", flows: [target("replicationSourceIdentifier", "replica source replicationSourceIdentifier"), region("sourceRegion", "replica source region")] },
    { type: "aws:neptune/cluster:Cluster", flows: [target("replicationSourceIdentifier", "replica source replicationSourceIdentifier")] },
    {
        type: "aws:rds/globalCluster:GlobalCluster",
        flows: [target("sourceDbClusterIdentifier", "global cluster source")],
        global: { members: [{ type: "aws:rds/cluster:Cluster", prop: "globalClusterIdentifier" }] },
    },
    {
        type: "aws:docdb/globalCluster:GlobalCluster",
        flows: [target("sourceDbClusterIdentifier", "global cluster source")],
        global: { members: [{ type: "aws:docdb/cluster:Cluster", prop: "globalClusterIdentifier" }] },
    },
    {
        type: "aws:neptune/globalCluster:GlobalCluster",
        flows: [target("sourceDbClusterIdentifier", "global cluster source")],
        global: { members: [{ type: "aws:neptune/cluster:Cluster", prop: "globalClusterIdentifier" }] },
    },
    {
        type: "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup",
        flows: [target("primaryReplicationGroupId", "global datastore primary")],
        global: { members: [{ type: "aws:elasticache/replicationGroup:ReplicationGroup", prop: "globalReplicationGroupId" }] },
    },
    { type: "aws:kms/replicaKey:ReplicaKey", flows: [target("primaryKeyArn", "replica of key")], isCopy: true },
    { type: "aws:kms/replicaExternalKey:ReplicaExternalKey", flows: [target("primaryKeyArn", "replica of key")], isCopy: true },
    // Backup and snapshot copies
    { type: "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", flows: [target("sourceDbInstanceArn", "automated backup replication of")], isCopy: true },
    { type: "aws:rds/snapshotCopy:SnapshotCopy", flows: [target("sourceDbSnapshotIdentifier", "snapshot copy of"), region("destinationRegion", "snapshot copy")], isCopy: true },
    { type: "aws:rds/clusterSnapshotCopy:ClusterSnapshotCopy", flows: [target("sourceDbClusterSnapshotIdentifier", "snapshot copy of"), region("destinationRegion", "snapshot copy")], isCopy: true },
    { type: "aws:ebs/snapshotCopy:SnapshotCopy", flows: [region("sourceRegion", "snapshot copy from")], isCopy: true },
    { type: "aws:ec2/amiCopy:AmiCopy", flows: [region("sourceAmiRegion", "image copy from")], isCopy: true },
    { type: "aws:redshift/snapshotCopy:SnapshotCopy", flows: [region("destinationRegion", "snapshot copy")] },
    { type: "aws:backup/plan:Plan", flows: [target("rules[].copyActions[].destinationVaultArn", "backup copy action", { types: BACKUP_VAULTS })] },
    // Replication rules
    { type: "aws:s3/bucketReplicationConfig:BucketReplicationConfig", flows: [target("rules[].destination.bucket", "replication rule", { types: S3_BUCKETS })] },
    { type: "aws:s3/bucket:Bucket", flows: [target("replicationConfiguration.rules[].destination.bucket", "replication rule", { types: S3_BUCKETS })] },
    { type: "aws:s3/bucketV2:BucketV2", flows: [target("replicationConfigurations[].rules[].destinations[].bucket", "replication rule", { types: S3_BUCKETS })] },
    { type: "aws:ecr/replicationConfiguration:ReplicationConfiguration", flows: [region("replicationConfiguration.rules[].destinations[].region", "image replication")] },
    { type: "aws:efs/replicationConfiguration:ReplicationConfiguration", flows: [region("destination.region", "file system replica")] },
    // Subscriptions, event targets, event sources, dead-letter queues
    {
        type: "aws:sns/topicSubscription:TopicSubscription",
        flows: [
            { ...target("endpoint", "subscription endpoint"), when: (block) => typeof block.protocol !== "string" || !PERSONAL_PROTOCOLS.has(block.protocol) },
            target("topic", "subscribed topic"),
            target("redrivePolicy@json.deadLetterTargetArn", "subscription dead-letter queue"),
        ],
    },
    { type: "aws:sqs/queue:Queue", flows: [target("redrivePolicy@json.deadLetterTargetArn", "dead-letter queue")] },
    { type: "aws:sqs/redrivePolicy:RedrivePolicy", flows: [target("queueUrl", "queue"), target("redrivePolicy@json.deadLetterTargetArn", "dead-letter queue")] },
    { type: "aws:cloudwatch/eventTarget:EventTarget", flows: [target("arn", "event target"), target("deadLetterConfig.arn", "event target dead-letter queue")] },
    { type: "aws:scheduler/schedule:Schedule", flows: [target("target.arn", "schedule target"), target("target.deadLetterConfig.arn", "schedule dead-letter queue")] },
    { type: "aws:pipes/pipe:Pipe", flows: [target("source", "pipe source"), target("enrichment", "pipe enrichment"), target("target", "pipe target")] },
    { type: "aws:lambda/function:Function", flows: [target("deadLetterConfig.targetArn", "function dead-letter target")] },
    { type: "aws:lambda/eventSourceMapping:EventSourceMapping", flows: [target("eventSourceArn", "event source"), target("destinationConfig.onFailure.destinationArn", "event source failure destination")] },
    {
        type: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        flows: [target("destinationConfig.onFailure.destination", "invocation failure destination"), target("destinationConfig.onSuccess.destination", "invocation success destination")],
    },
    // Delivery streams
    {
        type: "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
        flows: [
            target("kinesisSourceConfiguration.kinesisStreamArn", "delivery stream source"),
            target("mskSourceConfiguration.mskClusterArn", "delivery stream source"),
            target("extendedS3Configuration.bucketArn", "delivery stream destination bucket", { types: S3_BUCKETS }),
            target("extendedS3Configuration.s3BackupConfiguration.bucketArn", "delivery stream backup bucket", { types: S3_BUCKETS }),
            ...firehoseDestination("httpEndpointConfiguration", ["url"]),
            ...firehoseDestination("opensearchConfiguration", ["domainArn", "clusterEndpoint"]),
            ...firehoseDestination("elasticsearchConfiguration", ["domainArn", "clusterEndpoint"]),
            ...firehoseDestination("opensearchserverlessConfiguration", ["collectionEndpoint"]),
            ...firehoseDestination("redshiftConfiguration", ["clusterJdbcurl"]),
            ...firehoseDestination("splunkConfiguration", ["hecEndpoint"]),
            ...firehoseDestination("snowflakeConfiguration", ["accountUrl"]),
            ...firehoseDestination("icebergConfiguration", ["catalogArn"]),
        ],
    },
    { type: "aws:cloudwatch/metricStream:MetricStream", flows: [target("firehoseArn", "metric stream destination")] },
    // Private connections: an endpoint's service (com.amazonaws.REGION.svc) and a cross-region endpoint's serviceRegion
    { type: "aws:ec2/vpcEndpoint:VpcEndpoint", flows: [target("serviceName", "endpoint service"), region("serviceRegion", "endpoint service region")] },
    // Log destinations
    { type: "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter", flows: [target("destinationArn", "log subscription destination")] },
    { type: "aws:cloudwatch/logDestination:LogDestination", flows: [target("targetArn", "log destination target")] },
    { type: "aws:ec2/flowLog:FlowLog", flows: [target("logDestination", "flow log destination")] },
    { type: "aws:cloudtrail/trail:Trail", flows: [target("cloudWatchLogsGroupArn", "trail log group"), target("s3BucketName", "trail bucket", { types: S3_BUCKETS })] },
];

const byType = new Map<string, FlowSpec>(FLOWS.map((spec) => [spec.type, spec]));

export function flowSpecOf(type: string): FlowSpec | undefined {
    return byType.get(type);
}

const ARN_RE = /^arn:(aws|aws-cn|aws-us-gov|aws-iso[a-z-]*):([^:]*):([^:]*):([^:]*):(.*)$/;
const REGION_RE = /(?:^|[.-])((?:[a-z]{2})(?:-gov|-iso[a-z]?)?-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d)(?=[.]|$)/;

/** Where a flow ends. */
export type Place =
    | { kind: "region"; region: string; how: string }
    /** A global service, or a name the API only accepts from the resource's own region. */
    | { kind: "no-region" }
    | { kind: "unknown"; message: string }
    /** Outside AWS: no region can be shown. */
    | { kind: "outside-aws"; host: string };

function hostOf(value: string): string | undefined {
    const m = /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/i.exec(value) ?? /^jdbc:[a-z0-9]+:\/\/([^/:?#]+)/i.exec(value);
    if (m) return m[1].toLowerCase();
    // A bare host name (OpenSearch cluster endpoints are written without a scheme).
    return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(value) && !value.includes("@") ? value.toLowerCase() : undefined;
}

function isAwsHost(host: string): boolean {
    return host.endsWith(".amazonaws.com") || host.endsWith(".amazonaws.com.cn") || host.endsWith(".api.aws") || host.endsWith(".on.aws");
}

function regionOfResource(resource: ResourceView, how: string): Place {
    if (resource.region === UNKNOWN) return { kind: "unknown", message: `the region of ${resource.name} is not known yet (computed during preview), so it could not be checked yet` };
    if (resource.region === undefined) return { kind: "unknown", message: `the region of ${resource.name} cannot be determined, so it could not be checked` };
    return { kind: "region", region: resource.region, how };
}

/** Where the data named by `value` (an ARN, an endpoint, a name) is. */
export function placeTarget(value: string, bare: BareReference, stack: StackView): Place {
    const arn = ARN_RE.exec(value);
    if (arn) {
        const [, , service, arnRegion, , rest] = arn;
        if (arnRegion) return { kind: "region", region: arnRegion, how: "from the ARN" };
        if (service === "s3") {
            const bucketName = rest.replace(/^\/*/, "").split("/")[0];
            const bucket = resolveOfType(stack, value, S3_BUCKETS) ?? resolveOfType(stack, bucketName, S3_BUCKETS);
            if (bucket) return regionOfResource(bucket, `bucket ${bucket.name} of this stack`);
            return { kind: "unknown", message: `destination ${value} is not in this stack (S3 ARNs carry no region), so its region could not be checked` };
        }
        if (GLOBAL_SERVICES.has(service)) return { kind: "no-region" };
        // EventBridge Scheduler universal targets (arn:aws:scheduler:::aws-sdk:...) run in the schedule's region.
        if (service === "scheduler" && rest.startsWith("aws-sdk:")) return { kind: "no-region" };
        return { kind: "unknown", message: `${value} names no region, so where it sends data could not be checked` };
    }
    // AWS service names of VPC endpoints: com.amazonaws.REGION.service (vpce-svc-... names of endpoint services stay local).
    const service = /^(?:com|cn\.com)\.amazonaws\.([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d)\./.exec(value);
    if (service) return { kind: "region", region: service[1], how: "from the service name" };
    if (value.startsWith("com.amazonaws.vpce.")) {
        const m = /^com\.amazonaws\.vpce\.([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d)\./.exec(value);
        return m ? { kind: "region", region: m[1], how: "from the endpoint service name" } : { kind: "no-region" };
    }
    if (value.startsWith("com.amazonaws.")) return { kind: "unknown", message: `service ${value} names no region, so where it sends data could not be checked` };
    const host = hostOf(value);
    if (host) {
        if (!isAwsHost(host)) return { kind: "outside-aws", host };
        const m = REGION_RE.exec(host);
        if (m) return { kind: "region", region: m[1], how: `from the endpoint ${host}` };
        return { kind: "unknown", message: `endpoint ${host} names no region, so it could not be checked` };
    }
    if (bare === "local") return { kind: "no-region" };
    const found = resolveOfType(stack, value, bare.types);
    if (found) return regionOfResource(found, `${found.name} of this stack`);
    return { kind: "unknown", message: `${value} is not in this stack and is not an ARN, so its region could not be checked` };
}

/** One value found at a flow path, with the path it was found at. */
interface Found {
    path: string;
    value: PropValue;
}

/** Walks `segments` from `value`, collecting leaves (UNKNOWN and unreadable secrets included, to be reported). */
function walk(value: PropValue, segments: readonly string[], i: number, path: string, out: Found[], parent: Props | undefined, spec: FlowProperty): void {
    if (value instanceof SecretValue && value.readable && value.plaintext !== undefined) value = value.plaintext as PropValue;
    if (value === UNKNOWN || value instanceof SecretValue) {
        out.push({ path, value });
        return;
    }
    if (value === undefined || value === null) return;
    if (i === segments.length) {
        if (Array.isArray(value)) value.forEach((item, k) => walk(item, segments, i, `${path}[${k}]`, out, parent, spec));
        else if (!spec.when || (parent && spec.when(parent))) out.push({ path, value });
        return;
    }
    let segment = segments[i];
    const each = segment.endsWith("[]");
    const json = segment.endsWith("@json");
    if (each) segment = segment.slice(0, -2);
    if (json) segment = segment.slice(0, -5);
    if (typeof value !== "object" || Array.isArray(value)) {
        // State files sometimes keep a block as a one-element list.
        if (Array.isArray(value)) value.forEach((item, k) => walk(item, segments, i, `${path}[${k}]`, out, parent, spec));
        return;
    }
    const block = value as Props;
    let next: PropValue = block[segment];
    const nextPath = path ? `${path}.${segment}` : segment;
    if (json && typeof next === "string") {
        try {
            next = JSON.parse(next) as PropValue;
        } catch {
            return; // not JSON: nothing this rule can follow (the SDK rejects it anyway)
        }
    }
    if (each && next !== undefined && next !== null && !Array.isArray(next) && next !== UNKNOWN && !(next instanceof SecretValue)) next = [next];
    if (Array.isArray(next) && (each || i + 1 < segments.length)) {
        next.forEach((item, k) => walk(item, segments, i + 1, `${nextPath}[${k}]`, out, block, spec));
        return;
    }
    walk(next, segments, i + 1, nextPath, out, block, spec);
}

const splitPaths = new Map<string, readonly string[]>();

function segmentsOf(path: string): readonly string[] {
    let parts = splitPaths.get(path);
    if (!parts) splitPaths.set(path, (parts = path.split(".")));
    return parts;
}

/** One end of a data flow of a resource, as the rule judges it. */
export interface FlowEnd {
    /** e.g. "backup copy action rules[0].copyActions[1].destinationVaultArn" */
    what: string;
    place: Place;
}

/** Every end of every data flow the catalogue knows for `resource`; throws CannotCheckError only through `referrersOf`. */
export function flowEnds(resource: ResourceView, spec: FlowSpec, stack: StackView): FlowEnd[] {
    const ends: FlowEnd[] = [];
    for (const flow of spec.flows) {
        const found: Found[] = [];
        walk(resource.props, segmentsOf(flow.path), 0, "", found, undefined, flow);
        for (const { path, value } of found) {
            const what = `${flow.what} (${path})`;
            let plain: PropValue;
            try {
                plain = known(value, path);
            } catch (err) {
                if (!(err instanceof CannotCheckError)) throw err;
                ends.push({ what, place: { kind: "unknown", message: err.message } });
                continue;
            }
            if (typeof plain !== "string" || plain.trim() === "") continue;
            const text = plain.trim();
            ends.push({ what, place: flow.kind === "region" ? { kind: "region", region: text, how: "" } : placeTarget(text, flow.bare ?? "local", stack) });
        }
    }
    if (spec.global) {
        for (const member of spec.global.members) {
            for (const referrer of referrersOf(stack, member.type, member.prop, resource)) {
                ends.push({ what: `member ${referrer.name}`, place: regionOfResource(referrer, `member ${referrer.name}`) });
            }
        }
    }
    return ends;
}
