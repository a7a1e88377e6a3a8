// Keyless delivery: GitHub Actions exchanges its OIDC token for short-lived AWS credentials,
// so no access key is stored in GitHub. Each role trusts exactly one repository and one
// branch or GitHub environment (never `repo:owner/*` or a pull-request subject that any
// branch can produce), and may do only what its job does.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { denyBuildOverrides } from "./migration-runner";

export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com";
/**
 * The thumbprints AWS documents for GitHub's OIDC endpoint. IAM now trusts GitHub through its
 * own root-CA library and ignores them, but the API still accepts (and older tools expect) a list.
 */
export const GITHUB_OIDC_THUMBPRINTS = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"];
/** CloudWatch namespace of the compliance metrics; the drift audit publishes PolicyViolations (dimension Stack) there. */
export const COMPLIANCE_METRIC_NAMESPACE = "APPI/Compliance";
/** The GitHub environment only the nightly drift-audit workflow declares (deployment branches: main). */
export const DRIFT_AUDIT_ENVIRONMENT = "drift-audit";

/** Who may assume a role: pushes to one branch, or jobs that run in one GitHub environment. */
export type GithubSubject = { branch: string } | { environment: string };

export interface GithubOidcArgs {
    /** Prefix of every physical name, e.g. `appi-dev`. */
    namePrefix: string;
    /** The one repository trusted, `owner/name`, spelled as GitHub spells it (the claim is case-sensitive). */
    repository: string;
    /** Region the deploy and migrate jobs may act in (default ap-northeast-1). */
    region?: string;

    /** Subject of the deploy role: dev `{ branch: "main" }`, prod `{ environment: "prod" }`. */
    deploy: GithubSubject;
    /** Subject of the migrate role (default: the deploy subject, since migrations follow a deploy). */
    migrate?: GithubSubject;
    /**
     * Subjects of the read-only preview role. Default: `main` and the `preview` environment,
     * which the pull-request job declares (a bare `pull_request` subject is not tied to any branch).
     */
    preview?: GithubSubject[];
    /**
     * Subjects of the read-only audit role the nightly drift audit uses (default: the `drift-audit`
     * environment, which only .github/workflows/drift-audit.yml declares and which deploys from main only).
     * AWS evaluates no OIDC claim beyond `sub` and `aud`, so the environment is what pins the workflow.
     */
    audit?: GithubSubject[];

    /** An account has one provider per URL: pass its ARN when another stack already created it. */
    existingProviderArn?: pulumi.Input<string>;

    migrationProjectArn: pulumi.Input<string>;
    migrationLogGroupArn: pulumi.Input<string>;
    /**
     * The db-tasks bundle the migrate job uploads before starting the build (MigrationRunner
     * `bundleObjectArn`) and the key its bucket encrypts with.
     */
    migrationBundle?: { objectArn: pulumi.Input<string>; kmsKeyArn: pulumi.Input<string> };

    /** Pulumi DIY state in S3 (omit for Pulumi Cloud, which authenticates with its own token). */
    stateBackend?: { bucketName: pulumi.Input<string>; kmsKeyArn?: pulumi.Input<string> };
    /** KMS key of the stack's `awskms://` secrets provider, which Pulumi calls directly. */
    secretsProviderKeyArn?: pulumi.Input<string>;

    /**
     * Prefix of the IAM roles, policies and instance profiles this stack manages (default
     * `<namePrefix>-`): the deploy role can touch no other IAM entity.
     */
    iamNamePrefix?: string;
    /** Tag every data store carries; the deploy role cannot delete a store without it. */
    ownershipTag?: { key: string; value: string };
    tags?: Record<string, string>;
}

const REPOSITORY = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/;
const BRANCH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
const ENVIRONMENT = /^[A-Za-z0-9._-]+$/;

/** The `sub` claim GitHub puts in the token for this subject. */
export function githubSubjectClaim(repository: string, subject: GithubSubject, argName = "subject"): string {
    if (!REPOSITORY.test(repository ?? "")) {
        throw new Error(`repository: ${JSON.stringify(repository)} must be one GitHub repository as owner/name (no wildcards)`);
    }
    if ("branch" in subject) {
        if (!BRANCH.test(subject.branch ?? "") || subject.branch.includes("..")) {
            throw new Error(`${argName}.branch: ${JSON.stringify(subject.branch)} must be one branch name (no wildcards), e.g. "main"`);
        }
        return `repo:${repository}:ref:refs/heads/${subject.branch}`;
    }
    if ("environment" in subject) {
        if (!ENVIRONMENT.test(subject.environment ?? "")) {
            throw new Error(`${argName}.environment: ${JSON.stringify(subject.environment)} must be one GitHub environment name (letters, digits, . _ -), e.g. "prod"`);
        }
        return `repo:${repository}:environment:${subject.environment}`;
    }
    throw new Error(`${argName}: expected { branch } or { environment }, got ${JSON.stringify(subject)}`);
}

/** Trust policy: GitHub's provider, our audience, and exactly these subjects (StringEquals, no wildcard). */
export function githubTrustPolicy(providerArn: string, subjects: string[]): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
            Effect: "Allow",
            Principal: { Federated: providerArn },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: {
                    [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
                    [`${GITHUB_OIDC_HOST}:sub`]: subjects.length === 1 ? subjects[0] : subjects,
                },
            },
        }],
    });
}

// Services this stack's resources live in; the deploy role may manage them in one region only.
const STACK_SERVICES = ["ec2", "rds", "elasticache", "kms", "logs", "lambda", "cognito-idp", "codebuild", "scheduler", "sns", "cloudwatch", "secretsmanager"];
// Services whose AWS-managed roles the stack's resources need on first use.
const SERVICE_LINKED_ROLES = ["rds.amazonaws.com", "elasticache.amazonaws.com", "elasticloadbalancing.amazonaws.com"];

type Statement = Record<string, unknown>;

export class GithubOidc extends pulumi.ComponentResource {
    readonly provider?: aws.iam.OpenIdConnectProvider;
    readonly previewRole: aws.iam.Role;
    readonly deployRole: aws.iam.Role;
    readonly migrateRole: aws.iam.Role;
    readonly auditRole: aws.iam.Role;

    readonly providerArn: pulumi.Output<string>;
    readonly previewRoleArn: pulumi.Output<string>;
    readonly deployRoleArn: pulumi.Output<string>;
    readonly migrateRoleArn: pulumi.Output<string>;
    readonly auditRoleArn: pulumi.Output<string>;
    /** The `sub` claims each role accepts, for the README and the workflows' reviewers. */
    readonly subjects: { preview: string[]; deploy: string[]; migrate: string[]; audit: string[] };

    constructor(name: string, args: GithubOidcArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:delivery:GithubOidc", name, {}, opts);

        if (!/^[a-z][a-z0-9-]{1,30}$/.test(args.namePrefix ?? "")) {
            throw new Error(`namePrefix: ${JSON.stringify(args.namePrefix)} must be 2-31 of a-z, 0-9, - starting with a letter (e.g. "appi-dev")`);
        }
        const region = args.region ?? "ap-northeast-1";
        if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new Error(`region: ${JSON.stringify(region)} is not an AWS region name, e.g. "ap-northeast-1"`);
        if (!args.deploy) throw new Error("deploy: required, e.g. { branch: \"main\" } for dev or { environment: \"prod\" } for prod");
        const previewSubjects = args.preview ?? [{ branch: "main" }, { environment: "preview" }];
        if (previewSubjects.length === 0) throw new Error("preview: give at least one branch or environment");
        const auditSubjects = args.audit ?? [{ environment: DRIFT_AUDIT_ENVIRONMENT }];
        if (auditSubjects.length === 0) throw new Error(`audit: give at least one branch or environment (default: the ${DRIFT_AUDIT_ENVIRONMENT} environment)`);
        this.subjects = {
            preview: previewSubjects.map((s, i) => githubSubjectClaim(args.repository, s, `preview[${i}]`)),
            deploy: [githubSubjectClaim(args.repository, args.deploy, "deploy")],
            migrate: [githubSubjectClaim(args.repository, args.migrate ?? args.deploy, "migrate")],
            audit: auditSubjects.map((s, i) => githubSubjectClaim(args.repository, s, `audit[${i}]`)),
        };
        const iamPrefix = args.iamNamePrefix ?? `${args.namePrefix}-`;
        if (!/^[A-Za-z0-9+=,.@_-]{3,}$/.test(iamPrefix)) throw new Error(`iamNamePrefix: ${JSON.stringify(iamPrefix)} must be at least 3 IAM name characters (no wildcards)`);
        const tags = { ...args.tags };

        const caller = aws.getCallerIdentityOutput({}, { parent: this });
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;

        if (args.existingProviderArn) {
            this.providerArn = pulumi.output(args.existingProviderArn);
        } else {
            this.provider = new aws.iam.OpenIdConnectProvider(`${name}-github`, {
                url: `https://${GITHUB_OIDC_HOST}`,
                clientIdLists: [GITHUB_OIDC_AUDIENCE],
                thumbprintLists: GITHUB_OIDC_THUMBPRINTS,
                tags,
            }, { parent: this });
            this.providerArn = this.provider.arn;
        }

        const role = (kind: "preview" | "deploy" | "migrate" | "audit", description: string, policy: pulumi.Output<Statement[]>) => {
            const r = new aws.iam.Role(`${name}-${kind}`, {
                name: `${args.namePrefix}-github-${kind}`,
                description,
                assumeRolePolicy: this.providerArn.apply((arn) => githubTrustPolicy(arn, this.subjects[kind])),
                maxSessionDuration: 3600,
                tags,
            }, { parent: this });
            new aws.iam.RolePolicy(`${name}-${kind}`, {
                role: r.id,
                policy: policy.apply((Statement) => JSON.stringify({ Version: "2012-10-17", Statement })),
            }, { parent: this });
            return r;
        };

        const inRegion = { StringEquals: { "aws:RequestedRegion": region } };
        const state = pulumi.all([args.stateBackend?.bucketName, args.stateBackend?.kmsKeyArn, args.secretsProviderKeyArn, partition]);
        const stateStatements = (write: boolean) => state.apply(([bucket, stateKey, secretsKey, part]): Statement[] => {
            const out: Statement[] = [];
            if (bucket) {
                const bucketArn = `arn:${part}:s3:::${bucket}`;
                out.push({ Sid: "StateBucket", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"], Resource: bucketArn });
                out.push({ Sid: "ReadState", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucketArn}/*` });
                // Preview only takes the stack lock; an update writes checkpoints and history too.
                out.push({ Sid: write ? "WriteState" : "TakeStackLock", Effect: "Allow", Action: ["s3:PutObject", "s3:DeleteObject"], Resource: write ? `${bucketArn}/*` : `${bucketArn}/.pulumi/locks/*` });
                if (stateKey) out.push({ Sid: "StateKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: stateKey, Condition: { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` } } });
            }
            if (secretsKey) out.push({ Sid: "StackSecretsKey", Effect: "Allow", Action: write ? ["kms:Encrypt", "kms:Decrypt"] : ["kms:Decrypt"], Resource: secretsKey });
            return out;
        });

        const iamArns = pulumi.all([caller.accountId, partition]).apply(([account, part]) => ({
            stack: [`arn:${part}:iam::${account}:role/${iamPrefix}*`, `arn:${part}:iam::${account}:policy/${iamPrefix}*`, `arn:${part}:iam::${account}:instance-profile/${iamPrefix}*`],
            oidcProvider: `arn:${part}:iam::${account}:oidc-provider/${GITHUB_OIDC_HOST}`,
            serviceLinked: `arn:${part}:iam::${account}:role/aws-service-role/*`,
            // The AMI lookup reads AWS's public parameters only, never the account's own (SecureStrings).
            publicParameters: { Sid: "ReadPublicAmiParameters", Effect: "Allow", Action: ["ssm:GetParameter", "ssm:GetParameters"], Resource: `arn:${part}:ssm:${region}::parameter/aws/service/*` } as Statement,
        }));

        // Preview: read what exists to diff against it, and the state; change nothing.
        const previewPolicy = pulumi.all([iamArns, stateStatements(false)]).apply(([iam, stateSt]): Statement[] => [
            {
                Sid: "ReadStackResources",
                Effect: "Allow",
                Action: [
                    "ec2:Describe*", "rds:Describe*", "rds:ListTagsForResource", "elasticache:Describe*", "elasticache:ListTagsForResource",
                    "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListResourceTags",
                    "logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
                    "lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:GetPolicy", "lambda:ListTags", "lambda:GetFunctionCodeSigningConfig",
                    "cognito-idp:DescribeUserPool", "cognito-idp:DescribeUserPoolClient", "cognito-idp:GetUserPoolMfaConfig", "cognito-idp:ListTagsForResource",
                    "codebuild:BatchGetProjects", "scheduler:GetSchedule", "sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:ListSubscriptionsByTopic", "sns:GetSubscriptionAttributes",
                    "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource",
                    "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
                ],
                Resource: "*",
                Condition: inRegion,
            },
            {
                Sid: "ReadStackIam",
                Effect: "Allow",
                Action: ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListRoleTags", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:GetInstanceProfile", "iam:GetOpenIDConnectProvider"],
                Resource: [...iam.stack, iam.oidcProvider],
            },
            iam.publicParameters,
            { Sid: "WhoAmI", Effect: "Allow", Action: "sts:GetCallerIdentity", Resource: "*" },
            ...stateSt,
        ]);

        // Deploy: `pulumi up` creates, changes and deletes everything in this stack, so the role is
        // broad by nature. It is bounded by region, by the IAM name prefix, and by denials of the
        // data plane (reading secrets, users, or decrypting outside an AWS service).
        const deployPolicy = pulumi.all([iamArns, stateStatements(true), args.secretsProviderKeyArn, args.stateBackend?.kmsKeyArn]).apply(([iam, stateSt, secretsKey, stateKey]): Statement[] => {
            const statements: Statement[] = [
                { Sid: "ManageStackServicesInRegion", Effect: "Allow", Action: STACK_SERVICES.map((s) => `${s}:*`), Resource: "*", Condition: inRegion },
                iam.publicParameters,
                // Note: a stack that manages its own deploy role can widen it; keep this component's
                // changes behind review (the prod environment's required reviewers).
                { Sid: "ManageStackIam", Effect: "Allow", Action: "iam:*", Resource: [...iam.stack, iam.oidcProvider] },
                { Sid: "CreateServiceLinkedRoles", Effect: "Allow", Action: "iam:CreateServiceLinkedRole", Resource: iam.serviceLinked, Condition: { StringEquals: { "iam:AWSServiceName": SERVICE_LINKED_ROLES } } },
                { Sid: "WhoAmI", Effect: "Allow", Action: "sts:GetCallerIdentity", Resource: "*" },
                ...stateSt,
                // IAM and STS are global (their requests carry us-east-1); everything else stays in the region.
                { Sid: "DenyOutsideRegion", Effect: "Deny", NotAction: ["iam:*", "sts:*"], Resource: "*", Condition: { StringNotEquals: { "aws:RequestedRegion": region } } },
                // `pulumi up` never starts a build; a build of the migration project runs with database
                // access, and with a source or buildspec override it would run whatever the caller sends.
                { Sid: "DenyStartingBuilds", Effect: "Deny", Action: ["codebuild:StartBuild", "codebuild:StartBuildBatch", "codebuild:RetryBuild", "codebuild:RetryBuildBatch"], Resource: "*" },
                {
                    Sid: "DenyReadingPersonalData",
                    Effect: "Deny",
                    Action: ["secretsmanager:GetSecretValue", "cognito-idp:AdminGetUser", "cognito-idp:ListUsers", "cognito-idp:ListUsersInGroup", "rds-db:connect", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery"],
                    Resource: "*",
                },
            ];
            // Keys are used by the services that store data with them, never directly, except the
            // stack's own secrets key.
            const directKeyUse: Statement = { Sid: "DenyDirectDataKeyUse", Effect: "Deny", Action: ["kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"], Condition: { Null: { "kms:ViaService": "true" } } };
            const exempt = [secretsKey, stateKey].filter((k): k is string => !!k);
            statements.push(exempt.length ? { ...directKeyUse, NotResource: exempt } : { ...directKeyUse, Resource: "*" });
            if (args.ownershipTag) {
                statements.push({
                    Sid: "DenyDeletingOthersStores",
                    Effect: "Deny",
                    Action: ["rds:DeleteDBInstance", "rds:DeleteDBCluster", "elasticache:DeleteReplicationGroup", "kms:ScheduleKeyDeletion", "kms:DisableKey", "cognito-idp:DeleteUserPool"],
                    Resource: "*",
                    Condition: { StringNotEquals: { [`aws:ResourceTag/${args.ownershipTag.key}`]: args.ownershipTag.value } },
                });
            }
            return statements;
        });

        // Migrate: upload the bundle, start the one CodeBuild project on it, follow it, read its log; nothing else.
        const migratePolicy = pulumi.all([args.migrationProjectArn, args.migrationLogGroupArn, args.migrationBundle?.objectArn, args.migrationBundle?.kmsKeyArn])
            .apply(([projectArn, logGroupArn, bundleArn, bundleKeyArn]): Statement[] => [
                { Sid: "RunMigrationProject", Effect: "Allow", Action: ["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild", "codebuild:BatchGetProjects"], Resource: projectArn, Condition: inRegion },
                // The buildspec and the source (what holds database access) are the project's, never the caller's:
                // the caller picks only which uploaded bundle version runs.
                ...denyBuildOverrides(projectArn),
                { Sid: "ReadMigrationLogs", Effect: "Allow", Action: ["logs:GetLogEvents", "logs:FilterLogEvents"], Resource: [logGroupArn, `${logGroupArn}:*`], Condition: inRegion },
                ...(bundleArn
                    ? [
                          { Sid: "UploadBundle", Effect: "Allow", Action: "s3:PutObject", Resource: bundleArn },
                          ...(bundleKeyArn ? [{ Sid: "EncryptBundle", Effect: "Allow", Action: "kms:GenerateDataKey", Resource: bundleKeyArn, Condition: { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` } } }] : []),
                      ]
                    : []),
            ]);

        // Audit (the nightly drift audit): read the state to export it, publish the violation count in
        // the compliance namespace; no lock, no write, no secrets key (the export keeps secrets encrypted).
        const auditPolicy = pulumi.all([args.stateBackend?.bucketName, args.stateBackend?.kmsKeyArn, partition]).apply(([bucket, stateKey, part]): Statement[] => {
            const statements: Statement[] = [
                {
                    Sid: "PublishComplianceMetrics",
                    Effect: "Allow",
                    Action: "cloudwatch:PutMetricData",
                    Resource: "*", // PutMetricData has no resource type; the namespace condition is its scope
                    Condition: { StringEquals: { "cloudwatch:namespace": COMPLIANCE_METRIC_NAMESPACE, "aws:RequestedRegion": region } },
                },
                { Sid: "WhoAmI", Effect: "Allow", Action: "sts:GetCallerIdentity", Resource: "*" },
            ];
            if (bucket) {
                const bucketArn = `arn:${part}:s3:::${bucket}`;
                statements.push(
                    { Sid: "StateBucket", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"], Resource: bucketArn },
                    { Sid: "ReadState", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucketArn}/.pulumi/*` },
                    // Explicit, so a broader grant attached later cannot turn the auditor into a writer.
                    { Sid: "DenyStateWrites", Effect: "Deny", Action: ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketPolicy", "s3:PutLifecycleConfiguration"], Resource: [bucketArn, `${bucketArn}/*`] },
                );
                if (stateKey) statements.push({ Sid: "StateKey", Effect: "Allow", Action: "kms:Decrypt", Resource: stateKey, Condition: { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` } } });
            }
            return statements;
        });

        this.previewRole = role("preview", "GitHub Actions: pulumi preview (read-only)", previewPolicy);
        this.deployRole = role("deploy", "GitHub Actions: pulumi up for this stack", deployPolicy);
        this.migrateRole = role("migrate", "GitHub Actions: start the database migration build", migratePolicy);
        this.auditRole = role("audit", "GitHub Actions: nightly drift audit (state export, compliance metric)", auditPolicy);
        this.previewRoleArn = this.previewRole.arn;
        this.deployRoleArn = this.deployRole.arn;
        this.migrateRoleArn = this.migrateRole.arn;
        this.auditRoleArn = this.auditRole.arn;

        this.registerOutputs({
            providerArn: this.providerArn,
            previewRoleArn: this.previewRoleArn,
            deployRoleArn: this.deployRoleArn,
            migrateRoleArn: this.migrateRoleArn,
            auditRoleArn: this.auditRoleArn,
        });
    }
}
