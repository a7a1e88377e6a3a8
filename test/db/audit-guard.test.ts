// migrations/0018: event triggers stop the schema owner (appi_owner, so migrator after SET ROLE) from disabling or
// dropping audit triggers and audit tables. Installed where the migrating login is a superuser (here; on RDS a
// member of rds_superuser); test/db/rds-model.test.ts shows it is skipped for a plain CREATEROLE owner.
import assert from "node:assert/strict";
import pg from "pg";
import { migratedDatabase, TestDatabase } from "../support/postgres";
import { connect, INSUFFICIENT_PRIVILEGE, rejection } from "./helpers";

describe("db: audit trail DDL guard (0018)", function () {
    this.timeout(60_000);
    let db: TestDatabase;
    let owner: pg.Client;

    before(async function () {
        db = await migratedDatabase("audit_guard");
        owner = await connect(db.url);
        await owner.query("SET ROLE appi_owner"); // what migrator is after SET ROLE
    });
    after(async function () {
        await owner?.end();
        await db?.drop();
    });

    async function refused(sql: string, message: RegExp): Promise<void> {
        const err = await rejection(owner.query(sql));
        assert.equal(err.code, INSUFFICIENT_PRIVILEGE, `${sql}: ${err.message}`);
        assert.match(err.message, message);
    }

    it("refuses disabling an audit trigger, by name, all user triggers at once, or to replica-only", async function () {
        await refused("ALTER TABLE users DISABLE TRIGGER users_audit", /audit triggers may not be disabled: users_audit on public\.users/);
        await refused("ALTER TABLE consent_records DISABLE TRIGGER USER", /consent_records_audit on public\.consent_records/);
        await refused("ALTER TABLE encryption_audit ENABLE REPLICA TRIGGER encryption_audit_append_only", /encryption_audit_append_only/);
        await refused("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate", /audit_log_no_truncate/);
    });

    it("refuses dropping an audit trigger, the function behind them (CASCADE), or an audit table", async function () {
        await refused("DROP TRIGGER consent_records_audit ON consent_records", /audit trigger consent_records_audit on consent_records may not be dropped/);
        await refused("DROP FUNCTION forbid_audit_change() CASCADE", /may not be dropped/);
        await refused("DROP TABLE erasure_log", /audit table erasure_log may not be dropped/);
        await refused("DROP TABLE audit_log", /audit table audit_log may not be dropped/);
    });

    it("refuses dropping an audit_log month within retention", async function () {
        const { rows } = await owner.query("SELECT 'audit_log_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY\"m\"MM') AS month");
        await refused(`DROP TABLE ${rows[0].month}`, /within its retention and may not be dropped/);
    });

    it("refuses taking an audit_log month within retention out of the trail: DETACH, or rename / move first (0020)", async function () {
        const { rows } = await owner.query("SELECT 'audit_log_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY\"m\"MM') AS month");
        const month = rows[0].month as string;
        await refused(`ALTER TABLE audit_log DETACH PARTITION ${month}`, new RegExp(`audit_log month public\\.${month} is within its retention and may not be detached`));
        await refused(`ALTER TABLE ${month} RENAME TO quiet_month`, /audit_log months may not be renamed or moved: public\.quiet_month/);
        await owner.query("RESET ROLE");
        await owner.query("CREATE SCHEMA IF NOT EXISTS elsewhere");
        await owner.query("GRANT CREATE, USAGE ON SCHEMA elsewhere TO appi_owner");
        await owner.query("SET ROLE appi_owner");
        await refused(`ALTER TABLE ${month} SET SCHEMA elsewhere`, /audit_log months may not be renamed or moved: elsewhere\./);
        const still = await owner.query("SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'audit_log'::regclass AND inhrelid = $1::regclass", [month]);
        assert.equal(still.rows[0].n, 1, "the month is still part of the trail");
    });

    it("still lets the retention function detach and drop months past retention", async function () {
        const old = await owner.query("SELECT to_char((now() AT TIME ZONE 'UTC') - interval '9 years', 'YYYY\"m\"MM') AS suffix, date_trunc('month', now() - interval '9 years') AS from_, date_trunc('month', now() - interval '9 years') + interval '1 month' AS to_");
        const name = `audit_log_${old.rows[0].suffix}`;
        await owner.query(`CREATE TABLE ${name} PARTITION OF audit_log FOR VALUES FROM ('${old.rows[0].from_.toISOString()}') TO ('${old.rows[0].to_.toISOString()}')`);
        await owner.query("SELECT audit_log_drop_expired_partitions()");
        const left = await owner.query("SELECT to_regclass($1) AS t", [name]);
        assert.equal(left.rows[0].t, null, `${name} dropped by the retention function`);
    });

    it("leaves other DDL alone, and the owner cannot switch the guard off or replace it", async function () {
        await owner.query("ALTER TABLE users DISABLE TRIGGER users_touch_updated_at");
        await owner.query("ALTER TABLE users ENABLE TRIGGER users_touch_updated_at");
        await owner.query("CREATE TABLE guard_scratch (id int)");
        await owner.query("DROP TABLE guard_scratch");
        for (const sql of [
            "ALTER EVENT TRIGGER appi_audit_ddl_guard DISABLE",
            "DROP EVENT TRIGGER appi_audit_drop_guard",
            "CREATE OR REPLACE FUNCTION appi_guard.protect_audit_trail() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$",
        ]) {
            assert.equal((await rejection(owner.query(sql))).code, INSUFFICIENT_PRIVILEGE, sql);
        }
    });
});
