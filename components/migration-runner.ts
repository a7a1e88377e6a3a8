// Database migrations run inside the VPC, by CodeBuild, started from GitHub Actions: the
// database stays in its isolated tier, CI holds no database password (IAM auth through
// the RDS Proxy), and every run leaves a log kept as long as the audit trail.
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkLogRetention, dbConnectArn, encryptedLogGroup, parseDbProxyArn } from "./identity";

/** The buildspec lives beside the program so reviewers read it as a file; the project carries it inline. */
export const MIGRATE_BUILDSPEC_PATH = path.join(__dirname, "..", "buildspec", "migrate.yml");

export interface MigrationRunnerArgs {
    /** Prefix of every physical name, e.g. `appi-dev`. */
    namePrefix: string;
    /** GitHub repository holding the migrations, `owner/name`. */
    repository: string;
    /**
     * CodeConnections (GitHub App) connection CodeBuild clones through; without it CodeBuild
     * uses the account's GitHub source credential (`aws codebuild import-source-credentials`).
     */
    sourceConnectionArn?: pulumi.Input<string>;

    vpcId: pulumi.Input<string>;
    /** Private app-tier subnets (NAT egress for npm and GitHub; never the isolated data tier). */
    privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    dbProxySecurityGroupId: pulumi.Input<string>;
    /** Adds an ingress rule on the proxy's group for the build's group (default true). */
    admitToDbProxy?: boolean;

    /** RDS Proxy ARN (`arn:aws:rds:<region>:<account>:db-proxy:prx-...`). */
    dbProxyArn: pulumi.Input<string>;
    dbProxyEndpoint: pulumi.Input<string>;
    dbPort?: number;
    dbName: pulumi.Input<string>;
    /** Database user that owns the schema and logs in through IAM auth. */
    migrationDbUser: pulumi.Input<string>;

    /** CMK for the build's artifacts and cache. */
    encryptionKeyArn: pulumi.Input<string>;
    /** Key of the build log group. */
    logsKeyArn: pulumi.Input<string>;
    logRetentionDays?: number;
    /** Minutes before a stuck build is stopped (default 30). */
    buildTimeoutMinutes?: number;
    tags?: Record<string, string>;
}

export class MigrationRunner extends pulumi.ComponentResource {
    readonly project: aws.codebuild.Project;
    readonly role: aws.iam.Role;
    readonly logGroup: aws.cloudwatch.LogGroup;
    readonly securityGroup: aws.ec2.SecurityGroup;

    readonly projectName: pulumi.Output<string>;
    readonly projectArn: pulumi.Output<string>;
    readonly logGroupName: pulumi.Output<string>;
    readonly logGroupArn: pulumi.Output<string>;
    readonly roleArn: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;

    constructor(name: string, args: MigrationRunnerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:delivery:MigrationRunner", name, {}, opts);

        if (!/^[a-z][a-z0-9-]{1,30}$/.test(args.namePrefix ?? "")) {
            throw new Error(`namePrefix: ${JSON.stringify(args.namePrefix)} must be 2-31 of a-z, 0-9, - starting with a letter (e.g. "appi-dev")`);
        }
        if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(args.repository ?? "")) {
            throw new Error(`repository: ${JSON.stringify(args.repository)} must be one GitHub repository as owner/name`);
        }
        const retentionInDays = checkLogRetention(args.logRetentionDays);
        const buildTimeout = args.buildTimeoutMinutes ?? 30;
        if (!Number.isInteger(buildTimeout) || buildTimeout < 5 || buildTimeout > 480) {
            throw new Error(`buildTimeoutMinutes: ${buildTimeout} must be an integer between 5 and 480`);
        }
        const dbPort = args.dbPort ?? 5432;
        const tags = { ...args.tags };
        const projectName = `${args.namePrefix}-db-migrate`;
        const proxy = pulumi.output(args.dbProxyArn).apply(parseDbProxyArn);
        const buildspec = fs.readFileSync(MIGRATE_BUILDSPEC_PATH, "utf8");

        // npm ci and the GitHub clone go out through the NAT on 443; PostgreSQL only to the proxy.
        this.securityGroup = new aws.ec2.SecurityGroup(`${name}-build`, {
            vpcId: args.vpcId,
            description: "Migration builds: egress to the RDS Proxy and HTTPS only",
            egress: [
                { description: "PostgreSQL through the RDS Proxy", protocol: "tcp", fromPort: dbPort, toPort: dbPort, securityGroups: [args.dbProxySecurityGroupId] },
                { description: "HTTPS: npm registry, GitHub, AWS APIs", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
            ],
            tags: { ...tags, Name: `${args.namePrefix}-db-migrate` },
        }, { parent: this });

        if (args.admitToDbProxy ?? true) {
            new aws.vpc.SecurityGroupIngressRule(`${name}-proxy-from-build`, {
                securityGroupId: args.dbProxySecurityGroupId,
                referencedSecurityGroupId: this.securityGroup.id,
                ipProtocol: "tcp",
                fromPort: dbPort,
                toPort: dbPort,
                description: "Migration builds to the RDS Proxy",
                tags,
            }, { parent: this });
        }

        this.logGroup = encryptedLogGroup(`${name}-logs`, `/aws/codebuild/${projectName}`, args.logsKeyArn, retentionInDays, tags, this);

        // Confused-deputy guard: CodeBuild may assume the role only for this project in this account.
        const assumeRolePolicy = proxy.apply((p) => JSON.stringify({
            Version: "2012-10-17",
            Statement: [{
                Effect: "Allow",
                Principal: { Service: "codebuild.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                    StringEquals: {
                        "aws:SourceAccount": p.accountId,
                        "aws:SourceArn": `arn:${p.partition}:codebuild:${p.region}:${p.accountId}:project/${projectName}`,
                    },
                },
            }],
        }));
        this.role = new aws.iam.Role(`${name}-role`, {
            name: `${projectName}-codebuild`,
            description: "Service role of the database migration build",
            assumeRolePolicy,
            tags,
        }, { parent: this });

        const policy = pulumi.all([proxy, this.logGroup.arn, args.encryptionKeyArn, dbConnectArn(args.dbProxyArn, args.migrationDbUser), args.privateSubnetIds, args.sourceConnectionArn])
            .apply(([p, logGroupArn, keyArn, connectArn, subnetIds, connectionArn]) => {
                const ec2Arn = (resource: string) => `arn:${p.partition}:ec2:${p.region}:${p.accountId}:${resource}`;
                const statements: Record<string, unknown>[] = [
                    {
                        // The VPC permissions AWS documents for CodeBuild; Describe* and ENI lifecycle have no resource scoping.
                        Sid: "VpcNetworkInterfaces",
                        Effect: "Allow",
                        Action: ["ec2:CreateNetworkInterface", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"],
                        Resource: "*",
                    },
                    {
                        Sid: "AttachOnlyInOwnSubnets",
                        Effect: "Allow",
                        Action: "ec2:CreateNetworkInterfacePermission",
                        Resource: ec2Arn("network-interface/*"),
                        Condition: {
                            StringEquals: { "ec2:Subnet": subnetIds.map((id) => ec2Arn(`subnet/${id}`)), "ec2:AuthorizedService": "codebuild.amazonaws.com" },
                        },
                    },
                    { Sid: "WriteOwnLogGroup", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
                    { Sid: "ProjectKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"], Resource: keyArn },
                    { Sid: "ConnectThroughProxyAsMigrationUser", Effect: "Allow", Action: "rds-db:connect", Resource: connectArn },
                ];
                if (connectionArn) {
                    statements.push({ Sid: "CloneThroughConnection", Effect: "Allow", Action: ["codeconnections:UseConnection", "codeconnections:GetConnectionToken", "codestar-connections:UseConnection", "codestar-connections:GetConnectionToken"], Resource: connectionArn });
                }
                return JSON.stringify({ Version: "2012-10-17", Statement: statements });
            });
        const rolePolicy = new aws.iam.RolePolicy(`${name}-policy`, { role: this.role.id, policy }, { parent: this });

        this.project = new aws.codebuild.Project(`${name}-project`, {
            name: projectName,
            description: "Applies db/migrations through the RDS Proxy (npm run db:migrate)",
            serviceRole: this.role.arn,
            encryptionKey: args.encryptionKeyArn,
            buildTimeout,
            queuedTimeout: 60,
            // Migrations are serial by nature (the runner also takes an advisory lock).
            concurrentBuildLimit: 1,
            source: {
                type: "GITHUB",
                location: `https://github.com/${args.repository}.git`,
                gitCloneDepth: 1,
                // Inline, so the steps that hold database access are reviewed with the infrastructure.
                buildspec,
                auth: args.sourceConnectionArn ? { type: "CODECONNECTIONS", resource: args.sourceConnectionArn } : undefined,
            },
            artifacts: { type: "NO_ARTIFACTS" },
            environment: {
                type: "LINUX_CONTAINER",
                computeType: "BUILD_GENERAL1_SMALL",
                image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                imagePullCredentialsType: "CODEBUILD",
                // No Docker-in-Docker: the build runs plain Node.js.
                privilegedMode: false,
                // Connection facts only; the password is an IAM token minted inside the build.
                environmentVariables: [
                    { name: "DB_PROXY_ENDPOINT", value: args.dbProxyEndpoint, type: "PLAINTEXT" },
                    { name: "DB_PORT", value: String(dbPort), type: "PLAINTEXT" },
                    { name: "DB_NAME", value: args.dbName, type: "PLAINTEXT" },
                    { name: "DB_USER", value: args.migrationDbUser, type: "PLAINTEXT" },
                ],
            },
            vpcConfig: { vpcId: args.vpcId, subnets: args.privateSubnetIds, securityGroupIds: [this.securityGroup.id] },
            logsConfig: {
                cloudwatchLogs: { status: "ENABLED", groupName: this.logGroup.name },
                s3Logs: { status: "DISABLED" },
            },
            tags,
        }, { parent: this, dependsOn: [rolePolicy] });

        this.projectName = this.project.name;
        this.projectArn = this.project.arn;
        this.logGroupName = this.logGroup.name;
        this.logGroupArn = this.logGroup.arn;
        this.roleArn = this.role.arn;
        this.securityGroupId = this.securityGroup.id;

        this.registerOutputs({
            projectName: this.projectName,
            projectArn: this.projectArn,
            logGroupName: this.logGroupName,
            logGroupArn: this.logGroupArn,
            roleArn: this.roleArn,
            securityGroupId: this.securityGroupId,
        });
    }
}
