import { EventEmitter } from 'node:events';

import type { ShortLivedStore } from './types.ts';

interface Entry {
  value: string | Set<string>;
  expiresAt: number | null;
}

/**
 * The in-process stand-in for Redis in embedded mode: correct for one process only (JavaScript
 * runs one callback at a time, so each operation is atomic). Expired entries are dropped when
 * read and swept once a minute.
 */
export function createMemoryStore(options: { now?: () => number } = {}): ShortLivedStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const events = new EventEmitter();
  events.setMaxListeners(0);

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  const expiry = (ttlMs?: number) => (ttlMs === undefined ? null : now() + ttlMs);
  const text = (entry: Entry | undefined) => (typeof entry?.value === 'string' ? entry.value : null);
  const count = (key: string, amount: number, ttlMs: number) => {
    const entry = live(key);
    const counted = Number(text(entry) ?? 0) + amount;
    entries.set(key, { value: String(counted), expiresAt: entry ? entry.expiresAt : expiry(ttlMs) });
    return counted;
  };

  const sweeper = setInterval(() => {
    for (const key of entries.keys()) live(key);
  }, 60_000);
  sweeper.unref();

  return {
    kind: 'memory',
    async get(key) {
      return text(live(key));
    },
    async getMany(...keys) {
      return keys.map((key) => text(live(key)));
    },
    async set(key, value, ttlMs) {
      entries.set(key, { value, expiresAt: expiry(ttlMs) });
    },
    async setIfAbsent(key, value, ttlMs) {
      if (live(key)) return false;
      entries.set(key, { value, expiresAt: expiry(ttlMs) });
      return true;
    },
    async setIfAbsentAlongside(key, value, owner, ttlMs) {
      const ownerEntry = live(owner);
      if (!ownerEntry || live(key)) return false;
      entries.set(key, { value, expiresAt: ownerEntry.expiresAt ?? expiry(ttlMs) });
      return true;
    },
    async delete(...keys) {
      for (const key of keys) entries.delete(key);
    },
    async increment(key, ttlMs) {
      return count(key, 1, ttlMs);
    },
    async incrementUnless(key, ttlMs, guard) {
      return live(guard) ? null : count(key, 1, ttlMs);
    },
    async decrement(key, ttlMs) {
      return count(key, -1, ttlMs);
    },
    async addToSet(key, member, ttlMs) {
      const entry = live(key);
      const set = entry && typeof entry.value !== 'string' ? entry.value : new Set<string>();
      set.add(member);
      const expiresAt = Math.max(entry?.expiresAt ?? 0, now() + ttlMs);
      entries.set(key, { value: set, expiresAt });
    },
    async setMembers(key) {
      const entry = live(key);
      return entry && typeof entry.value !== 'string' ? [...entry.value] : [];
    },
    async ttl(key) {
      const entry = live(key);
      return entry?.expiresAt == null ? null : entry.expiresAt - now();
    },
    async publish(channel, message) {
      queueMicrotask(() => events.emit(channel, message));
    },
    async subscribe(channel, handler) {
      events.on(channel, handler);
      return async () => {
        events.off(channel, handler);
      };
    },
    async probe() {
      return true;
    },
    async close() {
      clearInterval(sweeper);
      entries.clear();
      events.removeAllListeners();
    },
  };
}
