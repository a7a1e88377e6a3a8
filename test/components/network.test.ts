// The Network, Keys, Database and Cache components on their own, under mocks.
import { strict as assert } from "assert";
import { Cache } from "../../components/cache";
import { Database } from "../../components/database";
import { Keys } from "../../components/keys";
import { Network } from "../../components/network";
import { resolve, runUnderMocks } from "../../plan/mocks";
import { PlannedResource } from "../../plan/types";

const ofType = (resources: PlannedResource[], type: string) => resources.filter((r) => r.type === type);

function threeZoneArgs(natGateways: "single" | "perAz") {
    return {
        namePrefix: "appi-test",
        vpcCidr: "10.20.0.0/16",
        availabilityZones: ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"],
        publicSubnetCidrs: ["10.20.10.0/24", "10.20.11.0/24", "10.20.12.0/24"],
        appSubnetCidrs: ["10.20.20.0/24", "10.20.21.0/24", "10.20.22.0/24"],
        dataSubnetCidrs: ["10.20.1.0/24", "10.20.2.0/24", "10.20.3.0/24"],
        natGateways,
        flowLogs: { kmsKeyArn: "arn:aws:kms:ap-northeast-1:123456789012:key/logs", retentionDays: 400 },
    };
}

const threeZoneNetwork = (natGateways: "single" | "perAz") => new Network("net", threeZoneArgs(natGateways));

describe("Network component", function () {
    it("builds one NAT and app route table per zone with perAz, all children parented to the component", async function () {
        const { value: network, resources } = await runUnderMocks(async () => {
            const net = threeZoneNetwork("perAz");
            return { app: await resolve(net.appSubnetIds), data: await resolve(net.dataSubnetIds), urn: await resolve(net.urn) };
        });
        assert.equal(ofType(resources, "aws:ec2/natGateway:NatGateway").length, 3);
        assert.equal(ofType(resources, "aws:ec2/subnet:Subnet").length, 9);
        const custom = resources.filter((r) => r.custom);
        assert.ok(custom.every((r) => r.parent === network.urn), "every child has parent: this");

        // Each app subnet routes through the NAT of its own zone.
        const assoc = ofType(resources, "aws:ec2/routeTableAssociation:RouteTableAssociation");
        const routes = ofType(resources, "aws:ec2/route:Route");
        const nats = ofType(resources, "aws:ec2/natGateway:NatGateway");
        const subnets = ofType(resources, "aws:ec2/subnet:Subnet");
        for (const subnetId of network.app) {
            const table = assoc.find((a) => a.state.subnetId === subnetId)!.state.routeTableId;
            const nat = nats.find((n) => n.id === routes.find((r) => r.state.routeTableId === table)!.state.natGatewayId)!;
            const natZone = subnets.find((s) => s.id === nat.state.subnetId)!.state.availabilityZone;
            assert.equal(natZone, subnets.find((s) => s.id === subnetId)!.state.availabilityZone);
        }
        // The data tier's single table carries no route at all.
        const dataTables = new Set(network.data.map((id) => assoc.find((a) => a.state.subnetId === id)!.state.routeTableId));
        assert.equal(dataTables.size, 1);
        assert.equal(routes.filter((r) => dataTables.has(r.state.routeTableId)).length, 0);
        // The S3 gateway endpoint serves the private tables, never the public one.
        const s3 = ofType(resources, "aws:ec2/vpcEndpoint:VpcEndpoint").find((e) => String(e.state.serviceName).endsWith(".s3"))!;
        assert.equal((s3.state.routeTableIds as string[]).length, 4);
        const flowLogGroup = ofType(resources, "aws:cloudwatch/logGroup:LogGroup")[0];
        assert.equal(flowLogGroup.state.retentionInDays, 400);
    });

    it("shares one NAT gateway across zones with single", async function () {
        const { resources } = await runUnderMocks(async () => resolve(threeZoneNetwork("single").vpcId));
        assert.equal(ofType(resources, "aws:ec2/natGateway:NatGateway").length, 1);
        assert.equal(ofType(resources, "aws:ec2/route:Route").filter((r) => r.state.natGatewayId).length, 1);
    });
});

describe("Keys component", function () {
    it("creates four rotating single-region keys with aliases, and names the PII key users", async function () {
        const { resources } = await runUnderMocks(async () => {
            const keys = new Keys("keys", { namePrefix: "appi-test", accountId: "123456789012", region: "ap-northeast-1", piiKeyUserArnPatterns: ["arn:aws:iam::123456789012:role/appi-test-pii-*"] });
            return resolve(keys.piiKeyArn);
        });
        const keys = ofType(resources, "aws:kms/key:Key");
        assert.equal(keys.length, 4);
        assert.ok(keys.every((k) => k.state.enableKeyRotation === true && k.state.multiRegion === false));
        assert.deepEqual(ofType(resources, "aws:kms/alias:Alias").map((a) => a.state.name).sort(), ["alias/appi-test/data", "alias/appi-test/logs", "alias/appi-test/pii", "alias/appi-test/pii-l3"]);
        const pii = keys.find((k) => k.name === "keys-pii")!;
        const use = JSON.parse(String(pii.state.policy)).Statement.find((s: any) => s.Sid === "NamedApplicationRolesEncryptWithContext");
        assert.deepEqual(use.Condition.ArnLike["aws:PrincipalArn"], ["arn:aws:iam::123456789012:role/appi-test-pii-*"]);
        const logs = keys.find((k) => k.name === "keys-logs")!;
        assert.match(JSON.stringify(JSON.parse(String(logs.state.policy))), /logs\.ap-northeast-1\.amazonaws\.com/);
    });
});

// A small key-policy evaluator for the conditions the PII key policies use (explicit Deny wins).
function keyPolicyAllows(policy: any, action: string, principalArn: string, context: Record<string, string>): boolean {
    const glob = (pattern: string, value: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(value);
    const holds = (condition: Record<string, Record<string, unknown>> = {}) =>
        Object.entries(condition).every(([operator, entries]) =>
            Object.entries(entries).every(([key, expected]) => {
                const values = [expected].flat().map(String);
                if (operator === "ArnLike") return values.some((v) => glob(v, key === "aws:PrincipalArn" ? principalArn : context[key] ?? ""));
                if (operator === "Null") return (context[key] === undefined) === (values[0] === "true");
                if (operator === "ForAllValues:StringEquals") return (context[key] ?? "").split(",").filter(Boolean).every((v) => values.includes(v));
                throw new Error(`unsupported operator ${operator}`);
            }),
        );
    const hits = (effect: string) =>
        policy.Statement.some((st: any) => st.Effect === effect && [st.Action].flat().some((a: string) => glob(a, action)) && holds(st.Condition));
    return !hits("Deny") && hits("Allow");
}

describe("PII key policy", function () {
    it("lets the named roles decrypt only with the users' encryption context, and the sign-up roles never", async function () {
        const prefix = "arn:aws:iam::123456789012:role/appi-test";
        const { resources } = await runUnderMocks(async () => {
            const keys = new Keys("keys", {
                namePrefix: "appi-test", accountId: "123456789012", region: "ap-northeast-1",
                piiKeyUserArnPatterns: [`${prefix}-pii-*`],
                piiKeyEncryptOnlyArnPatterns: [`${prefix}-pii-pre-signup`, `${prefix}-pii-post-confirmation`],
            });
            return resolve(keys.piiKeyArn);
        });
        for (const name of ["keys-pii", "keys-pii-l3"]) {
            const policy = JSON.parse(String(ofType(resources, "aws:kms/key:Key").find((k) => k.name === name)!.state.policy));
            const context = { "kms:EncryptionContextKeys": "table,column,user_id", "kms:EncryptionContext:table": "users", "kms:EncryptionContext:user_id": "u-1" };
            // Passing: a reader role with the context; the sign-up role may generate data keys.
            assert.equal(keyPolicyAllows(policy, "kms:Decrypt", `${prefix}-pii-api`, context), true, name);
            assert.equal(keyPolicyAllows(policy, "kms:GenerateDataKey", `${prefix}-pii-post-confirmation`, context), true, name);
            // Failing: the sign-up role decrypting, anyone without the context, a role outside the pattern.
            assert.equal(keyPolicyAllows(policy, "kms:Decrypt", `${prefix}-pii-post-confirmation`, context), false, name);
            assert.equal(keyPolicyAllows(policy, "kms:ReEncryptFrom", `${prefix}-pii-pre-signup`, context), false, name);
            assert.equal(keyPolicyAllows(policy, "kms:Decrypt", `${prefix}-pii-api`, {}), false, `${name}: no context`);
            assert.equal(keyPolicyAllows(policy, "kms:Decrypt", `${prefix}-pii-api`, { ...context, "kms:EncryptionContextKeys": "table,column,user_id,purpose" }), false, `${name}: foreign context key`);
            assert.equal(keyPolicyAllows(policy, "kms:Decrypt", `${prefix}-api`, context), false, `${name}: not a PII role`);
        }
    });
});

describe("Database and Cache components", function () {
    const common = {
        namePrefix: "appi-test",
        vpcId: "vpc-1",
        dataSubnetIds: ["subnet-d1", "subnet-d2"],
        storageKeyArn: "arn:aws:kms:ap-northeast-1:123456789012:key/data",
        logsKeyArn: "arn:aws:kms:ap-northeast-1:123456789012:key/logs",
        logRetentionDays: 365,
    };

    it("pre-creates encrypted log groups under the names RDS exports to", async function () {
        const { resources } = await runUnderMocks(async () => {
            const db = new Database("db", {
                ...common,
                engine: "postgres",
                engineVersion: "16.6",
                instanceClass: "db.t4g.medium",
                multiAz: true,
                allocatedStorageGb: 20,
                maxAllocatedStorageGb: 100,
                backupRetentionDays: 14,
                dbName: "pii_db",
                masterUsername: "appi_admin",
                auroraInstanceCount: 2,
                minTlsVersion: "TLSv1.3",
                deletionProtection: true,
                proxySubnetIds: ["subnet-a1", "subnet-a2"],
                clientSecurityGroupIds: ["sg-api"],
                iamDatabaseUsers: ["cognito_trigger", "migrator"],
            });
            return resolve(db.proxyResourceId);
        });
        const instance = ofType(resources, "aws:rds/instance:Instance")[0];
        const names = ofType(resources, "aws:cloudwatch/logGroup:LogGroup").map((g) => g.state.name).sort();
        assert.deepEqual(names, ["/aws/rds/instance/appi-test-postgres/postgresql", "/aws/rds/instance/appi-test-postgres/upgrade", "/aws/rds/proxy/appi-test-postgres-proxy"]);
        assert.deepEqual(instance.state.enabledCloudwatchLogsExports, ["postgresql", "upgrade"]);
        assert.equal(instance.state.iamDatabaseAuthenticationEnabled, true);
        assert.equal(instance.state.manageMasterUserPassword, true);
        // The server log never holds a value a user typed: no bind parameters (statement, slow-statement or
        // error lines), no statement text or DETAIL on errors (a duplicate key's DETAIL shows the value).
        const params = Object.fromEntries((ofType(resources, "aws:rds/parameterGroup:ParameterGroup")[0].state.parameters as any[]).map((p) => [p.name, p.value]));
        for (const [name, value] of Object.entries({
            log_parameter_max_length: "0", log_parameter_max_length_on_error: "0", "pgaudit.log_parameter": "0",
            log_statement: "none", log_min_error_statement: "panic", log_error_verbosity: "terse", log_min_duration_statement: "1000",
        })) {
            assert.equal(params[name], value, name);
        }
        // The proxy may connect only as the named application users, on this database only.
        const proxyPolicy = JSON.parse(String(ofType(resources, "aws:iam/rolePolicy:RolePolicy")[0].state.policy));
        assert.deepEqual(proxyPolicy.Statement[0].Resource, [
            `arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:${instance.state.resourceId}/cognito_trigger`,
            `arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:${instance.state.resourceId}/migrator`,
        ]);
        // The database admits the API tier and the proxy; the proxy admits the API tier (app workloads add their own rule).
        const rules = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        const dbGroup = (instance.state.vpcSecurityGroupIds as string[])[0];
        const proxyGroup = (ofType(resources, "aws:rds/proxy:Proxy")[0].state.vpcSecurityGroupIds as string[])[0];
        const sources = (group: string) => new Set(rules.filter((r) => r.state.securityGroupId === group).map((r) => r.state.referencedSecurityGroupId));
        assert.deepEqual(sources(dbGroup), new Set(["sg-api", proxyGroup]));
        assert.deepEqual(sources(proxyGroup), new Set(["sg-api"]));
    });

    it("refuse log retention below the audit-trail minimum, like every component that owns log groups", async function () {
        await assert.rejects(
            runUnderMocks(() => new Cache("cache", { ...common, logRetentionDays: 90, nodeType: "cache.t4g.small", replicaCount: 0, snapshotRetentionDays: 14, clientSecurityGroupIds: ["sg-api"] })),
            /logRetentionDays: 90 is below the audit-trail minimum of 365 days/,
        );
        await assert.rejects(
            runUnderMocks(() => new Network("net", { ...threeZoneArgs("single"), flowLogs: { kmsKeyArn: "arn:aws:kms:ap-northeast-1:123456789012:key/logs", retentionDays: 30 } })),
            /flowLogs\.retentionDays: 30 is below the audit-trail minimum/,
        );
    });

    it("generates the Redis AUTH token as a secret when none is configured", async function () {
        const { resources } = await runUnderMocks(async () => {
            const cache = new Cache("cache", { ...common, nodeType: "cache.t4g.small", replicaCount: 0, snapshotRetentionDays: 14, clientSecurityGroupIds: ["sg-api"] });
            return resolve(cache.primaryEndpoint);
        });
        const group = ofType(resources, "aws:elasticache/replicationGroup:ReplicationGroup")[0];
        assert.equal(ofType(resources, "random:index/randomPassword:RandomPassword").length, 1);
        assert.equal((group.inputs.authToken as any)["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270");
        assert.equal(group.state.automaticFailoverEnabled, false, "no failover without a replica");
        assert.equal(group.state.numCacheClusters, 1);
    });
});
