import type { Knex } from 'knex';

/** A temporary access pass as stored: a keyed hash, never the pass. */
export interface AccessPassRecord {
  id: string;
  userId: string;
  passHash: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  failureCount: number;
  createdBy: string;
}

interface AccessPassRow {
  id: string;
  user_id: string;
  pass_hash: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
  failure_count: number;
  created_by: string;
}

/** What may change on the live pass while it is locked. */
export interface AccessPassChanges {
  usedAt?: Date;
  revokedAt?: Date;
  failureCount?: number;
}

export interface AccessPassRepository {
  /** Stores a new pass for a user and revokes any earlier one still open, in one transaction. */
  issue(input: { userId: string; passHash: string; expiresAt: Date; createdBy: string; now: Date }): Promise<AccessPassRecord>;
  /**
   * Runs `work` with the user's open pass (unused, unrevoked, unexpired at `now`) locked
   * (`SELECT … FOR UPDATE`), so concurrent tries take turns and each is counted.
   */
  withOpenPassLocked<T>(userId: string, now: Date, work: (pass: AccessPassRecord | undefined, update: (changes: AccessPassChanges) => Promise<void>) => Promise<T>): Promise<T>;
}

const toRecord = (row: AccessPassRow): AccessPassRecord => ({
  id: row.id,
  userId: row.user_id,
  passHash: row.pass_hash,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  usedAt: row.used_at,
  revokedAt: row.revoked_at,
  failureCount: row.failure_count,
  createdBy: row.created_by,
});

/** An {@link AccessPassRepository} on the `access_passes` table. */
export function createAccessPassRepository(db: Knex): AccessPassRepository {
  const open = (query: Knex.QueryBuilder, now: Date) =>
    query.whereNull('used_at').whereNull('revoked_at').where('expires_at', '>', now);

  return {
    async issue({ userId, passHash, expiresAt, createdBy, now }) {
      return db.transaction(async (trx) => {
        await open(trx('access_passes').where({ user_id: userId }), now).update({ revoked_at: now });
        const [row] = (await trx('access_passes')
          .insert({ user_id: userId, pass_hash: passHash, expires_at: expiresAt, created_by: createdBy, created_at: now })
          .returning('*')) as AccessPassRow[];
        return toRecord(row as AccessPassRow);
      });
    },
    async withOpenPassLocked(userId, now, work) {
      return db.transaction(async (trx) => {
        const row = (await open(trx('access_passes').where({ user_id: userId }), now)
          .orderBy('created_at', 'desc')
          .forUpdate()
          .first()) as AccessPassRow | undefined;
        const update = async (changes: AccessPassChanges) => {
          await trx('access_passes').where({ id: row?.id }).update({
            ...(changes.usedAt ? { used_at: changes.usedAt } : {}),
            ...(changes.revokedAt ? { revoked_at: changes.revokedAt } : {}),
            ...(changes.failureCount !== undefined ? { failure_count: changes.failureCount } : {}),
          });
        };
        return work(row && toRecord(row), update);
      });
    },
  };
}
