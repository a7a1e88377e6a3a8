// Sign-up path: a Cognito user pool whose PreSignUp / PostConfirmation triggers keep the
// database in step with Cognito. The triggers write personal data, so they run in the
// private app subnets, reach only the RDS Proxy and the VPC endpoints, and may use only
// the two PII keys and their own database user (APPI Art. 23, security control measures).
// A third trigger, PreTokenGeneration, records the user's activity each time Cognito issues
// tokens (sign-in and every refresh), so inactivity-based erasure never erases an active user
// (migrations/0025); it has its own database user, which can do nothing else, and no key.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CONSENT_ATTRIBUTES } from "../lambdas/shared/signup";
import { AppTierDatabaseAccess, dbConnectArn, parseDbProxyArn, proxyDatabaseEnvironment, serviceTrustPolicy, vpcLambdaNetworkStatements } from "./iam";
import { checkLogRetention, encryptedLogGroup } from "./log-groups";

/** Cognito waits 5 s for a trigger, then retries: a longer Lambda timeout only wastes retries. */
export const COGNITO_TRIGGER_TIMEOUT_SECONDS = 5;

export interface IdentityArgs extends AppTierDatabaseAccess {
    /** Prefix of every physical name, e.g. `appi-dev`. */
    namePrefix: string;
    /** Blocks deleting the user pool (prod: true). */
    deletionProtection: boolean;

    /**
     * Adds an ingress rule on the proxy's group admitting the triggers' group on `dbPort`
     * (default true). Set false when the database component admits `securityGroupId` itself.
     */
    admitToDbProxy?: boolean;
    /** Where HTTPS (KMS, STS) may go: the interface VPC endpoints' security group ... */
    vpcEndpointSecurityGroupId?: pulumi.Input<string>;
    /** ... or, when the endpoints have no group of their own, the VPC CIDR. */
    vpcCidrBlock?: pulumi.Input<string>;

    dbPort?: number;
    /** Database user the sign-up triggers log in as through IAM auth (`signup_trigger`: a `pii_signup` member that can only create users). */
    dbUser: pulumi.Input<string>;
    /** Database user the PreTokenGeneration trigger logs in as (`activity_recorder`: may only record a user's activity, 0025). */
    activityDbUser: pulumi.Input<string>;

    /** PII application key (level 2 and the outer layer of level 3). */
    piiKeyArn: pulumi.Input<string>;
    /** Second, independent key for the inner layer of level-3 fields. */
    piiSecondLayerKeyArn: pulumi.Input<string>;
    /**
     * Keys of earlier PII key versions (after a rotation to a new key): decrypt only, so old
     * ciphertext stays readable while every new write uses the current key.
     */
    piiPreviousKeyArns?: pulumi.Input<pulumi.Input<string>[]>;
    piiSecondLayerPreviousKeyArns?: pulumi.Input<pulumi.Input<string>[]>;
    /** Key of the Lambda log groups. */
    logsKeyArn: pulumi.Input<string>;
    /** CMK that encrypts the functions' environment variables at rest (e.g. the data key). */
    lambdaEnvironmentKeyArn: pulumi.Input<string>;
    /** Days the triggers' logs are kept (>= 365; default 365). */
    logRetentionDays?: number;

    /** Bundled handlers (`index.handler`), e.g. `new pulumi.asset.FileArchive("lambdas/dist/pre-signup")`. */
    preSignUpCode: pulumi.asset.Archive;
    postConfirmationCode: pulumi.asset.Archive;
    /** The PreTokenGeneration handler (lambdas/pre-token-generation): records activity at every token issuance. */
    preTokenGenerationCode: pulumi.asset.Archive;
    /**
     * Give PreSignUp the database and the PII keys too (default false: it only validates the
     * sign-up and writes nothing, so it gets neither; PostConfirmation always has both).
     */
    preSignUpDataAccess?: boolean;
    /** Memory of each trigger (default 512 MB: more memory is more CPU, which shortens cold starts under Cognito's 5 s). */
    lambdaMemoryMb?: number;

    /**
     * Sends verification mail through SES (a verified identity in this region) instead of
     * Cognito's built-in sender, which is capped at a few dozen messages a day: set it for prod.
     */
    emailSender?: { sesIdentityArn: pulumi.Input<string>; fromAddress: pulumi.Input<string> };

    tags?: Record<string, string>;
}


export class Identity extends pulumi.ComponentResource {
    readonly userPool: aws.cognito.UserPool;
    readonly userPoolClient: aws.cognito.UserPoolClient;
    readonly preSignUpFunction: aws.lambda.Function;
    readonly postConfirmationFunction: aws.lambda.Function;
    readonly preTokenGenerationFunction: aws.lambda.Function;
    readonly securityGroup: aws.ec2.SecurityGroup;

    readonly userPoolId: pulumi.Output<string>;
    readonly userPoolArn: pulumi.Output<string>;
    readonly userPoolClientId: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;
    readonly preSignUpRoleArn: pulumi.Output<string>;
    readonly postConfirmationRoleArn: pulumi.Output<string>;
    readonly preTokenGenerationRoleArn: pulumi.Output<string>;
    readonly logGroupNames: pulumi.Output<string>[];

    constructor(name: string, args: IdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:identity:Identity", name, {}, opts);

        if (!/^[a-z][a-z0-9-]{1,30}$/.test(args.namePrefix ?? "")) {
            throw new Error(`namePrefix: ${JSON.stringify(args.namePrefix)} must be 2-31 of a-z, 0-9, - starting with a letter (e.g. "appi-dev")`);
        }
        if (!args.vpcEndpointSecurityGroupId && !args.vpcCidrBlock) {
            throw new Error("vpcEndpointSecurityGroupId or vpcCidrBlock: one is required so the triggers can reach KMS through the VPC endpoints on 443");
        }
        const retentionInDays = checkLogRetention(args.logRetentionDays);
        const dbPort = args.dbPort ?? 5432;
        const memorySize = args.lambdaMemoryMb ?? 512;
        if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) {
            throw new Error(`lambdaMemoryMb: ${memorySize} must be an integer between 128 and 10240`);
        }
        const tags = { ...args.tags };
        const proxy = pulumi.output(args.dbProxyArn).apply(parseDbProxyArn);

        // No ingress: Cognito invokes the functions through the Lambda API, not the network.
        this.securityGroup = new aws.ec2.SecurityGroup(`${name}-triggers`, {
            vpcId: args.vpcId,
            description: "Cognito triggers: egress to the RDS Proxy and the VPC endpoints only",
            egress: [
                { description: "PostgreSQL through the RDS Proxy", protocol: "tcp", fromPort: dbPort, toPort: dbPort, securityGroups: [args.dbProxySecurityGroupId] },
                args.vpcEndpointSecurityGroupId
                    ? { description: "HTTPS to the VPC interface endpoints (KMS, STS)", protocol: "tcp", fromPort: 443, toPort: 443, securityGroups: [args.vpcEndpointSecurityGroupId] }
                    : { description: "HTTPS to the VPC interface endpoints (KMS, STS)", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: [args.vpcCidrBlock!] },
            ],
            tags: { ...tags, Name: `${args.namePrefix}-cognito-triggers` },
        }, { parent: this });

        if (args.admitToDbProxy ?? true) {
            new aws.vpc.SecurityGroupIngressRule(`${name}-proxy-from-triggers`, {
                securityGroupId: args.dbProxySecurityGroupId,
                referencedSecurityGroupId: this.securityGroup.id,
                ipProtocol: "tcp",
                fromPort: dbPort,
                toPort: dbPort,
                description: "Cognito triggers to the RDS Proxy",
                tags,
            }, { parent: this });
        }

        const dataEnvironment = pulumi.all([args.piiPreviousKeyArns ?? [], args.piiSecondLayerPreviousKeyArns ?? []]).apply(([previous, previousL3]) => ({
            ...proxyDatabaseEnvironment(args, dbPort, args.dbUser),
            PII_KMS_KEY_ARN: args.piiKeyArn,
            PII_L3_KMS_KEY_ARN: args.piiSecondLayerKeyArn,
            // Only after a rotation: earlier key versions, for reading old ciphertext.
            ...(previous.length ? { PII_KMS_PREVIOUS_KEY_ARNS: previous.join(",") } : {}),
            ...(previousL3.length ? { PII_L3_KMS_PREVIOUS_KEY_ARNS: previousL3.join(",") } : {}),
            NODE_OPTIONS: "--enable-source-maps",
        }));
        const previousKeyArns = pulumi.all([args.piiPreviousKeyArns ?? [], args.piiSecondLayerPreviousKeyArns ?? []]).apply(([a, b]) => [...a, ...b]);

        const environments = {
            none: { NODE_OPTIONS: "--enable-source-maps" },
            signup: dataEnvironment,
            activity: { ...proxyDatabaseEnvironment(args, dbPort, args.activityDbUser), NODE_OPTIONS: "--enable-source-maps" },
        };
        const codeArgument = { "pre-signup": "preSignUpCode", "post-confirmation": "postConfirmationCode", "pre-token-generation": "preTokenGenerationCode" } as const;

        // access: "signup" = the sign-up database user and the two PII keys (generate data keys only);
        // "activity" = the activity database user, no key; "none" = neither.
        const trigger = (kind: keyof typeof codeArgument, code: pulumi.asset.Archive, access: keyof typeof environments) => {
            if (!(code instanceof pulumi.asset.Archive)) {
                throw new Error(`${codeArgument[kind]}: expected a pulumi.asset.Archive of the bundled handler`);
            }
            const dataAccess = access === "signup";
            const functionName = `${args.namePrefix}-${kind}`;
            const logGroup = encryptedLogGroup(`${name}-${kind}-logs`, `/aws/lambda/${functionName}`, args.logsKeyArn, retentionInDays, tags, this);

            const role = new aws.iam.Role(`${name}-${kind}-role`, {
                // `<prefix>-pii-*` is the name pattern the PII keys' policies admit: only roles that need them carry it.
                name: dataAccess ? `${args.namePrefix}-pii-${kind}` : `${args.namePrefix}-${kind}`,
                description: `Execution role of the Cognito ${kind} trigger`,
                assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"),
                tags,
            }, { parent: this });

            // Each trigger may connect as its own database user only.
            const ownConnectArn = dbConnectArn(args.dbProxyArn, access === "activity" ? args.activityDbUser : args.dbUser);
            const policy = pulumi.all([proxy, logGroup.arn, args.piiKeyArn, args.piiSecondLayerKeyArn, ownConnectArn, args.privateSubnetIds, this.securityGroup.id, previousKeyArns])
                .apply(([p, logGroupArn, piiKeyArn, piiL3KeyArn, connectArn, subnetIds, sgId, previousKeys]) => {
                    const connectStatement = { Sid: "ConnectThroughProxyAsOwnUser", Effect: "Allow", Action: "rds-db:connect", Resource: connectArn };
                    const dataStatements = [
                        {
                            // Sign-up only writes PII: a data key per field (the Encryption SDK's encrypt), bound to the
                            // users table by the encryption context, on the two PII keys and nothing else.
                            Sid: "PiiKeysOnly",
                            Effect: "Allow",
                            Action: "kms:GenerateDataKey",
                            Resource: [piiKeyArn, piiL3KeyArn],
                            Condition: { StringEquals: { "kms:EncryptionContext:table": "users" } },
                        },
                        {
                            // ...and never reads it back, whatever another policy might grant.
                            Sid: "NeverDecryptPii",
                            Effect: "Deny",
                            Action: ["kms:Decrypt", "kms:ReEncrypt*", "kms:Encrypt"],
                            Resource: [piiKeyArn, piiL3KeyArn, ...previousKeys],
                        },
                        connectStatement,
                    ];
                    return JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            ...vpcLambdaNetworkStatements(p, subnetIds, sgId),
                            {
                                Sid: "WriteOwnLogGroup",
                                Effect: "Allow",
                                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                                Resource: `${logGroupArn}:*`,
                            },
                            ...(dataAccess ? dataStatements : []),
                            ...(access === "activity" ? [connectStatement] : []),
                        ],
                    });
                });
            new aws.iam.RolePolicy(`${name}-${kind}-policy`, { role: role.id, policy }, { parent: this });

            const fn = new aws.lambda.Function(`${name}-${kind}`, {
                name: functionName,
                description: `Cognito ${kind} trigger`,
                runtime: "nodejs22.x",
                architectures: ["arm64"],
                handler: "index.handler",
                code,
                role: role.arn,
                timeout: COGNITO_TRIGGER_TIMEOUT_SECONDS,
                memorySize,
                environment: { variables: environments[access] },
                kmsKeyArn: args.lambdaEnvironmentKeyArn,
                vpcConfig: { subnetIds: args.privateSubnetIds, securityGroupIds: [this.securityGroup.id] },
                loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
                tags,
            }, { parent: this, dependsOn: [logGroup] });
            return { fn, role, logGroup };
        };

        // Functions first, then the pool that names them, then the permissions that name the pool: no cycle.
        const preSignUp = trigger("pre-signup", args.preSignUpCode, args.preSignUpDataAccess ? "signup" : "none");
        const postConfirmation = trigger("post-confirmation", args.postConfirmationCode, "signup");
        const preTokenGeneration = trigger("pre-token-generation", args.preTokenGenerationCode, "activity");
        this.preSignUpFunction = preSignUp.fn;
        this.postConfirmationFunction = postConfirmation.fn;
        this.preTokenGenerationFunction = preTokenGeneration.fn;

        this.userPool = new aws.cognito.UserPool(`${name}-users`, {
            name: `${args.namePrefix}-users`,
            // Threat protection (advanced security) needs the Plus feature plan.
            userPoolTier: "PLUS",
            usernameAttributes: ["email"],
            usernameConfiguration: { caseSensitive: false },
            autoVerifiedAttributes: ["email"],
            userAttributeUpdateSettings: { attributesRequireVerificationBeforeUpdates: ["email"] },
            verificationMessageTemplate: { defaultEmailOption: "CONFIRM_WITH_CODE" },
            emailConfiguration: args.emailSender
                ? { emailSendingAccount: "DEVELOPER", sourceArn: args.emailSender.sesIdentityArn, fromEmailAddress: args.emailSender.fromAddress }
                : { emailSendingAccount: "COGNITO_DEFAULT" },
            accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
            adminCreateUserConfig: { allowAdminCreateUserOnly: false },
            passwordPolicy: {
                minimumLength: 12,
                requireLowercase: true,
                requireUppercase: true,
                requireNumbers: true,
                requireSymbols: true,
                temporaryPasswordValidityDays: 3,
            },
            // Consent travels in ClientMetadata, which Cognito does not keep between SignUp and
            // ConfirmSignUp; these attributes carry it to PostConfirmation instead.
            schemas: Object.values(CONSENT_ATTRIBUTES).map((attribute) => ({
                name: attribute.replace(/^custom:/, ""),
                attributeDataType: "String",
                mutable: true,
                stringAttributeConstraints: { minLength: "1", maxLength: "512" },
            })),
            mfaConfiguration: "OPTIONAL",
            softwareTokenMfaConfiguration: { enabled: true },
            userPoolAddOns: { advancedSecurityMode: "ENFORCED" },
            deletionProtection: args.deletionProtection ? "ACTIVE" : "INACTIVE",
            // PreTokenGeneration (V1 event): sign-in, new password, device and every refresh token use.
            lambdaConfig: { preSignUp: preSignUp.fn.arn, postConfirmation: postConfirmation.fn.arn, preTokenGeneration: preTokenGeneration.fn.arn },
            tags,
        }, { parent: this });

        for (const [kind, fn] of [["pre-signup", preSignUp.fn], ["post-confirmation", postConfirmation.fn], ["pre-token-generation", preTokenGeneration.fn]] as const) {
            new aws.lambda.Permission(`${name}-${kind}-invoke`, {
                function: fn.name,
                action: "lambda:InvokeFunction",
                principal: "cognito-idp.amazonaws.com",
                // Only this pool may invoke the trigger (confused-deputy protection).
                sourceArn: this.userPool.arn,
                sourceAccount: proxy.accountId,
            }, { parent: this });
        }

        // A browser SPA cannot keep a client secret, so the client has none and uses SRP,
        // which never sends the password; refresh tokens are revocable.
        this.userPoolClient = new aws.cognito.UserPoolClient(`${name}-spa`, {
            name: `${args.namePrefix}-spa`,
            userPoolId: this.userPool.id,
            generateSecret: false,
            explicitAuthFlows: ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            preventUserExistenceErrors: "ENABLED",
            enableTokenRevocation: true,
            accessTokenValidity: 60,
            idTokenValidity: 60,
            refreshTokenValidity: 30,
            tokenValidityUnits: { accessToken: "minutes", idToken: "minutes", refreshToken: "days" },
            readAttributes: ["email", "email_verified", "given_name", "family_name", "phone_number", "address", "birthdate", ...Object.values(CONSENT_ATTRIBUTES)],
            writeAttributes: ["email", "given_name", "family_name", "phone_number", "address", "birthdate", ...Object.values(CONSENT_ATTRIBUTES)],
        }, { parent: this });

        this.userPoolId = this.userPool.id;
        this.userPoolArn = this.userPool.arn;
        this.userPoolClientId = this.userPoolClient.id;
        this.securityGroupId = this.securityGroup.id;
        this.preSignUpRoleArn = preSignUp.role.arn;
        this.postConfirmationRoleArn = postConfirmation.role.arn;
        this.preTokenGenerationRoleArn = preTokenGeneration.role.arn;
        this.logGroupNames = [preSignUp.logGroup.name, postConfirmation.logGroup.name, preTokenGeneration.logGroup.name];

        this.registerOutputs({
            userPoolId: this.userPoolId,
            userPoolArn: this.userPoolArn,
            userPoolClientId: this.userPoolClientId,
            securityGroupId: this.securityGroupId,
            preSignUpRoleArn: this.preSignUpRoleArn,
            postConfirmationRoleArn: this.postConfirmationRoleArn,
            preTokenGenerationRoleArn: this.preTokenGenerationRoleArn,
        });
    }
}
