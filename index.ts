// APPI-compliant infrastructure for a consumer service in Japan.
//
//            Internet
//               │ HTTPS 443 / 4000
//        ┌──────▼───────┐
//        │  public tier │  Api: EC2 GraphQL host, Elastic IP, IMDSv2, CMK root volume
//        └──────┬───────┘
//               │ VPC routing
//        ┌──────▼───────┐
//        │   app tier   │  Identity (Cognito triggers), MigrationRunner (CodeBuild), ComplianceJobs (Lambda), RestoreDrill (CodeBuild, monthly), RDS Proxy; NAT egress
//        └──────┬───────┘
//               │ 5432 / 6379 from known security groups only
//        ┌──────▼───────┐
//        │  data tier   │  Database (PostgreSQL 16), Cache (Redis 7); no route out of the VPC
//        └──────────────┘
//   Keys (KMS, per purpose) · GithubOidc (keyless CI) · Monitoring (alarms, dashboard)
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Api } from "./components/api";
import { Cache } from "./components/cache";
import { ComplianceJobs } from "./components/compliance-jobs";
import { ErasureWorker } from "./components/erasure-worker";
import { loadConfig } from "./components/config";
import { Database } from "./components/database";
import { GithubOidc } from "./components/github-oidc";
import { AppTierDatabaseAccess } from "./components/iam";
import { Identity } from "./components/identity";
import { Keys } from "./components/keys";
import { MigrationRunner } from "./components/migration-runner";
import { RestoreDrill } from "./components/restore-drill";
import { Monitoring } from "./components/monitoring";
import { Network } from "./components/network";
import { buildLambdasOnce, DEFAULT_OUT_DIR, LambdaName } from "./lambdas/build";

const config = loadConfig();

// Every resource goes through this provider, pinned to a region in Japan (APPI residency).
const japan = new aws.Provider("japan", { region: config.region as aws.Region, defaultTags: { tags: config.tags } });
const inJapan = { providers: [japan] };
const accountId = aws.getCallerIdentityOutput({}, { provider: japan }).accountId;
const zones = aws.getAvailabilityZonesOutput({ state: "available" }, { provider: japan }).names;
const tags = config.tags;

// Database users that log in with IAM tokens through the RDS Proxy (created by the migrations).
// signup_trigger: a pii_signup member that can only create users (migrations/0005).
const DB_USERS = { api: "api_app", cognitoTriggers: "signup_trigger", migrator: "migrator", erasureWorker: "erasure_worker", complianceJob: "compliance_job", identityRotator: "identity_rotator", activityRecorder: "activity_recorder" };

// The Cognito triggers are bundled with esbuild on every preview and up, so what ships is what is in the repo.
const bundles = buildLambdasOnce();
const lambdaCode = (name: LambdaName) => new pulumi.asset.FileArchive(bundles.then(() => path.join(DEFAULT_OUT_DIR, name)));

const keys = new Keys(
    "appi",
    {
        namePrefix: config.namePrefix,
        accountId,
        region: config.region,
        piiKeyUserArnPatterns: [pulumi.interpolate`arn:aws:iam::${accountId}:role/${config.namePrefix}-pii-*`],
        // The sign-up triggers (components/identity.ts) create users: data keys yes, decrypt never.
        piiKeyEncryptOnlyArnPatterns: [
            pulumi.interpolate`arn:aws:iam::${accountId}:role/${config.namePrefix}-pii-pre-signup`,
            pulumi.interpolate`arn:aws:iam::${accountId}:role/${config.namePrefix}-pii-post-confirmation`,
        ],
        tags,
    },
    inJapan,
);

const network = new Network(
    "appi",
    {
        namePrefix: config.namePrefix,
        vpcCidr: config.network.vpcCidr,
        availabilityZones: config.network.publicSubnetCidrs.map((_, i) => zones[i]),
        publicSubnetCidrs: config.network.publicSubnetCidrs,
        appSubnetCidrs: config.network.appSubnetCidrs,
        dataSubnetCidrs: config.network.dataSubnetCidrs,
        natGateways: config.network.natGateways,
        flowLogs: { kmsKeyArn: keys.logsKeyArn, retentionDays: config.logRetentionDays },
        tags,
    },
    inJapan,
);

const database = new Database(
    "appi",
    {
        namePrefix: config.namePrefix,
        ...config.database,
        deletionProtection: config.deletionProtection,
        vpcId: network.vpcId,
        dataSubnetIds: network.dataSubnetIds,
        proxySubnetIds: network.appSubnetIds,
        clientSecurityGroupIds: [network.apiSecurityGroupId],
        iamDatabaseUsers: Object.values(DB_USERS),
        storageKeyArn: keys.dataKeyArn,
        logsKeyArn: keys.logsKeyArn,
        logRetentionDays: config.logRetentionDays,
        tags,
    },
    inJapan,
);

const cache = new Cache(
    "appi",
    {
        namePrefix: config.namePrefix,
        ...config.cache,
        vpcId: network.vpcId,
        dataSubnetIds: network.dataSubnetIds,
        clientSecurityGroupIds: [network.apiSecurityGroupId],
        storageKeyArn: keys.dataKeyArn,
        logsKeyArn: keys.logsKeyArn,
        logRetentionDays: config.logRetentionDays,
        authToken: config.redisAuthToken,
        tags,
    },
    inJapan,
);

// Everything that runs code next to the database lives in the private app tier and reaches PostgreSQL
// only through the RDS Proxy.
const appTier: AppTierDatabaseAccess = {
    vpcId: network.vpcId,
    privateSubnetIds: network.appSubnetIds,
    dbProxySecurityGroupId: database.proxySecurityGroupId,
    dbProxyArn: database.proxyArn,
    dbProxyEndpoint: database.proxyEndpoint,
    dbName: database.dbName,
};

const api = new Api(
    "appi",
    {
        namePrefix: config.namePrefix,
        instanceType: config.api.instanceType,
        subnetId: network.publicSubnetIds[0],
        securityGroupId: network.apiSecurityGroupId,
        vpcCidr: config.network.vpcCidr,
        ingressCidrs: config.api.ingressCidrs,
        rootVolumeKeyArn: keys.dataKeyArn,
        dbProxyArn: database.proxyArn,
        dbUser: DB_USERS.api,
        identitySecretKeyArn: keys.dataKeyArn,
        // APP_IDENTITY_SECRET rotates every 30 days (lambdas/identity-secret-rotation, migrations/0021).
        rotation: {
            ...appTier,
            vpcEndpointSecurityGroupId: network.endpointSecurityGroupId,
            dbUser: DB_USERS.identityRotator,
            code: lambdaCode("identity-secret-rotation"),
            logsKeyArn: keys.logsKeyArn,
            lambdaEnvironmentKeyArn: keys.dataKeyArn,
            logRetentionDays: config.logRetentionDays,
        },
        tags,
    },
    inJapan,
);

// Sign-up path: Cognito triggers in the app tier write users and consents through the proxy.
const identity = new Identity(
    "appi",
    {
        namePrefix: config.namePrefix,
        deletionProtection: config.deletionProtection,
        ...appTier,
        vpcEndpointSecurityGroupId: network.endpointSecurityGroupId,
        dbUser: DB_USERS.cognitoTriggers,
        activityDbUser: DB_USERS.activityRecorder,
        piiKeyArn: keys.piiKeyArn,
        piiSecondLayerKeyArn: keys.piiSecondLayerKeyArn,
        logsKeyArn: keys.logsKeyArn,
        lambdaEnvironmentKeyArn: keys.dataKeyArn,
        logRetentionDays: config.logRetentionDays,
        preSignUpCode: lambdaCode("pre-signup"),
        postConfirmationCode: lambdaCode("post-confirmation"),
        preTokenGenerationCode: lambdaCode("pre-token-generation"),
        tags,
    },
    inJapan,
);

// Keyless delivery: CodeBuild runs the migrations inside the VPC (and, every 15 minutes, the retention
// job); GitHub Actions assume roles through OIDC.
const migrations = new MigrationRunner(
    "appi",
    {
        namePrefix: config.namePrefix,
        repository: config.github.repository,
        ...appTier,
        migrationDbUser: DB_USERS.migrator,
        encryptionKeyArn: keys.dataKeyArn,
        logsKeyArn: keys.logsKeyArn,
        logRetentionDays: config.logRetentionDays,
        tags,
    },
    inJapan,
);

// APPI compliance watched every day: metrics every 15 minutes, backups hourly, key rotation weekly.
const complianceJobs = new ComplianceJobs(
    "appi",
    {
        namePrefix: config.namePrefix,
        stack: config.stack,
        ...appTier,
        dbUser: DB_USERS.complianceJob,
        database: {
            kind: database.metricsDimension.name === "DBClusterIdentifier" ? "cluster" : "instance",
            identifier: database.metricsDimension.value,
            arn: (database.cluster?.arn ?? database.instance?.arn)!,
        },
        keyArns: [keys.dataKeyArn, keys.logsKeyArn, keys.piiKeyArn, keys.piiSecondLayerKeyArn],
        logsKeyArn: keys.logsKeyArn,
        lambdaEnvironmentKeyArn: keys.dataKeyArn,
        logRetentionDays: config.logRetentionDays,
        code: lambdaCode("compliance-jobs"),
        tags,
    },
    inJapan,
);

// The monthly restore drill: a point-in-time copy of the instance in the isolated subnets, verified, timed against
// the 8-hour RTO and deleted (CodeBuild: a restore outlasts a Lambda). RDS instances only: an Aurora cluster
// restores as a cluster, which this drill does not do.
const restoreDrill = database.instance
    ? new RestoreDrill(
          "appi",
          {
              namePrefix: config.namePrefix,
              stack: config.stack,
              vpcId: network.vpcId,
              privateSubnetIds: network.appSubnetIds,
              dbProxyArn: database.proxyArn,
              dbName: database.dbName,
              database: {
                  identifier: database.instance.identifier,
                  arn: database.instance.arn,
                  subnetGroupName: database.subnetGroupName,
                  securityGroupId: database.securityGroupId,
                  parameterGroupName: database.parameterGroupName,
                  storageKeyArn: keys.dataKeyArn,
                  port: database.port,
              },
              piiKeyArn: keys.piiKeyArn,
              piiSecondLayerKeyArn: keys.piiSecondLayerKeyArn,
              bundleBucketName: migrations.artifactBucketName,
              encryptionKeyArn: keys.dataKeyArn,
              logsKeyArn: keys.logsKeyArn,
              logRetentionDays: config.logRetentionDays,
              tags,
          },
          inJapan,
      )
    : undefined;

const github = new GithubOidc(
    "appi",
    {
        namePrefix: config.namePrefix,
        repository: config.github.repository,
        region: config.region,
        deploy: config.stack === "prod" ? { environment: config.github.prodEnvironment } : { branch: config.github.deployBranch },
        existingProviderArn: config.github.existingOidcProviderArn,
        migrationProjectArn: migrations.projectArn,
        migrationLogGroupArn: migrations.logGroupArn,
        migrationBundle: { objectArn: migrations.bundleObjectArn, kmsKeyArn: keys.dataKeyArn },
        stateBackend: config.pulumiBackend.stateBucket ? { bucketName: config.pulumiBackend.stateBucket, kmsKeyArn: config.pulumiBackend.secretsKeyArn } : undefined,
        secretsProviderKeyArn: config.pulumiBackend.secretsKeyArn,
        ownershipTag: { key: "Project", value: tags.Project },
        tags,
    },
    inJapan,
);

const monitoring = new Monitoring(
    "appi",
    {
        namePrefix: config.namePrefix,
        alarmEmail: config.alarmEmail,
        topicKeyArn: keys.dataKeyArn,
        database: { dimensionName: database.metricsDimension.name, dimensionValue: database.metricsDimension.value },
        cacheClusterIds: cache.memberClusterIds,
        functionNames: [identity.preSignUpFunction.name, identity.postConfirmationFunction.name, identity.preTokenGenerationFunction.name],
        identitySecretRotationFunctionName: api.identitySecretRotation?.functionName,
        apiInstanceId: api.instanceId,
        migrationProjectName: migrations.projectName,
        restoreDrillProjectName: restoreDrill?.projectName,
        compliance: { stack: config.stack },
        tags,
    },
    inJapan,
);

// Erasure reaches every store: the worker carries each deletion request to Cognito and the cache; the
// database completes the request only when every store reports done (migrations/0010).
const erasure = new ErasureWorker(
    "appi",
    {
        namePrefix: config.namePrefix,
        stack: config.stack,
        ...appTier,
        dbUser: DB_USERS.erasureWorker,
        userPoolId: identity.userPoolId,
        userPoolArn: identity.userPoolArn,
        redisHost: cache.primaryEndpoint,
        redisSecurityGroupId: cache.securityGroupId,
        redisAuthToken: cache.authToken,
        environmentKeyArn: keys.dataKeyArn,
        logsKeyArn: keys.logsKeyArn,
        logRetentionDays: config.logRetentionDays,
        alarmTopicArn: monitoring.topicArn,
        code: lambdaCode("erasure-worker"),
        tags,
    },
    inJapan,
);

// What an operator needs; nothing secret in plain text (the Redis token stays a secret output).
export const region = config.region;
export const vpcId = network.vpcId;
export const subnetIds = { public: network.publicSubnetIds, app: network.appSubnetIds, data: network.dataSubnetIds };
export const databaseEndpoint = database.endpoint;
export const databaseProxyEndpoint = database.proxyEndpoint;
export const databaseName = database.dbName;
export const databaseMasterSecretArn = database.masterSecretArn;
export const redisPrimaryEndpoint = cache.primaryEndpoint;
export const redisAuthToken = cache.authToken;
export const apiPublicIp = api.publicIp;
export const keyArns = { data: keys.dataKeyArn, logs: keys.logsKeyArn, pii: keys.piiKeyArn, piiSecondLayer: keys.piiSecondLayerKeyArn };
export const alarmTopicArn = monitoring.topicArn;
export const userPoolId = identity.userPoolId;
export const userPoolClientId = identity.userPoolClientId;
export const migrationProject = migrations.projectName;
export const dbTasksBucket = migrations.artifactBucketName;
export const retentionSchedule = migrations.retentionScheduleName;
export const erasureWorkerFunction = erasure.functionName;
export const complianceJobsFunction = complianceJobs.functionName;
export const restoreDrillProject = restoreDrill?.projectName;
export const githubRoleArns = { preview: github.previewRoleArn, deploy: github.deployRoleArn, migrate: github.migrateRoleArn, audit: github.auditRoleArn };
