import { Redis } from 'ioredis';

import type { ShortLivedStore } from './types.ts';

/**
 * How long a command waits for Redis, so that during an outage (down, restarting, full, or
 * blocked) a login gets a clear error instead of hanging (issue 10).
 */
export const REDIS_TIMEOUTS = {
  /** A connection attempt not answered within this long fails. */
  connectMs: 2_000,
  /** A command not answered within this long fails (`Command timed out`), even one queued while disconnected. */
  commandMs: 2_000,
  /** Reconnection attempts a command waits through before it fails (ioredis's `maxRetriesPerRequest`; its default is 20). */
  retriesPerCommand: 1,
  /**
   * The longest pause between reconnection attempts (100 ms, 200 ms, … up to this), so a node
   * is back within about a second of Redis; ioredis 6 backs off to 5 s by default.
   */
  reconnectMaxDelayMs: 1_000,
} as const;

/** The key readiness writes. */
const PROBE_KEY = 'ready-probe';

/**
 * The Redis-backed store shared by every node. `keyPrefix` keeps several IdPs (or test runs) on
 * one Redis apart. Pub/sub needs a connection of its own, opened on the first subscribe.
 */
export function createRedisStore(options: {
  url: string;
  keyPrefix?: string;
  /** Told of connection errors (ioredis reconnects by itself). */
  onError?: (error: Error) => void;
}): ShortLivedStore {
  const keyPrefix = options.keyPrefix ?? 'stepup:';
  const onError = options.onError ?? (() => {});
  const connect = () => {
    const client = new Redis(options.url, {
      keyPrefix,
      // Commands issued in one tick of the event loop (many requests' at once, under load) go
      // out in one write: each write to Redis's socket cost as much as a request (issue 10).
      enableAutoPipelining: true,
      maxRetriesPerRequest: REDIS_TIMEOUTS.retriesPerCommand,
      commandTimeout: REDIS_TIMEOUTS.commandMs,
      connectTimeout: REDIS_TIMEOUTS.connectMs,
      retryStrategy: (attempt: number) => Math.min(attempt * 100, REDIS_TIMEOUTS.reconnectMaxDelayMs),
    });
    client.on('error', onError);
    return client;
  };
  const redis = connect();
  let subscriber: Redis | undefined;
  const handlers = new Map<string, Set<(message: string) => void>>();

  return {
    kind: 'redis',
    async get(key) {
      return redis.get(key);
    },
    async set(key, value, ttlMs) {
      if (ttlMs === undefined) await redis.set(key, value);
      else await redis.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
    },
    async setIfAbsent(key, value, ttlMs) {
      return (await redis.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
    },
    async delete(...keys) {
      if (keys.length) await redis.del(...keys);
    },
    async increment(key, ttlMs) {
      // INCR and the first PEXPIRE in one round trip; NX keeps an existing counter's expiry.
      const results = await redis.multi().incr(key).pexpire(key, Math.ceil(ttlMs), 'NX').exec();
      const [error, count] = results?.[0] ?? [new Error('redis transaction failed')];
      if (error) throw error;
      return Number(count);
    },
    async decrement(key, ttlMs) {
      const results = await redis.multi().decr(key).pexpire(key, Math.ceil(ttlMs), 'NX').exec();
      const [error, count] = results?.[0] ?? [new Error('redis transaction failed')];
      if (error) throw error;
      return Number(count);
    },
    async addToSet(key, member, ttlMs) {
      const results = await redis.multi().sadd(key, member).pexpire(key, Math.ceil(ttlMs), 'GT').pexpire(key, Math.ceil(ttlMs), 'NX').exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error('redis transaction failed');
    },
    async setMembers(key) {
      return redis.smembers(key);
    },
    async ttl(key) {
      const ms = await redis.pttl(key);
      return ms < 0 ? null : ms;
    },
    async publish(channel, message) {
      await redis.publish(`${keyPrefix}${channel}`, message);
    },
    async subscribe(channel, handler) {
      if (!subscriber) {
        subscriber = connect();
        subscriber.on('message', (fullChannel: string, message: string) => {
          for (const h of handlers.get(fullChannel.slice(keyPrefix.length)) ?? []) h(message);
        });
      }
      const set = handlers.get(channel) ?? new Set();
      handlers.set(channel, set);
      set.add(handler);
      if (set.size === 1) await subscriber.subscribe(`${keyPrefix}${channel}`);
      return async () => {
        set.delete(handler);
        if (set.size === 0 && subscriber) await subscriber.unsubscribe(`${keyPrefix}${channel}`);
      };
    },
    async probe() {
      try {
        // The key is the same on every node and expires soon, so probes leave nothing behind.
        return (await redis.set(PROBE_KEY, '1', 'PX', 10_000)) === 'OK';
      } catch {
        return false;
      }
    },
    async close() {
      await Promise.allSettled([redis.quit(), subscriber?.quit()]);
    },
  };
}
