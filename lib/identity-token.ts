import { createHmac } from "node:crypto";
import { readFileSync, statSync } from "node:fs";

// Signed identity tokens (migrations/0005): the database acts for a user only when handed a token it can
// verify, so a stolen database credential alone cannot act as anyone. The minter (the API after checking
// the Cognito JWT, a Lambda for the user of its event, the tests) holds the shared secret
// APP_IDENTITY_SECRET; the database holds the same secret in a table no application role can read.

export const IDENTITY_TOKEN_MAX_TTL_SECONDS = 3600;
const IDENTITY_TOKEN_DEFAULT_TTL_SECONDS = 300;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The shared identity secret from APP_IDENTITY_SECRET (base64, 32 to 64 bytes). */
export function identitySecretFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer {
    const text = env.APP_IDENTITY_SECRET;
    if (!text) throw new Error("APP_IDENTITY_SECRET is not set (base64, 32 to 64 bytes; the same secret the database holds)");
    const secret = Buffer.from(text, "base64");
    if (secret.length < 32 || secret.length > 64 || secret.toString("base64").replace(/=+$/, "") !== text.trim().replace(/=+$/, "")) {
        throw new Error("APP_IDENTITY_SECRET must be base64 of 32 to 64 bytes");
    }
    return secret;
}

/** v1.<user id>.<expiry, unix seconds>.<hex HMAC-SHA256 of the part before it>: what app_begin_identity() verifies. */
export function signIdentityToken(secret: Buffer, userId: string, options: { ttlSeconds?: number; now?: Date } = {}): string {
    if (secret.length < 32 || secret.length > 64) throw new Error("identity secret must be 32 to 64 bytes");
    const id = typeof userId === "string" ? userId.toLowerCase() : "";
    if (!UUID_PATTERN.test(id)) throw new Error("signIdentityToken: the user id must be a UUID (the Cognito sub)");
    const ttl = options.ttlSeconds ?? IDENTITY_TOKEN_DEFAULT_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > IDENTITY_TOKEN_MAX_TTL_SECONDS) {
        throw new Error(`signIdentityToken: ttlSeconds must be an integer from 1 to ${IDENTITY_TOKEN_MAX_TTL_SECONDS}`);
    }
    const expires = Math.floor((options.now ?? new Date()).getTime() / 1000) + ttl;
    const signed = `v1.${id}.${expires}`;
    return `${signed}.${createHmac("sha256", secret).update(signed, "utf8").digest("hex")}`;
}

/**
 * APP_IDENTITY_SECRET read from the API host's environment file (components/api.ts writes it at boot and, after a
 * rotation, again within 11 minutes), re-read when the file changes, so a long-running process signs with the new
 * value without a restart. The file is looked at (stat) at most every `checkEveryMs`; a change of mtime, size or
 * inode re-reads it. A file that cannot be read or holds no valid secret keeps the last good value (the old key
 * stays accepted for the grace window); with none yet, it throws naming the file, never a value.
 */
export function identitySecretFromFile(
    file: string,
    options: { checkEveryMs?: number; now?: () => number } = {},
): () => Buffer {
    const checkEveryMs = options.checkEveryMs ?? 30_000;
    const now = options.now ?? Date.now;
    let secret: Buffer | undefined;
    let seen = "";
    let checkedAt = -Infinity;
    return () => {
        const t = now();
        if (secret && t - checkedAt < checkEveryMs) return secret;
        checkedAt = t;
        let stamp: string;
        try {
            const s = statSync(file);
            stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
        } catch {
            if (secret) return secret;
            throw new Error(`APP_IDENTITY_SECRET: cannot read ${file} (written by appi-identity-secret.service)`);
        }
        if (secret && stamp === seen) return secret;
        try {
            const line = readFileSync(file, "utf8").split("\n").find((l) => l.startsWith("APP_IDENTITY_SECRET="));
            secret = identitySecretFromEnv({ APP_IDENTITY_SECRET: line?.slice("APP_IDENTITY_SECRET=".length).trim() });
            seen = stamp;
        } catch {
            if (!secret) throw new Error(`APP_IDENTITY_SECRET: ${file} holds no valid secret (base64 of 32 to 64 bytes)`);
        }
        return secret;
    };
}
