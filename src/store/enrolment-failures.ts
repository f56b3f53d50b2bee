import type { Knex } from 'knex';

import type { TotpKind } from './totp-tokens.ts';

/** Consecutive wrong codes, locks set in a row, and the running lock (`auth/failure-count.ts`). */
export interface FailureCounters {
  failureCount: number;
  lockCount: number;
  lockedUntil: Date | null;
}

/** Whose count: one person, for binding code viewers or for confirming apps. */
export interface EnrolmentFailureKey {
  userId: string;
  kind: TotpKind;
}

interface FailureRow {
  failure_count: number;
  lock_count: number;
  locked_until: Date | null;
}

/**
 * Locks a person's enrolment failure count for the rest of `trx` (`SELECT … FOR UPDATE` on
 * `factor_enrolment_failures`, the row made first if absent) and returns it: concurrent
 * enrolments of one person, on any node, take turns.
 */
export async function lockEnrolmentFailures(trx: Knex.Transaction, key: EnrolmentFailureKey): Promise<FailureCounters> {
  const where = { user_id: key.userId, kind: key.kind };
  // Made before it is locked: two first attempts at once both insert-or-skip, then queue on the row.
  await trx('factor_enrolment_failures').insert(where).onConflict(['user_id', 'kind']).ignore();
  const row = (await trx('factor_enrolment_failures').where(where).forUpdate().first()) as FailureRow;
  return { failureCount: row.failure_count, lockCount: row.lock_count, lockedUntil: row.locked_until };
}

/** Writes a person's count, in the transaction that locked it. */
export async function saveEnrolmentFailures(trx: Knex.Transaction, key: EnrolmentFailureKey, count: FailureCounters): Promise<void> {
  await trx('factor_enrolment_failures').where({ user_id: key.userId, kind: key.kind }).update({
    failure_count: count.failureCount,
    lock_count: count.lockCount,
    locked_until: count.lockedUntil,
    updated_at: trx.fn.now(),
  });
}
