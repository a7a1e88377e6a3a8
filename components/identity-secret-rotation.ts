// Automatic rotation of APP_IDENTITY_SECRET (the identity-token HMAC key, migrations/0005 and 0021): the Secrets
// Manager rotation Lambda (lambdas/identity-secret-rotation) in the private app tier, reaching only the RDS Proxy
// (as identity_rotator, IAM token) and the Secrets Manager VPC endpoint; its role may touch this one secret, use the
// stack CMK only through Secrets Manager for this secret, and connect as identity_rotator only. Secrets Manager may
// invoke it for this secret of this account only. Created by Api (components/api.ts), where the secret lives.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AppTierDatabaseAccess, dbConnectArn, parseDbProxyArn, proxyLambdaFunctionArgs, serviceTrustPolicy, vpcLambdaNetworkStatements } from "./iam";
import { checkLogRetention, encryptedLogGroup } from "./log-groups";

/** Days between automatic rotations (Secrets Manager rotationRules). */
export const IDENTITY_SECRET_ROTATION_DAYS = 30;
/**
 * Minutes an old key stays accepted after AWSCURRENT moves: the longest token (60) + the API host's re-read timer
 * (IDENTITY_SECRET_REREAD_MINUTES in components/api.ts, 10, + 1 minute of timer delay) + skew; the database refuses less than 80.
 */
export const IDENTITY_KEY_GRACE_MINUTES = 120;
/** The database login of the rotation Lambda (migrations/0021). */
export const IDENTITY_ROTATOR_DB_USER = "identity_rotator";
/** The Secrets Manager API calls of the rotation contract the Lambda makes, and nothing else. */
export const ROTATION_SECRET_ACTIONS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
];

/** What Api needs to attach rotation to its secret: where the Lambda runs and what it ships. */
export interface IdentitySecretRotationSettings extends AppTierDatabaseAccess {
    /** Security group of the interface VPC endpoints (Secrets Manager): the Lambda's only HTTPS egress. */
    vpcEndpointSecurityGroupId: pulumi.Input<string>;
    /** Bundled handler (`index.handler`) of lambdas/identity-secret-rotation. */
    code: pulumi.asset.Archive;
    logsKeyArn: pulumi.Input<string>;
    lambdaEnvironmentKeyArn: pulumi.Input<string>;
    logRetentionDays?: number;
    /** Default 30. */
    rotationDays?: number;
    /** Default 120 (80 to 10080). */
    graceMinutes?: number;
    /** Default identity_rotator. */
    dbUser?: string;
    /** Adds an ingress rule on the proxy's group for the Lambda's group (default true). */
    admitToDbProxy?: boolean;
    dbPort?: number;
}

export interface IdentitySecretRotationArgs extends IdentitySecretRotationSettings {
    namePrefix: string;
    secretArn: pulumi.Input<string>;
    /** The stack CMK the secret is encrypted with. */
    secretKeyArn: pulumi.Input<string>;
    tags?: Record<string, string>;
}

export class IdentitySecretRotation extends pulumi.ComponentResource {
    readonly function: aws.lambda.Function;
    readonly role: aws.iam.Role;
    readonly securityGroup: aws.ec2.SecurityGroup;
    readonly rotation: aws.secretsmanager.SecretRotation;
    readonly functionName: pulumi.Output<string>;

    constructor(name: string, args: IdentitySecretRotationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:api:IdentitySecretRotation", name, {}, opts);
        if (!(args.code instanceof pulumi.asset.Archive)) throw new Error("code: expected a pulumi.asset.Archive of the bundled lambdas/identity-secret-rotation");
        const rotationDays = args.rotationDays ?? IDENTITY_SECRET_ROTATION_DAYS;
        if (!Number.isInteger(rotationDays) || rotationDays < 1 || rotationDays > 90) throw new Error(`rotationDays: ${rotationDays} must be an integer from 1 to 90`);
        const graceMinutes = args.graceMinutes ?? IDENTITY_KEY_GRACE_MINUTES;
        if (!Number.isInteger(graceMinutes) || graceMinutes < 80 || graceMinutes > 10080) {
            throw new Error(`graceMinutes: ${graceMinutes} must be an integer from 80 (token lifetime 60 + host re-read 15 + skew) to 10080`);
        }
        const retentionInDays = checkLogRetention(args.logRetentionDays);
        const dbPort = args.dbPort ?? 5432;
        const dbUser = args.dbUser ?? IDENTITY_ROTATOR_DB_USER;
        const tags = { ...args.tags };
        const parent = { parent: this };
        const proxy = pulumi.output(args.dbProxyArn).apply(parseDbProxyArn);
        const functionName = `${args.namePrefix}-identity-secret-rotation`;

        this.securityGroup = new aws.ec2.SecurityGroup(`${name}-sg`, {
            vpcId: args.vpcId,
            description: "Identity secret rotation: the RDS Proxy and the Secrets Manager VPC endpoint only",
            egress: [
                { description: "PostgreSQL through the RDS Proxy", protocol: "tcp", fromPort: dbPort, toPort: dbPort, securityGroups: [args.dbProxySecurityGroupId] },
                { description: "HTTPS to the VPC interface endpoints (Secrets Manager)", protocol: "tcp", fromPort: 443, toPort: 443, securityGroups: [args.vpcEndpointSecurityGroupId] },
            ],
            tags: { ...tags, Name: functionName },
        }, parent);
        if (args.admitToDbProxy ?? true) {
            new aws.vpc.SecurityGroupIngressRule(`${name}-proxy-from-rotation`, {
                securityGroupId: args.dbProxySecurityGroupId,
                referencedSecurityGroupId: this.securityGroup.id,
                ipProtocol: "tcp",
                fromPort: dbPort,
                toPort: dbPort,
                description: "Identity secret rotation to the RDS Proxy",
                tags,
            }, parent);
        }

        const logGroup = encryptedLogGroup(`${name}-logs`, `/aws/lambda/${functionName}`, args.logsKeyArn, retentionInDays, tags, this);
        this.role = new aws.iam.Role(`${name}-role`, {
            name: functionName,
            description: "Rotates APP_IDENTITY_SECRET: this secret only, the stack CMK through Secrets Manager only, identity_rotator only",
            assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"),
            tags,
        }, parent);
        const policy = pulumi.all([proxy, logGroup.arn, dbConnectArn(args.dbProxyArn, dbUser), args.privateSubnetIds, this.securityGroup.id, args.secretArn, args.secretKeyArn])
            .apply(([p, logGroupArn, connectArn, subnetIds, sgId, secretArn, keyArn]) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    ...vpcLambdaNetworkStatements(p, subnetIds, sgId),
                    { Sid: "WriteOwnLogGroup", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
                    { Sid: "RotateThisSecret", Effect: "Allow", Action: ROTATION_SECRET_ACTIONS, Resource: secretArn },
                    {
                        Sid: "UseStackKeyForThisSecretOnly",
                        Effect: "Allow",
                        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
                        Resource: keyArn,
                        Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${p.region}.amazonaws.com`, "kms:EncryptionContext:SecretARN": secretArn } },
                    },
                    { Sid: "ConnectThroughProxyAsIdentityRotator", Effect: "Allow", Action: "rds-db:connect", Resource: connectArn },
                ],
            }));
        const rolePolicy = new aws.iam.RolePolicy(`${name}-policy`, { role: this.role.id, policy }, parent);

        this.function = new aws.lambda.Function(`${name}-function`, proxyLambdaFunctionArgs(args, {
            functionName,
            description: "Secrets Manager rotation of APP_IDENTITY_SECRET (createSecret, setSecret, testSecret, finishSecret)",
            code: args.code,
            roleArn: this.role.arn,
            dbPort,
            dbUser,
            environmentKeyArn: args.lambdaEnvironmentKeyArn,
            securityGroupId: this.securityGroup.id,
            logGroupName: logGroup.name,
            variables: { IDENTITY_KEY_GRACE_MINUTES: String(graceMinutes) },
            tags,
        }), { parent: this, dependsOn: [logGroup, rolePolicy] });

        // Secrets Manager may invoke it for this secret of this account only (no confused deputy).
        const permission = new aws.lambda.Permission(`${name}-invoke`, {
            action: "lambda:InvokeFunction",
            function: this.function.name,
            principal: "secretsmanager.amazonaws.com",
            sourceArn: args.secretArn,
            sourceAccount: proxy.accountId,
        }, parent);

        this.rotation = new aws.secretsmanager.SecretRotation(`${name}-rotation`, {
            secretId: args.secretArn,
            rotationLambdaArn: this.function.arn,
            rotationRules: { automaticallyAfterDays: rotationDays },
            // The first rotation comes after a full period, not during the deploy that creates it: by then the
            // migrations (0021: identity_rotator, the key windows) have run and the value is installed.
            rotateImmediately: false,
        }, { parent: this, dependsOn: [permission] });

        this.functionName = this.function.name;
        this.registerOutputs({ functionName: this.functionName });
    }
}
