import type { Knex } from 'knex';

import { changedColumns } from './changed-columns.ts';

/** A desktop client (computer or terminal) or an app (phone or tablet). */
export type DeviceKind = 'desktop' | 'app';

/**
 * Where a device is in its life: registered but not yet paired, in use, locked after wrong PINs
 * (until `lockedUntil`), or revoked for good (by IT or by the device itself).
 */
export type DeviceStatus = 'pending' | 'active' | 'locked' | 'revoked';

/** A device's public key as a JWK (RFC 7517): EC P-256, never a private part. */
export interface DevicePublicKey {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/**
 * An app's Web Push subscription: the `PushSubscription` JSON a browser hands over (W3C Push API),
 * the push service's endpoint URL and the keys its messages are encrypted to (RFC 8291).
 */
export interface DevicePushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** A device as stored: its public key and a PIN hash, never a secret that acts as the device. */
export interface DeviceRecord {
  id: string;
  userId: string;
  kind: DeviceKind;
  name: string;
  publicKey: DevicePublicKey;
  pinHash: string;
  status: DeviceStatus;
  pairingCodeId: string | null;
  /** Where to push to an app; null until it subscribes, and after the push service said it is gone. */
  pushSubscription: DevicePushSubscription | null;
  failureCount: number;
  lockCount: number;
  lockedUntil: Date | null;
  createdAt: Date;
  pairedAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

interface DeviceRow {
  id: string;
  user_id: string;
  kind: DeviceKind;
  name: string;
  public_key: DevicePublicKey | string;
  key_thumbprint: string;
  pin_hash: string;
  status: DeviceStatus;
  pairing_code_id: string | null;
  push_subscription: DevicePushSubscription | string | null;
  failure_count: number;
  lock_count: number;
  locked_until: Date | null;
  created_at: Date;
  paired_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** What a PIN check may change on a device. */
/** A device's status and PIN counters: what a PIN check decides on. */
export type DeviceCounters = Pick<DeviceRecord, 'status' | 'failureCount' | 'lockCount' | 'lockedUntil'>;

export interface DeviceChanges {
  status?: DeviceStatus;
  failureCount?: number;
  lockCount?: number;
  lockedUntil?: Date | null;
  lastUsedAt?: Date;
  /** The PIN's hash in a newer form (`devices/pin-hash.ts`), replaced after a right PIN. */
  pinHash?: string;
}

/** Why pairing did not happen. */
export type PairingOutcome =
  | { paired: true; device: DeviceRecord }
  | { paired: false; reason: 'no_code' | 'not_pending' };

/** Thrown when a public key is registered a second time. */
export class DeviceKeyTakenError extends Error {
  constructor() {
    super('this public key is already registered');
    this.name = 'DeviceKeyTakenError';
  }
}

export interface DeviceRepository {
  /** Adds a device, `pending` until it is paired. */
  add(input: { userId: string; kind: DeviceKind; name: string; publicKey: DevicePublicKey; keyThumbprint: string; pinHash: string; pairingCodeId: string; now: Date }): Promise<DeviceRecord>;
  find(id: string): Promise<DeviceRecord | undefined>;
  /** Every device, or one user's, newest first. */
  list(filter?: { userId?: string }): Promise<DeviceRecord[]>;
  /**
   * Pairs a pending device in one transaction: consumes the open pairing code with this hash
   * (unconsumed and unexpired at `now`, of the device's user and kind, the one it registered
   * with) and activates the device. A code is consumed once, however many requests race for it.
   */
  completePairing(input: { deviceId: string; codeHash: string; now: Date }): Promise<PairingOutcome>;
  /** Revokes a device that is not revoked yet; returns it as it was, or undefined if nothing changed. */
  revoke(id: string, now: Date): Promise<DeviceRecord | undefined>;
  /**
   * Renames the user's device that is not revoked; returns it as it was, or undefined (nothing
   * changed) when it is not theirs or is revoked.
   */
  rename(input: { id: string; userId: string; name: string }): Promise<DeviceRecord | undefined>;
  /** Stores an app's push subscription, replacing any before it. False for an unknown device. */
  setPushSubscription(id: string, subscription: DevicePushSubscription): Promise<boolean>;
  /**
   * Clears a device's push subscription. With `endpoint`, only while that is still the one stored:
   * a push service's "gone" must not clear a subscription the app made since. True if one was cleared.
   */
  clearPushSubscription(id: string, endpoint?: string): Promise<boolean>;
  /** Lifts a PIN lock: counters cleared, a locked device back in use. Returns the device as it was. */
  unlock(id: string): Promise<DeviceRecord | undefined>;
  /**
   * Writes `changes` in one statement if the device's status and PIN counters are still
   * `expected` (compare and set); false, and nothing written, if anything changed them since.
   */
  updateIfUnchanged(id: string, expected: DeviceCounters, changes: DeviceChanges): Promise<boolean>;
  /**
   * Runs `work` with the device's row locked (`SELECT … FOR UPDATE`): concurrent PIN checks of
   * one device, on any node, take turns, and each sees the count the one before it wrote.
   * `update` changes the device inside the same transaction; `work` gets undefined for an
   * unknown id.
   */
  withDeviceLocked<T>(id: string, work: (device: DeviceRecord | undefined, update: (changes: DeviceChanges) => Promise<void>) => Promise<T>): Promise<T>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const toRecord = (row: DeviceRow): DeviceRecord => ({
  id: row.id,
  userId: row.user_id,
  kind: row.kind,
  name: row.name,
  // pg parses jsonb; PGlite through knex may hand back the text.
  publicKey: typeof row.public_key === 'string' ? (JSON.parse(row.public_key) as DevicePublicKey) : row.public_key,
  pinHash: row.pin_hash,
  status: row.status,
  pairingCodeId: row.pairing_code_id,
  pushSubscription: typeof row.push_subscription === 'string' ? (JSON.parse(row.push_subscription) as DevicePushSubscription) : row.push_subscription,
  failureCount: row.failure_count,
  lockCount: row.lock_count,
  lockedUntil: row.locked_until,
  createdAt: row.created_at,
  pairedAt: row.paired_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

/** A {@link DeviceRepository} on the `devices` and `pairing_codes` tables. */
export function createDeviceRepository(db: Knex): DeviceRepository {
  const devices = (trx?: Knex.Transaction) => (trx ?? db)('devices');
  const one = async (query: Knex.QueryBuilder) => {
    const row = (await query.first()) as DeviceRow | undefined;
    return row && toRecord(row);
  };
  const touched = (fields: Record<string, unknown>) => ({ ...fields, updated_at: db.fn.now() });
  const columnsOf = (changes: DeviceChanges) => changedColumns(db, changes, {
    status: 'status', failureCount: 'failure_count', lockCount: 'lock_count', lockedUntil: 'locked_until', lastUsedAt: 'last_used_at', pinHash: 'pin_hash',
  });

  return {
    async add(input) {
      try {
        const [row] = (await devices()
          .insert({
            user_id: input.userId,
            kind: input.kind,
            name: input.name,
            public_key: JSON.stringify(input.publicKey),
            key_thumbprint: input.keyThumbprint,
            pin_hash: input.pinHash,
            status: 'pending',
            pairing_code_id: input.pairingCodeId,
            created_at: input.now,
          })
          .returning('*')) as DeviceRow[];
        return toRecord(row as DeviceRow);
      } catch (error) {
        if ((error as { code?: string }).code === '23505') throw new DeviceKeyTakenError();
        throw error;
      }
    },
    find: (id) => (UUID.test(id) ? one(devices().where({ id })) : Promise.resolve(undefined)),
    async list(filter = {}) {
      const query = devices().orderBy('created_at', 'desc');
      if (filter.userId) query.where({ user_id: filter.userId });
      return ((await query) as DeviceRow[]).map(toRecord);
    },
    async completePairing({ deviceId, codeHash, now }) {
      if (!UUID.test(deviceId)) return { paired: false, reason: 'not_pending' };
      return db.transaction(async (trx) => {
        const row = (await devices(trx).where({ id: deviceId }).forUpdate().first()) as DeviceRow | undefined;
        if (!row || row.status !== 'pending') return { paired: false, reason: 'not_pending' } as const;
        // One conditional UPDATE: of two requests with one code, only one finds it open.
        const consumed = await trx('pairing_codes')
          .where({ id: row.pairing_code_id, code_hash: codeHash, user_id: row.user_id, kind: row.kind })
          .whereNull('consumed_at')
          .where('expires_at', '>', now)
          .update({ consumed_at: now });
        if (consumed !== 1) return { paired: false, reason: 'no_code' } as const;
        const [updated] = (await devices(trx)
          .where({ id: deviceId })
          .update(touched({ status: 'active', paired_at: now, last_used_at: now }))
          .returning('*')) as DeviceRow[];
        return { paired: true, device: toRecord(updated as DeviceRow) } as const;
      });
    },
    async revoke(id, now) {
      if (!UUID.test(id)) return undefined;
      return db.transaction(async (trx) => {
        const row = (await devices(trx).where({ id }).forUpdate().first()) as DeviceRow | undefined;
        if (!row || row.status === 'revoked') return undefined;
        await devices(trx).where({ id }).update(touched({ status: 'revoked', revoked_at: now }));
        return toRecord(row);
      });
    },
    async rename({ id, userId, name }) {
      if (!UUID.test(id)) return undefined;
      return db.transaction(async (trx) => {
        const mine = () => devices(trx).where({ id, user_id: userId }).whereNot({ status: 'revoked' });
        const row = (await mine().forUpdate().first()) as DeviceRow | undefined;
        if (!row) return undefined;
        await mine().update(touched({ name }));
        return toRecord(row);
      });
    },
    async setPushSubscription(id, subscription) {
      if (!UUID.test(id)) return false;
      const changed = await devices().where({ id }).update(touched({ push_subscription: JSON.stringify(subscription) }));
      return changed === 1;
    },
    async clearPushSubscription(id, endpoint) {
      if (!UUID.test(id)) return false;
      const query = devices().where({ id }).whereNotNull('push_subscription');
      if (endpoint !== undefined) query.whereRaw('push_subscription->>\'endpoint\' = ?', [endpoint]);
      return (await query.update(touched({ push_subscription: null }))) === 1;
    },
    async unlock(id) {
      if (!UUID.test(id)) return undefined;
      return db.transaction(async (trx) => {
        const row = (await devices(trx).where({ id }).forUpdate().first()) as DeviceRow | undefined;
        if (!row) return undefined;
        await devices(trx).where({ id }).update(touched({
          failure_count: 0,
          lock_count: 0,
          locked_until: null,
          ...(row.status === 'locked' ? { status: 'active' } : {}),
        }));
        return toRecord(row);
      });
    },
    async updateIfUnchanged(id, expected, changes) {
      if (!UUID.test(id)) return false;
      const updated = await devices()
        .where({ id, status: expected.status, failure_count: expected.failureCount, lock_count: expected.lockCount })
        .whereRaw('locked_until is not distinct from ?', [expected.lockedUntil])
        .update(columnsOf(changes));
      return updated === 1;
    },
    async withDeviceLocked(id, work) {
      if (!UUID.test(id)) return work(undefined, async () => {});
      return db.transaction(async (trx) => {
        const row = (await devices(trx).where({ id }).forUpdate().first()) as DeviceRow | undefined;
        const update = async (changes: DeviceChanges) => {
          await devices(trx).where({ id }).update(columnsOf(changes));
        };
        return work(row && toRecord(row), update);
      });
    },
  };
}
