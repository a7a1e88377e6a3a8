// The architecture, asserted on what the program would create for each stack under mocks.
import { strict as assert } from "assert";
import { ConfigError } from "../../components/config";
import { planStack } from "../../plan/run";
import { PlannedResource, PlannedStack } from "../../plan/types";

class Plan {
    constructor(readonly stack: PlannedStack) {}
    ofType(type: string): PlannedResource[] {
        return this.stack.resources.filter((r) => r.type === type);
    }
    one(type: string): PlannedResource {
        const found = this.ofType(type);
        assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
        return found[0];
    }
    byId(id: unknown): PlannedResource | undefined {
        return this.stack.resources.find((r) => r.custom && r.id === id);
    }
    subnetIdsOfTier(tier: string): string[] {
        return this.ofType("aws:ec2/subnet:Subnet")
            .filter((s) => (s.state.tags as any)?.Tier === tier)
            .map((s) => s.id);
    }
    /** Route targets of the table a subnet is associated with. */
    routesOfSubnet(subnetId: string): PlannedResource[] {
        const assoc = this.ofType("aws:ec2/routeTableAssociation:RouteTableAssociation").filter((a) => a.state.subnetId === subnetId);
        assert.equal(assoc.length, 1, `subnet ${subnetId} should have exactly one route table`);
        return this.ofType("aws:ec2/route:Route").filter((r) => r.state.routeTableId === assoc[0].state.routeTableId);
    }
    keyArns(): Set<unknown> {
        return new Set(this.ofType("aws:kms/key:Key").map((k) => k.state.arn));
    }
    ingressRulesOf(groupId: unknown): PlannedResource[] {
        return this.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.state.securityGroupId === groupId);
    }
    groupTagged(name: string): PlannedResource {
        const found = this.ofType("aws:ec2/securityGroup:SecurityGroup").filter((g) => (g.state.tags as any)?.Name === name);
        assert.equal(found.length, 1, `security group ${name}`);
        return found[0];
    }
}

describe("Pulumi program (planned under mocks)", function () {
    const plans: Record<string, Plan> = {};

    before(async function () {
        for (const stack of ["dev", "prod"]) plans[stack] = new Plan(await planStack(stack));
    });

    for (const stack of ["dev", "prod"]) {
        describe(`stack ${stack}`, function () {
            const plan = () => plans[stack];
            const migrationProject = () => plan().ofType("aws:codebuild/project:Project").find((p) => String(p.state.name).endsWith("-db-migrate"))!;

            it("has three tiers of subnets in at least two availability zones", function () {
                for (const tier of ["public", "app", "data"]) {
                    const subnets = plan().ofType("aws:ec2/subnet:Subnet").filter((s) => (s.state.tags as any)?.Tier === tier);
                    assert.ok(subnets.length >= 2, `${tier} tier has ${subnets.length} subnets`);
                    assert.ok(new Set(subnets.map((s) => s.state.availabilityZone)).size >= 2, `${tier} tier spans two zones`);
                }
                const cidrs = plan().ofType("aws:ec2/subnet:Subnet").map((s) => s.state.cidrBlock);
                assert.ok(cidrs.includes("10.0.10.0/24"), "the seed's public API subnet");
                assert.ok(cidrs.includes("10.0.1.0/24"), "the seed's private data subnet");
            });

            it("gives the isolated data tier no route to an internet or NAT gateway", function () {
                for (const subnetId of plan().subnetIdsOfTier("data")) {
                    const routes = plan().routesOfSubnet(subnetId);
                    assert.deepEqual(
                        routes.map((r) => r.name),
                        [],
                        `data subnet ${subnetId} has routes ${routes.map((r) => r.name).join(", ")}`,
                    );
                }
                // And the public and app tiers do route out, through the right gateway.
                for (const subnetId of plan().subnetIdsOfTier("public")) {
                    const targets = plan().routesOfSubnet(subnetId).map((r) => plan().byId(r.state.gatewayId)?.type);
                    assert.deepEqual(targets, ["aws:ec2/internetGateway:InternetGateway"]);
                }
                for (const subnetId of plan().subnetIdsOfTier("app")) {
                    const routes = plan().routesOfSubnet(subnetId);
                    assert.equal(routes.length, 1);
                    assert.equal(plan().byId(routes[0].state.natGatewayId)?.type, "aws:ec2/natGateway:NatGateway");
                }
                assert.ok(plan().ofType("aws:ec2/subnet:Subnet").every((s) => s.state.mapPublicIpOnLaunch === false), "no subnet hands out public IPs");
            });

            it("places the database and the cache only in isolated subnets", function () {
                const data = new Set(plan().subnetIdsOfTier("data"));
                for (const type of ["aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup"]) {
                    const group = plan().one(type);
                    const ids = group.state.subnetIds as string[];
                    assert.ok(ids.length >= 2 && ids.every((id) => data.has(id)), `${type} uses ${ids.join(", ")}`);
                }
                const db = plan().one("aws:rds/instance:Instance");
                assert.equal(db.state.dbSubnetGroupName, plan().one("aws:rds/subnetGroup:SubnetGroup").state.name);
                assert.equal(db.state.publiclyAccessible, false);
                const redis = plan().one("aws:elasticache/replicationGroup:ReplicationGroup");
                assert.equal(redis.state.subnetGroupName, plan().one("aws:elasticache/subnetGroup:SubnetGroup").state.name);
            });

            it("encrypts every store with a customer-managed key created in this stack", function () {
                const keys = plan().keyArns();
                const db = plan().one("aws:rds/instance:Instance");
                assert.equal(db.state.storageEncrypted, true);
                for (const prop of ["kmsKeyId", "masterUserSecretKmsKeyId", "performanceInsightsKmsKeyId"]) assert.ok(keys.has(db.state[prop]), `RDS ${prop}`);
                const redis = plan().one("aws:elasticache/replicationGroup:ReplicationGroup");
                assert.equal(redis.state.atRestEncryptionEnabled, true);
                assert.ok(keys.has(redis.state.kmsKeyId), "Redis at rest");
                assert.ok(keys.has(plan().one("aws:sns/topic:Topic").state.kmsMasterKeyId), "SNS topic");
                const root = (plan().one("aws:ec2/instance:Instance").state.rootBlockDevice as any) ?? {};
                assert.equal(root.encrypted, true);
                assert.ok(keys.has(root.kmsKeyId), "API root volume");
                for (const group of plan().ofType("aws:cloudwatch/logGroup:LogGroup")) assert.ok(keys.has(group.state.kmsKeyId), `log group ${group.state.name}`);
            });

            it("forces TLS 1.3 on PostgreSQL and TLS on Redis", function () {
                const params = plan().one("aws:rds/parameterGroup:ParameterGroup");
                const values = Object.fromEntries((params.state.parameters as any[]).map((p) => [p.name, p.value]));
                assert.equal(values["rds.force_ssl"], "1");
                assert.equal(values["ssl_min_protocol_version"], "TLSv1.3");
                assert.match(values["shared_preload_libraries"], /pgaudit/);
                assert.match(String(params.state.name), /\S/, "the parameter group has a name");
                assert.equal(plan().one("aws:rds/instance:Instance").state.parameterGroupName, params.state.name);
                const redis = plan().one("aws:elasticache/replicationGroup:ReplicationGroup");
                assert.equal(redis.state.transitEncryptionEnabled, true);
                assert.equal(redis.state.transitEncryptionMode, "required");
                const proxy = plan().one("aws:rds/proxy:Proxy");
                assert.equal(proxy.state.requireTls, true);
                assert.equal(proxy.state.defaultAuthScheme, "IAM_AUTH", "end-to-end IAM auth: no shared password behind the proxy");
            });

            it("keeps 14 days of database and cache backups", function () {
                assert.equal(plan().one("aws:rds/instance:Instance").state.backupRetentionPeriod, 14);
                assert.equal(plan().one("aws:elasticache/replicationGroup:ReplicationGroup").state.snapshotRetentionLimit, 14);
            });

            it("admits only the API tier (and the proxy) to 5432 and only the API tier to 6379", function () {
                const apiGroup = plan().groupTagged(`appi-${stack}-api`);
                const proxyGroup = plan().groupTagged(`appi-${stack}-postgres-proxy`);
                const dbGroupId = (plan().one("aws:rds/instance:Instance").state.vpcSecurityGroupIds as string[])[0];
                const redisGroupId = (plan().one("aws:elasticache/replicationGroup:ReplicationGroup").state.securityGroupIds as string[])[0];

                // The monthly restore drill reaches the instance and its temporary copies directly (IAM auth as restore_drill).
                const drillGroup = plan().groupTagged(`appi-${stack}-restore-drill`);
                const dbSources = plan().ingressRulesOf(dbGroupId).map((r) => r.state.referencedSecurityGroupId);
                assert.deepEqual(new Set(dbSources), new Set([apiGroup.id, proxyGroup.id, drillGroup.id]));
                // Redis: the API tier, and the erasure worker (it removes a deleted user's cached entries).
                const erasureGroup = plan().groupTagged(`appi-${stack}-erasure-worker`);
                assert.deepEqual(new Set(plan().ingressRulesOf(redisGroupId).map((r) => r.state.referencedSecurityGroupId)), new Set([apiGroup.id, erasureGroup.id]));
                for (const rule of [...plan().ingressRulesOf(dbGroupId), ...plan().ingressRulesOf(redisGroupId)]) {
                    assert.equal(rule.state.cidrIpv4, undefined, "no CIDR ingress to a data store");
                    assert.equal(rule.state.cidrIpv6, undefined, "no CIDR ingress to a data store");
                }
                for (const id of [dbGroupId, redisGroupId]) {
                    const group = plan().byId(id)!;
                    assert.equal((group.state.ingress as unknown[] | undefined)?.length ?? 0, 0, "no inline ingress on data-store groups");
                }
                // The API tier itself is open on 443 and 4000 only.
                const apiPorts = plan().ingressRulesOf(apiGroup.id).map((r) => r.state.fromPort);
                assert.deepEqual([...new Set(apiPorts)].sort((a, b) => Number(a) - Number(b)), [443, 4000]);
            });

            it("closes the default security group and requires IMDSv2 on the API host", function () {
                const closed = plan().one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
                assert.deepEqual([closed.state.ingress, closed.state.egress], [[], []]);
                assert.equal((plan().one("aws:ec2/instance:Instance").state.metadataOptions as any).httpTokens, "required");
                assert.equal(plan().one("aws:ec2/instance:Instance").state.associatePublicIpAddress, false);
            });

            it("rotates every KMS key and keeps it single-region", function () {
                const keys = plan().ofType("aws:kms/key:Key");
                assert.equal(keys.length, 4);
                for (const key of keys) {
                    assert.equal(key.state.enableKeyRotation, true, key.name);
                    assert.equal(key.state.multiRegion, false, key.name);
                    assert.ok(JSON.parse(String(key.state.policy)).Statement.length >= 2, `${key.name} has a key policy naming its users`);
                }
            });

            it("keeps every log group at least 365 days and logs VPC flows", function () {
                const groups = plan().ofType("aws:cloudwatch/logGroup:LogGroup");
                assert.ok(groups.length >= 5);
                for (const group of groups) assert.ok(Number(group.state.retentionInDays) >= 365, `${group.state.name}: ${group.state.retentionInDays}`);
                const flowLog = plan().one("aws:ec2/flowLog:FlowLog");
                assert.equal(flowLog.state.trafficType, "ALL");
                assert.equal(flowLog.state.vpcId, plan().one("aws:ec2/vpc:Vpc").id);
            });

            it("reaches AWS from private tiers through VPC endpoints", function () {
                const services = plan()
                    .ofType("aws:ec2/vpcEndpoint:VpcEndpoint")
                    .map((e) => String(e.state.serviceName).split(".").pop());
                assert.deepEqual(services.sort(), ["kms", "logs", "s3", "secretsmanager", "sts"]);
            });

            it("creates every AWS resource through the explicit Tokyo provider", function () {
                const provider = plan().one("pulumi:providers:aws");
                assert.equal(provider.state.region, "ap-northeast-1");
                const awsResources = plan().stack.resources.filter((r) => r.custom && r.type.startsWith("aws:"));
                const strays = awsResources.filter((r) => !r.provider?.startsWith(`${provider.urn}::`));
                assert.deepEqual(strays.map((r) => r.urn), []);
            });

            it("runs the Cognito triggers in the app tier, wired to the user pool", function () {
                const app = new Set(plan().subnetIdsOfTier("app"));
                const all = plan().ofType("aws:lambda/function:Function");
                const functions = all.filter((fn) => !/(erasure-worker|-compliance-jobs|-identity-secret-rotation)$/.test(String(fn.state.name)));
                assert.equal(functions.length, 3);
                const worker = all.find((fn) => String(fn.state.name).endsWith("erasure-worker"))!;
                assert.ok(((worker.state.vpcConfig as any).subnetIds as string[]).every((id) => app.has(id)), "the erasure worker runs in the app tier");
                const rotation = all.find((fn) => String(fn.state.name).endsWith("-identity-secret-rotation"))!;
                assert.ok(((rotation.state.vpcConfig as any).subnetIds as string[]).every((id) => app.has(id)), "the identity-secret rotation runs in the app tier");
                for (const fn of functions) {
                    const subnets = (fn.state.vpcConfig as any).subnetIds as string[];
                    assert.ok(subnets.length >= 2 && subnets.every((id) => app.has(id)), `${fn.name} subnets ${subnets}`);
                    assert.equal(fn.state.runtime, "nodejs22.x");
                    assert.ok(Number(fn.state.timeout) <= 5, "Cognito waits 5 s for a trigger");
                }
                const triggers = plan().one("aws:cognito/userPool:UserPool").state.lambdaConfig as any;
                const arnOf = (suffix: string) => functions.find((f) => String(f.state.name).endsWith(suffix))!.state.arn;
                assert.equal(triggers.preSignUp, arnOf("pre-signup"));
                assert.equal(triggers.postConfirmation, arnOf("post-confirmation"));
                // Every token issuance (sign-in, refresh) records the user's activity (migrations/0025).
                assert.equal(triggers.preTokenGeneration, arnOf("pre-token-generation"));
                // Consent reaches PostConfirmation through attributes the pool defines (ClientMetadata is not kept).
                const schema = (plan().one("aws:cognito/userPool:UserPool").state.schemas as any[]).map((attr) => attr.name);
                assert.deepEqual(schema.sort(), ["consents", "notice_version"]);
                for (const codebuild of plan().ofType("aws:codebuild/project:Project")) {
                    assert.ok(((codebuild.state.vpcConfig as any).subnets as string[]).every((id) => app.has(id)), String(codebuild.state.name));
                }
            });

            it("runs the retention job every 15 minutes on the migration project, as its database user", function () {
                const codebuild = migrationProject();
                const schedules = plan().ofType("aws:scheduler/schedule:Schedule").filter((s) => String(s.state.name).endsWith("-db-retention"));
                assert.equal(schedules.length, 1);
                const schedule = schedules[0];
                assert.equal(schedule.state.scheduleExpression, "rate(15 minutes)");
                const input = JSON.parse(String((schedule.state.target as any).input));
                assert.equal(input.ProjectName, codebuild.state.name);
                assert.deepEqual(input.EnvironmentVariablesOverride, [{ Name: "DB_TASK", Value: "db:retention", Type: "PLAINTEXT" }]);
                const vars = (codebuild.state.environment as any).environmentVariables as Array<{ name: string; value: string }>;
                assert.equal(vars.find((v) => v.name === "DB_USER")!.value, "migrator");
                assert.equal(schedule.provider, codebuild.provider);
                assert.ok(plan().stack.outputs.retentionSchedule, "output retentionSchedule");
            });

            it("trusts GitHub OIDC only from the configured repository", function () {
                const roles = plan().ofType("aws:iam/role:Role").filter((r) => String(r.state.assumeRolePolicy).includes("token.actions.githubusercontent.com"));
                // preview, deploy, migrate and the drift audit's read-only role
                assert.equal(roles.length, 4);
                assert.ok(roles.some((r) => String(r.state.assumeRolePolicy).includes("repo:marczenn/rento:environment:drift-audit")));
                for (const role of roles) {
                    const conditions = JSON.parse(String(role.state.assumeRolePolicy)).Statement.map((st: any) => st.Condition.StringEquals);
                    for (const c of conditions) {
                        assert.equal(c["token.actions.githubusercontent.com:aud"], "sts.amazonaws.com");
                        const subs = [c["token.actions.githubusercontent.com:sub"]].flat();
                        assert.ok(subs.every((sub: string) => sub.startsWith("repo:marczenn/rento:") && !sub.includes("*")), `${role.name}: ${subs}`);
                    }
                }
            });

            it("alarms on what the specs name, to the encrypted topic", function () {
                const topic = plan().one("aws:sns/topic:Topic");
                const alarms = plan().ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
                const metrics = new Set(alarms.map((a) => `${a.state.namespace}/${a.state.metricName}`));
                for (const metric of ["AWS/RDS/DatabaseConnections", "AWS/RDS/CPUUtilization", "AWS/RDS/FreeableMemory", "AWS/RDS/ReadLatency", "AWS/RDS/WriteLatency", "AWS/ElastiCache/EngineCPUUtilization", "AWS/ElastiCache/DatabaseMemoryUsagePercentage", "AWS/Lambda/Errors", "AWS/CodeBuild/FailedBuilds"]) {
                    assert.ok(metrics.has(metric), `no alarm on ${metric}`);
                }
                assert.ok(alarms.every((a) => (a.state.alarmActions as string[]).includes(String(topic.state.arn))));
                // Both CodeBuild projects page on a failed build: the migration/retention one and the restore drill.
                const failedBuilds = alarms.filter((a) => a.state.metricName === "FailedBuilds").map((a) => (a.state.dimensions as any).ProjectName).sort();
                const projects = plan().ofType("aws:codebuild/project:Project").map((p) => p.state.name).sort();
                assert.deepEqual(failedBuilds, projects);
                assert.ok(failedBuilds.includes(migrationProject().state.name));
                // Every Cognito trigger pages on an error: a failing one blocks sign-up, or sign-in and token refresh.
                const lambdaErrors = new Set(alarms.filter((a) => a.state.metricName === "Errors").map((a) => (a.state.dimensions as any).FunctionName));
                for (const suffix of ["-pre-signup", "-post-confirmation", "-pre-token-generation"]) {
                    const fn = plan().ofType("aws:lambda/function:Function").find((f) => String(f.state.name).endsWith(suffix))!;
                    assert.ok(lambdaErrors.has(fn.state.name), `no error alarm on ${fn.state.name}`);
                }
            });

            it("drills a restore monthly: CodeBuild in the app tier, copies in the isolated subnet group, alarmed per stack", function () {
                const app = new Set(plan().subnetIdsOfTier("app"));
                const drill = plan().ofType("aws:codebuild/project:Project").find((p) => String(p.state.name).endsWith("-restore-drill"))!;
                assert.ok(((drill.state.vpcConfig as any).subnets as string[]).every((id) => app.has(id)));
                assert.equal(drill.state.buildTimeout, 480);
                const vars = Object.fromEntries(((drill.state.environment as any).environmentVariables as Array<{ name: string; value: string }>).map((v) => [v.name, v.value]));
                const instance = plan().one("aws:rds/instance:Instance");
                assert.equal(vars.DRILL_SOURCE_INSTANCE, instance.state.identifier);
                assert.equal(vars.DRILL_SUBNET_GROUP, instance.state.dbSubnetGroupName);
                assert.equal(vars.DRILL_SECURITY_GROUP_IDS, (instance.state.vpcSecurityGroupIds as string[])[0]);
                const subnetGroup = plan().ofType("aws:rds/subnetGroup:SubnetGroup").find((g) => g.state.name === vars.DRILL_SUBNET_GROUP)!;
                const data = new Set(plan().subnetIdsOfTier("data"));
                assert.ok((subnetGroup.state.subnetIds as string[]).every((id) => data.has(id)), "copies land in the isolated data tier");
                const schedule = plan().ofType("aws:scheduler/schedule:Schedule").find((s) => String(s.state.name).endsWith("-restore-drill"))!;
                assert.equal(schedule.state.scheduleExpression, "cron(0 2 1 * ? *)");
                assert.equal(JSON.parse(String((schedule.state.target as any).input)).ProjectName, drill.state.name);
                const alarm = plan().ofType("aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => a.state.metricName === "RestoreDrillFailed")!;
                assert.deepEqual(alarm.state.dimensions, { Stack: stack });
                assert.equal(plan().stack.outputs.restoreDrillProject, drill.state.name);
            });

            it("watches APPI compliance: the compliance jobs in the app tier on their schedules, alarms per stack", function () {
                const app = new Set(plan().subnetIdsOfTier("app"));
                const jobs = plan().ofType("aws:lambda/function:Function").find((f) => String(f.state.name).endsWith("-compliance-jobs"))!;
                assert.ok(((jobs.state.vpcConfig as any).subnetIds as string[]).every((id) => app.has(id)));
                const env = (jobs.state.environment as any).variables;
                assert.equal(env.DB_USER, "compliance_job");
                assert.equal(env.STACK, stack);
                assert.equal(env.KEY_IDS.split(",").length, 4, "every customer-managed key is validated");
                const proxyUsers = plan().ofType("aws:iam/rolePolicy:RolePolicy").map((p) => String(p.state.policy)).filter((p) => p.includes("rds-db:connect"));
                assert.ok(proxyUsers.some((p) => p.includes("/compliance_job")), "the proxy's role may connect as compliance_job");
                const tasks = plan().ofType("aws:scheduler/schedule:Schedule").filter((s) => (s.state.target as any).arn === jobs.state.arn).map((s) => JSON.parse(String((s.state.target as any).input)).task);
                assert.deepEqual(tasks.sort(), ["backups", "key-rotation", "metrics"]);
                const compliance = plan().ofType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.state.namespace === "APPI/Compliance");
                assert.ok(compliance.length >= 10);
                assert.ok(compliance.every((a) => (a.state.dimensions as any).Stack === stack));
            });

            it("exports what an operator needs and no secret in plain text", function () {
                const outputs = plan().stack.outputs;
                for (const key of ["vpcId", "subnetIds", "databaseEndpoint", "databaseProxyEndpoint", "redisPrimaryEndpoint", "apiPublicIp", "keyArns"]) {
                    assert.ok(outputs[key], `output ${key}`);
                }
                assert.equal(outputs.redisAuthToken, "[secret]");
                const auth = plan().one("aws:elasticache/replicationGroup:ReplicationGroup").inputs.authToken as any;
                assert.equal(auth?.["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270", "the AUTH token reaches AWS as a Pulumi secret");
            });
        });
    }

    it("runs prod Multi-AZ everywhere and dev on a single NAT", function () {
        const prod = plans.prod;
        assert.equal(prod.one("aws:rds/instance:Instance").state.multiAz, true);
        const redis = prod.one("aws:elasticache/replicationGroup:ReplicationGroup");
        assert.equal(redis.state.multiAzEnabled, true);
        assert.equal(redis.state.automaticFailoverEnabled, true);
        assert.ok(Number(redis.state.numCacheClusters) >= 2);
        assert.equal(prod.ofType("aws:ec2/natGateway:NatGateway").length, prod.subnetIdsOfTier("public").length);
        assert.equal(prod.one("aws:rds/instance:Instance").state.deletionProtection, true);

        const dev = plans.dev;
        assert.equal(dev.ofType("aws:ec2/natGateway:NatGateway").length, 1);
        assert.equal(dev.one("aws:rds/instance:Instance").state.multiAz, false);
    });

    it("builds the seed's Aurora PostgreSQL 16.6 cluster with the same guarantees when configured", async function () {
        const aurora = new Plan(await planStack("prod", { configOverrides: { "appi-infra:dbEngine": "aurora-postgresql" } }));
        assert.equal(aurora.ofType("aws:rds/instance:Instance").length, 0);
        const cluster = aurora.one("aws:rds/cluster:Cluster");
        assert.equal(cluster.state.engineVersion, "16.6");
        assert.equal(cluster.state.storageEncrypted, true);
        assert.ok(aurora.keyArns().has(cluster.state.kmsKeyId), "cluster key is a CMK of this stack, not alias/aws/rds");
        assert.equal(cluster.state.backupRetentionPeriod, 14);
        const params = aurora.one("aws:rds/clusterParameterGroup:ClusterParameterGroup");
        assert.match(String(params.state.name), /\S/);
        assert.equal(cluster.state.dbClusterParameterGroupName, params.state.name);
        const values = Object.fromEntries((params.state.parameters as any[]).map((p) => [p.name, p.value]));
        assert.deepEqual([values["rds.force_ssl"], values["ssl_min_protocol_version"]], ["1", "TLSv1.3"]);
        const instances = aurora.ofType("aws:rds/clusterInstance:ClusterInstance");
        assert.equal(instances.length, 2);
        assert.ok(instances.every((i) => i.state.publiclyAccessible === false));
        assert.equal(aurora.one("aws:rds/proxyTarget:ProxyTarget").state.dbClusterIdentifier, cluster.state.clusterIdentifier);
    });

    it("uses a configured Redis AUTH token instead of generating one, still as a secret", async function () {
        const plan = new Plan(await planStack("dev", { configOverrides: { "appi-infra:redisAuthToken": "configured-token-0123456789abcdef" } }));
        // The only generated value left is the API's APP_IDENTITY_SECRET.
        assert.deepEqual(plan.ofType("random:index/randomPassword:RandomPassword").map((r) => r.name), ["appi-identity"]);
        const auth = plan.one("aws:elasticache/replicationGroup:ReplicationGroup").inputs.authToken as any;
        assert.equal(auth["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270");
        assert.equal(auth.value, "configured-token-0123456789abcdef");
        assert.equal(plan.stack.outputs.redisAuthToken, "[secret]");
    });

    it("stops on a bad config value with a message naming the key and the fix", async function () {
        await assert.rejects(
            planStack("dev", { configOverrides: { "appi-infra:dataSubnetCidrs": JSON.stringify(["10.0.1.0/24", "10.0.10.0/25"]) } }),
            (err: Error) => err instanceof ConfigError && /dataSubnetCidrs/.test(err.message) && /overlaps 10\.0\.10\.0\/24/.test(err.message) && /Fix:/.test(err.message),
        );
    });
});
