// Small helpers shared by the database tests.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { tokenFor } from "../support/identity";

export async function connect(url: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
}

/** Runs fn in a transaction acting for userId through a signed token (no identity when userId is null); always rolls back. */
export async function actingAs<T>(client: pg.ClientBase, userId: string | null, fn: () => Promise<T>): Promise<T> {
    await client.query("BEGIN");
    try {
        if (userId !== null) await client.query("SELECT app_begin_identity($1)", [tokenFor(userId)]);
        return await fn();
    } finally {
        await client.query("ROLLBACK");
    }
}

/** Like actingAs but commits. */
export async function committedAs<T>(client: pg.ClientBase, userId: string, fn: () => Promise<T>): Promise<T> {
    await client.query("BEGIN");
    try {
        await client.query("SELECT app_begin_identity($1)", [tokenFor(userId)]);
        const result = await fn();
        await client.query("COMMIT");
        return result;
    } catch (err) {
        await client.query("ROLLBACK");
        throw err;
    }
}

export interface SeededUser {
    id: string;
    email: string;
}

/** Inserts a user with every PII level filled in, as the admin (superuser: no row-level security). */
export async function seedUser(admin: pg.ClientBase, label: string, extra: Record<string, unknown> = {}): Promise<SeededUser> {
    const id = randomUUID();
    const email = `${label}-${id.slice(0, 8)}@example.jp`;
    const columns = ["id", "email", "first_name", "last_name", "phone", "address_encrypted", "ssn_encrypted", ...Object.keys(extra)];
    const values = [id, email, `${label}-first`, `${label}-last`, "+81-90-0000-0000", Buffer.from("ciphertext-address"), Buffer.from("ciphertext-ssn"), ...Object.values(extra)];
    await admin.query(
        `INSERT INTO users (${columns.join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})`,
        values,
    );
    return { id, email };
}

export async function grantConsent(admin: pg.ClientBase, userId: string, purpose: string, granted = true): Promise<void> {
    await admin.query("INSERT INTO consent_records (user_id, purpose, granted, notice_version, actor) VALUES ($1, $2, $3, 'v1', 'user')", [
        userId,
        purpose,
        granted,
    ]);
}

/** Resolves to the error a promise rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
    try {
        await promise;
    } catch (err) {
        return err as Error & { code?: string };
    }
    throw new Error("expected the statement to be refused, but it succeeded");
}

export const INSUFFICIENT_PRIVILEGE = "42501";
