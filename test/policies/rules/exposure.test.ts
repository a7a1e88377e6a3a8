// Exposure computed, not pattern-matched: public CIDRs by address arithmetic, data ports
// from the stores behind a security group (their port and engine default).
import * as aws from "@pulumi/aws";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { securityGroupNoPublicDataPort as rule } from "../../../policies/rules/ec2/security-group-no-public-data-port";
import { isPublicCidr, STORE_ENDPOINTS } from "../../../policies/rules/_shared/ports";
import { STORES } from "../../../policies/rules/_shared/stores";
import { createResourceValidationArgs as view, runRule, secret, UNKNOWN } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertViolation } from "./assert-outcome";

describe("public CIDRs (any public address, IPv4 and IPv6, any prefix)", () => {
    it("counts every range that holds a public address", () => {
        for (const cidr of ["0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "8.8.8.8/32", "172.0.0.0/8", "10.0.0.0/7", "52.192.0.0/11", " 0.0.0.0/0 ", "::/0", "2000::/3", "2600::/12", "2406:da14::/32", "8.8.8.8"]) {
            assert.equal(isPublicCidr(cidr), true, cidr);
        }
    });
    it("does not count private, shared, loopback, link-local, documentation and multicast blocks, nor their unions", () => {
        for (const cidr of ["10.0.0.0/8", "10.1.2.0/24", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.1/32", "169.254.169.254/32", "203.0.113.0/24", "224.0.0.0/3", "fd00::/8", "fc00::/7", "fe80::/10", "2001:db8::/32", "::1/128", "192.168.1.5"]) {
            assert.equal(isPublicCidr(cidr), false, cidr);
        }
    });
    it("rejects text that is not a CIDR with a clear error", () => {
        assert.throws(() => isPublicCidr("everywhere"), /"everywhere" is not a CIDR block/);
    });
});

describe("rule security-group-no-public-data-port: computed exposure", () => {
    it("attacker: splits 0.0.0.0/0 into two halves, or opens a public /11 instead of /0", () => {
        const split = view(aws.ec2.SecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/1", "128.0.0.0/1"] }] });
        assertViolation(runRule(rule, split), /0\.0\.0\.0\/1, 128\.0\.0\.0\/1/);
        const narrow = view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg", ipProtocol: "tcp", fromPort: 6379, toPort: 6379, cidrIpv4: "52.192.0.0/11" });
        assertViolation(runRule(rule, narrow), /6379 to 52\.192\.0\.0\/11/);
        const v6 = view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg", ipProtocol: "6", fromPort: 5432, toPort: 5432, cidrIpv6: "2600::/12" });
        assertViolation(runRule(rule, v6), /2600::\/12/);
    });
    it("passes the same ports from private ranges", () => {
        assertCompliant(runRule(rule, view(aws.ec2.SecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["10.0.0.0/16", "fd00::/8"] }] })));
    });
    it("attacker: moves the database to a non-default port, which the configured list does not name", () => {
        const group = view(aws.ec2.SecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 15432, toPort: 15432, cidrBlocks: ["0.0.0.0/0"] }] }, { name: "db-sg", id: "sg-db" });
        const db = view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "postgres", port: 15432, vpcSecurityGroupIds: ["sg-db"] }, { name: "pii" });
        assertViolation(runRule(rule, group, [db]), /15432 to 0\.0\.0\.0\/0.*RDS instance pii \(15432, 5432\)/);
        // The same group with nothing behind it opens no data port.
        assertCompliant(runRule(rule, group));
    });
    it("counts a store's engine default even when the configured list leaves it out", () => {
        const group = view(aws.ec2.SecurityGroup, {}, { name: "mysql-sg", id: "sg-mysql" });
        const db = view(aws.rds.Cluster, { engine: "aurora-mysql", vpcSecurityGroupIds: ["sg-mysql"] }, { name: "orders" });
        const open = view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg-mysql", ipProtocol: "tcp", fromPort: 3000, toPort: 4000, cidrIpv4: "0.0.0.0/0" });
        assertViolation(runRule(rule, open, [group, db], { dataPorts: [5432] }), /3306 .*RDS cluster orders/);
        const all = view(aws.ec2.SecurityGroupRule, { type: "ingress", securityGroupId: "sg-mysql", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] });
        assertViolation(runRule(rule, all, [group, db], { dataPorts: [5432] }), /3306/);
    });
    it("follows prefix lists of this stack, and cannot check one it cannot see", () => {
        const list = view(aws.ec2.ManagedPrefixList, { addressFamily: "IPv4", maxEntries: 2, entries: [{ cidr: "10.0.0.0/8" }, { cidr: "198.51.99.0/24" }] }, { name: "partners", id: "pl-partners" });
        const viaList = view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg", ipProtocol: "tcp", fromPort: 5432, toPort: 5432, prefixListId: "pl-partners" });
        assertViolation(runRule(rule, viaList, [list]), /prefix list pl-partners/);
        const privateList = view(aws.ec2.ManagedPrefixList, { addressFamily: "IPv4", maxEntries: 1, entries: [{ cidr: "10.0.0.0/8" }] }, { name: "partners", id: "pl-partners" });
        assertCompliant(runRule(rule, viaList, [privateList]));
        assertCannotCheck(runRule(rule, viaList), /prefix list pl-partners is not in this stack/);
    });
    it("says a rule whose group is not known yet could not be checked when it opens a store's port publicly", () => {
        const db = view(aws.rds.Instance, { instanceClass: "db.t4g.micro", engine: "postgres", port: 15432, vpcSecurityGroupIds: ["sg-db"] }, { name: "pii" });
        const group = view(aws.ec2.SecurityGroup, {}, { name: "db-sg", id: "sg-db" });
        const unknownGroup = view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: UNKNOWN, ipProtocol: "tcp", fromPort: 15432, toPort: 15432, cidrIpv4: "0.0.0.0/0" });
        assertCannotCheck(runRule(rule, unknownGroup, [db, group]), /not known yet/);
        const https = view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: UNKNOWN, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" });
        assertCompliant(runRule(rule, https, [db, group]));
    });
    it("reads CIDRs kept as secrets", () => {
        assertViolation(runRule(rule, view(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg", ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: secret("1.2.3.0/24") })), /5432/);
    });
});

describe("store endpoints catalogue matches @pulumi/aws v7 and the stores catalogue", () => {
    const root = join(__dirname, "../../../node_modules/@pulumi/aws");
    it("names real inputs for ports, engines and security groups, of store types the stores catalogue knows", () => {
        const extraFaces = new Set(["aws:rds/proxy:Proxy", "aws:efs/mountTarget:MountTarget"]);
        for (const endpoint of STORE_ENDPOINTS) {
            const [, module, resource] = /^aws:([a-z0-9]+)\/([A-Za-z0-9]+):[A-Za-z0-9]+$/.exec(endpoint.type) ?? [];
            const file = join(root, module, `${resource}.d.ts`);
            assert.ok(existsSync(file), `${endpoint.type}: no ${file}`);
            const args = /export interface \w+Args \{([\s\S]*?)\n\}/.exec(readFileSync(file, "utf8"))?.[1] ?? "";
            const inputs = new Set([...args.matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]));
            for (const path of [endpoint.port, endpoint.securityGroups, endpoint.engine?.path]) {
                if (path) assert.ok(inputs.has(path.split(".")[0]), `${endpoint.type}: ${path} is not one of its inputs`);
            }
            assert.ok(extraFaces.has(endpoint.type) || STORES.has(endpoint.type), `${endpoint.type} is not in the stores catalogue`);
        }
    });
    it("is the stores catalogue's endpoint aspect (one table), plus the network faces that are not stores", () => {
        const fromCatalogue = STORE_ENDPOINTS.filter((e) => STORES.get(e.type)?.endpoint);
        for (const e of fromCatalogue) assert.equal(e.securityGroups, STORES.get(e.type)!.endpoint!.securityGroups);
        assert.deepEqual(STORE_ENDPOINTS.filter((e) => !STORES.get(e.type)?.endpoint).map((e) => e.type).sort(), ["aws:efs/mountTarget:MountTarget", "aws:rds/proxy:Proxy"]);
        assert.ok(fromCatalogue.length >= 17, `${fromCatalogue.length} stores with an endpoint`);
    });
});
