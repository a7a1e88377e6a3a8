// IAM documents several components write the same way: service trust, and the
// `rds-db:connect` resources of IAM database authentication.
import * as pulumi from "@pulumi/pulumi";

/** Role trust for a service principal, as JSON the policy pack can parse. */
export function serviceTrustPolicy(service: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
    });
}

/**
 * `rds-db:connect` resource for one database user on one RDS resource: a proxy (`prx-...`),
 * an instance (`db-...`) or a cluster (`cluster-...`). `resourceArn` supplies partition, region and account.
 */
export function rdsDbUserArn(resourceArn: string, resourceId: string, user: string): string {
    const [, partition, , region, account] = resourceArn.split(":");
    return `arn:${partition}:rds-db:${region}:${account}:dbuser:${resourceId}/${user}`;
}

/** Parts of an RDS Proxy ARN that IAM database authentication needs. */
export interface ProxyArnParts {
    partition: string;
    region: string;
    accountId: string;
    /** `prx-...`: the id `rds-db:connect` names. */
    resourceId: string;
}

export function parseDbProxyArn(arn: string): ProxyArnParts {
    const match = /^arn:(aws[a-z-]*):rds:([a-z0-9-]+):(\d{12}):db-proxy:(prx-[A-Za-z0-9]+)$/.exec(arn);
    if (!match) {
        throw new Error(`dbProxyArn: ${JSON.stringify(arn)} is not an RDS Proxy ARN (expected arn:aws:rds:<region>:<account>:db-proxy:prx-...); pass the aws.rds.Proxy's arn`);
    }
    const [, partition, region, accountId, resourceId] = match;
    return { partition, region, accountId, resourceId };
}

/** `rds-db:connect` resource for one database user through one proxy. */
export function dbConnectArn(proxyArn: pulumi.Input<string>, dbUser: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.all([proxyArn, dbUser]).apply(([arn, user]) => {
        if (!user || user.includes("*")) throw new Error(`dbUser: ${JSON.stringify(user)} must name one database user (no wildcard)`);
        return rdsDbUserArn(arn, parseDbProxyArn(arn).resourceId, user);
    });
}

/**
 * What a Lambda in the VPC needs for its network interfaces (AWSLambdaVPCAccessExecutionRole, narrowed):
 * Describe* has no resource-level permissions; creating is limited to its own subnets and security group.
 */
export function vpcLambdaNetworkStatements(proxy: ProxyArnParts, subnetIds: string[], securityGroupId: string): object[] {
    const ec2Arn = (resource: string) => `arn:${proxy.partition}:ec2:${proxy.region}:${proxy.accountId}:${resource}`;
    return [
        { Sid: "DescribeNetwork", Effect: "Allow", Action: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], Resource: "*" },
        {
            Sid: "NetworkInterfacesInOwnSubnetsAndGroup", Effect: "Allow", Action: ["ec2:CreateNetworkInterface"],
            Resource: [ec2Arn("network-interface/*"), ...subnetIds.map((id) => ec2Arn(`subnet/${id}`)), ec2Arn(`security-group/${securityGroupId}`)],
        },
        { Sid: "ManageOwnNetworkInterfaces", Effect: "Allow", Action: ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"], Resource: ec2Arn("network-interface/*") },
    ];
}

/**
 * Where an app-tier workload runs and how it reaches the database: the private app subnets (never the
 * public or the isolated data tier) and the RDS Proxy, the only door to PostgreSQL. Shared by every
 * component that runs code next to the database (the sign-up triggers, migrations, compliance jobs, erasure).
 */
export interface AppTierDatabaseAccess {
    vpcId: pulumi.Input<string>;
    /** Private app-tier subnets (NAT egress to AWS APIs; never the public or the isolated data tier). */
    privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Security group of the RDS Proxy; the workload's own group may reach it on the database port. */
    dbProxySecurityGroupId: pulumi.Input<string>;
    /** RDS Proxy ARN (`arn:aws:rds:<region>:<account>:db-proxy:prx-...`): IAM database auth is scoped to it. */
    dbProxyArn: pulumi.Input<string>;
    dbProxyEndpoint: pulumi.Input<string>;
    dbName: pulumi.Input<string>;
}
