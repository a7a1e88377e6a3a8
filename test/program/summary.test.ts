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

describe("plan summary of the real dev stack: personal data, exposure, deployers, evidence", function () {
    this.timeout(120_000);
    let text: string;
    let summary: ReturnType<typeof summarisePlan>;
    before(async function () {
        const { planStack } = await import("../../plan/run");
        const { rules } = await import("../../policies/rules");
        const { checkPlannedStack } = await import("../../policies/runners/offline");
        const { withRunContext } = await import("../../policies/runners/cli-support");
        const { resolveConfig } = await import("../../policies/core/config");
        const { formatPlanSummary } = await import("../../plan/summary");
        const planned = await planStack("dev");
        const config = resolveConfig(undefined);
        const report = withRunContext(checkPlannedStack(planned, { rules, config }), { config, failOn: "mandatory" });
        summary = summarisePlan(planned, { report });
        text = formatPlanSummary(summary);
    });

    it("lists the Cognito user pool as a store of personal data", function () {
        const pool = summary.dataStores.find((d) => d.kind.startsWith("Cognito user pool"));
        assert.ok(pool, JSON.stringify(summary.dataStores.map((d) => d.kind)));
        assert.match(pool.kind, /personal data/);
        assert.match(text, /Cognito user pool \(personal data; MFA /);
    });

    it("shows what the internet reaches: the API's ports, its Elastic IP, Cognito; never the data tier", function () {
        const how = summary.exposure.map((x) => `${x.what}: ${x.how}`);
        assert.ok(how.some((h) => /^security group appi-api.*: tcp 443 from 0\.0\.0\.0\/0$/.test(h)), how.join("\n"));
        assert.ok(how.some((h) => /^security group appi-api.*: tcp 4000 from 0\.0\.0\.0\/0$/.test(h)));
        assert.ok(how.some((h) => /^instance .*: Elastic IP /.test(h)));
        assert.ok(!how.some((h) => /5432|6379|database/.test(h)), "no database port or database is exposed");
        assert.match(text, /Exposed to the internet:\n/);
    });

    it("names who can deploy: each GitHub role with the exact OIDC subjects it trusts", function () {
        const deploy = summary.deployers.find((d) => /github-deploy$/.test(d.role));
        assert.ok(deploy, JSON.stringify(summary.deployers));
        assert.deepEqual(deploy.subjects, ["repo:marczenn/rento:ref:refs/heads/main"]);
        assert.ok(summary.deployers.every((d) => d.subjects.every((s) => s.startsWith("repo:marczenn/rento:"))));
        assert.match(text, /Who can deploy \(GitHub OIDC subjects each role trusts\):\n {2}appi-dev-github-/);
    });

    it("says which prod-only rules do not apply in dev", function () {
        for (const id of ["rds-multi-az", "rds-deletion-protection", "cognito-deletion-protection"]) assert.ok(summary.prodOnlyRules.includes(id), id);
        assert.ok(!summary.prodOnlyRules.includes("store-encrypted-cmk"), "an everywhere rule is not prod-only");
        assert.match(text.replace(/\n/g, " "), /Not applicable in dev \(prod-only rules\): .*rds-multi-az/);
    });

    it("heads the plan with the evidence: date, commit, pack version, thresholds", function () {
        assert.match(text, /^Evidence: planned \d{4}-\d\d-\d\dT[\d:.]+Z; commit [0-9a-f]{12}.*; policy pack \d+\.\d+\.\d+\n/);
        assert.match(text.replace(/\n/g, " "), / Thresholds: regions ap-northeast-1.*; backups >= 14 days; logs >= 365 days; TLS >= TLSv1\.3; fail on mandatory /);
        for (const line of text.split("\n")) assert.ok(line.length <= 100 || /^ {4,}\d+ {2}/.test(line), `${line.length}: ${line}`);
    });
});

describe("SARIF from the planned program points at the declaring line", function () {
    this.timeout(120_000);
    it("each result's file and line is where the program declares the resource (or its component)", async function () {
        const fs = await import("fs");
        const path = await import("path");
        const { planStack } = await import("../../plan/run");
        const { rules } = await import("../../policies/rules");
        const { checkPlannedStack } = await import("../../policies/runners/offline");
        const { resolveConfig } = await import("../../policies/core/config");
        const { toSarif } = await import("../../policies/report/sarif");
        // Only Osaka allowed: every Tokyo resource fails region-allowed, so every resource has a result.
        const report = checkPlannedStack(await planStack("dev"), { rules, config: resolveConfig({ allowedRegions: ["ap-northeast-3"] }) });
        const results = toSarif(report).runs[0].results!;
        assert.ok(results.length > 50, String(results.length));
        const root = path.resolve(__dirname, "..", "..");
        const files = new Set<string>();
        for (const result of results) {
            const loc = result.locations![0].physicalLocation!;
            const uri = loc.artifactLocation!.uri!;
            const urn = result.locations![0].logicalLocations![0].fullyQualifiedName!;
            // The stack itself has no declaring line in the program; providers do (from the SDK stack trace).
            if (/::pulumi:pulumi:Stack::/.test(urn) || urn.startsWith("stack:")) {
                assert.equal(uri, "Pulumi.dev.yaml");
                continue;
            }
            assert.match(uri, /^(index|components\/[a-z-]+)\.ts$/, `${result.ruleId} ${result.locations![0].logicalLocations![0].fullyQualifiedName}: ${uri}`);
            // The declaring statement: `new aws.x.Y(` on that line, or a few lines below it (`cidrs.map(\n (c) =>\n new ...`).
            const lines = fs.readFileSync(path.join(root, uri), "utf8").split("\n");
            const around = lines.slice(loc.region!.startLine! - 1, loc.region!.startLine! + 3).join("\n");
            assert.match(around, /\bnew [A-Za-z0-9.]+\(/, `${uri}:${loc.region!.startLine}: ${around}`);
            files.add(uri);
        }
        assert.ok(files.has("components/database.ts") && files.has("components/network.ts"), [...files].join(", "));
        const db = results.find((r) => r.locations![0].logicalLocations![0].fullyQualifiedName!.endsWith("aws:rds/instance:Instance::appi-dev-postgres") || /rds\/instance:Instance::/.test(r.locations![0].logicalLocations![0].fullyQualifiedName!));
        assert.equal(db?.locations![0].physicalLocation!.artifactLocation!.uri, "components/database.ts");
    });
});
