// The restore drill for real: a running local PostgreSQL, its pg_basebackup started as a second server on a free
// port, and the verification of compliance/restore-drill.ts against it. A faithful copy passes every check; a copy
// broken the way an attacker or a botched restore would break it fails the check that covers it, and only that one.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { localKeySet, PiiCipher } from "../../lib/crypto";
import { CheckName, PERSONAL_DATA_TABLES, RTO_SECONDS } from "../../compliance/restore-drill";
import { loadMigrations } from "../../db/migrate";
import { LocalServer, findPgBinDir, localRestoreDrill, makeWorkDir, prepareSourceDatabase, removeWorkDir, seedDrillData, startSourceCluster } from "../../compliance/restore-drill-local";

const DATABASE = "appi";
const USERS = 300;
const ENCRYPTED = 40;

async function sql(url: string, text: string): Promise<pg.QueryResult> {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
        return await c.query(text);
    } finally {
        await c.end();
    }
}

function failed(checks: { name: CheckName; ok: boolean }[]): CheckName[] {
    return checks.filter((c) => !c.ok).map((c) => c.name);
}

describe("restore drill: pg_basebackup of a running PostgreSQL, started as a second server, verified", function () {
    this.timeout(180_000);
    let workDir: string;
    let source: LocalServer;
    const master = randomBytes(32);
    const cipher = new PiiCipher(localKeySet(master));

    before(async function () {
        workDir = makeWorkDir();
        source = await startSourceCluster(findPgBinDir(), workDir);
        await prepareSourceDatabase(source, DATABASE);
        await seedDrillData(source.url(DATABASE), cipher, USERS, ENCRYPTED);
    });
    after(function () {
        source?.stop();
        if (workDir) removeWorkDir(workDir);
    });

    it("a faithful copy passes every check, and the result (no PII) is recorded against the 8-hour RTO", async function () {
        const result = await localRestoreDrill({ source, database: DATABASE, workDir, cipher, sampleSize: 25 });
        assert.deepEqual(failed(result.verify.checks), [], JSON.stringify(result.verify.checks));
        assert.equal(result.ok, true);
        assert.deepEqual(result.verify.checks.map((c) => c.name), ["migrations", "row-counts", "decrypt-sample", "rls", "audit-triggers"]);
        assert.deepEqual(result.verify.rowCounts.users, { source: USERS, restored: USERS });
        assert.deepEqual(result.verify.rowCounts.encryption_metadata, { source: ENCRYPTED, restored: ENCRYPTED });
        assert.deepEqual(Object.keys(result.verify.rowCounts).sort(), [...PERSONAL_DATA_TABLES].sort());
        assert.deepEqual(result.verify.decrypted, { sampled: 25, failed: 0 });
        assert.ok(result.recoverySeconds > 0 && result.recoverySeconds < RTO_SECONDS);

        const { rows } = await sql(source.url(DATABASE), `SELECT * FROM drill_results WHERE id = ${Number(result.recordId)}`);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].drill, "restore");
        assert.equal(rows[0].succeeded, true);
        assert.equal(Number(rows[0].rto_seconds), 28800);
        assert.ok(Number(rows[0].recovery_seconds) > 0);
        const details = JSON.stringify(rows[0].details);
        assert.match(details, /"mode":"local-basebackup"/);
        // Counts and check names only: no e-mail, no plaintext, no user id.
        assert.doesNotMatch(details, /@example\.jp|東京|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    });

    // Audit triggers are guarded by event triggers (migrations/0018); only a superuser can switch them off first.
    const GUARD_OFF = "ALTER EVENT TRIGGER appi_audit_ddl_guard DISABLE; ALTER EVENT TRIGGER appi_audit_drop_guard DISABLE";
    // `also`: other checks the same damage rightly fails too.
    const broken: { title: string; tamper: string; check: CheckName; detail: RegExp; also?: CheckName[] }[] = [
        { title: "row-level security disabled on a personal-data table", tamper: "ALTER TABLE consent_records DISABLE ROW LEVEL SECURITY", check: "rls", detail: /consent_records: row-level security disabled/ },
        { title: "row-level security enabled but no longer forced", tamper: "ALTER TABLE users NO FORCE ROW LEVEL SECURITY", check: "rls", detail: /users: row-level security not forced/ },
        {
            title: "a new table with a user_id column and no row-level security",
            tamper: "CREATE TABLE shadow_profiles (user_id uuid, note text)",
            check: "rls",
            detail: /shadow_profiles: row-level security disabled/,
        },
        { title: "a migration's row removed", tamper: "DELETE FROM schema_migrations WHERE name = (SELECT max(name) FROM schema_migrations)", check: "migrations", detail: new RegExp(`1 migration\\(s\\) not applied: ${loadMigrations().at(-1)!.name.replace(".", "\\.")}`) },
        { title: "an applied migration's checksum altered", tamper: "UPDATE schema_migrations SET checksum = md5(checksum) WHERE name LIKE '0003%'", check: "migrations", detail: /0003_roles_and_rls\.sql was changed after it was applied/ },
        { title: "the audit trigger of users disabled", tamper: `${GUARD_OFF}; ALTER TABLE users DISABLE TRIGGER users_audit`, check: "audit-triggers", detail: /users: audit trigger disabled/ },
        { title: "the audit trigger of consent records dropped", tamper: `${GUARD_OFF}; DROP TRIGGER consent_records_audit ON consent_records`, check: "audit-triggers", detail: /consent_records: no audit trigger/ },
        {
            title: "a personal-data table emptied",
            tamper: "DELETE FROM encryption_metadata",
            check: "row-counts",
            detail: /encryption_metadata: empty, the source has 40 rows/,
            also: ["decrypt-sample"], // the sample is drawn from encryption_metadata's level-2 fields
        },
        {
            title: "more rows than the source (not a copy of it)",
            tamper: "INSERT INTO users (id, email, first_name, created_at, last_activity_at) VALUES (gen_random_uuid(), 'x@example.jp', 'x', now(), now())",
            check: "row-counts",
            detail: /users: 301 rows restored, more than the source's 300/,
        },
        {
            title: "one byte of every level-2 ciphertext flipped (its authentication tag no longer matches)",
            tamper: "UPDATE users SET address_encrypted = set_byte(address_encrypted, length(address_encrypted) - 8, (get_byte(address_encrypted, length(address_encrypted) - 8) + 1) % 256) WHERE address_encrypted IS NOT NULL",
            check: "decrypt-sample",
            detail: /did not decrypt \(address_encrypted\)/,
        },
        { title: "every level-2 field wiped", tamper: "UPDATE users SET address_encrypted = NULL", check: "decrypt-sample", detail: /no level-2 field in the restored copy, the source has some/ },
    ];
    for (const b of broken) {
        it(`fails "${b.check}" when ${b.title}, and records the failure`, async function () {
            const result = await localRestoreDrill({ source, database: DATABASE, workDir, cipher, tamper: (url) => sql(url, b.tamper).then(() => undefined) });
            assert.deepEqual(failed(result.verify.checks).sort(), [b.check, ...(b.also ?? [])].sort(), JSON.stringify(result.verify.checks));
            assert.match(result.verify.checks.find((c) => c.name === b.check)!.detail, b.detail);
            assert.equal(result.ok, false);
            const { rows } = await sql(source.url(DATABASE), `SELECT succeeded FROM drill_results WHERE id = ${Number(result.recordId)}`);
            assert.equal(rows[0].succeeded, false);
        });
    }

    it("fails the decrypt check, naming the column and never a user, when the keyring is not the one the data was written with", async function () {
        const other = new PiiCipher(localKeySet(randomBytes(32)));
        const result = await localRestoreDrill({ source, database: DATABASE, workDir, cipher: other, sampleSize: 10, record: false });
        assert.deepEqual(failed(result.verify.checks), ["decrypt-sample"]);
        const detail = result.verify.checks.find((c) => c.name === "decrypt-sample")!.detail;
        assert.equal(detail, "10 of 10 level-2 field(s) did not decrypt (address_encrypted)");
    });
});
