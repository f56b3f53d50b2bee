import type { Knex } from 'knex';

import type { ShortLivedStore } from '../short-lived/types.ts';
import { describeHolder, type LockHolder } from './data-dir-lock.ts';

/**
 * The Postgres channel that carries notices from a `stepup` command to the embedded server. The
 * server LISTENs on it; a command NOTIFYs through the server's socket.
 */
export const NOTICE_CHANNEL = 'stepup_notice';

/**
 * A change to the server's in-process store that needs no answer: an event to publish (a key
 * rotation), keys to delete (a lifted lock), a value to set.
 */
export type Notice =
  | { op: 'publish'; channel: string; message: string }
  | { op: 'delete'; keys: string[] }
  | { op: 'set'; key: string; value: string; ttlMs?: number | undefined };

/** A short-lived operation that needs an answer from the server's memory, which no other process can read. */
export class ServerMemoryError extends Error {
  constructor(server: LockHolder, operation: string) {
    super(`${describeHolder(server)} keeps short-lived state in its memory, which another process cannot read (${operation}); nothing was changed`);
    this.name = 'ServerMemoryError';
  }
}

/** The relay store a `stepup` command gets while the embedded server runs. */
export interface RelayStore extends ShortLivedStore {
  /** Sends the queued notices through the server's database connection (NOTIFY), in order. */
  flush(db: Knex): Promise<void>;
}

/**
 * The short-lived store of a `stepup` command run while the embedded server holds `DATA_DIR`:
 * the server's store is its memory, so writes that need no answer (publish, delete, set) travel
 * to it as notices, and reads refuse with {@link ServerMemoryError} before anything is written.
 *
 * Notices are queued and sent by {@link RelayStore.flush} when the command has finished, as
 * Postgres delivers a NOTIFY at commit: sent at once from inside the command's transaction, a
 * NOTIFY would wait for the backend that transaction holds.
 */
export function createRelayStore(options: { server: LockHolder }): RelayStore {
  const queue: Notice[] = [];
  const refuse = (operation: string) => Promise.reject(new ServerMemoryError(options.server, operation));
  return {
    kind: 'relay',
    get: () => refuse('get'),
    getMany: () => refuse('getMany'),
    async set(key, value, ttlMs) {
      queue.push({ op: 'set', key, value, ttlMs });
    },
    setIfAbsent: () => refuse('setIfAbsent'),
    setIfAbsentAlongside: () => refuse('setIfAbsentAlongside'),
    async delete(...keys) {
      queue.push({ op: 'delete', keys });
    },
    increment: () => refuse('increment'),
    incrementUnless: () => refuse('incrementUnless'),
    decrement: () => refuse('decrement'),
    addToSet: () => refuse('addToSet'),
    setMembers: () => refuse('setMembers'),
    ttl: () => refuse('ttl'),
    async publish(channel, message) {
      queue.push({ op: 'publish', channel, message });
    },
    subscribe: () => refuse('subscribe'),
    async probe() {
      return true;
    },
    async flush(db) {
      for (const notice of queue.splice(0)) await db.raw('select pg_notify(?, ?)', [NOTICE_CHANNEL, JSON.stringify(notice)]);
    },
    async close() {},
  };
}

/** Applies a notice from a `stepup` command to the server's store. Ignores what it cannot read. */
export async function applyNotice(store: ShortLivedStore, payload: string): Promise<void> {
  let notice: Notice;
  try {
    notice = JSON.parse(payload) as Notice;
  } catch {
    return;
  }
  if (notice.op === 'publish') await store.publish(notice.channel, notice.message);
  else if (notice.op === 'delete') await store.delete(...notice.keys);
  else if (notice.op === 'set') await store.set(notice.key, notice.value, notice.ttlMs);
}
