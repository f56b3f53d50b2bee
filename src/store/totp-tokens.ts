import type { Knex } from 'knex';

import type { SecretBox } from '../crypto/secret-box.ts';
import type { TotpAlgorithm, TotpDigits, TotpPeriod, TotpToken } from '../factors/totp/index.ts';
import { changedColumns } from './changed-columns.ts';
import { lockEnrolmentFailures, saveEnrolmentFailures, type FailureCounters } from './enrolment-failures.ts';

export type TotpKind = 'code_viewer' | 'authenticator';

/** Where a token is in its life: in IT's stock, being enrolled, in use, or out of use. */
export type TotpStatus = 'in_stock' | 'pending' | 'assigned' | 'locked' | 'lost' | 'defective';

/** A code viewer or authenticator app; its secret stays sealed until `secretOf`. */
export interface TotpTokenRecord {
  id: string;
  sealedSecret: string;
  kind: TotpKind;
  serial: string | null;
  algorithm: TotpAlgorithm;
  digits: TotpDigits;
  period: TotpPeriod;
  status: TotpStatus;
  userId: string | null;
  name: string | null;
  drift: number;
  lastStep: number | null;
  failureCount: number;
  lockCount: number;
  lockedUntil: Date | null;
  /** A pending app can be confirmed until then; null once in use (and for code viewers). */
  pendingUntil: Date | null;
  createdAt: Date;
  assignedAt: Date | null;
  lastUsedAt: Date | null;
}

interface TokenRow {
  id: string;
  kind: TotpKind;
  serial: string | null;
  secret_sealed: string;
  algorithm: TotpAlgorithm;
  digits: TotpDigits;
  period: TotpPeriod;
  status: TotpStatus;
  user_id: string | null;
  name: string | null;
  drift: number;
  last_step: number | null;
  failure_count: number;
  lock_count: number;
  locked_until: Date | null;
  pending_until: Date | null;
  created_at: Date;
  assigned_at: Date | null;
  last_used_at: Date | null;
}

/** What a verification may change on a token. */
export interface TokenChanges {
  lastStep?: number;
  drift?: number;
  failureCount?: number;
  lockCount?: number;
  lockedUntil?: Date | null;
  lastUsedAt?: Date;
}

/** A new token's secret and parameters. */
export type NewTotpToken = TotpToken & { serial?: string };

/**
 * One enrolment step with the person's failure count locked, and the token it is about (if
 * any) locked after it; see {@link TotpTokenRepository.withEnrolmentLocked}. Every write here
 * is in that transaction.
 */
export interface LockedEnrolment {
  /** The person's count of wrong codes for this kind of token. */
  failures: FailureCounters;
  /** The token named, locked; undefined when none was named or there is no such token. */
  token: TotpTokenRecord | undefined;
  saveFailures(count: FailureCounters): Promise<void>;
  /** Changes the locked token's counters (as a code check does). */
  updateToken(changes: TokenChanges): Promise<void>;
  /** Binds the locked code viewer to the person, if it is in stock and `step` is after its last one. */
  bindFromStock(input: { name: string; step: number; drift: number; now: Date }): Promise<boolean>;
  /** Puts the locked pending app in use, if it is still pending at `now` and `step` is after its last one. */
  confirmPending(input: { step: number; drift: number; now: Date }): Promise<boolean>;
  /** Deletes the locked token (a pending app that expired). */
  removeToken(): Promise<void>;
  /** Adds an authenticator app for the person, `pending` until its first code confirms it or `pendingUntil` passes. */
  addPending(input: NewTotpToken & { name: string; pendingUntil: Date }): Promise<TotpTokenRecord>;
  /** Deletes the person's pending apps that expired at `now`, and all but the newest `keep` of the rest. */
  prunePending(input: { now: Date; keep: number }): Promise<void>;
}

/**
 * Code viewers and authenticator apps in Postgres. Whatever two requests could race on is
 * decided by the database, whichever node they arrive at: checking a code runs with the
 * token's row locked, and binding from stock or confirming an app is one conditional UPDATE.
 */
export interface TotpTokenRepository {
  /** Adds code viewers to stock, all in the caller's transaction. */
  addToStock(tokens: NewTotpToken[], trx: Knex.Transaction): Promise<void>;
  find(id: string): Promise<TotpTokenRecord | undefined>;
  findBySerial(serial: string): Promise<TotpTokenRecord | undefined>;
  /** The serials (of those given) already in the inventory, with their secrets. */
  secretsOfSerials(serials: string[], trx?: Knex.Transaction): Promise<Map<string, Buffer>>;
  /** The token's secret and parameters, for verifying a code. */
  secretOf(record: TotpTokenRecord): TotpToken;
  listForUser(userId: string): Promise<TotpTokenRecord[]>;
  list(filter?: { status?: TotpStatus }): Promise<TotpTokenRecord[]>;
  /**
   * Runs `work` with the token's row locked (`SELECT … FOR UPDATE`): concurrent checks of one
   * token, on any node, take turns, and each sees what the one before it wrote. `update`
   * changes the token inside the same transaction. `work` gets undefined for an unknown id.
   */
  withTokenLocked<T>(id: string, work: (token: TotpTokenRecord | undefined, update: (changes: TokenChanges) => Promise<void>) => Promise<T>): Promise<T>;
  /**
   * Runs `work` in one transaction with the person's enrolment failure count for `kind` locked
   * and then, if `tokenId` is given, that token's row (`SELECT … FOR UPDATE`, always in this
   * order, so two enrolments never wait for each other in a circle). Concurrent enrolments of
   * one person, or against one serial, on any node, take turns, and each sees the counts the
   * one before it wrote: of fifty wrong codes sent at once, only the first few are checked.
   */
  withEnrolmentLocked<T>(key: { userId: string; kind: TotpKind; tokenId?: string | undefined }, work: (enrolment: LockedEnrolment) => Promise<T>): Promise<T>;
  /**
   * Back to stock: unbound, counters and lock cleared (IT hands it to a colleague). With
   * `holder`, only while it is in use by that user (they gave it on themselves). True if it changed.
   */
  returnToStock(id: string, holder?: string): Promise<boolean>;
  /** Sets the status; with `holder`, only while it is in use by that user. True if it changed. */
  setStatus(id: string, status: TotpStatus, holder?: string): Promise<boolean>;
  /**
   * Renames the user's token of `kind` in use; returns it as it was, or undefined (nothing
   * changed) when it is not theirs, not of that kind, or not in use.
   */
  rename(input: { id: string; userId: string; kind: TotpKind; name: string }): Promise<TotpTokenRecord | undefined>;
  /**
   * Deletes the user's token of `kind` in use (an authenticator app: its secret is gone for
   * good); returns it as it was, or undefined (nothing deleted) when it is not theirs.
   */
  remove(input: { id: string; userId: string; kind: TotpKind }): Promise<TotpTokenRecord | undefined>;
  /** Lifts a lock: counters cleared, a locked token back in use. */
  unlock(id: string): Promise<void>;
}

const toRecord = (row: TokenRow): TotpTokenRecord => ({
  id: row.id,
  sealedSecret: row.secret_sealed,
  kind: row.kind,
  serial: row.serial,
  algorithm: row.algorithm,
  digits: row.digits,
  period: row.period,
  status: row.status,
  userId: row.user_id,
  name: row.name,
  drift: row.drift,
  lastStep: row.last_step,
  failureCount: row.failure_count,
  lockCount: row.lock_count,
  lockedUntil: row.locked_until,
  pendingUntil: row.pending_until,
  createdAt: row.created_at,
  assignedAt: row.assigned_at,
  lastUsedAt: row.last_used_at,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Narrows an update to a token in use by `holder`, when one is given: one conditional UPDATE, so
 * a code viewer IT reset and a colleague bound meanwhile is not touched by its former holder.
 */
const heldBy = (query: Knex.QueryBuilder, holder: string | undefined) => (holder === undefined ? query : query.where({ user_id: holder, status: 'assigned' }));

/** A {@link TotpTokenRepository} on `totp_tokens`; secrets are sealed with `SECRET_KEY`. */
export function createTotpTokenRepository(db: Knex, box: SecretBox): TotpTokenRepository {
  const tokens = (trx?: Knex.Transaction) => (trx ?? db)('totp_tokens');
  // A code viewer's seed is bound to its serial, an app's to its id: a sealed seed moved to
  // another row does not open.
  const context = (key: string) => `totp_tokens.secret:${key}`;
  const one = async (query: Knex.QueryBuilder) => {
    const row = (await query.first()) as TokenRow | undefined;
    return row && toRecord(row);
  };
  const touched = (fields: Record<string, unknown>) => ({ ...fields, updated_at: db.fn.now() });
  const columnsOf = (changes: TokenChanges) => changedColumns(db, changes, {
    lastStep: 'last_step', drift: 'drift', failureCount: 'failure_count', lockCount: 'lock_count', lockedUntil: 'locked_until', lastUsedAt: 'last_used_at',
  });

  return {
    async addToStock(list, trx) {
      if (!list.length) return;
      await tokens(trx).insert(list.map((token) => ({
        kind: 'code_viewer',
        serial: token.serial,
        secret_sealed: box.seal(token.secret, context(token.serial as string)),
        algorithm: token.algorithm,
        digits: token.digits,
        period: token.period,
        status: 'in_stock',
      })));
    },
    find: (id) => (UUID.test(id) ? one(tokens().where({ id })) : Promise.resolve(undefined)),
    findBySerial: (serial) => one(tokens().where({ serial })),
    async secretsOfSerials(serials, trx) {
      const rows = (await tokens(trx).whereIn('serial', serials).select('serial', 'secret_sealed')) as TokenRow[];
      return new Map(rows.map((row) => [row.serial as string, box.open(row.secret_sealed, context(row.serial as string))]));
    },
    secretOf(record) {
      return {
        secret: box.open(record.sealedSecret, context(record.serial ?? record.id)),
        algorithm: record.algorithm,
        digits: record.digits,
        period: record.period,
      };
    },
    async listForUser(userId) {
      const rows = (await tokens().where({ user_id: userId }).orderByRaw('last_used_at DESC NULLS LAST, created_at')) as TokenRow[];
      return rows.map(toRecord);
    },
    async list(filter = {}) {
      const query = tokens().orderBy(['kind', 'serial', 'created_at']);
      if (filter.status) query.where({ status: filter.status });
      return ((await query) as TokenRow[]).map(toRecord);
    },
    async withTokenLocked(id, work) {
      if (!UUID.test(id)) return work(undefined, async () => {});
      return db.transaction(async (trx) => {
        const row = (await tokens(trx).where({ id }).forUpdate().first()) as TokenRow | undefined;
        const update = async (changes: TokenChanges) => {
          await tokens(trx).where({ id }).update(columnsOf(changes));
        };
        return work(row && toRecord(row), update);
      });
    },
    async withEnrolmentLocked({ userId, kind, tokenId }, work) {
      const failureKey = { userId, kind };
      return db.transaction(async (trx) => {
        const failures = await lockEnrolmentFailures(trx, failureKey);
        const id = tokenId !== undefined && UUID.test(tokenId) ? tokenId : undefined;
        const row = id === undefined ? undefined : ((await tokens(trx).where({ id }).forUpdate().first()) as TokenRow | undefined);
        const lockedId = () => {
          if (!row) throw new Error('withEnrolmentLocked: no token is locked');
          return row.id;
        };
        return work({
          failures,
          token: row && toRecord(row),
          saveFailures: (count) => saveEnrolmentFailures(trx, failureKey, count),
          async updateToken(changes) {
            await tokens(trx).where({ id: lockedId() }).update(columnsOf(changes));
          },
          async bindFromStock({ name, step, drift, now }) {
            const updated = await tokens(trx)
              .where({ id: lockedId(), status: 'in_stock' })
              .andWhere((q) => q.whereNull('last_step').orWhere('last_step', '<', step))
              .update(touched({ status: 'assigned', user_id: userId, name, last_step: step, drift, failure_count: 0, lock_count: 0, locked_until: null, assigned_at: now, last_used_at: now }));
            return updated === 1;
          },
          async confirmPending({ step, drift, now }) {
            const updated = await tokens(trx)
              .where({ id: lockedId(), status: 'pending', user_id: userId })
              .andWhere('pending_until', '>', now)
              .update(touched({ status: 'assigned', pending_until: null, last_step: step, drift, failure_count: 0, lock_count: 0, locked_until: null, last_used_at: now, assigned_at: now }));
            return updated === 1;
          },
          async removeToken() {
            await tokens(trx).where({ id: lockedId() }).delete();
          },
          async addPending(input) {
            const [inserted] = (await tokens(trx).insert({
              kind: 'authenticator',
              secret_sealed: 'pending',
              algorithm: input.algorithm,
              digits: input.digits,
              period: input.period,
              status: 'pending',
              user_id: userId,
              name: input.name,
              pending_until: input.pendingUntil,
            }).returning('id')) as Array<{ id: string }>;
            const newId = (inserted as { id: string }).id;
            const [sealed] = (await tokens(trx).where({ id: newId }).update({ secret_sealed: box.seal(input.secret, context(newId)) }).returning('*')) as TokenRow[];
            return toRecord(sealed as TokenRow);
          },
          async prunePending({ now, keep }) {
            const mine = () => tokens(trx).where({ user_id: userId, status: 'pending' });
            await mine().andWhere((q) => q.whereNull('pending_until').orWhere('pending_until', '<=', now)).delete();
            // Started at one instant of the IdP's clock, the database's own start time tells them apart.
            const newest = mine().select('id').orderBy([{ column: 'pending_until', order: 'desc' }, { column: 'created_at', order: 'desc' }]).limit(keep);
            await mine().whereNotIn('id', newest).delete();
          },
        });
      });
    },
    async returnToStock(id, holder) {
      const changed = await heldBy(tokens().where({ id }), holder).update(touched({
        status: 'in_stock', user_id: null, name: null, failure_count: 0, lock_count: 0, locked_until: null, assigned_at: null, last_used_at: null,
      }));
      return changed === 1;
    },
    async setStatus(id, status, holder) {
      return (await heldBy(tokens().where({ id }), holder).update(touched({ status }))) === 1;
    },
    async rename({ id, userId, kind, name }) {
      if (!UUID.test(id)) return undefined;
      return db.transaction(async (trx) => {
        const mine = () => tokens(trx).where({ id, user_id: userId, kind, status: 'assigned' });
        const row = (await mine().forUpdate().first()) as TokenRow | undefined;
        if (!row) return undefined;
        await mine().update(touched({ name }));
        return toRecord(row);
      });
    },
    async remove({ id, userId, kind }) {
      if (!UUID.test(id)) return undefined;
      const [row] = (await tokens().where({ id, user_id: userId, kind, status: 'assigned' }).delete().returning('*')) as TokenRow[];
      return row && toRecord(row);
    },
    async unlock(id) {
      await tokens().where({ id }).update(touched({
        failure_count: 0, lock_count: 0, locked_until: null, status: db.raw("CASE WHEN status = 'locked' THEN 'assigned' ELSE status END"),
      }));
    },
  };
}
