// Pulumi mocks that answer like AWS would (ids, ARNs, endpoints), so the program,
// its components and the policy pack can be exercised with no cloud and no CLI.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { PlannedResource } from "./types";

// Internal runtime modules: the monitor (to record parents/providers the Mocks API does not
// pass) and the RPC queue (to know when every registration has finished).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const settings = require("@pulumi/pulumi/runtime/settings");

export const MOCK_ACCOUNT_ID = "123456789012";
export const MOCK_AZS = ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"];

function shortHash(text: string, length = 8): string {
    return crypto.createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** `aws:rds/instance:Instance` -> { service: "rds", kind: "instance" } */
function parseType(type: string): { pkg: string; service: string; kind: string } {
    const [pkg, module = "", kind = ""] = type.split(":");
    return { pkg, service: module.split("/")[0], kind };
}

const ID_PREFIXES: Record<string, string> = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/instance:Instance": "i-",
    "aws:ec2/flowLog:FlowLog": "fl-",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
};

/**
 * Types whose `name` the provider fills in when the program sets none (Pulumi autonaming:
 * logical name plus a random suffix). Without this, `group.name` would resolve to undefined
 * under mocks and every reference to it would silently vanish.
 */
const AUTONAMED = new Set([
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:elasticache/subnetGroup:SubnetGroup",
    "aws:iam/role:Role",
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:lambda/function:Function",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:sns/topic:Topic",
    "aws:codebuild/project:Project",
    "aws:secretsmanager/secret:Secret",
    "aws:cognito/userPool:UserPool",
    "aws:cognito/userPoolClient:UserPoolClient",
    "aws:dynamodb/table:Table",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
]);

/** Names AWS gives the resource (the program's explicit `name` when it set one). */
function physicalName(args: pulumi.runtime.MockResourceArgs): string {
    const inputs = args.inputs ?? {};
    const explicit = inputs.name ?? inputs.identifier ?? inputs.clusterIdentifier ?? inputs.replicationGroupId ?? inputs.bucket;
    if (explicit !== undefined) return String(explicit);
    return AUTONAMED.has(args.type) ? `${args.name}-${shortHash(args.type + args.name, 7)}` : args.name;
}

function mockId(args: pulumi.runtime.MockResourceArgs): string {
    if (args.type.startsWith("pulumi:providers:")) return `${args.name}-provider-id`;
    const prefix = ID_PREFIXES[args.type];
    if (prefix) return `${prefix}${shortHash(args.type + args.name, 12)}`;
    if (args.type === "aws:kms/key:Key") return `${shortHash(args.name, 8)}-0000-4000-8000-${shortHash(args.name + "k", 12)}`;
    return physicalName(args);
}

export interface AwsMockOptions {
    accountId?: string;
    /** Region for resources whose provider sets none. */
    defaultRegion?: string;
}

/** Builds an IAM policy JSON the way `aws.iam.getPolicyDocument` would, so policies can read it. */
export function policyDocumentFromStatements(inputs: any): string {
    const asList = (v: any) => (v === undefined ? undefined : Array.isArray(v) && v.length === 1 ? v[0] : v);
    const statements = (inputs.statements ?? []).map((s: any) => {
        const out: any = {};
        if (s.sid) out.Sid = s.sid;
        out.Effect = s.effect ?? "Allow";
        if (s.principals) {
            out.Principal = {};
            for (const p of s.principals) out.Principal[p.type] = asList(p.identifiers);
        }
        if (s.actions) out.Action = asList(s.actions);
        if (s.notActions) out.NotAction = asList(s.notActions);
        if (s.resources) out.Resource = asList(s.resources);
        if (s.conditions) {
            out.Condition = {};
            for (const c of s.conditions) {
                out.Condition[c.test] = { ...(out.Condition[c.test] ?? {}), [c.variable]: asList(c.values) };
            }
        }
        return out;
    });
    return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

export function awsMocks(options: AwsMockOptions = {}): pulumi.runtime.Mocks {
    const account = options.accountId ?? MOCK_ACCOUNT_ID;
    const providerRegions = new Map<string, string>();
    const regionOf = (args: pulumi.runtime.MockResourceArgs) => {
        if (args.inputs?.region) return String(args.inputs.region);
        const providerId = args.provider?.split("::").pop();
        return (providerId && providerRegions.get(providerId)) || options.defaultRegion || "ap-northeast-1";
    };

    return {
        call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
            const region = String(args.inputs?.region ?? options.defaultRegion ?? "ap-northeast-1");
            switch (args.token) {
                case "aws:index/getCallerIdentity:getCallerIdentity":
                    return { accountId: account, arn: `arn:aws:iam::${account}:user/mock`, userId: "AIDAMOCK", id: account };
                case "aws:index/getRegion:getRegion":
                    return { name: region, region, id: region, description: "Asia Pacific (Tokyo)", endpoint: `ec2.${region}.amazonaws.com` };
                case "aws:index/getPartition:getPartition":
                    return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
                case "aws:index/getAvailabilityZones:getAvailabilityZones":
                    return { names: MOCK_AZS, zoneIds: ["apne1-az4", "apne1-az1", "apne1-az2"], id: region, groupNames: [region] };
                case "aws:ssm/getParameter:getParameter":
                    return { name: args.inputs.name, value: "ami-0mock1234567890ab", type: "String", arn: `arn:aws:ssm:${region}::parameter${args.inputs.name}`, id: args.inputs.name };
                case "aws:ec2/getAmi:getAmi":
                    return { id: "ami-0mock1234567890ab", imageId: "ami-0mock1234567890ab", architecture: "x86_64" };
                case "aws:iam/getPolicyDocument:getPolicyDocument":
                    return { json: policyDocumentFromStatements(args.inputs), id: "policy-document" };
                default:
                    throw new Error(`plan/mocks.ts: no mock for invoke ${args.token}; add one so the program can be planned offline`);
            }
        },

        newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
            const id = mockId(args);
            const inputs = args.inputs ?? {};
            if (args.type === "pulumi:providers:aws") {
                providerRegions.set(id, String(inputs.region ?? options.defaultRegion ?? "ap-northeast-1"));
                return { id, state: inputs };
            }
            if (!args.custom) return { id: "", state: inputs };

            const region = regionOf(args);
            const name = physicalName(args);
            const { service, kind } = parseType(args.type);
            const state: Record<string, any> = { ...inputs, id };
            if (AUTONAMED.has(args.type) && inputs.name === undefined) state.name = name;
            const arn = (resource: string) => `arn:aws:${service}:${region}:${account}:${resource}`;
            state.arn = arn(`${kind.charAt(0).toLowerCase()}${kind.slice(1)}/${name}`);

            switch (args.type) {
                case "aws:kms/key:Key":
                    Object.assign(state, { keyId: id, arn: arn(`key/${id}`) });
                    break;
                case "aws:kms/alias:Alias":
                    Object.assign(state, { arn: arn(String(inputs.name)), targetKeyArn: inputs.targetKeyId });
                    break;
                case "aws:iam/role:Role":
                case "aws:iam/policy:Policy":
                case "aws:iam/instanceProfile:InstanceProfile":
                    Object.assign(state, { name, arn: `arn:aws:iam::${account}:${kind === "Role" ? "role" : kind === "Policy" ? "policy" : "instance-profile"}/${name}` });
                    break;
                case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
                    state.arn = `arn:aws:iam::${account}:oidc-provider/${String(inputs.url).replace(/^https:\/\//, "")}`;
                    break;
                case "aws:rds/instance:Instance":
                    Object.assign(state, {
                        identifier: name,
                        address: `${name}.abcdefghijkl.${region}.rds.amazonaws.com`,
                        endpoint: `${name}.abcdefghijkl.${region}.rds.amazonaws.com:5432`,
                        port: inputs.port ?? 5432,
                        arn: arn(`db:${name}`),
                        resourceId: `db-${shortHash(name, 26).toUpperCase()}`,
                        masterUserSecrets: inputs.manageMasterUserPassword
                            ? [{ secretArn: arn(`secret:rds!db-${shortHash(name, 8)}`).replace(":rds:", ":secretsmanager:"), kmsKeyId: inputs.masterUserSecretKmsKeyId, secretStatus: "active" }]
                            : [],
                    });
                    break;
                case "aws:rds/cluster:Cluster":
                    Object.assign(state, {
                        clusterIdentifier: name,
                        endpoint: `${name}.cluster-abcdefghijkl.${region}.rds.amazonaws.com`,
                        readerEndpoint: `${name}.cluster-ro-abcdefghijkl.${region}.rds.amazonaws.com`,
                        port: inputs.port ?? 5432,
                        arn: arn(`cluster:${name}`),
                        clusterResourceId: `cluster-${shortHash(name, 26).toUpperCase()}`,
                        masterUserSecrets: inputs.manageMasterUserPassword
                            ? [{ secretArn: arn(`secret:rds!cluster-${shortHash(name, 8)}`).replace(":rds:", ":secretsmanager:"), kmsKeyId: inputs.masterUserSecretKmsKeyId, secretStatus: "active" }]
                            : [],
                    });
                    break;
                case "aws:rds/clusterInstance:ClusterInstance":
                    Object.assign(state, { identifier: name, arn: arn(`db:${name}`), endpoint: `${name}.abcdefghijkl.${region}.rds.amazonaws.com` });
                    break;
                case "aws:rds/proxy:Proxy":
                    Object.assign(state, { endpoint: `${name}.proxy-abcdefghijkl.${region}.rds.amazonaws.com`, arn: arn(`db-proxy:prx-${shortHash(name, 17)}`) });
                    break;
                case "aws:elasticache/replicationGroup:ReplicationGroup": {
                    const count = Number(inputs.numCacheClusters ?? 1);
                    Object.assign(state, {
                        arn: arn(`replicationgroup:${name}`),
                        primaryEndpointAddress: `master.${name}.abcdef.apne1.cache.amazonaws.com`,
                        readerEndpointAddress: `replica.${name}.abcdef.apne1.cache.amazonaws.com`,
                        memberClusters: Array.from({ length: count }, (_, i) => `${name}-00${i + 1}`),
                    });
                    break;
                }
                case "aws:ec2/eip:Eip":
                    Object.assign(state, { allocationId: id, publicIp: "203.0.113.10", arn: arn(`elastic-ip/${id}`) });
                    break;
                case "aws:ec2/instance:Instance":
                    Object.assign(state, { privateIp: "10.0.10.25", arn: arn(`instance/${id}`) });
                    break;
                case "aws:cloudwatch/logGroup:LogGroup":
                    Object.assign(state, { name, arn: arn(`log-group:${name}`).replace(":cloudwatch:", ":logs:") });
                    break;
                case "aws:sns/topic:Topic":
                    Object.assign(state, { name, arn: arn(name) });
                    break;
                case "aws:lambda/function:Function":
                    Object.assign(state, { name, arn: arn(`function:${name}`), invokeArn: `arn:aws:apigateway:${region}:lambda:path/functions/${arn(`function:${name}`)}/invocations` });
                    break;
                case "aws:cognito/userPool:UserPool":
                    Object.assign(state, { arn: arn(`userpool/${region}_${shortHash(name, 9)}`).replace(":cognito:", ":cognito-idp:"), endpoint: `cognito-idp.${region}.amazonaws.com/${region}_${shortHash(name, 9)}` });
                    state.id = `${region}_${shortHash(name, 9)}`;
                    break;
                case "aws:codebuild/project:Project":
                    Object.assign(state, { name, arn: arn(`project/${name}`) });
                    break;
                case "aws:scheduler/schedule:Schedule":
                    Object.assign(state, { name, groupName: inputs.groupName ?? "default", arn: arn(`schedule/${inputs.groupName ?? "default"}/${name}`) });
                    break;
                case "random:index/randomPassword:RandomPassword":
                    // What the provider generates (the engine keeps it secret): a value, so whatever is set from it is set.
                    state.result = shortHash(`password:${args.name}`, 64).slice(0, Number(inputs.length ?? 32));
                    delete state.arn;
                    break;
                case "aws:secretsmanager/secret:Secret":
                    Object.assign(state, { arn: arn(`secret:${name}-${shortHash(name, 6)}`) });
                    break;
            }
            return { id: state.id ?? id, state };
        },
    };
}

/** Captures, per registered resource, what the Mocks API hides: URN, parent and provider reference. */
function recordRegistrations(resources: PlannedResource[]): void {
    const monitor = settings.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) =>
        register(req, (err: any, resp: any) => {
            if (!err && resp) {
                const position = req.getSourceposition?.();
                const frames = (req.getStacktrace?.()?.getFramesList() ?? [])
                    .map((frame: any) => frame.getPc())
                    .filter((pc: any) => pc?.getUri())
                    .map((pc: any) => ({ uri: pc.getUri(), line: pc.getLine(), column: pc.getColumn() }));
                resources.push({
                    urn: resp.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    id: resp.getId() ?? "",
                    custom: req.getCustom(),
                    inputs: req.getObject()?.toJavaScript() ?? {},
                    state: resp.getObject()?.toJavaScript() ?? {},
                    provider: req.getProvider() || undefined,
                    parent: req.getParent() || undefined,
                    dependencies: req.getDependenciesList?.() ?? [],
                    ...(position?.getUri() ? { sourcePosition: { uri: position.getUri(), line: position.getLine(), column: position.getColumn() } } : {}),
                    ...(frames.length ? { stackTrace: frames } : {}),
                });
            }
            callback(err, resp);
        });
}

export interface MockRunOptions extends AwsMockOptions {
    project?: string;
    stack?: string;
    /** Config as the engine passes it: `project:key` -> string (JSON for objects/arrays). */
    config?: Record<string, string>;
    secretKeys?: string[];
}

/**
 * Runs `program` under mocks and waits until every resource it registered has finished
 * registering, so the returned list is complete.
 */
export async function runUnderMocks<T>(program: () => T | Promise<T>, options: MockRunOptions = {}): Promise<{ value: T; resources: PlannedResource[] }> {
    const project = options.project ?? "appi-infra";
    const stack = options.stack ?? "test";
    const resources: PlannedResource[] = [];
    await pulumi.runtime.setMocks(awsMocks(options), project, stack, false);
    pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys);
    recordRegistrations(resources);
    const value = await program();
    await settings.waitForRPCs();
    return { value, resources };
}

/** Resolves an Output (or plain value) in tests and in the planner. */
export function resolve<T>(value: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
    return new Promise((done) => pulumi.output(value).apply((v) => done(v as pulumi.Unwrap<T>)));
}
