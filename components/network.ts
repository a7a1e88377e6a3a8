// The three-tier VPC, built from aws.ec2 primitives so every subnet, route table and
// route is a visible resource (awsx's ec2.Vpc is a remote component, opaque under mocks).
//
//   public  (API host, internet gateway)          -> 0.0.0.0/0 via IGW
//   app     (Lambdas, CodeBuild, RDS Proxy)        -> 0.0.0.0/0 via NAT (one, or one per AZ)
//   data    (RDS, ElastiCache)                     -> no route out at all; AWS APIs via endpoints
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NatStrategy } from "./config";
import { checkLogRetention, encryptedLogGroup } from "./log-groups";

export interface NetworkArgs {
    namePrefix: string;
    vpcCidr: string;
    /** Availability zone names, one per subnet of each tier. */
    availabilityZones: pulumi.Input<string>[];
    publicSubnetCidrs: string[];
    appSubnetCidrs: string[];
    dataSubnetCidrs: string[];
    natGateways: NatStrategy;
    /** Interface endpoints so private and isolated workloads reach AWS without the internet. */
    interfaceEndpointServices?: string[];
    flowLogs: { kmsKeyArn: pulumi.Input<string>; retentionDays: number };
    tags?: Record<string, string>;
}

export type Tier = "public" | "app" | "data";

export class Network extends pulumi.ComponentResource {
    readonly vpc: aws.ec2.Vpc;
    readonly vpcId: pulumi.Output<string>;
    readonly vpcCidr: string;
    readonly publicSubnetIds: pulumi.Output<string>[];
    readonly appSubnetIds: pulumi.Output<string>[];
    readonly dataSubnetIds: pulumi.Output<string>[];
    /** Identity of the API tier: the data tier admits this group. */
    readonly apiSecurityGroupId: pulumi.Output<string>;
    readonly endpointSecurityGroupId: pulumi.Output<string>;
    readonly flowLogGroupName: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:network:Network", name, {}, opts);
        const parent = { parent: this };
        const tags = (extra: Record<string, string>) => ({ ...args.tags, ...extra });

        this.vpcCidr = args.vpcCidr;
        this.vpc = new aws.ec2.Vpc(name, { cidrBlock: args.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tags({ Name: args.namePrefix }) }, parent);
        this.vpcId = this.vpc.id;

        // AWS creates a default security group that allows all traffic between its members: close it.
        new aws.ec2.DefaultSecurityGroup(`${name}-default-closed`, { vpcId: this.vpc.id, ingress: [], egress: [], tags: tags({ Name: `${args.namePrefix}-default-closed` }) }, parent);

        const subnets = (tier: Tier, cidrs: string[]) =>
            cidrs.map(
                (cidrBlock, i) =>
                    new aws.ec2.Subnet(
                        `${name}-${tier}-${i + 1}`,
                        {
                            vpcId: this.vpc.id,
                            cidrBlock,
                            availabilityZone: args.availabilityZones[i],
                            // The API host gets an Elastic IP; nothing is given a public address by default.
                            mapPublicIpOnLaunch: false,
                            tags: tags({ Name: `${args.namePrefix}-${tier}-${i + 1}`, Tier: tier }),
                        },
                        parent,
                    ),
            );
        const publicSubnets = subnets("public", args.publicSubnetCidrs);
        const appSubnets = subnets("app", args.appSubnetCidrs);
        const dataSubnets = subnets("data", args.dataSubnetCidrs);

        const associate = (tableName: string, table: aws.ec2.RouteTable, subnet: aws.ec2.Subnet, i: number) =>
            new aws.ec2.RouteTableAssociation(`${tableName}-${i + 1}`, { routeTableId: table.id, subnetId: subnet.id }, parent);

        // Public tier: the only route tables with an internet gateway.
        const igw = new aws.ec2.InternetGateway(name, { vpcId: this.vpc.id, tags: tags({ Name: args.namePrefix }) }, parent);
        const publicTable = new aws.ec2.RouteTable(`${name}-public`, { vpcId: this.vpc.id, tags: tags({ Name: `${args.namePrefix}-public`, Tier: "public" }) }, parent);
        new aws.ec2.Route(`${name}-public-internet`, { routeTableId: publicTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id }, parent);
        publicSubnets.forEach((subnet, i) => associate(`${name}-public`, publicTable, subnet, i));

        // App tier: egress through NAT. One NAT is cheaper; one per AZ survives an AZ outage.
        const natCount = args.natGateways === "single" ? 1 : publicSubnets.length;
        const nats = publicSubnets.slice(0, natCount).map((subnet, i) => {
            const eip = new aws.ec2.Eip(`${name}-nat-${i + 1}`, { domain: "vpc", tags: tags({ Name: `${args.namePrefix}-nat-${i + 1}` }) }, parent);
            return new aws.ec2.NatGateway(`${name}-nat-${i + 1}`, { allocationId: eip.id, subnetId: subnet.id, tags: tags({ Name: `${args.namePrefix}-nat-${i + 1}` }) }, { parent: this, dependsOn: [igw] });
        });
        const appTables = nats.map((nat, i) => {
            const table = new aws.ec2.RouteTable(`${name}-app-${i + 1}`, { vpcId: this.vpc.id, tags: tags({ Name: `${args.namePrefix}-app-${i + 1}`, Tier: "app" }) }, parent);
            new aws.ec2.Route(`${name}-app-${i + 1}-nat`, { routeTableId: table.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id }, parent);
            return table;
        });
        appSubnets.forEach((subnet, i) => associate(`${name}-app`, appTables[i % appTables.length], subnet, i));

        // Data tier: a route table with only the implicit local route. Nothing here reaches the internet.
        const dataTable = new aws.ec2.RouteTable(`${name}-data`, { vpcId: this.vpc.id, tags: tags({ Name: `${args.namePrefix}-data`, Tier: "data" }) }, parent);
        dataSubnets.forEach((subnet, i) => associate(`${name}-data`, dataTable, subnet, i));

        // The API tier's identity: the data tier admits it, the Api component adds its rules.
        // (App-tier components bring their own groups and admit them to the RDS Proxy.)
        const apiGroup = new aws.ec2.SecurityGroup(`${name}-api`, { vpcId: this.vpc.id, description: "GraphQL API hosts (public tier)", tags: tags({ Name: `${args.namePrefix}-api`, Tier: "public" }) }, parent);

        // VPC endpoints: S3 as a gateway on the private route tables, the rest as interfaces.
        const region = aws.getRegionOutput({}, parent).region;
        new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: this.vpc.id,
                serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: [...appTables.map((t) => t.id), dataTable.id],
                tags: tags({ Name: `${args.namePrefix}-s3` }),
            },
            parent,
        );
        const endpointGroup = new aws.ec2.SecurityGroup(
            `${name}-endpoints`,
            {
                vpcId: this.vpc.id,
                description: "Interface endpoints: HTTPS from inside the VPC only",
                ingress: [{ description: "HTTPS from the VPC", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: [args.vpcCidr] }],
                tags: tags({ Name: `${args.namePrefix}-endpoints` }),
            },
            parent,
        );
        for (const service of args.interfaceEndpointServices ?? ["kms", "secretsmanager", "logs", "sts"]) {
            new aws.ec2.VpcEndpoint(
                `${name}-${service}`,
                {
                    vpcId: this.vpc.id,
                    serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
                    vpcEndpointType: "Interface",
                    privateDnsEnabled: true,
                    subnetIds: appSubnets.map((s) => s.id),
                    securityGroupIds: [endpointGroup.id],
                    tags: tags({ Name: `${args.namePrefix}-${service}` }),
                },
                parent,
            );
        }

        // Flow logs: who talked to what, kept for the audit-trail period, encrypted with the logs key.
        const flowLogGroup = encryptedLogGroup(
            `${name}-flow-logs`,
            `/appi/${args.namePrefix}/vpc-flow-logs`,
            args.flowLogs.kmsKeyArn,
            checkLogRetention(args.flowLogs.retentionDays, "flowLogs.retentionDays"),
            tags({}),
            this,
        );
        const flowLogRole = new aws.iam.Role(
            `${name}-flow-logs`,
            {
                name: `${args.namePrefix}-vpc-flow-logs`,
                assumeRolePolicy: aws.getCallerIdentityOutput({}, parent).accountId.apply((account) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Principal: { Service: "vpc-flow-logs.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": account } } }],
                    }),
                ),
                tags: tags({}),
            },
            parent,
        );
        new aws.iam.RolePolicy(
            `${name}-flow-logs`,
            {
                role: flowLogRole.id,
                policy: flowLogGroup.arn.apply((arn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], Resource: [arn, `${arn}:*`] }],
                    }),
                ),
            },
            parent,
        );
        new aws.ec2.FlowLog(name, { vpcId: this.vpc.id, trafficType: "ALL", logDestinationType: "cloud-watch-logs", logDestination: flowLogGroup.arn, iamRoleArn: flowLogRole.arn, tags: tags({}) }, parent);

        this.publicSubnetIds = publicSubnets.map((s) => s.id);
        this.appSubnetIds = appSubnets.map((s) => s.id);
        this.dataSubnetIds = dataSubnets.map((s) => s.id);
        this.apiSecurityGroupId = apiGroup.id;
        this.endpointSecurityGroupId = endpointGroup.id;
        this.flowLogGroupName = flowLogGroup.name;
        this.registerOutputs({
            vpcId: this.vpcId,
            publicSubnetIds: this.publicSubnetIds,
            appSubnetIds: this.appSubnetIds,
            dataSubnetIds: this.dataSubnetIds,
            apiSecurityGroupId: this.apiSecurityGroupId,
            flowLogGroupName: this.flowLogGroupName,
        });
    }
}
