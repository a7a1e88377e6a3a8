// data-flows-in-allowed-regions: one mechanism over every property that sends data
// somewhere (the catalogue in policies/rules/_shared/flows.ts). The cases of the
// per-service residency rules it replaced are kept here, then the new flows.
import * as aws from "@pulumi/aws";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { dataFlowsInAllowedRegions as rule } from "../../../policies/rules/global/data-flows-in-allowed-regions";
import { FLOWS, placeTarget } from "../../../policies/rules/_shared/flows";
import { createResourceValidationArgs as view, runRule, secret, stackOf, unreadableSecret, UNKNOWN } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertViolation } from "./assert-outcome";

const OSAKA = { allowedRegions: ["ap-northeast-1", "ap-northeast-3"] };
/** The narrowest list a reviewer may set: Tokyo only. */
const TOKYO = { allowedRegions: ["ap-northeast-1"] };

describe("rule data-flows-in-allowed-regions: replicas (was secret-/dynamodb-replicas-in-allowed-regions)", () => {
    it("fails a secret replica in Singapore and passes one in Osaka when Osaka is allowed", () => {
        assertViolation(runRule(rule, view(aws.secretsmanager.Secret, { replicas: [{ region: "ap-southeast-1" }] })), /secret replica \(replicas\[0\]\.region\) sends data to ap-southeast-1/);
        assertCompliant(runRule(rule, view(aws.secretsmanager.Secret, { replicas: [{ region: "ap-northeast-3" }] }), [], OSAKA));
        assertCompliant(runRule(rule, view(aws.secretsmanager.Secret, {})));
        assertViolation(runRule(rule, view(aws.secretsmanager.Secret, { replicas: [{ region: "ap-northeast-3" }] }), [], TOKYO), /ap-northeast-3, outside the allowed regions ap-northeast-1/);
    });
    it("cannot check an unknown or unreadable replica region, and reads a readable secret", () => {
        assertCannotCheck(runRule(rule, view(aws.secretsmanager.Secret, { replicas: [{ region: UNKNOWN }] })));
        assertCannotCheck(runRule(rule, view(aws.secretsmanager.Secret, { replicas: [{ region: unreadableSecret() }] })));
        assertCannotCheck(runRule(rule, view(aws.secretsmanager.Secret, { replicas: UNKNOWN })));
        assertViolation(runRule(rule, view(aws.secretsmanager.Secret, { replicas: [{ region: secret("us-east-1") }] })), /us-east-1/);
    });
    it("attacker: hides the foreign replica behind a compliant one, or writes the block as a bare object", () => {
        assertViolation(runRule(rule, view(aws.secretsmanager.Secret, { replicas: [{ region: "ap-northeast-3" }, { region: "us-west-2" }] }), [], OSAKA), /replicas\[1\]/);
        const bare = view(aws.dynamodb.Table, {}, { outputs: { replicas: { regionName: "eu-west-1" } } });
        assertViolation(runRule(rule, bare), /eu-west-1/);
    });
    it("fails a DynamoDB global-table replica abroad (table and legacy global table) and passes none", () => {
        assertViolation(runRule(rule, view(aws.dynamodb.Table, { replicas: [{ regionName: "us-west-2" }] })), /us-west-2/);
        assertCompliant(runRule(rule, view(aws.dynamodb.Table, { replicas: [] })));
        assertViolation(runRule(rule, view(aws.dynamodb.GlobalTable, { replicas: [{ regionName: "ap-northeast-1" }, { regionName: "us-east-1" }] }), [], OSAKA), /us-east-1/);
    });
    it("fails a table replica resource whose source table is abroad, or which is itself abroad", () => {
        assertViolation(runRule(rule, view(aws.dynamodb.TableReplica, { globalTableArn: "arn:aws:dynamodb:us-east-1:1:table/pii" })), /replica of table .* us-east-1/);
        assertViolation(runRule(rule, view(aws.dynamodb.TableReplica, { globalTableArn: "arn:aws:dynamodb:ap-northeast-1:1:table/pii", region: "eu-west-1" })), /the copy is in eu-west-1/);
        assertCompliant(runRule(rule, view(aws.dynamodb.TableReplica, { globalTableArn: "arn:aws:dynamodb:ap-northeast-1:1:table/pii", region: "ap-northeast-3" }), [], OSAKA));
    });
});

describe("rule data-flows-in-allowed-regions: RDS replicas and backups (was rds-*-in-allowed-regions)", () => {
    const source = "arn:aws:rds:ap-northeast-1:123456789012:db:pii";
    it("fails automated backups replicated to a foreign region, passes Osaka when allowed", () => {
        assertViolation(runRule(rule, view(aws.rds.InstanceAutomatedBackupsReplication, { sourceDbInstanceArn: source, region: "us-west-2" })), /us-west-2/);
        assertCompliant(runRule(rule, view(aws.rds.InstanceAutomatedBackupsReplication, { sourceDbInstanceArn: source, region: "ap-northeast-3" }), [], OSAKA));
    });
    it("attacker: replicates backups with an explicit provider abroad instead of a region property", () => {
        const virginia = view(aws.Provider, { region: "us-east-1" }, { name: "virginia" });
        assertViolation(runRule(rule, view(aws.rds.InstanceAutomatedBackupsReplication, { sourceDbInstanceArn: source }, { provider: virginia })), /the copy is in us-east-1/);
    });
    it("cannot check an unknown destination", () => {
        assertCannotCheck(runRule(rule, view(aws.rds.InstanceAutomatedBackupsReplication, { sourceDbInstanceArn: source, region: UNKNOWN })));
    });
    it("fails a read replica whose source ARN is in another region, and an Aurora cluster replicating from abroad", () => {
        assertViolation(runRule(rule, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", replicateSourceDb: "arn:aws:rds:us-east-1:123456789012:db:pii" })), /us-east-1/);
        assertViolation(runRule(rule, view(aws.rds.Cluster, { engine: "aurora-postgresql", replicationSourceIdentifier: "arn:aws:rds:eu-west-1:1:cluster:c" })), /eu-west-1/);
        assertViolation(runRule(rule, view(aws.rds.Cluster, { engine: "aurora-postgresql", sourceRegion: "us-east-2" })), /us-east-2/);
    });
    it("fails a replica in a foreign region of a Tokyo source (the far end of the flow)", () => {
        const replica = view(aws.rds.Instance, { instanceClass: "db.t4g.micro", replicateSourceDb: source, region: "us-east-1" });
        assertViolation(runRule(rule, replica), /this end of the cross-region flow is in us-east-1/);
    });
    it("passes a same-region replica named by identifier, a Tokyo ARN, and a primary", () => {
        assertCompliant(runRule(rule, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", replicateSourceDb: "pii" })));
        assertCompliant(runRule(rule, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", replicateSourceDb: source })));
        assertCompliant(runRule(rule, view(aws.rds.Instance, { instanceClass: "db.t4g.micro" })));
    });
    it("cannot check an unknown source", () => {
        assertCannotCheck(runRule(rule, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", replicateSourceDb: UNKNOWN })));
    });
    it("fails snapshot copies to or from abroad", () => {
        assertViolation(runRule(rule, view(aws.rds.SnapshotCopy, { sourceDbSnapshotIdentifier: "arn:aws:rds:ap-northeast-1:1:snapshot:s", targetDbSnapshotIdentifier: "c", destinationRegion: "us-west-1" })), /us-west-1/);
        assertViolation(runRule(rule, view(aws.ebs.SnapshotCopy, { sourceSnapshotId: "snap-1", sourceRegion: "ap-northeast-1", region: "sa-east-1" })), /the copy is in sa-east-1/);
        assertViolation(runRule(rule, view(aws.redshift.SnapshotCopy, { clusterIdentifier: "c", destinationRegion: "eu-north-1" })), /eu-north-1/);
        assertCompliant(runRule(rule, view(aws.ebs.SnapshotCopy, { sourceSnapshotId: "snap-1", sourceRegion: "ap-northeast-1" })));
    });
});

describe("rule data-flows-in-allowed-regions: S3, ECR, EFS replication (was s3-replication-in-allowed-regions)", () => {
    const role = "arn:aws:iam::1:role/replication";
    it("fails replication to a bucket of this stack that lives abroad (S3 ARNs carry no region)", () => {
        const target = view(aws.s3.Bucket, { region: "us-east-1" }, { name: "dr", outputs: { arn: "arn:aws:s3:::dr-bucket", bucket: "dr-bucket" } });
        const config = view(aws.s3.BucketReplicationConfig, { bucket: "src", role, rules: [{ status: "Enabled", destination: { bucket: "arn:aws:s3:::dr-bucket" } }] });
        assertViolation(runRule(rule, config, [target]), /us-east-1/);
    });
    it("passes replication to a bucket in Tokyo", () => {
        const target = view(aws.s3.Bucket, {}, { name: "dr", outputs: { arn: "arn:aws:s3:::dr-bucket" } });
        const config = view(aws.s3.BucketReplicationConfig, { bucket: "src", role, rules: [{ status: "Enabled", destination: { bucket: "arn:aws:s3:::dr-bucket" } }] });
        assertCompliant(runRule(rule, config, [target]));
    });
    it("checks a bucket's inline replication configuration, and BucketV2's list-shaped one", () => {
        const target = view(aws.s3.Bucket, { region: "eu-central-1" }, { name: "dr", outputs: { arn: "arn:aws:s3:::dr-bucket" } });
        const source = view(aws.s3.Bucket, { replicationConfiguration: { role, rules: [{ status: "Enabled", destination: { bucket: "arn:aws:s3:::dr-bucket" } }] } });
        assertViolation(runRule(rule, source, [target]), /eu-central-1/);
        const v2 = view(aws.s3.BucketV2, {}, { outputs: { replicationConfigurations: [{ role, rules: [{ status: "Enabled", destinations: [{ bucket: "arn:aws:s3:::dr-bucket" }] }] }] } });
        assertViolation(runRule(rule, v2, [target]), /replicationConfigurations\[0\]\.rules\[0\]\.destinations\[0\]\.bucket/);
    });
    it("cannot check a destination outside the stack or unknown", () => {
        const config = view(aws.s3.BucketReplicationConfig, { bucket: "src", role, rules: [{ status: "Enabled", destination: { bucket: "arn:aws:s3:::elsewhere" } }] });
        assertCannotCheck(runRule(rule, config), /not in this stack/);
        const unknown = view(aws.s3.BucketReplicationConfig, { bucket: "src", role, rules: [{ status: "Enabled", destination: { bucket: UNKNOWN } }] });
        assertCannotCheck(runRule(rule, unknown));
    });
    it("fails ECR and EFS replication abroad", () => {
        assertViolation(runRule(rule, view(aws.ecr.ReplicationConfiguration, { replicationConfiguration: { rules: [{ destinations: [{ region: "us-east-1", registryId: "1" }] }] } })), /image replication .* us-east-1/);
        assertViolation(runRule(rule, view(aws.efs.ReplicationConfiguration, { sourceFileSystemId: "fs-1", destination: { region: "eu-west-3" } })), /eu-west-3/);
        assertCompliant(runRule(rule, view(aws.efs.ReplicationConfiguration, { sourceFileSystemId: "fs-1", destination: { region: "ap-northeast-3" } }), [], OSAKA));
    });
});

describe("rule data-flows-in-allowed-regions: global datastores and clusters (was elasticache-global-datastore-in-allowed-regions)", () => {
    const primary = view(aws.elasticache.ReplicationGroup, { description: "p" }, { name: "primary", outputs: { id: "rg-primary" } });
    const global = view(aws.elasticache.GlobalReplicationGroup, { globalReplicationGroupIdSuffix: "pii", primaryReplicationGroupId: "rg-primary" }, { name: "global", outputs: { id: "gdf-pii" } });
    it("fails when only one region is allowed (a global datastore needs two)", () => {
        assertViolation(runRule(rule, global, [primary], { allowedRegions: ["ap-northeast-1"] }), /only ap-northeast-1 is allowed/);
    });
    it("fails a member abroad even with two allowed regions, passes members in Japan", () => {
        const abroad = view(aws.elasticache.ReplicationGroup, { description: "s", globalReplicationGroupId: "gdf-pii", region: "us-west-2" }, { name: "secondary" });
        assertViolation(runRule(rule, global, [primary, abroad], OSAKA), /member secondary sends data to us-west-2/);
        const osaka = view(aws.elasticache.ReplicationGroup, { description: "s", globalReplicationGroupId: "gdf-pii", region: "ap-northeast-3" }, { name: "secondary" });
        assertCompliant(runRule(rule, global, [primary, osaka], OSAKA));
    });
    it("fails an Aurora global cluster whose secondary cluster is abroad", () => {
        const gc = view(aws.rds.GlobalCluster, { globalClusterIdentifier: "pii-global", engine: "aurora-postgresql" }, { name: "gc", outputs: { id: "pii-global" } });
        const secondary = view(aws.rds.Cluster, { engine: "aurora-postgresql", globalClusterIdentifier: "pii-global", region: "us-east-1" }, { name: "secondary" });
        assertViolation(runRule(rule, gc, [secondary], OSAKA), /member secondary sends data to us-east-1/);
        const osaka = view(aws.rds.Cluster, { engine: "aurora-postgresql", globalClusterIdentifier: "pii-global", region: "ap-northeast-3" }, { name: "secondary" });
        assertCompliant(runRule(rule, gc, [osaka], OSAKA));
    });
});

describe("rule data-flows-in-allowed-regions: backup copies (was backup-copy-in-allowed-regions)", () => {
    const plan = (vault: string) => view(aws.backup.Plan, { rules: [{ ruleName: "daily", targetVaultName: "main", schedule: "cron(0 3 * * ? *)", copyActions: [{ destinationVaultArn: vault }] }] });
    it("fails a copy action to a vault in another region, passes one in Tokyo", () => {
        assertViolation(runRule(rule, plan("arn:aws:backup:us-east-1:1:backup-vault:dr")), /us-east-1/);
        assertCompliant(runRule(rule, plan("arn:aws:backup:ap-northeast-1:1:backup-vault:dr")));
    });
    it("cannot check an unknown vault ARN", () => {
        assertCannotCheck(runRule(rule, view(aws.backup.Plan, { rules: [{ ruleName: "d", targetVaultName: "m", copyActions: [{ destinationVaultArn: UNKNOWN }] }] })));
    });
    it("follows a vault of this stack named by name, and cannot check one it cannot place", () => {
        const vault = view(aws.backup.Vault, { region: "eu-west-1" }, { name: "dr-vault", outputs: { name: "dr-vault" } });
        const p = view(aws.backup.Plan, { rules: [{ ruleName: "d", targetVaultName: "m", copyActions: [{ destinationVaultArn: "dr-vault" }] }] });
        assertViolation(runRule(rule, p, [vault]), /eu-west-1/);
        assertCannotCheck(runRule(rule, p), /could not be checked/);
    });
    it("attacker: a second rule's copy action abroad behind a compliant first rule", () => {
        const p = view(aws.backup.Plan, {
            rules: [
                { ruleName: "a", targetVaultName: "m", copyActions: [{ destinationVaultArn: "arn:aws:backup:ap-northeast-1:1:backup-vault:a" }] },
                { ruleName: "b", targetVaultName: "m", copyActions: [{ destinationVaultArn: "arn:aws:backup:ap-northeast-1:1:backup-vault:a" }, { destinationVaultArn: "arn:aws:backup:us-gov-west-1:1:backup-vault:b" }] },
            ],
        });
        assertViolation(runRule(rule, p), /rules\[1\]\.copyActions\[1\]\.destinationVaultArn\) sends data to us-gov-west-1/);
    });
});

describe("rule data-flows-in-allowed-regions: keys", () => {
    it("fails a replica key whose primary is abroad or which lives abroad, passes a Tokyo primary replicated to Osaka when allowed", () => {
        assertViolation(runRule(rule, view(aws.kms.ReplicaKey, { primaryKeyArn: "arn:aws:kms:us-east-1:1:key/mrk-1" })), /us-east-1/);
        assertViolation(runRule(rule, view(aws.kms.ReplicaKey, { primaryKeyArn: "arn:aws:kms:ap-northeast-1:1:key/mrk-1", region: "eu-west-1" })), /the copy is in eu-west-1/);
        assertCompliant(runRule(rule, view(aws.kms.ReplicaKey, { primaryKeyArn: "arn:aws:kms:ap-northeast-1:1:key/mrk-1", region: "ap-northeast-3" }), [], OSAKA));
    });
});

describe("rule data-flows-in-allowed-regions: subscriptions, targets, streams, logs", () => {
    it("fails an SNS subscription to a queue abroad and to an HTTPS endpoint outside AWS; ignores e-mail", () => {
        assertViolation(runRule(rule, view(aws.sns.TopicSubscription, { topic: "arn:aws:sns:ap-northeast-1:1:t", protocol: "sqs", endpoint: "arn:aws:sqs:us-west-2:1:q" })), /us-west-2/);
        assertViolation(runRule(rule, view(aws.sns.TopicSubscription, { topic: "arn:aws:sns:ap-northeast-1:1:t", protocol: "https", endpoint: "https://hooks.example.com/x" })), /outside AWS to hooks\.example\.com/);
        assertCompliant(runRule(rule, view(aws.sns.TopicSubscription, { topic: "arn:aws:sns:ap-northeast-1:1:t", protocol: "email", endpoint: "ops@example.jp" })));
    });
    it("attacker: a Tokyo subscription to a topic that is abroad (the topic is an end of the flow too)", () => {
        assertViolation(runRule(rule, view(aws.sns.TopicSubscription, { topic: "arn:aws:sns:eu-west-1:1:t", protocol: "sqs", endpoint: "arn:aws:sqs:ap-northeast-1:1:q" })), /subscribed topic .* eu-west-1/);
    });
    it("fails an event target, a schedule target and a dead-letter queue abroad; passes the program's universal scheduler target", () => {
        assertViolation(runRule(rule, view(aws.cloudwatch.EventTarget, { rule: "r", arn: "arn:aws:lambda:us-east-1:1:function:f" })), /event target/);
        assertViolation(runRule(rule, view(aws.sqs.Queue, { redrivePolicy: JSON.stringify({ deadLetterTargetArn: "arn:aws:sqs:us-east-1:1:dlq", maxReceiveCount: 3 }) })), /dead-letter queue .* us-east-1/);
        assertCompliant(runRule(rule, view(aws.sqs.Queue, { redrivePolicy: JSON.stringify({ deadLetterTargetArn: "arn:aws:sqs:ap-northeast-1:1:dlq", maxReceiveCount: 3 }) })));
        const schedule = (arn: string) =>
            view(aws.scheduler.Schedule, { scheduleExpression: "rate(15 minutes)", flexibleTimeWindow: { mode: "OFF" }, target: { arn, roleArn: "arn:aws:iam::1:role/s" } });
        assertCompliant(runRule(rule, schedule("arn:aws:scheduler:::aws-sdk:codebuild:startBuild")));
        assertViolation(runRule(rule, schedule("arn:aws:sqs:ap-southeast-2:1:q")), /ap-southeast-2/);
    });
    it("fails a delivery stream to OpenSearch, Redshift or an HTTP endpoint abroad, read from endpoints", () => {
        const opensearch = view(aws.kinesis.FirehoseDeliveryStream, { destination: "opensearch", opensearchConfiguration: { indexName: "i", roleArn: "r", clusterEndpoint: "https://search-pii-abc.us-east-1.es.amazonaws.com", s3Configuration: { bucketArn: "arn:aws:s3:::b", roleArn: "r" } } });
        assertViolation(runRule(rule, opensearch, [view(aws.s3.Bucket, {}, { outputs: { bucket: "b" } })]), /endpoint search-pii-abc\.us-east-1\.es\.amazonaws\.com/);
        const redshift = view(aws.kinesis.FirehoseDeliveryStream, { destination: "redshift", redshiftConfiguration: { clusterJdbcurl: "jdbc:redshift://c.abc.eu-west-1.redshift.amazonaws.com:5439/db", dataTableName: "t", roleArn: "r", s3Configuration: { bucketArn: "arn:aws:s3:::b", roleArn: "r" } } });
        assertViolation(runRule(rule, redshift, [view(aws.s3.Bucket, {}, { outputs: { bucket: "b" } })]), /eu-west-1/);
        const http = view(aws.kinesis.FirehoseDeliveryStream, { destination: "http_endpoint", httpEndpointConfiguration: { url: "https://collector.vendor.io/ingest", roleArn: "r", s3Configuration: { bucketArn: "arn:aws:s3:::b", roleArn: "r" } } });
        assertViolation(runRule(rule, http, [view(aws.s3.Bucket, {}, { outputs: { bucket: "b" } })]), /outside AWS to collector\.vendor\.io/);
        const tokyo = view(aws.kinesis.FirehoseDeliveryStream, { destination: "extended_s3", extendedS3Configuration: { bucketArn: "arn:aws:s3:::b", roleArn: "r" } });
        assertCompliant(runRule(rule, tokyo, [view(aws.s3.Bucket, {}, { outputs: { bucket: "b" } })]));
    });
    it("fails a log subscription filter, a log destination and a flow log that send logs abroad", () => {
        assertViolation(runRule(rule, view(aws.cloudwatch.LogSubscriptionFilter, { logGroup: "g", filterPattern: "", destinationArn: "arn:aws:logs:us-east-1:2:destination:central" })), /us-east-1/);
        assertViolation(runRule(rule, view(aws.cloudwatch.LogDestination, { roleArn: "r", targetArn: "arn:aws:kinesis:eu-west-2:1:stream/s" })), /eu-west-2/);
        const abroad = view(aws.s3.Bucket, { region: "us-east-2" }, { name: "central-logs", outputs: { bucket: "central-logs", arn: "arn:aws:s3:::central-logs" } });
        assertViolation(runRule(rule, view(aws.ec2.FlowLog, { vpcId: "vpc-1", trafficType: "ALL", logDestinationType: "s3", logDestination: "arn:aws:s3:::central-logs/vpc/" }), [abroad]), /us-east-2/);
        assertCompliant(runRule(rule, view(aws.ec2.FlowLog, { vpcId: "vpc-1", trafficType: "ALL", logDestination: "arn:aws:logs:ap-northeast-1:1:log-group:flow" })));
    });
    it("says a destination unknown during preview could not be checked yet", () => {
        assertCannotCheck(runRule(rule, view(aws.cloudwatch.LogSubscriptionFilter, { logGroup: "g", filterPattern: "", destinationArn: UNKNOWN })), /not known yet/);
    });
    it("keeps a definite violation visible next to an unknown", () => {
        const outcome = runRule(rule, view(aws.lambda.EventSourceMapping, { functionName: "f", eventSourceArn: "arn:aws:sqs:us-east-1:1:q", destinationConfig: { onFailure: { destinationArn: UNKNOWN } } }));
        assertViolation(outcome, /us-east-1/, /\(also\) .*not known yet/);
    });
});

describe("rule data-flows-in-allowed-regions: VPC endpoints", () => {
    it("fails an endpoint to a service in another region (cross-region PrivateLink), passes the program's Tokyo endpoints", () => {
        assertCompliant(runRule(rule, view(aws.ec2.VpcEndpoint, { vpcId: "vpc-1", serviceName: "com.amazonaws.ap-northeast-1.kms", vpcEndpointType: "Interface" })));
        assertViolation(runRule(rule, view(aws.ec2.VpcEndpoint, { vpcId: "vpc-1", serviceName: "com.amazonaws.us-east-1.s3", vpcEndpointType: "Gateway" })), /from the service name/);
        assertViolation(runRule(rule, view(aws.ec2.VpcEndpoint, { vpcId: "vpc-1", serviceName: "com.amazonaws.vpce.eu-west-1.vpce-svc-0123", serviceRegion: "eu-west-1" })), /eu-west-1/);
        assertCannotCheck(runRule(rule, view(aws.ec2.VpcEndpoint, { vpcId: "vpc-1", serviceName: UNKNOWN })));
    });
});

describe("data flow placement", () => {
    const stack = stackOf([]);
    it("reads regions from ARNs and endpoints, treats global services and same-region names as placing no data", () => {
        assert.deepEqual(placeTarget("arn:aws:sqs:us-east-1:1:q", "local", stack), { kind: "region", region: "us-east-1", how: "from the ARN" });
        assert.equal((placeTarget("https://sqs.eu-west-1.amazonaws.com/1/q", "local", stack) as { region: string }).region, "eu-west-1");
        assert.equal((placeTarget("vpc-abc.search-d.ap-northeast-1.es.amazonaws.com", "local", stack) as { region: string }).region, "ap-northeast-1");
        assert.equal(placeTarget("arn:aws:iam::1:role/r", "local", stack).kind, "no-region");
        assert.equal(placeTarget("arn:aws:cloudfront::1:distribution/E1", "local", stack).kind, "no-region");
        assert.equal(placeTarget("pii-replica", "local", stack).kind, "no-region");
        assert.equal(placeTarget("arn:aws:dynamodb::1:table/x", "local", stack).kind, "unknown");
        assert.equal(placeTarget("https://example.com/x", "local", stack).kind, "outside-aws");
    });
    it("attacker: an endpoint that only looks like AWS is outside AWS", () => {
        assert.equal(placeTarget("https://sqs.ap-northeast-1.amazonaws.com.evil.example/q", "local", stack).kind, "outside-aws");
    });
});

describe("data flow catalogue matches @pulumi/aws v7", () => {
    const root = join(__dirname, "../../../node_modules/@pulumi/aws");
    function inputsOf(type: string): Set<string> {
        const [, module, resource] = /^aws:([a-z0-9]+)\/([A-Za-z0-9]+):[A-Za-z0-9]+$/.exec(type) ?? [];
        assert.ok(module, `${type} is not a type token`);
        const file = join(root, module, `${resource}.d.ts`);
        assert.ok(existsSync(file), `${type}: no ${file}`);
        const args = /export interface \w+Args \{([\s\S]*?)\n\}/.exec(readFileSync(file, "utf8"))?.[1] ?? "";
        return new Set([...args.matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]));
    }
    it("names real type tokens and real top-level properties", () => {
        for (const spec of FLOWS) {
            const inputs = inputsOf(spec.type);
            for (const flow of spec.flows) {
                const top = flow.path.split(".")[0].replace(/\[\]|@json/g, "");
                assert.ok(inputs.has(top), `${spec.type}: ${top} is not one of its inputs`);
            }
            for (const member of spec.global?.members ?? []) assert.ok(inputsOf(member.type).has(member.prop), `${member.type}: no ${member.prop}`);
        }
    });
});
