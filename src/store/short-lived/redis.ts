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
 * Operations of several commands as Lua scripts: one command each, atomic without MULTI, which
 * cost four commands and their replies per counter (issue 10). ioredis sends the script once
 * per connection and its SHA1 after. Scripts with no shebang run each write as a command of its
 * own, so a full Redis refuses the first with the same OOM reply (`store/outage.ts`).
 */
const SCRIPTS = {
  /** KEYS: counter. ARGV: amount, ttl ms. PEXPIRE NX keeps an existing counter's expiry. */
  count: {
    numberOfKeys: 1,
    lua: `local count = redis.call('incrby', KEYS[1], ARGV[1])
redis.call('pexpire', KEYS[1], ARGV[2], 'NX')
return count`,
  },
  /** KEYS: counter, guard. ARGV: ttl ms. Nil, nothing counted, while the guard exists. */
  countUnless: {
    numberOfKeys: 2,
    lua: `if redis.call('exists', KEYS[2]) == 1 then return false end
local count = redis.call('incr', KEYS[1])
redis.call('pexpire', KEYS[1], ARGV[1], 'NX')
return count`,
  },
  /** KEYS: set. ARGV: member, ttl ms. GT lengthens a shorter life, NX gives a new set one. */
  addToSet: {
    numberOfKeys: 1,
    lua: `redis.call('sadd', KEYS[1], ARGV[1])
redis.call('pexpire', KEYS[1], ARGV[2], 'GT')
redis.call('pexpire', KEYS[1], ARGV[2], 'NX')
return 1`,
  },
  /** KEYS: key, owner. ARGV: value, ttl ms if the owner never expires. 1 if stored. */
  setIfAbsentAlongside: {
    numberOfKeys: 2,
    lua: `local ttl = redis.call('pttl', KEYS[2])
if ttl == -2 then return 0 end
if ttl == -1 then ttl = tonumber(ARGV[2]) end
if redis.call('set', KEYS[1], ARGV[1], 'PX', math.max(ttl, 1), 'NX') then return 1 end
return 0`,
  },
} as const;

/** The scripts as ioredis defines them on a client (`defineCommand`). */
interface Scripts {
  count(key: string, amount: number, ttlMs: number): Promise<number>;
  countUnless(key: string, guard: string, ttlMs: number): Promise<number | null>;
  addToSet(key: string, member: string, ttlMs: number): Promise<number>;
  setIfAbsentAlongside(key: string, owner: string, value: string, ttlMs: number): Promise<number>;
}

/** Redis takes whole milliseconds, and PX 0 is an error. */
const wholeMs = (ttlMs: number) => Math.max(1, Math.ceil(ttlMs));

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
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
  const scripts = redis as Redis & Scripts;
  let subscriber: Redis | undefined;
  const handlers = new Map<string, Set<(message: string) => void>>();

  return {
    kind: 'redis',
    async get(key) {
      return redis.get(key);
    },
    async getMany(...keys) {
      return keys.length ? redis.mget(...keys) : [];
    },
    async set(key, value, ttlMs) {
      if (ttlMs === undefined) await redis.set(key, value);
      else await redis.set(key, value, 'PX', wholeMs(ttlMs));
    },
    async setIfAbsent(key, value, ttlMs) {
      return (await redis.set(key, value, 'PX', wholeMs(ttlMs), 'NX')) === 'OK';
    },
    async setIfAbsentAlongside(key, value, owner, ttlMs) {
      return (await scripts.setIfAbsentAlongside(key, owner, value, wholeMs(ttlMs))) === 1;
    },
    async delete(...keys) {
      if (keys.length) await redis.del(...keys);
    },
    async increment(key, ttlMs) {
      return scripts.count(key, 1, wholeMs(ttlMs));
    },
    async incrementUnless(key, ttlMs, guard) {
      return scripts.countUnless(key, guard, wholeMs(ttlMs));
    },
    async decrement(key, ttlMs) {
      return scripts.count(key, -1, wholeMs(ttlMs));
    },
    async addToSet(key, member, ttlMs) {
      await scripts.addToSet(key, member, wholeMs(ttlMs));
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
