// IAM documents several components write the same way: service trust, and the
// `rds-db:connect` resources of IAM database authentication; and the function settings of the
// app-tier Lambdas that log in through the RDS Proxy.
import type * as aws from "@pulumi/aws";
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

/** The environment lib/db.ts reads to log in through the RDS Proxy as dbUser with an IAM token. */
export function proxyDatabaseEnvironment(access: Pick<AppTierDatabaseAccess, "dbProxyEndpoint" | "dbName">, dbPort: number, dbUser: pulumi.Input<string>) {
    return { DB_PROXY_ENDPOINT: access.dbProxyEndpoint, DB_PORT: String(dbPort), DB_NAME: access.dbName, DB_USER: dbUser };
}

/** What differs between the app-tier Lambdas that log in to PostgreSQL through the RDS Proxy. */
export interface ProxyLambdaSettings {
    functionName: string;
    description: string;
    code: pulumi.asset.Archive;
    roleArn: pulumi.Input<string>;
    dbPort: number;
    /** Its one database user (IAM authentication through the proxy). */
    dbUser: pulumi.Input<string>;
    /** CMK of the function's environment. */
    environmentKeyArn: pulumi.Input<string>;
    securityGroupId: pulumi.Input<string>;
    logGroupName: pulumi.Input<string>;
    /** Its own environment variables, beside the database's. */
    variables: Record<string, pulumi.Input<string>>;
    tags?: Record<string, string>;
}

/**
 * The function of an app-tier Lambda that logs in through the RDS Proxy (erasure worker, identity-secret rotation):
 * Node 22 on arm64 in the private app subnets, one run at a time (each is a single-flight job, and this bounds its
 * proxy connections), its environment encrypted with a CMK, JSON logs to its own group, and the proxy's address,
 * the database and its one user in the environment (lib/db.ts reads DB_PROXY_ENDPOINT, DB_PORT, DB_NAME, DB_USER).
 */
export function proxyLambdaFunctionArgs(access: AppTierDatabaseAccess, settings: ProxyLambdaSettings): aws.lambda.FunctionArgs {
    return {
        name: settings.functionName,
        description: settings.description,
        runtime: "nodejs22.x",
        architectures: ["arm64"],
        handler: "index.handler",
        code: settings.code,
        role: settings.roleArn,
        timeout: 60,
        memorySize: 256,
        reservedConcurrentExecutions: 1,
        environment: {
            // The function's own variables first: they cannot replace its database login.
            variables: { ...settings.variables, ...proxyDatabaseEnvironment(access, settings.dbPort, settings.dbUser), NODE_OPTIONS: "--enable-source-maps" },
        },
        kmsKeyArn: settings.environmentKeyArn,
        vpcConfig: { subnetIds: access.privateSubnetIds, securityGroupIds: [settings.securityGroupId] },
        loggingConfig: { logFormat: "JSON", logGroup: settings.logGroupName },
        tags: settings.tags,
    };
}
