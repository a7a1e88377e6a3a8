// lib/db.ts connection settings: DATABASE_URL with libpq's sslmode meanings, and the AWS path
// (RDS Proxy, IAM token as password, TLS verify-full against the bundled RDS CA).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ConnectionOptions } from "node:tls";
import { connectionConfigFromEnv, rdsCaBundle } from "../../lib/db";

const AWS_ENV = {
    DB_PROXY_ENDPOINT: "appi-proxy.proxy-abc.ap-northeast-1.rds.amazonaws.com",
    DB_USER: "app_lambda",
    DB_NAME: "appi",
    AWS_REGION: "ap-northeast-1",
    // Static fake credentials: the signer presigns locally, no AWS call is made.
    AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};

describe("db: connection configuration (lib/db.ts)", function () {
    it("uses DATABASE_URL without TLS unless the URL asks for it", async function () {
        const config = await connectionConfigFromEnv({ DATABASE_URL: "postgres://u:p@db.local:5433/appi" });
        assert.equal(config.ssl, false);
        assert.equal(config.connectionString, "postgres://u:p@db.local:5433/appi");
    });

    it("sslmode=require encrypts without verifying; verify-full verifies against sslrootcert; the mode leaves the URL", async function () {
        const require = await connectionConfigFromEnv({ DATABASE_URL: "postgres://u:p@db.local/appi?sslmode=require&application_name=x" });
        assert.deepEqual(require.ssl, { rejectUnauthorized: false });
        assert.equal(require.connectionString, "postgres://u:p@db.local/appi?application_name=x");

        const dir = mkdtempSync(path.join(tmpdir(), "appi-ca-"));
        try {
            writeFileSync(path.join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n");
            const full = await connectionConfigFromEnv({ DATABASE_URL: `postgres://u@db.local/appi?sslmode=verify-full&sslrootcert=${path.join(dir, "ca.pem")}` });
            const ssl = full.ssl as ConnectionOptions;
            assert.equal(ssl.rejectUnauthorized, true);
            assert.deepEqual(ssl.ca, ["-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n"]);
            assert.equal(ssl.checkServerIdentity, undefined, "verify-full checks the host name");
            assert.ok(!full.connectionString!.includes("ssl"));
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
        const rds = await connectionConfigFromEnv({ DATABASE_URL: "postgres://u@db.local/appi?sslmode=verify-full&sslrootcert=rds" });
        assert.deepEqual((rds.ssl as ConnectionOptions).ca, rdsCaBundle());
    });

    it("rejects a malformed DATABASE_URL or sslmode with a message naming it", async function () {
        await assert.rejects(connectionConfigFromEnv({ DATABASE_URL: "not a url" }), /DATABASE_URL is not a valid URL/);
        await assert.rejects(connectionConfigFromEnv({ DATABASE_URL: "mysql://u@h/db" }), /must start with postgres:\/\//);
        await assert.rejects(connectionConfigFromEnv({ DATABASE_URL: "postgres://u@h/db?sslmode=sometimes" }), /unknown sslmode "sometimes"/);
    });

    it("in AWS: RDS Proxy endpoint, IAM auth token as password, TLS verify-full against the RDS CA bundle", async function () {
        const config = await connectionConfigFromEnv(AWS_ENV);
        assert.equal(config.host, AWS_ENV.DB_PROXY_ENDPOINT);
        assert.equal(config.port, 5432);
        assert.equal(config.user, "app_lambda");
        assert.equal(config.database, "appi");
        const ssl = config.ssl as ConnectionOptions;
        assert.equal(ssl.rejectUnauthorized, true);
        assert.equal(ssl.servername, AWS_ENV.DB_PROXY_ENDPOINT);
        assert.ok(Array.isArray(ssl.ca) && ssl.ca.length >= 2 && String(ssl.ca[0]).includes("BEGIN CERTIFICATE"));
        assert.equal(typeof config.password, "function", "a fresh token for every new connection");
        const token = await (config.password as () => Promise<string>)();
        assert.match(token, new RegExp(`^${AWS_ENV.DB_PROXY_ENDPOINT.replace(/\./g, "\\.")}:5432/\\?Action=connect&DBUser=app_lambda&`));
        assert.match(token, /X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F\d{8}%2Fap-northeast-1%2Frds-db%2Faws4_request/);
    });

    it("names every missing AWS variable", async function () {
        await assert.rejects(connectionConfigFromEnv({ DB_PROXY_ENDPOINT: "x" }), /missing: DB_USER, DB_NAME, AWS_REGION/);
        await assert.rejects(connectionConfigFromEnv({}), /set DATABASE_URL .* missing: DB_PROXY_ENDPOINT, DB_USER, DB_NAME, AWS_REGION/);
        await assert.rejects(connectionConfigFromEnv({ ...AWS_ENV, DB_PORT: "99999" }), /DB_PORT must be a TCP port/);
    });

    it("in a Lambda, connecting, statements and lock waits give up well inside Cognito's 5-second trigger limit", async function () {
        const lambda = await connectionConfigFromEnv({ DATABASE_URL: "postgres://u@db.local/appi", AWS_LAMBDA_FUNCTION_NAME: "appi-post-confirmation" });
        assert.ok(lambda.connectionTimeoutMillis! <= 2_000);
        assert.ok((lambda as { statement_timeout?: number }).statement_timeout! < 5_000);
        assert.ok((lambda as { lock_timeout?: number }).lock_timeout! < 5_000);
        assert.ok(lambda.connectionTimeoutMillis! + (lambda as { query_timeout?: number }).query_timeout! < 6_000);
        const local = await connectionConfigFromEnv({ DATABASE_URL: "postgres://u@db.local/appi" });
        assert.equal((local as { statement_timeout?: number }).statement_timeout, undefined, "local tools (migrations, bench) keep no statement limit");
    });
});
