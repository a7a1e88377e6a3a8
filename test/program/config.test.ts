// Config validation: every bad value names its key and the fix, before any resource exists.
import { strict as assert } from "assert";
import { ConfigError, parseConfig } from "../../components/config";

const REQUIRED = { githubRepository: "marczenn/rento", alarmEmail: "oncall@example.com" };
const parse = (values: Record<string, string>) => parseConfig((key) => ({ ...REQUIRED, ...values })[key as keyof typeof REQUIRED], "dev");

function rejects(values: Record<string, string>, key: string, problem: RegExp) {
    assert.throws(
        () => parse(values),
        (err: unknown) => {
            assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
            assert.equal(err.key, key);
            assert.match(err.message, new RegExp(`appi-infra:${key}`));
            assert.match(err.message, problem);
            assert.match(err.message, /Fix: /);
            return true;
        },
    );
}

describe("config validation", function () {
    it("accepts the defaults: Tokyo, the seed's subnets, PostgreSQL 16, 14-day backups, 365-day logs", function () {
        const config = parse({});
        assert.equal(config.region, "ap-northeast-1");
        assert.deepEqual(config.network.publicSubnetCidrs, ["10.0.10.0/24", "10.0.11.0/24"]);
        assert.deepEqual(config.network.dataSubnetCidrs, ["10.0.1.0/24", "10.0.2.0/24"]);
        assert.equal(config.database.engineVersion, "16.6");
        assert.equal(config.database.backupRetentionDays, 14);
        assert.equal(config.database.minTlsVersion, "TLSv1.3");
        assert.equal(config.logRetentionDays, 365);
        assert.equal(config.namePrefix, "appi-dev");
    });

    it("accepts three zones with three CIDRs per tier", function () {
        const config = parse({
            azCount: "3",
            publicSubnetCidrs: '["10.0.10.0/24","10.0.11.0/24","10.0.12.0/24"]',
            appSubnetCidrs: '["10.0.20.0/24","10.0.21.0/24","10.0.22.0/24"]',
            dataSubnetCidrs: '["10.0.1.0/24","10.0.2.0/24","10.0.3.0/24"]',
        });
        assert.equal(config.network.azCount, 3);
    });

    it("rejects a CIDR that does not parse", () => rejects({ vpcCidr: "10.0.0.0/33" }, "vpcCidr", /not a valid IPv4 CIDR/));
    it("rejects a CIDR with host bits set", () => rejects({ appSubnetCidrs: '["10.0.20.1/24","10.0.21.0/24"]' }, "appSubnetCidrs", /not a network address/));
    it("rejects a subnet outside the VPC", () => rejects({ dataSubnetCidrs: '["10.1.1.0/24","10.0.2.0/24"]' }, "dataSubnetCidrs", /does not fit inside vpcCidr 10\.0\.0\.0\/16/));
    it("rejects tiers that overlap", () => rejects({ appSubnetCidrs: '["10.0.10.128/25","10.0.21.0/24"]' }, "appSubnetCidrs", /overlaps 10\.0\.10\.0\/24 \(publicSubnetCidrs\)/));
    it("rejects a tier whose subnet count differs from azCount", () => rejects({ dataSubnetCidrs: '["10.0.1.0/24"]' }, "dataSubnetCidrs", /has 1 CIDRs but azCount is 2/));
    it("rejects a list that is not a list", () => rejects({ publicSubnetCidrs: "10.0.10.0/24" }, "publicSubnetCidrs", /must be a list of strings/));
    it("rejects an unknown engine version", () => rejects({ dbEngineVersion: "15.4" }, "dbEngineVersion", /not a supported postgres version/));
    it("rejects an unknown engine", () => rejects({ dbEngine: "mysql" }, "dbEngine", /must be one of postgres, aurora-postgresql/));
    it("rejects a region outside Japan", () => rejects({ region: "us-east-1" }, "region", /outside Japan/));
    it("rejects backups shorter than 14 days", () => rejects({ backupRetentionDays: "7" }, "backupRetentionDays", /from 14 to 35/));
    it("rejects log retention under the audit-trail minimum", () => rejects({ logRetentionDays: "90" }, "logRetentionDays", /from 365/));
    it("rejects a missing repository", () => assert.throws(() => parseConfig((k) => (k === "alarmEmail" ? "a@b.jp" : undefined), "dev"), /githubRepository: is required and not set\. Fix: pulumi config set githubRepository owner\/name -s dev/));
    it("rejects a repository wildcard", () => rejects({ githubRepository: "marczenn/*" }, "githubRepository", /one repository as owner\/name/));
    it("rejects a malformed alarm e-mail", () => rejects({ alarmEmail: "ops" }, "alarmEmail", /not an e-mail address/));
    it("rejects a non-boolean flag", () => rejects({ dbMultiAz: "yes" }, "dbMultiAz", /must be true or false/));
    it("rejects an Aurora instance class Aurora does not offer", () => rejects({ dbEngine: "aurora-postgresql", dbInstanceClass: "db.t4g.micro" }, "dbInstanceClass", /Aurora PostgreSQL does not offer/));
});
