import * as aws from "@pulumi/aws";
import { elasticacheTransitEncryption } from "../../../policies/rules/elasticache/elasticache-transit-encryption";
import { cacheSubnetGroupPrivate } from "../../../policies/rules/elasticache/cache-subnet-group-private";
import { securityGroupNoPublicDataPort } from "../../../policies/rules/ec2/security-group-no-public-data-port";
import { lambdaInPrivateSubnet } from "../../../policies/rules/lambda/lambda-in-private-subnet";
import { dbSubnetGroupPrivate } from "../../../policies/rules/rds/db-subnet-group-private";
import { rdsClusterPostgresTls } from "../../../policies/rules/rds/rds-cluster-postgres-tls";
import { rdsInstancePostgresTls } from "../../../policies/rules/rds/rds-instance-postgres-tls";
import { rdsNotPubliclyAccessible } from "../../../policies/rules/rds/rds-not-publicly-accessible";
import { rdsProxyRequireTls } from "../../../policies/rules/rds/rds-proxy-require-tls";
import { createResourceValidationArgs as view, runRule, UNKNOWN } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";

describe("rule elasticache-transit-encryption", () => {
    it("fails transit encryption unset or in preferred mode, passes required", () => {
        assertViolation(runRule(elasticacheTransitEncryption, view(aws.elasticache.ReplicationGroup, { description: "c" })), /transitEncryptionEnabled is false or unset/);
        assertViolation(runRule(elasticacheTransitEncryption, view(aws.elasticache.ReplicationGroup, { description: "c", transitEncryptionEnabled: true, transitEncryptionMode: "preferred" })), /preferred/);
        assertCompliant(runRule(elasticacheTransitEncryption, view(aws.elasticache.ReplicationGroup, { description: "c", transitEncryptionEnabled: true, transitEncryptionMode: "required" })));
        assertCompliant(runRule(elasticacheTransitEncryption, view(aws.elasticache.ReplicationGroup, { description: "c", transitEncryptionEnabled: true })));
    });
    it("checks standalone clusters, not members, and cannot check unknowns", () => {
        assertViolation(runRule(elasticacheTransitEncryption, view(aws.elasticache.Cluster, { engine: "memcached" })), /off/);
        assertNotApplicable(runRule(elasticacheTransitEncryption, view(aws.elasticache.Cluster, { replicationGroupId: "rg" })));
        assertCannotCheck(runRule(elasticacheTransitEncryption, view(aws.elasticache.ReplicationGroup, { description: "c", transitEncryptionEnabled: UNKNOWN })));
    });
});

describe("rules rds-instance-postgres-tls / rds-cluster-postgres-tls", () => {
    const strict = view(aws.rds.ParameterGroup, { family: "postgres16", name: "pii-pg16", parameters: [{ name: "rds.force_ssl", value: "1" }, { name: "ssl_min_protocol_version", value: "TLSv1.3" }] });
    const tls12 = view(aws.rds.ParameterGroup, { family: "postgres16", name: "pii-tls12", parameters: [{ name: "rds.force_ssl", value: "1" }, { name: "ssl_min_protocol_version", value: "TLSv1.2" }] });
    const noForce = view(aws.rds.ParameterGroup, { family: "postgres16", name: "pii-loose", parameters: [{ name: "ssl_min_protocol_version", value: "TLSv1.3" }] });
    const db = (parameterGroupName?: string) => view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "postgres", parameterGroupName });

    it("fails a PostgreSQL instance on the default parameter group, named or implicit", () => {
        assertViolation(runRule(rdsInstancePostgresTls, db()), /default parameter group/);
        assertViolation(runRule(rdsInstancePostgresTls, db("default.postgres16")), /default parameter group default.postgres16/);
    });
    it("fails a group without rds.force_ssl=1, or below the minimum TLS version", () => {
        assertViolation(runRule(rdsInstancePostgresTls, db("pii-loose"), [noForce]), /rds.force_ssl=1/);
        assertViolation(runRule(rdsInstancePostgresTls, db("pii-tls12"), [tls12]), /allows TLSv1.2; set ssl_min_protocol_version to TLSv1.3/);
    });
    it("passes a strict group, and a TLS 1.2 group when the configured minimum is TLSv1.2", () => {
        assertCompliant(runRule(rdsInstancePostgresTls, db("pii-pg16"), [strict]));
        assertCompliant(runRule(rdsInstancePostgresTls, db("pii-tls12"), [tls12], { minTlsVersion: "TLSv1.2" }));
    });
    it("cannot check a group outside the stack or an unknown group name; ignores MySQL", () => {
        assertCannotCheck(runRule(rdsInstancePostgresTls, db("shared-group")), /not in this stack/);
        assertCannotCheck(runRule(rdsInstancePostgresTls, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "postgres", parameterGroupName: UNKNOWN })));
        assertNotApplicable(runRule(rdsInstancePostgresTls, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "mysql" })));
    });
    it("applies the same to Aurora PostgreSQL cluster parameter groups", () => {
        const clusterGroup = view(aws.rds.ClusterParameterGroup, { family: "aurora-postgresql16", name: "pii-aurora", parameters: [{ name: "rds.force_ssl", value: "1" }, { name: "ssl_min_protocol_version", value: "TLSv1.3" }] });
        assertViolation(runRule(rdsClusterPostgresTls, view(aws.rds.Cluster, { engine: "aurora-postgresql" })), /default parameter group/);
        assertCompliant(runRule(rdsClusterPostgresTls, view(aws.rds.Cluster, { engine: "aurora-postgresql", dbClusterParameterGroupName: "pii-aurora" }), [clusterGroup]));
        // An instance parameter group named as the cluster's group is not a cluster parameter group.
        assertCannotCheck(runRule(rdsClusterPostgresTls, view(aws.rds.Cluster, { engine: "aurora-postgresql", dbClusterParameterGroupName: "pii-pg16" }), [strict]), /not in this stack/);
    });
});

describe("rule rds-not-publicly-accessible", () => {
    it("fails a public instance or cluster instance, passes the default", () => {
        assertViolation(runRule(rdsNotPubliclyAccessible, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", publiclyAccessible: true })), /publicly accessible/);
        assertViolation(runRule(rdsNotPubliclyAccessible, view(aws.rds.ClusterInstance, { clusterIdentifier: "c", instanceClass: "db.r6g.large", engine: "aurora-postgresql", publiclyAccessible: true })), /publicly/);
        assertCompliant(runRule(rdsNotPubliclyAccessible, view(aws.rds.Instance, { instanceClass: "db.t4g.micro" })));
        assertCannotCheck(runRule(rdsNotPubliclyAccessible, view(aws.rds.Instance, { instanceClass: "db.t4g.micro", publiclyAccessible: UNKNOWN })));
    });
});

/** A VPC with a public subnet (route table with an IGW route), a private one and an isolated one, in all the ways routes are written. */
function network() {
    const vpc = view(aws.ec2.Vpc, { cidrBlock: "10.0.0.0/16" }, { name: "vpc", outputs: { id: "vpc-1", defaultRouteTableId: "rtb-main" } });
    const igw = view(aws.ec2.InternetGateway, { vpcId: "vpc-1" }, { name: "igw", outputs: { id: "igw-0abc" } });
    const nat = view(aws.ec2.NatGateway, { subnetId: "subnet-public" }, { name: "nat", outputs: { id: "nat-1" } });
    const publicSubnet = view(aws.ec2.Subnet, { vpcId: "vpc-1", cidrBlock: "10.0.0.0/24" }, { name: "public-a", outputs: { id: "subnet-public" } });
    const autoIpSubnet = view(aws.ec2.Subnet, { vpcId: "vpc-1", cidrBlock: "10.0.9.0/24", mapPublicIpOnLaunch: true }, { name: "auto-ip", outputs: { id: "subnet-autoip" } });
    const privateSubnet = view(aws.ec2.Subnet, { vpcId: "vpc-1", cidrBlock: "10.0.1.0/24" }, { name: "app-a", outputs: { id: "subnet-app" } });
    const isolatedSubnet = view(aws.ec2.Subnet, { vpcId: "vpc-1", cidrBlock: "10.0.2.0/24" }, { name: "data-a", outputs: { id: "subnet-data" } });
    const separateRouteSubnet = view(aws.ec2.Subnet, { vpcId: "vpc-1", cidrBlock: "10.0.3.0/24" }, { name: "edge-b", outputs: { id: "subnet-edge" } });
    const mainSubnet = view(aws.ec2.Subnet, { vpcId: "vpc-1", cidrBlock: "10.0.4.0/24" }, { name: "unassociated", outputs: { id: "subnet-main" } });
    // Inline IGW route, referenced by the gateway's resource id.
    const publicRt = view(aws.ec2.RouteTable, { vpcId: "vpc-1", routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: "igw-0abc" }] }, { name: "public-rt", outputs: { id: "rtb-public" } });
    const privateRt = view(aws.ec2.RouteTable, { vpcId: "vpc-1", routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: "nat-1" }] }, { name: "app-rt", outputs: { id: "rtb-app" } });
    const isolatedRt = view(aws.ec2.RouteTable, { vpcId: "vpc-1" }, { name: "data-rt", outputs: { id: "rtb-data" } });
    // Separate aws:ec2/route resource, gateway referenced by the IGW's logical name.
    const edgeRt = view(aws.ec2.RouteTable, { vpcId: "vpc-1" }, { name: "edge-rt", outputs: { id: "rtb-edge" } });
    const edgeRoute = view(aws.ec2.Route, { routeTableId: "rtb-edge", destinationCidrBlock: "0.0.0.0/0", gatewayId: "igw" });
    const associations = [
        view(aws.ec2.RouteTableAssociation, { subnetId: "subnet-public", routeTableId: "rtb-public" }),
        view(aws.ec2.RouteTableAssociation, { subnetId: "subnet-app", routeTableId: "rtb-app" }),
        view(aws.ec2.RouteTableAssociation, { subnetId: "subnet-data", routeTableId: "rtb-data" }),
        view(aws.ec2.RouteTableAssociation, { subnetId: "subnet-edge", routeTableId: "rtb-edge" }),
    ];
    const all = [vpc, igw, nat, publicSubnet, autoIpSubnet, privateSubnet, isolatedSubnet, separateRouteSubnet, mainSubnet, publicRt, privateRt, isolatedRt, edgeRt, edgeRoute, ...associations];
    return { all, vpc };
}

describe("rules db-subnet-group-private / cache-subnet-group-private (route-table derivation)", () => {
    const { all } = network();
    const dbGroup = (subnetIds: unknown[]) => view(aws.rds.SubnetGroup, { subnetIds: subnetIds as string[] });

    it("passes isolated and NAT-only private subnets, and a subnet on the VPC's untouched main table", () => {
        assertCompliant(runRule(dbSubnetGroupPrivate, dbGroup(["subnet-data", "subnet-app", "subnet-main"]), all));
    });
    it("fails a subnet whose table has an inline route to the internet gateway", () => {
        assertViolation(runRule(dbSubnetGroupPrivate, dbGroup(["subnet-data", "subnet-public"]), all), /subnet public-a is public: route table public-rt routes to an internet gateway/);
    });
    it("fails a subnet whose table gets its IGW route from a separate aws:ec2/route", () => {
        assertViolation(runRule(dbSubnetGroupPrivate, dbGroup(["subnet-edge"]), all), /route .* sends route table edge-rt to an internet gateway/);
    });
    it("fails a subnet that maps public IPs on launch", () => {
        assertViolation(runRule(cacheSubnetGroupPrivate, view(aws.elasticache.SubnetGroup, { subnetIds: ["subnet-autoip"] }), all), /mapPublicIpOnLaunch/);
    });
    it("reports a definite public subnet even when another is unknown; otherwise cannot check", () => {
        assertViolation(runRule(dbSubnetGroupPrivate, dbGroup([UNKNOWN, "subnet-public"]), all), /public-a is public/);
        assertCannotCheck(runRule(dbSubnetGroupPrivate, dbGroup([UNKNOWN, "subnet-data"]), all));
        assertCannotCheck(runRule(dbSubnetGroupPrivate, dbGroup(["subnet-elsewhere"]), all), /not in this stack/);
    });
    it("follows a main route table association that routes to the internet", () => {
        const publicMain = view(aws.ec2.MainRouteTableAssociation, { vpcId: "vpc-1", routeTableId: "rtb-public" });
        assertViolation(runRule(dbSubnetGroupPrivate, dbGroup(["subnet-main"]), [...all, publicMain]), /unassociated is public/);
    });
    it("checks serverless caches' subnets too", () => {
        assertViolation(runRule(cacheSubnetGroupPrivate, view(aws.elasticache.ServerlessCache, { engine: "valkey", subnetIds: ["subnet-public"] }), all), /public/);
        assertCompliant(runRule(cacheSubnetGroupPrivate, view(aws.elasticache.ServerlessCache, { engine: "valkey", subnetIds: ["subnet-data"] }), all));
    });
});

describe("rule lambda-in-private-subnet", () => {
    const { all } = network();
    const fn = (vpcConfig?: { subnetIds: string[]; securityGroupIds: string[] }) => view(aws.lambda.Function, { role: "arn:aws:iam::1:role/fn", runtime: "nodejs22.x", handler: "index.handler", vpcConfig });
    it("fails a function outside the VPC or in a public subnet, passes private subnets", () => {
        assertViolation(runRule(lambdaInPrivateSubnet, fn(), all), /outside the VPC/);
        assertViolation(runRule(lambdaInPrivateSubnet, fn({ subnetIds: ["subnet-public"], securityGroupIds: ["sg-1"] }), all), /public/);
        assertCompliant(runRule(lambdaInPrivateSubnet, fn({ subnetIds: ["subnet-app", "subnet-data"], securityGroupIds: ["sg-1"] }), all));
    });
});

describe("rule security-group-no-public-data-port (all three forms)", () => {
    it("inline ingress on aws:ec2/securityGroup: fails 5432 from 0.0.0.0/0, passes from a security group", () => {
        const open = view(aws.ec2.SecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/0"] }] });
        assertViolation(runRule(securityGroupNoPublicDataPort, open), /ingress\[0\] opens data port\(s\) 5432 to 0.0.0.0\/0/);
        const fromSg = view(aws.ec2.SecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, securityGroups: ["sg-app"] }] });
        assertCompliant(runRule(securityGroupNoPublicDataPort, fromSg));
        const https = view(aws.ec2.SecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }] });
        assertCompliant(runRule(securityGroupNoPublicDataPort, https));
        assertCompliant(runRule(securityGroupNoPublicDataPort, view(aws.ec2.SecurityGroup, {})));
    });
    it("inline ingress: fails a wide port range and an all-protocols rule from ::/0", () => {
        const range = view(aws.ec2.SecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 6000, toPort: 7000, cidrBlocks: ["10.0.0.0/8", "0.0.0.0/0"] }] });
        assertViolation(runRule(securityGroupNoPublicDataPort, range), /6379/);
        const all = view(aws.ec2.SecurityGroup, { ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] }] });
        assertViolation(runRule(securityGroupNoPublicDataPort, all), /5432, 6379.* to ::\/0/);
    });
    it("aws:ec2/securityGroupRule: fails an ingress rule, ignores egress", () => {
        const ingress = view(aws.ec2.SecurityGroupRule, { type: "ingress", securityGroupId: "sg-db", protocol: "tcp", fromPort: 6379, toPort: 6379, cidrBlocks: ["0.0.0.0/0"] });
        assertViolation(runRule(securityGroupNoPublicDataPort, ingress), /6379/);
        const egress = view(aws.ec2.SecurityGroupRule, { type: "egress", securityGroupId: "sg-db", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] });
        assertNotApplicable(runRule(securityGroupNoPublicDataPort, egress));
        const internal = view(aws.ec2.SecurityGroupRule, { type: "ingress", securityGroupId: "sg-db", protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["10.0.0.0/16"] });
        assertCompliant(runRule(securityGroupNoPublicDataPort, internal));
    });
    it("aws:vpc/securityGroupIngressRule: fails cidrIpv4 0.0.0.0/0 and ipProtocol -1 from cidrIpv6 ::/0", () => {
        const v4 = view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg-db", ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: "0.0.0.0/0" });
        assertViolation(runRule(securityGroupNoPublicDataPort, v4), /5432 to 0.0.0.0\/0/);
        const all = view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg-db", ipProtocol: "-1", cidrIpv6: "::/0" });
        assertViolation(runRule(securityGroupNoPublicDataPort, all), /::\/0/);
        const fromSg = view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg-db", ipProtocol: "tcp", fromPort: 5432, toPort: 5432, referencedSecurityGroupId: "sg-app" });
        assertCompliant(runRule(securityGroupNoPublicDataPort, fromSg));
    });
    it("honours the configured data ports and cannot check unknown CIDRs", () => {
        const mongo = view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg", ipProtocol: "tcp", fromPort: 8080, toPort: 8080, cidrIpv4: "0.0.0.0/0" });
        assertCompliant(runRule(securityGroupNoPublicDataPort, mongo));
        assertViolation(runRule(securityGroupNoPublicDataPort, mongo, [], { dataPorts: [8080] }), /8080/);
        assertCannotCheck(runRule(securityGroupNoPublicDataPort, view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg", ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: UNKNOWN })));
    });
});

describe("rule rds-proxy-require-tls", () => {
    const base = { engineFamily: "POSTGRESQL", roleArn: "arn:aws:iam::1:role/proxy", vpcSubnetIds: ["subnet-data"], auths: [{ authScheme: "SECRETS", secretArn: "arn:aws:secretsmanager:ap-northeast-1:1:secret:db" }] };
    it("fails a proxy without requireTls (the default) and passes requireTls: true", () => {
        assertViolation(runRule(rdsProxyRequireTls, view(aws.rds.Proxy, base)), /without TLS/);
        assertCompliant(runRule(rdsProxyRequireTls, view(aws.rds.Proxy, { ...base, requireTls: true })));
        assertCannotCheck(runRule(rdsProxyRequireTls, view(aws.rds.Proxy, { ...base, requireTls: UNKNOWN })));
    });
});
