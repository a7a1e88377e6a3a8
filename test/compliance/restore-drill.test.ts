// The restore drill's AWS side against SDK client mocks (RDS, CloudWatch), with a real PostgreSQL as the source (its
// drill_results) and as the "restored" database the verification connects to: the exact commands and parameters,
// the temporary instance deleted on verify failure, restore failure and timeout, leftover cleanup, the RTO.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DBInstance, DeleteDBInstanceCommand, DescribeDBInstancesCommand, RDSClient, RestoreDBInstanceToPointInTimeCommand } from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import pg from "pg";
import { localKeySet, PiiCipher } from "../../lib/crypto";
import { COMPLIANCE_METRICS, COMPLIANCE_NAMESPACE } from "../../compliance/metric-names";
import { RestoreDrillConfig, RestoreDrillDeps, runRestoreDrill, VerifyResult } from "../../compliance/restore-drill";
import { main } from "../../compliance/restore-drill-cli";
import { migratedDatabase, TestDatabase } from "../support/postgres";

const rdsMock = mockClient(RDSClient);
const cloudwatchMock = mockClient(CloudWatchClient);
const T0 = new Date("2026-12-01T01:00:00Z");
const HOUR = 3600_000;
const KEY = "arn:aws:kms:ap-northeast-1:111122223333:key/data";
const DRILL_ID = "appi-prod-drill-202612010100";

const config: RestoreDrillConfig = {
    sourceInstance: "appi-prod-postgres",
    namePrefix: "appi-prod",
    subnetGroupName: "appi-prod-data",
    securityGroupIds: ["sg-data"],
    dbName: "appi",
    timeoutSeconds: 2 * 3600,
    pollSeconds: 60,
    leftoverHours: 24,
    stack: "prod",
};

const sourceInstance: DBInstance = {
    DBInstanceIdentifier: config.sourceInstance,
    DBInstanceClass: "db.r6g.large",
    LatestRestorableTime: new Date("2026-12-01T00:55:00Z"),
    KmsKeyId: KEY,
    StorageEncrypted: true,
    DBParameterGroups: [{ DBParameterGroupName: "appi-prod-pg16", ParameterApplyStatus: "in-sync" }],
    Endpoint: { Address: "source.example", Port: 5432 },
};
const drillTags = [{ Key: "appi:drill", Value: "restore" }];

function restoredInstance(status: string, extra: Partial<DBInstance> = {}): DBInstance {
    return {
        DBInstanceIdentifier: DRILL_ID,
        DBInstanceStatus: status,
        KmsKeyId: KEY,
        StorageEncrypted: true,
        PubliclyAccessible: false,
        DBSubnetGroup: { DBSubnetGroupName: "appi-prod-data" },
        Endpoint: status === "available" ? { Address: "drill.example", Port: 5432 } : undefined,
        TagList: drillTags,
        ...extra,
    };
}

function notFound(): Error {
    return Object.assign(new Error("DBInstance not found"), { name: "DBInstanceNotFoundFault" });
}

function published(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const call of cloudwatchMock.commandCalls(PutMetricDataCommand)) {
        assert.equal(call.args[0].input.Namespace, COMPLIANCE_NAMESPACE);
        for (const d of call.args[0].input.MetricData ?? []) {
            assert.deepEqual(d.Dimensions, [{ Name: "Stack", Value: "prod" }]);
            out[d.MetricName!] = d.Value!;
        }
    }
    return out;
}

function deleted(): string[] {
    return rdsMock.commandCalls(DeleteDBInstanceCommand).map((c) => {
        assert.equal(c.args[0].input.SkipFinalSnapshot, true);
        assert.equal(c.args[0].input.DeleteAutomatedBackups, true);
        return c.args[0].input.DBInstanceIdentifier!;
    });
}

describe("restore drill: AWS side (RDS and CloudWatch mocks, drill_results in a real PostgreSQL)", function () {
    let db: TestDatabase;
    let admin: pg.Client;
    let clock: number;
    const cipher = new PiiCipher(localKeySet(randomBytes(32)));
    /** Status of the drill instance on each successive describe. */
    let statuses: string[];
    let others: DBInstance[];

    function deps(extra: Partial<RestoreDrillDeps> = {}): RestoreDrillDeps {
        return {
            rds: new RDSClient({ region: "ap-northeast-1" }),
            cloudwatch: new CloudWatchClient({ region: "ap-northeast-1" }),
            cipher,
            source: { connectionString: db.url },
            // The verification runs for real against a migrated database standing in for the copy.
            connect: (endpoint) => {
                assert.deepEqual(endpoint, { host: "drill.example", port: 5432 });
                return { connectionString: db.url };
            },
            now: () => new Date(clock),
            sleep: async (ms) => {
                clock += ms;
            },
            ...extra,
        };
    }

    async function record(id: number | undefined) {
        return (await admin.query("SELECT * FROM drill_results WHERE id = $1", [id])).rows[0];
    }

    before(async function () {
        db = await migratedDatabase("restore_drill");
        admin = new pg.Client({ connectionString: db.url });
        await admin.connect();
    });
    after(async function () {
        await admin?.end();
        await db?.drop();
    });
    beforeEach(function () {
        rdsMock.reset();
        cloudwatchMock.reset();
        cloudwatchMock.on(PutMetricDataCommand).resolves({});
        clock = T0.getTime();
        statuses = ["creating", "creating", "backing-up", "available"];
        others = [];
        rdsMock.on(DescribeDBInstancesCommand).callsFake((input) => {
            if (!input.DBInstanceIdentifier) return { DBInstances: [sourceInstance, ...others] };
            if (input.DBInstanceIdentifier === config.sourceInstance) return { DBInstances: [sourceInstance] };
            if (input.DBInstanceIdentifier === DRILL_ID) {
                if (!rdsMock.commandCalls(RestoreDBInstanceToPointInTimeCommand).length) throw notFound();
                const status = statuses.length > 1 ? statuses.shift()! : statuses[0];
                return { DBInstances: [restoredInstance(status)] };
            }
            throw notFound();
        });
        rdsMock.on(RestoreDBInstanceToPointInTimeCommand).callsFake(() => {
            clock += 60_000;
            return { DBInstance: restoredInstance("creating") };
        });
        rdsMock.on(DeleteDBInstanceCommand).resolves({});
    });

    it("restores the latest restorable time as a private, tagged copy in the isolated subnets, verifies it, records it and deletes it", async function () {
        const result = await runRestoreDrill(config, deps());
        assert.equal(result.ok, true, JSON.stringify(result));
        const restores = rdsMock.commandCalls(RestoreDBInstanceToPointInTimeCommand);
        assert.equal(restores.length, 1);
        assert.deepEqual(restores[0].args[0].input, {
            SourceDBInstanceIdentifier: "appi-prod-postgres",
            TargetDBInstanceIdentifier: DRILL_ID,
            RestoreTime: new Date("2026-12-01T00:55:00Z"),
            DBInstanceClass: "db.r6g.large",
            DBSubnetGroupName: "appi-prod-data",
            VpcSecurityGroupIds: ["sg-data"],
            PubliclyAccessible: false,
            MultiAZ: false,
            DeletionProtection: false,
            EnableIAMDatabaseAuthentication: true,
            DBParameterGroupName: "appi-prod-pg16",
            BackupRetentionPeriod: 0,
            CopyTagsToSnapshot: false,
            AutoMinorVersionUpgrade: false,
            Tags: [
                { Key: "appi:drill", Value: "restore" },
                { Key: "appi:drill-expires", Value: "2026-12-02T01:00:00.000Z" },
                { Key: "appi:drill-source", Value: "appi-prod-postgres" },
                { Key: "appi:personal-data", Value: "restored-copy" },
            ],
        });
        assert.deepEqual(deleted(), [DRILL_ID]);
        assert.equal(result.deleted, true);
        assert.deepEqual(result.checks.map((c) => [c.name, c.ok]), [["instance", true], ["migrations", true], ["row-counts", true], ["decrypt-sample", true], ["rls", true], ["audit-triggers", true]]);
        // Restore sent at +0 s, then 60 s in the API call and three polls of 60 s: verified at +240 s.
        assert.equal(result.recoverySeconds, 240);
        assert.equal(result.restoreTime, "2026-12-01T00:55:00.000Z");
        assert.deepEqual(published(), { [COMPLIANCE_METRICS.restoreDrillFailed]: 0, [COMPLIANCE_METRICS.restoreDrillRecoverySeconds]: 240 });
        const row = await record(result.recordId);
        assert.equal(row.drill, "restore");
        assert.equal(row.succeeded, true);
        assert.equal(Number(row.recovery_seconds), 240);
        assert.equal(Number(row.rto_seconds), 28800);
        assert.equal(row.details.drillInstance, DRILL_ID);
    });

    it("deletes the copy when verification fails, and publishes RestoreDrillFailed = 1", async function () {
        const failing: VerifyResult = { ok: false, checks: [{ name: "rls", ok: false, detail: "users: row-level security not forced" }], rowCounts: {}, decrypted: { sampled: 0, failed: 0 } };
        const result = await runRestoreDrill(config, deps({ verify: async () => failing }));
        assert.equal(result.ok, false);
        assert.deepEqual(deleted(), [DRILL_ID]);
        assert.equal(published()[COMPLIANCE_METRICS.restoreDrillFailed], 1);
        assert.equal((await record(result.recordId)).succeeded, false);
    });

    it("deletes the copy when verification throws (cannot connect), and records the error", async function () {
        const result = await runRestoreDrill(config, deps({ verify: async () => Promise.reject(new Error("connect ETIMEDOUT drill.example:5432")) }));
        assert.equal(result.ok, false);
        assert.match(result.error!, /ETIMEDOUT/);
        assert.deepEqual(deleted(), [DRILL_ID]);
        assert.equal(published()[COMPLIANCE_METRICS.restoreDrillFailed], 1);
    });

    it("fails the instance check when the copy is not under the source's KMS key or is public, and still deletes it", async function () {
        statuses = ["available"];
        rdsMock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: DRILL_ID }).resolves({
            DBInstances: [restoredInstance("available", { KmsKeyId: "arn:aws:kms:ap-northeast-1:111122223333:key/other", PubliclyAccessible: true })],
        });
        const result = await runRestoreDrill(config, deps());
        assert.equal(result.ok, false);
        const instance = result.checks.find((c) => c.name === "instance")!;
        assert.equal(instance.ok, false);
        assert.match(instance.detail, /KMS key .*other differs from the source's/);
        assert.match(instance.detail, /publicly accessible/);
        assert.deepEqual(deleted(), [DRILL_ID]);
    });

    it("tries the delete when the restore call itself fails (the copy may exist), and tolerates it not existing", async function () {
        rdsMock.on(RestoreDBInstanceToPointInTimeCommand).rejects(Object.assign(new Error("Insufficient capacity"), { name: "InsufficientDBInstanceCapacityFault" }));
        rdsMock.on(DeleteDBInstanceCommand).rejects(notFound());
        const result = await runRestoreDrill(config, deps());
        assert.equal(result.ok, false);
        assert.match(result.error!, /Insufficient capacity/);
        assert.deepEqual(rdsMock.commandCalls(DeleteDBInstanceCommand).map((c) => c.args[0].input.DBInstanceIdentifier), [DRILL_ID]);
        assert.equal(result.deleted, true);
        assert.equal(published()[COMPLIANCE_METRICS.restoreDrillFailed], 1);
        assert.equal((await record(result.recordId)).succeeded, false);
    });

    it("never deletes another run's copy: a name already taken fails the drill without a delete", async function () {
        rdsMock.on(RestoreDBInstanceToPointInTimeCommand).rejects(Object.assign(new Error("DB instance already exists"), { name: "DBInstanceAlreadyExistsFault" }));
        const result = await runRestoreDrill(config, deps());
        assert.equal(result.ok, false);
        assert.match(result.error!, /already exists/);
        assert.deepEqual(deleted(), []);
        assert.equal(published()[COMPLIANCE_METRICS.restoreDrillFailed], 1);
    });

    it("stops waiting on a failed restore status and deletes the copy", async function () {
        statuses = ["creating", "incompatible-restore"];
        const result = await runRestoreDrill(config, deps());
        assert.match(result.error!, /status incompatible-restore/);
        assert.deepEqual(deleted(), [DRILL_ID]);
        assert.equal(result.ok, false);
    });

    it("gives up after the time budget, deletes the copy and records the time spent", async function () {
        statuses = ["creating"];
        let verified = false;
        const result = await runRestoreDrill({ ...config, timeoutSeconds: 600, pollSeconds: 120 }, deps({ verify: async () => ((verified = true), Promise.reject(new Error("unreachable"))) }));
        assert.equal(verified, false);
        assert.match(result.error!, /not available after 10 minutes \(status creating\)/);
        assert.deepEqual(deleted(), [DRILL_ID]);
        // 60 s in the restore call, then polls every 120 s until 600 s have passed.
        assert.equal(result.recoverySeconds, 660);
        assert.equal(published()[COMPLIANCE_METRICS.restoreDrillFailed], 1);
        assert.equal(Number((await record(result.recordId)).recovery_seconds), 660);
    });

    it("a verified copy that took longer than the 8-hour RTO is a failed drill", async function () {
        statuses = ["creating"];
        // Available only after 9 hours of polling (hourly polls); the budget allows 10.
        let polls = 0;
        const slow = deps({ sleep: async (ms) => void ((clock += ms), ++polls === 9 && (statuses = ["available"])) });
        const result = await runRestoreDrill({ ...config, timeoutSeconds: 10 * 3600, pollSeconds: 3600 }, slow);
        assert.equal(result.checks.every((c) => c.ok), true);
        assert.equal(result.withinRto, false);
        assert.equal(result.ok, false);
        assert.ok(result.recoverySeconds > 8 * 3600);
        assert.equal(published()[COMPLIANCE_METRICS.restoreDrillFailed], 1);
    });

    it("a failed delete fails the drill (the copy is left for the next cleanup)", async function () {
        rdsMock.on(DeleteDBInstanceCommand).rejects(Object.assign(new Error("throttled"), { name: "ThrottlingException" }));
        const result = await runRestoreDrill(config, deps());
        assert.equal(result.ok, false);
        assert.equal(result.deleted, false);
        assert.match(result.error!, /delete of appi-prod-drill-202612010100 failed: throttled/);
    });

    it("a result that cannot be recorded still publishes RestoreDrillFailed = 1, then fails loudly", async function () {
        const unreachable = { connectionString: "postgres://restore_drill@127.0.0.1:1/appi", connectionTimeoutMillis: 2000 };
        await assert.rejects(runRestoreDrill(config, deps({ source: unreachable, verify: async () => ({ ok: true, checks: [], rowCounts: {}, decrypted: { sampled: 1, failed: 0 } }) })), /could not be recorded in drill_results/);
        assert.deepEqual(deleted(), [DRILL_ID]);
        assert.equal(published()[COMPLIANCE_METRICS.restoreDrillFailed], 1);
    });

    it("first deletes drill instances (prefix AND tag) older than the cleanup age, and nothing else", async function () {
        others = [
            { DBInstanceIdentifier: "appi-prod-drill-202610010100", TagList: drillTags, InstanceCreateTime: new Date(T0.getTime() - 30 * HOUR), DBInstanceStatus: "available" },
            { DBInstanceIdentifier: "appi-prod-drill-202611300900", TagList: drillTags, InstanceCreateTime: new Date(T0.getTime() - 2 * HOUR), DBInstanceStatus: "available" },
            { DBInstanceIdentifier: "appi-prod-drill-202609010100", TagList: drillTags, InstanceCreateTime: new Date(T0.getTime() - 90 * 24 * HOUR), DBInstanceStatus: "deleting" },
            { DBInstanceIdentifier: "appi-prod-drill-manual", TagList: [], InstanceCreateTime: new Date(T0.getTime() - 99 * HOUR), DBInstanceStatus: "available" },
            { DBInstanceIdentifier: "appi-dev-drill-202610010100", TagList: drillTags, InstanceCreateTime: new Date(T0.getTime() - 99 * HOUR), DBInstanceStatus: "available" },
            { DBInstanceIdentifier: "appi-prod-reporting", TagList: drillTags, InstanceCreateTime: new Date(T0.getTime() - 99 * HOUR), DBInstanceStatus: "available" },
        ];
        const result = await runRestoreDrill(config, deps());
        assert.deepEqual(result.leftoversDeleted, ["appi-prod-drill-202610010100"]);
        assert.deepEqual(deleted(), ["appi-prod-drill-202610010100", DRILL_ID]);
    });

    it("a source without a restorable time restores nothing, deletes nothing, and fails", async function () {
        rdsMock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: config.sourceInstance }).resolves({ DBInstances: [{ ...sourceInstance, LatestRestorableTime: undefined }] });
        const result = await runRestoreDrill(config, deps());
        assert.match(result.error!, /no restorable time/);
        assert.equal(rdsMock.commandCalls(RestoreDBInstanceToPointInTimeCommand).length, 0);
        assert.deepEqual(deleted(), []);
        assert.equal(published()[COMPLIANCE_METRICS.restoreDrillFailed], 1);
    });

    it("the restore_drill login reads counts, a level-2 sample, migration names, and records; never a personal-data table", async function () {
        const url = await db.loginUrl("restore_drill");
        const login = new pg.Client({ connectionString: url });
        await login.connect();
        try {
            const id = "6f1c2b1e-0000-4000-8000-000000000001";
            await admin.query(`INSERT INTO users (id, email, first_name, address_encrypted, ssn_encrypted) VALUES ('${id}', 'a@example.jp', 'a', '\\x01', '\\x02')`);
            await admin.query(
                `INSERT INTO encryption_metadata (user_id, field_name, encryption_level, kms_key_id, key_version, outer_kms_key_id, outer_key_version, algorithm) VALUES
                 ('${id}', 'address_encrypted', 2, 'pii-l2-v1', 1, NULL, NULL, 'AES_256_GCM_HKDF_SHA512_COMMIT_KEY'),
                 ('${id}', 'ssn_encrypted', 3, 'pii-l3-v1', 1, 'pii-l2-v1', 1, 'AES_256_GCM_HKDF_SHA512_COMMIT_KEY')`,
            );
            const counts = (await login.query("SELECT * FROM restore_drill_row_counts() WHERE table_name = 'users'")).rows;
            assert.equal(Number(counts[0].row_count), 1);
            const fields = (await login.query("SELECT field_name FROM restore_drill_sample(10)")).rows.map((r) => r.field_name);
            assert.deepEqual(fields, ["address_encrypted"]); // never the level-3 ssn
            assert.ok((await login.query("SELECT count(*) FROM schema_migrations")).rows[0].count > 0);
            await assert.rejects(login.query("SELECT count(*) FROM users"), /permission denied/);
            await assert.rejects(login.query("SELECT * FROM audit_log"), /permission denied/);
            await assert.rejects(login.query("SELECT * FROM compliance_metrics(now())"), /permission denied/);
        } finally {
            await login.end();
        }
    });

    describe("npm run drill:restore", function () {
        it("--help exits 0, an unknown option 2, missing AWS settings 2 naming them", async function () {
            const write = process.stdout.write;
            let help = "";
            process.stdout.write = ((chunk: string) => ((help += chunk), true)) as typeof process.stdout.write;
            try {
                assert.equal(await main(["--help"], {}), 0);
            } finally {
                process.stdout.write = write;
            }
            assert.match(help, /^usage: npm run drill:restore -- /);
            const errors: string[] = [];
            const original = console.error;
            console.error = (line: string) => void errors.push(line);
            try {
                assert.equal(await main(["--bogus"], {}), 2);
                assert.equal(await main([], {}), 2);
                assert.equal(await main(["--local", "--source-instance", "x"], {}), 2);
                assert.equal(await main(["--timeout-minutes", "0"], {}), 2);
            } finally {
                console.error = original;
            }
            assert.match(errors[0], /unknown option --bogus/);
            errors.shift();
            assert.match(errors[0], /missing --source-instance \/ DRILL_SOURCE_INSTANCE, --name-prefix .*--subnet-group .*--security-group .*--stack .*DB_NAME, AWS_REGION/);
            assert.match(errors[1], /--local runs on this machine/);
            assert.match(errors[2], /--timeout-minutes must be a positive integer/);
        });
    });
});
