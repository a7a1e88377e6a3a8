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

    it("refuses dropping an audit_log month within retention, even detached first", async function () {
        const { rows } = await owner.query("SELECT 'audit_log_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY\"m\"MM') AS month");
        await owner.query("BEGIN");
        try {
            await owner.query(`ALTER TABLE audit_log DETACH PARTITION ${rows[0].month}`);
            await refused(`DROP TABLE ${rows[0].month}`, /within its retention and may not be dropped/);
        } finally {
            await owner.query("ROLLBACK");
        }
        await owner.query("SET ROLE appi_owner");
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
