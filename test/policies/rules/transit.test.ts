// store-tls-in-transit: every store endpoint forces TLS at the configured minimum.
import * as aws from "@pulumi/aws";
import { storeTlsInTransit as rule } from "../../../policies/rules/transit/store-tls-in-transit";
import { createResourceValidationArgs as view, runRule, secret, UNKNOWN } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";

const TLS12 = { minTlsVersion: "TLSv1.2" };
const mysqlGroup = (parameters: { name: string; value: string }[]) => view(aws.rds.ParameterGroup, { family: "mysql8.0", parameters }, { name: "mysql-tls", outputs: { name: "mysql-tls" } });
const mysql = (props: Record<string, unknown> = {}) => view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "mysql", parameterGroupName: "mysql-tls", ...props }, { name: "orders" });

describe("rule store-tls-in-transit: RDS MySQL / MariaDB / SQL Server", () => {
    it("fails MySQL on the default parameter group (require_secure_transport is off)", () => {
        assertViolation(runRule(rule, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "mysql" })), /require_secure_transport=1.*default group/);
        assertViolation(runRule(rule, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "mariadb", parameterGroupName: "default.mariadb10.11" })), /require_secure_transport/);
    });
    it("passes require_secure_transport=1 with tls_version at the minimum; fails TLS 1.2 still accepted under a TLS 1.3 minimum", () => {
        assertCompliant(runRule(rule, mysql(), [mysqlGroup([{ name: "require_secure_transport", value: "1" }, { name: "tls_version", value: "TLSv1.3" }])]));
        const weak = mysqlGroup([{ name: "require_secure_transport", value: "ON" }]);
        assertViolation(runRule(rule, mysql(), [weak]), /accepts TLSv1\.2 \(tls_version unset\)/);
        assertCompliant(runRule(rule, mysql(), [weak], TLS12));
    });
    it("attacker: require_secure_transport=0, or TLS 1.0 added back to tls_version", () => {
        assertViolation(runRule(rule, mysql(), [mysqlGroup([{ name: "require_secure_transport", value: "0" }, { name: "tls_version", value: "TLSv1.3" }])]), /it is 0/);
        assertViolation(runRule(rule, mysql(), [mysqlGroup([{ name: "require_secure_transport", value: "1" }, { name: "tls_version", value: "TLSv1,TLSv1.3" }])], TLS12), /accepts TLSv1\b/);
    });
    it("checks an Aurora MySQL cluster's cluster parameter group", () => {
        const group = view(aws.rds.ClusterParameterGroup, { family: "aurora-mysql8.0", parameters: [{ name: "require_secure_transport", value: "ON" }, { name: "tls_version", value: "TLSv1.3" }] }, { name: "aurora-tls", outputs: { name: "aurora-tls" } });
        assertCompliant(runRule(rule, view(aws.rds.Cluster, { engine: "aurora-mysql", dbClusterParameterGroupName: "aurora-tls" }), [group]));
        assertViolation(runRule(rule, view(aws.rds.Cluster, { engine: "aurora-mysql" })), /require_secure_transport/);
    });
    it("SQL Server: rds.force_ssl=1 and TLS 1.0/1.1 disabled", () => {
        const group = (parameters: { name: string; value: string }[]) => view(aws.rds.ParameterGroup, { family: "sqlserver-se-16.0", parameters }, { name: "mssql", outputs: { name: "mssql" } });
        const db = view(aws.rds.Instance, { instanceClass: "db.m6i.large", engine: "sqlserver-se", parameterGroupName: "mssql" });
        assertCompliant(runRule(rule, db, [group([{ name: "rds.force_ssl", value: "1" }, { name: "rds.tls10", value: "disabled" }, { name: "rds.tls11", value: "disabled" }])]));
        assertViolation(runRule(rule, db, [group([{ name: "rds.force_ssl", value: "1" }])]), /rds\.tls10, rds\.tls11/);
        assertViolation(runRule(rule, db, [group([])]), /rds\.force_ssl=1/);
    });
    it("leaves PostgreSQL to rds-*-postgres-tls, reports Db2 as not checked, and skips stores tagged as holding no personal data", () => {
        assertNotApplicable(runRule(rule, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "postgres" })));
        assertCannotCheck(runRule(rule, view(aws.rds.Instance, { instanceClass: "db.m6i.large", engine: "db2-se", parameterGroupName: "db2" }), [view(aws.rds.ParameterGroup, { family: "db2-se-11.5" }, { name: "db2", outputs: { name: "db2" } })]), /Db2/);
        assertNotApplicable(runRule(rule, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "mysql", tags: { "appi:personal-data": "none" } })));
    });
    it("cannot check a parameter group outside the stack or unknown during preview; reads a secret engine", () => {
        assertCannotCheck(runRule(rule, mysql()), /not in this stack/);
        assertCannotCheck(runRule(rule, mysql({ parameterGroupName: UNKNOWN })));
        assertViolation(runRule(rule, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: secret("mysql") })), /require_secure_transport/);
    });
});

describe("rule store-tls-in-transit: DocumentDB, Redshift, MemoryDB, ElastiCache clusters, MSK, OpenSearch", () => {
    it("DocumentDB: the default group's tls=enabled accepts TLS 1.0; tls1.3+ passes", () => {
        assertViolation(runRule(rule, view(aws.docdb.Cluster, {})), /tls=enabled/);
        const group = view(aws.docdb.ClusterParameterGroup, { family: "docdb5.0", parameters: [{ name: "tls", value: "tls1.3+" }] }, { name: "docdb-tls", outputs: { name: "docdb-tls" } });
        assertCompliant(runRule(rule, view(aws.docdb.Cluster, { dbClusterParameterGroupName: "docdb-tls" }), [group]));
        const off = view(aws.docdb.ClusterParameterGroup, { family: "docdb5.0", parameters: [{ name: "tls", value: "disabled" }] }, { name: "docdb-tls", outputs: { name: "docdb-tls" } });
        assertViolation(runRule(rule, view(aws.docdb.Cluster, { dbClusterParameterGroupName: "docdb-tls" }), [off]), /without TLS/);
    });
    it("Redshift needs require_ssl", () => {
        assertViolation(runRule(rule, view(aws.redshift.Cluster, { clusterIdentifier: "dw", nodeType: "ra3.large" })), /require_ssl/);
        const group = view(aws.redshift.ParameterGroup, { family: "redshift-2.0", parameters: [{ name: "require_ssl", value: "true" }] }, { name: "dw-tls", outputs: { name: "dw-tls" } });
        assertCompliant(runRule(rule, view(aws.redshift.Cluster, { clusterIdentifier: "dw", nodeType: "ra3.large", clusterParameterGroupName: "dw-tls" }), [group]));
    });
    it("MemoryDB keeps TLS by default and fails tlsEnabled: false", () => {
        assertCompliant(runRule(rule, view(aws.memorydb.Cluster, { aclName: "open-access", nodeType: "db.t4g.small" })));
        assertViolation(runRule(rule, view(aws.memorydb.Cluster, { aclName: "a", nodeType: "db.t4g.small", tlsEnabled: false })), /tlsEnabled is false/);
    });
    it("a standalone ElastiCache cluster needs transit encryption; a replication group member is its group's business", () => {
        assertViolation(runRule(rule, view(aws.elasticache.Cluster, { engine: "memcached", nodeType: "cache.t4g.micro", numCacheNodes: 1 })), /transitEncryptionEnabled/);
        assertNotApplicable(runRule(rule, view(aws.elasticache.Cluster, { replicationGroupId: "rg" })));
    });
    it("MSK: fails TLS_PLAINTEXT between clients and brokers", () => {
        const msk = (clientBroker: string) => view(aws.msk.Cluster, { clusterName: "c", kafkaVersion: "3.6.0", numberOfBrokerNodes: 2, brokerNodeGroupInfo: { instanceType: "kafka.m7g.large", clientSubnets: ["a", "b"], securityGroups: ["sg"] }, encryptionInfo: { encryptionInTransit: { clientBroker } } });
        assertViolation(runRule(rule, msk("TLS_PLAINTEXT")), /clientBroker/);
        assertCompliant(runRule(rule, msk("TLS")));
    });
    it("OpenSearch: enforceHttps with a TLS 1.2 floor policy, also when the block is list-shaped", () => {
        assertViolation(runRule(rule, view(aws.opensearch.Domain, {})), /enforceHttps is unset.*|tlsSecurityPolicy is unset/);
        assertViolation(runRule(rule, view(aws.opensearch.Domain, { domainEndpointOptions: { enforceHttps: true, tlsSecurityPolicy: "Policy-Min-TLS-1-0-2019-07" } })), /TLS 1\.2 floor/);
        assertCompliant(runRule(rule, view(aws.opensearch.Domain, { domainEndpointOptions: { enforceHttps: true, tlsSecurityPolicy: "Policy-Min-TLS-1-2-PFS-2023-10" } })));
        const listShaped = view(aws.opensearch.Domain, {}, { outputs: { domainEndpointOptions: [{ enforceHttps: false, tlsSecurityPolicy: "Policy-Min-TLS-1-2-PFS-2023-10" }] } });
        assertViolation(runRule(rule, listShaped), /enforceHttps is false/);
        assertCannotCheck(runRule(rule, view(aws.opensearch.Domain, { domainEndpointOptions: UNKNOWN })));
    });
});

describe("rule store-tls-in-transit: S3 buckets", () => {
    const deny = { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::pii", "arn:aws:s3:::pii/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } };
    const bucket = () => view(aws.s3.Bucket, { bucket: "pii" }, { name: "pii", outputs: { id: "pii", arn: "arn:aws:s3:::pii" } });
    const policy = (...Statement: object[]) => view(aws.s3.BucketPolicy, { bucket: "pii", policy: JSON.stringify({ Version: "2012-10-17", Statement }) });
    it("passes a bucket whose separate bucket policy denies plain HTTP (the program's artifact bucket), fails one without", () => {
        assertCompliant(runRule(rule, bucket(), [policy(deny)]));
        assertViolation(runRule(rule, bucket()), /answers plain HTTP/);
        assertCompliant(runRule(rule, view(aws.s3.BucketV2, { policy: JSON.stringify({ Version: "2012-10-17", Statement: [deny] }) })));
    });
    it("attacker: a deny that only covers GetObject, only one principal, or says SecureTransport true", () => {
        assertViolation(runRule(rule, bucket(), [policy({ ...deny, Action: "s3:GetObject" })]), /plain HTTP/);
        assertViolation(runRule(rule, bucket(), [policy({ ...deny, Principal: { AWS: "arn:aws:iam::1:role/x" } })]), /plain HTTP/);
        assertViolation(runRule(rule, bucket(), [policy({ ...deny, Effect: "Allow" })]), /plain HTTP/);
        assertViolation(runRule(rule, bucket(), [policy({ ...deny, Condition: { Bool: { "aws:SecureTransport": "true" } } })]), /plain HTTP/);
    });
    it("cannot check a bucket policy unknown during preview", () => {
        assertCannotCheck(runRule(rule, bucket(), [view(aws.s3.BucketPolicy, { bucket: "pii", policy: UNKNOWN })]));
        assertCannotCheck(runRule(rule, bucket(), [view(aws.s3.BucketPolicy, { bucket: UNKNOWN, policy: "{}" })]), /not known yet/);
    });
});

describe("rule store-tls-in-transit: Oracle through its option group's SSL option", () => {
    const oracle = (optionGroupName?: string) => view(aws.rds.Instance, { instanceClass: "db.m6i.large", engine: "oracle-ee", ...(optionGroupName ? { optionGroupName } : {}) }, { name: "ledger" });
    type Setting = { name: string; value: string };
    const group = (options: { optionName: string; port?: number; optionSettings?: Setting[] }[]) => view(aws.rds.OptionGroup, { engineName: "oracle-ee", majorEngineVersion: "19", options }, { name: "ora-tls", outputs: { name: "ora-tls" } });
    it("passes the SSL option with SQLNET.SSL_VERSION 1.2, even when minTlsVersion asks for 1.3 (Oracle's highest)", () => {
        const ok = group([{ optionName: "SSL", port: 2484, optionSettings: [{ name: "SQLNET.SSL_VERSION", value: "1.2" }, { name: "SQLNET.CIPHER_SUITE", value: "SSL_RSA_WITH_AES_256_GCM_SHA384" }] }]);
        assertCompliant(runRule(rule, oracle("ora-tls"), [ok]));
    });
    it("fails the default option group, a group without the SSL option, and an SSL option that still allows TLS 1.0", () => {
        assertViolation(runRule(rule, oracle()), /default option group has no SSL option/);
        assertViolation(runRule(rule, oracle("default:oracle-ee-19")), /default option group/);
        assertViolation(runRule(rule, oracle("ora-tls"), [group([{ optionName: "STATSPACK" }])]), /has no SSL option/);
        assertViolation(runRule(rule, oracle("ora-tls"), [group([{ optionName: "SSL", port: 2484, optionSettings: [{ name: "SQLNET.SSL_VERSION", value: "1.2 or 1.0" }] }])]), /SQLNET.SSL_VERSION to "1.2 or 1.0"/);
        assertViolation(runRule(rule, oracle("ora-tls"), [group([{ optionName: "SSL", port: 2484 }])]), /TLS 1.0 stays allowed/);
    });
    it("cannot check an option group outside the stack", () => {
        assertCannotCheck(runRule(rule, oracle("elsewhere")), /option group elsewhere is not in this stack/);
    });
});
