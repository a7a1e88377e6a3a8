// The Api component's arguments for tests under mocks (test/components/api.test.ts, identity-secret-rotation.test.ts).
import * as pulumi from "@pulumi/pulumi";
import { ApiArgs } from "../../components/api";

export const DATA_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/44444444-4444-4444-8444-444444444444";
export const LOGS_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/66666666-6666-4666-8666-666666666666";
export const PROXY_ARN = "arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-0123456789abcdef0";

/** An Api in the test account; with `rotation` (defaults filled in), its identity secret rotates automatically. */
export function apiTestArgs(rotation?: Partial<NonNullable<ApiArgs["rotation"]>>): ApiArgs {
    return {
        namePrefix: "appi-test",
        instanceType: "t3.small",
        subnetId: "subnet-public-a",
        securityGroupId: "sg-api",
        vpcCidr: "10.0.0.0/16",
        ingressCidrs: ["203.0.113.0/24"],
        rootVolumeKeyArn: DATA_KEY,
        dbProxyArn: PROXY_ARN,
        dbUser: "api_app",
        identitySecretKeyArn: DATA_KEY,
        ...(rotation && {
            rotation: {
                vpcId: "vpc-1",
                privateSubnetIds: ["subnet-app-a", "subnet-app-c"],
                dbProxySecurityGroupId: "sg-proxy",
                dbProxyArn: PROXY_ARN,
                dbProxyEndpoint: "proxy.example.internal",
                dbName: "appi",
                vpcEndpointSecurityGroupId: "sg-endpoints",
                code: new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => {};") }),
                logsKeyArn: LOGS_KEY,
                lambdaEnvironmentKeyArn: DATA_KEY,
                logRetentionDays: 365,
                ...rotation,
            },
        }),
        tags: { Project: "appi-infra" },
    };
}
