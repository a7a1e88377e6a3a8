// The plan summary reads routes and keys the way the policy pack's verdict does.
import { strict as assert } from "assert";
import { summarisePlan } from "../../plan/summary";
import { PlannedResource, PlannedStack } from "../../plan/types";

function resource(type: string, name: string, id: string, state: Record<string, unknown>): PlannedResource {
    return { urn: `urn:pulumi:t::appi-infra::${type}::${name}`, type, name, id, custom: true, inputs: state, state: { ...state, id } };
}

const plan = (resources: PlannedResource[]): PlannedStack => ({ project: "appi-infra", stack: "t", config: { "aws:region": "ap-northeast-1" }, resources, outputs: {} });

describe("plan summary", function () {
    it("derives egress from main route tables and inline routes, not only explicit route resources", function () {
        const summary = summarisePlan(
            plan([
                resource("aws:ec2/vpc:Vpc", "vpc", "vpc-1", { cidrBlock: "10.0.0.0/16" }),
                resource("aws:ec2/internetGateway:InternetGateway", "igw", "igw-1", { vpcId: "vpc-1" }),
                // The VPC's main table routes to the internet: a subnet with no association of its own is public.
                resource("aws:ec2/routeTable:RouteTable", "main", "rtb-main", { vpcId: "vpc-1", routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: "igw-1" }] }),
                resource("aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation", "main-assoc", "rtbassoc-main", { vpcId: "vpc-1", routeTableId: "rtb-main" }),
                resource("aws:ec2/subnet:Subnet", "unassociated", "subnet-a", { vpcId: "vpc-1", cidrBlock: "10.0.1.0/24", tags: { Tier: "data" } }),
                // An inline route to a NAT gateway.
                resource("aws:ec2/natGateway:NatGateway", "nat", "nat-1", { subnetId: "subnet-x" }),
                resource("aws:ec2/routeTable:RouteTable", "app", "rtb-app", { vpcId: "vpc-1", routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: "nat-1" }] }),
                resource("aws:ec2/subnet:Subnet", "app-1", "subnet-b", { vpcId: "vpc-1", cidrBlock: "10.0.20.0/24", tags: { Tier: "app" } }),
                resource("aws:ec2/routeTableAssociation:RouteTableAssociation", "app-1", "rtbassoc-b", { subnetId: "subnet-b", routeTableId: "rtb-app" }),
                // A table with the local route only.
                resource("aws:ec2/routeTable:RouteTable", "isolated", "rtb-iso", { vpcId: "vpc-1" }),
                resource("aws:ec2/subnet:Subnet", "data-2", "subnet-c", { vpcId: "vpc-1", cidrBlock: "10.0.2.0/24", tags: { Tier: "data" } }),
                resource("aws:ec2/routeTableAssociation:RouteTableAssociation", "data-2", "rtbassoc-c", { subnetId: "subnet-c", routeTableId: "rtb-iso" }),
            ]),
        );
        assert.deepEqual(
            summary.subnets.map((s) => [s.name, s.internetRoute]),
            [
                ["unassociated", "internet gateway"],
                ["app-1", "NAT gateway"],
                ["data-2", "none"],
            ],
        );
    });

    it("shows an AWS-managed key as AWS-managed, also behind an alias of the stack", function () {
        const summary = summarisePlan(
            plan([
                resource("aws:rds/instance:Instance", "spec", "spec-db", { identifier: "spec-db", storageEncrypted: true, kmsKeyId: "alias/aws/rds", backupRetentionPeriod: 7 }),
                resource("aws:kms/alias:Alias", "sneaky", "alias/sneaky", { name: "alias/sneaky", targetKeyId: "alias/aws/sns" }),
                resource("aws:sns/topic:Topic", "alarms", "alarms", { name: "alarms", kmsMasterKeyId: "alias/sneaky" }),
                resource("aws:kms/key:Key", "data", "k-1", { arn: "arn:aws:kms:ap-northeast-1:123456789012:key/k-1", keyId: "k-1" }),
                resource("aws:kms/alias:Alias", "data", "alias/data", { name: "alias/data", targetKeyId: "k-1" }),
                resource("aws:codebuild/project:Project", "migrate", "migrate", { name: "migrate", encryptionKey: "arn:aws:kms:ap-northeast-1:123456789012:key/k-1" }),
            ]),
        );
        assert.deepEqual(
            summary.dataStores.map((d) => [d.name, d.encryption, d.backupDays]),
            [
                ["spec-db", "alias/aws/rds (AWS-managed)", 7],
                ["alarms", "alias/sneaky (AWS-managed)", undefined],
                ["migrate", "alias/data (customer-managed)", undefined],
            ],
        );
    });
});
