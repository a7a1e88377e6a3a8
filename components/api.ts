// The public tier: the EC2 host that serves the GraphQL API on 443 (and 4000 for the
// app server behind it), reachable through an Elastic IP and nothing else.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { serviceTrustPolicy } from "./iam";

export interface ApiArgs {
    namePrefix: string;
    instanceType: string;
    subnetId: pulumi.Input<string>;
    /** The API tier's security group (from Network); this component adds its rules. */
    securityGroupId: pulumi.Input<string>;
    vpcCidr: string;
    ingressCidrs: string[];
    rootVolumeKeyArn: pulumi.Input<string>;
    /** The database secret the API may read, and the key that decrypts it. */
    databaseSecretArn: pulumi.Input<string>;
    secretKeyArn: pulumi.Input<string>;
    /** SSM parameter of the AMI (Amazon Linux 2023 by default). */
    amiParameter?: string;
    tags?: Record<string, string>;
}

const API_PORTS = [443, 4000];

export class Api extends pulumi.ComponentResource {
    readonly instance: aws.ec2.Instance;
    readonly publicIp: pulumi.Output<string>;
    readonly instanceId: pulumi.Output<string>;
    readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: ApiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:api:Api", name, {}, opts);
        const parent = { parent: this };
        const tags = { ...args.tags, Name: `${args.namePrefix}-graphql-api` };

        for (const cidr of args.ingressCidrs) {
            for (const port of API_PORTS) {
                new aws.vpc.SecurityGroupIngressRule(`${name}-${port}-${cidr.replace(/[./]/g, "-")}`, { securityGroupId: args.securityGroupId, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: port, toPort: port, description: `GraphQL API ${port}` }, parent);
            }
        }
        // Out: HTTPS anywhere (Cognito, package updates), PostgreSQL and Redis inside the VPC only.
        const egress: [string, number, string][] = [["https", 443, "0.0.0.0/0"], ["postgres", 5432, args.vpcCidr], ["redis", 6379, args.vpcCidr]];
        for (const [label, port, cidr] of egress) {
            new aws.vpc.SecurityGroupEgressRule(`${name}-egress-${label}`, { securityGroupId: args.securityGroupId, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: port, toPort: port, description: `${label} out` }, parent);
        }

        const role = new aws.iam.Role(
            `${name}-instance`,
            { name: `${args.namePrefix}-api-instance`, assumeRolePolicy: serviceTrustPolicy("ec2.amazonaws.com"), tags: args.tags },
            parent,
        );
        // Session Manager instead of SSH: no port 22 anywhere.
        new aws.iam.RolePolicyAttachment(`${name}-ssm`, { role: role.name, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" }, parent);
        new aws.iam.RolePolicy(
            `${name}-db-secret`,
            {
                role: role.id,
                policy: pulumi.all([args.databaseSecretArn, args.secretKeyArn]).apply(([secretArn, keyArn]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            { Sid: "ReadDatabaseSecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArn },
                            { Sid: "DecryptDatabaseSecret", Effect: "Allow", Action: "kms:Decrypt", Resource: keyArn, Condition: { StringLike: { "kms:ViaService": "secretsmanager.*.amazonaws.com" } } },
                        ],
                    }),
                ),
            },
            parent,
        );
        const profile = new aws.iam.InstanceProfile(`${name}-instance`, { name: `${args.namePrefix}-api-instance`, role: role.name, tags: args.tags }, parent);

        const ami = aws.ssm.getParameterOutput({ name: args.amiParameter ?? "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64" }, parent);
        this.instance = new aws.ec2.Instance(
            name,
            {
                ami: ami.value,
                instanceType: args.instanceType,
                subnetId: args.subnetId,
                vpcSecurityGroupIds: [args.securityGroupId],
                iamInstanceProfile: profile.name,
                associatePublicIpAddress: false,
                monitoring: true,
                // IMDSv2 only: a stolen SSRF request cannot read the role's credentials.
                metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
                rootBlockDevice: { encrypted: true, kmsKeyId: args.rootVolumeKeyArn, volumeType: "gp3", volumeSize: 20, deleteOnTermination: true },
                tags,
                volumeTags: tags,
            },
            parent,
        );
        const eip = new aws.ec2.Eip(name, { domain: "vpc", instance: this.instance.id, tags }, parent);

        this.publicIp = eip.publicIp;
        this.instanceId = this.instance.id;
        this.roleArn = role.arn;
        this.registerOutputs({ publicIp: this.publicIp, instanceId: this.instanceId, roleArn: this.roleArn });
    }
}
