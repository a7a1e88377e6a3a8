// One truth for the program and the pack: every limit the program's config
// validation accepts passes the pack with its default config. The program is
// planned under mocks at the edges of what it accepts (Osaka, the shortest
// retentions, the weakest TLS it allows) and the pack run over the plan.
import { strict as assert } from "assert";
import { ConfigError, parseConfig } from "../../components/config";
import { planStack } from "../../plan/run";
import { DEFAULT_CONFIG, resolveConfig } from "../../policies/core/config";
import * as limits from "../../policies/core/limits";
import { rules } from "../../policies/rules";
import { mandatoryViolations, violations } from "../../policies/report/model";
import { checkPlannedStack } from "../../policies/runners/offline";

const REQUIRED = { githubRepository: "marczenn/rento", alarmEmail: "oncall@example.com" };
const accepts = (key: string, value: string): boolean => {
    try {
        parseConfig((k) => ({ ...REQUIRED, [key]: value })[k as keyof typeof REQUIRED], "dev");
        return true;
    } catch (err) {
        if (err instanceof ConfigError && err.key === key) return false;
        throw err;
    }
};

describe("one truth: program config limits and the pack's defaults (policies/core/limits.ts)", function () {
    this.timeout(120_000);

    it("the pack's defaults are the limits", () => {
        assert.deepEqual(DEFAULT_CONFIG.allowedRegions, [...limits.JAPAN_REGIONS]);
        assert.equal(DEFAULT_CONFIG.minTlsVersion, limits.MIN_TLS_VERSION);
        assert.equal(DEFAULT_CONFIG.minBackupRetentionDays, limits.MIN_BACKUP_RETENTION_DAYS);
        assert.equal(DEFAULT_CONFIG.minLogRetentionDays, limits.MIN_LOG_RETENTION_DAYS);
    });

    it("the program accepts exactly the regions, TLS versions and retentions the pack passes by default", () => {
        const pack = resolveConfig(undefined);
        for (const region of ["ap-northeast-1", "ap-northeast-3", "ap-northeast-2", "ap-southeast-1", "us-east-1", "eu-west-1"]) {
            assert.equal(accepts("region", region), pack.allowedRegions.includes(region), `region ${region}`);
        }
        for (const tls of limits.TLS_VERSIONS) {
            assert.equal(accepts("dbMinTlsVersion", tls), limits.TLS_VERSIONS.indexOf(tls) >= limits.TLS_VERSIONS.indexOf(pack.minTlsVersion as limits.TlsVersion), `TLS ${tls}`);
        }
        for (let days = 1; days <= 40; days++) {
            const packPasses = days >= pack.minBackupRetentionDays && days <= limits.MAX_BACKUP_RETENTION_DAYS;
            assert.equal(accepts("backupRetentionDays", String(days)), packPasses, `backupRetentionDays ${days}`);
            assert.equal(accepts("redisSnapshotRetentionDays", String(days)), packPasses, `redisSnapshotRetentionDays ${days}`);
        }
        for (const days of [1, 90, 364, 365, 366, 731, 3653, 3654]) {
            assert.equal(accepts("logRetentionDays", String(days)), days >= pack.minLogRetentionDays && days <= limits.MAX_LOG_RETENTION_DAYS, `logRetentionDays ${days}`);
        }
    });

    it("a prod stack at every edge the program accepts (Osaka, 14-day backups and snapshots, 365-day logs) passes the pack by default", async () => {
        const edges = {
            "aws:region": "ap-northeast-3",
            "appi-infra:region": "ap-northeast-3",
            "appi-infra:backupRetentionDays": String(limits.MIN_BACKUP_RETENTION_DAYS),
            "appi-infra:redisSnapshotRetentionDays": String(limits.MIN_BACKUP_RETENTION_DAYS),
            "appi-infra:logRetentionDays": String(limits.MIN_LOG_RETENTION_DAYS),
            "appi-infra:dbMinTlsVersion": limits.ACCEPTED_TLS_VERSIONS[0],
        };
        const report = checkPlannedStack(await planStack("prod", { configOverrides: edges }), { rules });
        assert.equal(mandatoryViolations(report), 0, JSON.stringify(violations(report).filter((v) => v.enforcementLevel === "mandatory"), null, 2));
        // The attacker's case: the same plan against a stricter pack config does fail, so the pass above is earned.
        const stricter = checkPlannedStack(await planStack("prod", { configOverrides: edges }), { rules, config: resolveConfig({ allowedRegions: ["ap-northeast-1"], minBackupRetentionDays: 15 }) });
        const failed = new Set(violations(stricter).filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policyName));
        for (const id of ["region-allowed", "rds-instance-backup-retention", "elasticache-snapshot-retention"]) assert.ok(failed.has(id), `${id} fails a stricter config: ${[...failed].join(", ")}`);
    });
});
