// Identity tokens for tests: every test database gets this secret (migratedDatabase installs it), and
// tokenFor mints what the API or a Lambda would after authenticating the user.
import { createHmac } from "node:crypto";
import { signIdentityToken } from "../../lib/crypto";

export const TEST_IDENTITY_SECRET = Buffer.from("appi-test-identity-secret-0123456789abcdef", "utf8");

/** A valid token for userId (5 minutes unless told otherwise). */
export function tokenFor(userId: string, options: { ttlSeconds?: number; now?: Date; secret?: Buffer } = {}): string {
    return signIdentityToken(options.secret ?? TEST_IDENTITY_SECRET, userId, options);
}

/** A token whose message is written by hand (what signIdentityToken would refuse to mint), validly signed with the test secret. */
export function signedWithTestSecret(message: string): string {
    return `${message}.${createHmac("sha256", TEST_IDENTITY_SECRET).update(message).digest("hex")}`;
}
