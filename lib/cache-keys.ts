// The one key scheme of the Redis cache: everything cached about a user lives under `user:{<sub>}:`.
// The braces are a Redis hash tag (all of a user's keys share one slot, so the scheme keeps working if
// the cache moves to cluster mode) and make erasure one SCAN over a fixed pattern. The sub is a UUID,
// so it never contains a glob character. Any code that caches per-user data must build keys here.
import { isUuid } from "./db";

function checkedUserId(userId: string): string {
    if (!isUuid(userId)) throw new Error("cache key: the user id must be a UUID (the Cognito sub)");
    return userId.toLowerCase();
}

/** The key of one cached item of a user, e.g. userCacheKey(sub, "profile"). */
export function userCacheKey(userId: string, item: string): string {
    if (!/^[a-z0-9][a-z0-9:_-]*$/.test(item)) throw new Error("cache key: the item name must be lower-case letters, digits, ':', '_' or '-'");
    return `user:{${checkedUserId(userId)}}:${item}`;
}

/** The SCAN pattern of every key of a user. */
export function userCacheKeyPattern(userId: string): string {
    return `user:{${checkedUserId(userId)}}:*`;
}

/** The part of a Redis client erasure needs (node-redis v4). */
export interface CacheClient {
    scanIterator(options: { MATCH: string; COUNT?: number }): AsyncIterable<string>;
    unlink(keys: string[]): Promise<number>;
}

/** Removes every cached key of the user; returns how many were removed. Idempotent. */
export async function eraseUserCache(redis: CacheClient, userId: string): Promise<number> {
    let removed = 0;
    let batch: string[] = [];
    for await (const key of redis.scanIterator({ MATCH: userCacheKeyPattern(userId), COUNT: 1000 })) {
        batch.push(key);
        if (batch.length === 500) {
            removed += await redis.unlink(batch);
            batch = [];
        }
    }
    if (batch.length) removed += await redis.unlink(batch);
    return removed;
}
