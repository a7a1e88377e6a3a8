// Customer-managed KMS keys, one per purpose, so that access to personal data can be
// granted and revoked key by key (APPI Art. 23) and an encrypted breach stays within
// the Art. 26 safe harbour. Every key rotates yearly and stays in this region.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface KeysArgs {
    /** Prefix of aliases, e.g. `appi-dev` -> alias/appi-dev/data. */
    namePrefix: string;
    accountId: pulumi.Input<string>;
    region: pulumi.Input<string>;
    /**
     * IAM principal ARN patterns allowed to use the two PII application keys (ArnLike on
     * aws:PrincipalArn, so the roles need not exist yet when the key policy is written).
     */
    piiKeyUserArnPatterns: pulumi.Input<string>[];
    /**
     * Roles among them that only write PII (the sign-up triggers): they may generate data keys but never
     * decrypt, even if their own IAM policy said otherwise.
     */
    piiKeyEncryptOnlyArnPatterns?: pulumi.Input<string>[];
    deletionWindowDays?: number;
    tags?: Record<string, string>;
}

type Statement = Record<string, unknown>;

export class Keys extends pulumi.ComponentResource {
    /** Data stores at rest: RDS, ElastiCache, EBS, Secrets Manager, SNS, CodeBuild. */
    readonly dataKey: aws.kms.Key;
    /** CloudWatch Logs groups (flow logs, database, Lambda, CodeBuild). */
    readonly logsKey: aws.kms.Key;
    /** Application-level PII encryption, level 2 and the outer layer of level 3. */
    readonly piiKey: aws.kms.Key;
    /** The inner layer of level-3 fields: a second, independent key. */
    readonly piiSecondLayerKey: aws.kms.Key;

    readonly dataKeyArn: pulumi.Output<string>;
    readonly logsKeyArn: pulumi.Output<string>;
    readonly piiKeyArn: pulumi.Output<string>;
    readonly piiSecondLayerKeyArn: pulumi.Output<string>;

    constructor(name: string, args: KeysArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:security:Keys", name, {}, opts);

        const root = pulumi.interpolate`arn:aws:iam::${args.accountId}:root`;
        // Administration stays with the account (IAM policies decide who administers);
        // without this statement a key can become unmanageable.
        const accountAdministers = (): Statement => ({
            Sid: "AccountAdministersKey",
            Effect: "Allow",
            Principal: { AWS: root },
            Action: ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"],
            Resource: "*",
        });
        const usage = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"];

        // s3: the MigrationRunner's db-tasks bundle bucket (SSE-KMS), uploaded by the migrate workflow, read by CodeBuild.
        const dataServices = ["rds", "elasticache", "ec2", "secretsmanager", "sns", "codebuild", "lambda", "s3"];
        const dataPolicy = pulumi.all([root, args.accountId, args.region]).apply(([rootArn, account, region]) => [
            accountAdministers(),
            {
                // Principals of this account may use the key only through the AWS services that store data with it.
                Sid: "UseThroughDataServicesOnly",
                Effect: "Allow",
                Principal: { AWS: rootArn },
                Action: [...usage, "kms:CreateGrant", "kms:ListGrants"],
                Resource: "*",
                Condition: {
                    StringEquals: { "kms:CallerAccount": account, "kms:ViaService": dataServices.map((s) => `${s}.${region}.amazonaws.com`) },
                },
            },
            {
                // CloudWatch alarms publish to the SNS topic encrypted with this key.
                Sid: "CloudWatchAlarmsPublishToEncryptedTopic",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                Resource: "*",
                Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
        ]);

        const logsPolicy = pulumi.all([root, args.accountId, args.region]).apply(([, account, region]) => [
            accountAdministers(),
            {
                Sid: "CloudWatchLogsOfThisAccountOnly",
                Effect: "Allow",
                Principal: { Service: `logs.${region}.amazonaws.com` },
                Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                Resource: "*",
                Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${region}:${account}:log-group:*` } },
            },
        ]);

        // Encryption context of every PII ciphertext (lib/crypto.ts): table, column, user_id.
        const piiContext = { "ForAllValues:StringEquals": { "kms:EncryptionContextKeys": ["table", "column", "user_id", "aws-crypto-public-key"] }, Null: { "kms:EncryptionContext:user_id": "false", "kms:EncryptionContext:table": "false" } };
        const piiPolicy = pulumi.all([root, pulumi.output(args.piiKeyUserArnPatterns), pulumi.output(args.piiKeyEncryptOnlyArnPatterns ?? [])]).apply(([rootArn, patterns, encryptOnly]) => [
            accountAdministers(),
            {
                // Only the named application roles, and only with an encryption context that binds
                // each ciphertext to its table, column and user (checked again on decrypt).
                Sid: "NamedApplicationRolesEncryptWithContext",
                Effect: "Allow",
                Principal: { AWS: rootArn },
                Action: ["kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                Resource: "*",
                Condition: { ArnLike: { "aws:PrincipalArn": patterns }, ...piiContext },
            },
            {
                // Decrypt: the same roles, the same context required (a ciphertext cannot be decrypted as another user's).
                Sid: "NamedApplicationRolesDecryptWithContext",
                Effect: "Allow",
                Principal: { AWS: rootArn },
                Action: "kms:Decrypt",
                Resource: "*",
                Condition: { ArnLike: { "aws:PrincipalArn": patterns }, ...piiContext },
            },
            ...(encryptOnly.length
                ? [{
                      Sid: "WriteOnlyRolesNeverDecrypt",
                      Effect: "Deny",
                      Principal: { AWS: "*" },
                      Action: ["kms:Decrypt", "kms:ReEncrypt*"],
                      Resource: "*",
                      Condition: { ArnLike: { "aws:PrincipalArn": encryptOnly } },
                  }]
                : []),
        ]);

        const makeKey = (purpose: string, description: string, statements: pulumi.Output<Statement[]>) => {
            const key = new aws.kms.Key(
                `${name}-${purpose}`,
                {
                    description: `${args.namePrefix}: ${description}`,
                    keyUsage: "ENCRYPT_DECRYPT",
                    customerMasterKeySpec: "SYMMETRIC_DEFAULT",
                    enableKeyRotation: true,
                    rotationPeriodInDays: 365,
                    multiRegion: false,
                    deletionWindowInDays: args.deletionWindowDays ?? 30,
                    policy: statements.apply((s) => JSON.stringify({ Version: "2012-10-17", Statement: s })),
                    tags: { ...args.tags, Purpose: purpose },
                },
                { parent: this },
            );
            new aws.kms.Alias(`${name}-${purpose}`, { name: `alias/${args.namePrefix}/${purpose}`, targetKeyId: key.keyId }, { parent: this });
            return key;
        };

        this.dataKey = makeKey("data", "data stores at rest (RDS, ElastiCache, EBS, Secrets Manager, SNS, CodeBuild)", dataPolicy);
        this.logsKey = makeKey("logs", "CloudWatch Logs", logsPolicy);
        this.piiKey = makeKey("pii", "application-level PII encryption (level 2, level 3 outer layer)", piiPolicy);
        this.piiSecondLayerKey = makeKey("pii-l3", "application-level PII encryption, level 3 inner layer", piiPolicy);

        this.dataKeyArn = this.dataKey.arn;
        this.logsKeyArn = this.logsKey.arn;
        this.piiKeyArn = this.piiKey.arn;
        this.piiSecondLayerKeyArn = this.piiSecondLayerKey.arn;
        this.registerOutputs({
            dataKeyArn: this.dataKeyArn,
            logsKeyArn: this.logsKeyArn,
            piiKeyArn: this.piiKeyArn,
            piiSecondLayerKeyArn: this.piiSecondLayerKeyArn,
        });
    }
}
