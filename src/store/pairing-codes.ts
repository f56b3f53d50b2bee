import type { Knex } from 'knex';

import type { DeviceKind } from './devices.ts';

/** A pairing code as stored: a keyed hash, never the code. */
export interface PairingCodeRecord {
  id: string;
  userId: string;
  kind: DeviceKind;
  codeHash: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  consumedAt: Date | null;
}

interface PairingCodeRow {
  id: string;
  user_id: string;
  kind: DeviceKind;
  code_hash: string;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
}

export interface PairingCodeRepository {
  /** Stores a new code's hash for a user and a kind of device. */
  issue(input: { userId: string; kind: DeviceKind; codeHash: string; expiresAt: Date; createdBy: string; now: Date }): Promise<PairingCodeRecord>;
  /** The open code (unconsumed, unexpired at `now`) with this hash, if any. */
  findOpen(codeHash: string, now: Date): Promise<PairingCodeRecord | undefined>;
}

const toRecord = (row: PairingCodeRow): PairingCodeRecord => ({
  id: row.id,
  userId: row.user_id,
  kind: row.kind,
  codeHash: row.code_hash,
  createdBy: row.created_by,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  consumedAt: row.consumed_at,
});

/** A {@link PairingCodeRepository} on `pairing_codes`; consuming a code is part of pairing (`devices.ts`). */
export function createPairingCodeRepository(db: Knex): PairingCodeRepository {
  return {
    async issue({ userId, kind, codeHash, expiresAt, createdBy, now }) {
      const [row] = (await db('pairing_codes')
        .insert({ user_id: userId, kind, code_hash: codeHash, expires_at: expiresAt, created_by: createdBy, created_at: now })
        .returning('*')) as PairingCodeRow[];
      return toRecord(row as PairingCodeRow);
    },
    async findOpen(codeHash, now) {
      const row = (await db('pairing_codes')
        .where({ code_hash: codeHash })
        .whereNull('consumed_at')
        .where('expires_at', '>', now)
        .first()) as PairingCodeRow | undefined;
      return row && toRecord(row);
    },
  };
}
