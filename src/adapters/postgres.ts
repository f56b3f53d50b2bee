import type { Knex } from 'knex';

import type { AdapterPayload, StoreAdapter } from './types.ts';

interface PayloadRow {
  payload: AdapterPayload;
  consumed_at: Date | null;
}

/**
 * oidc-provider adapter over the `oidc_payloads` table, for the durable models (Grant,
 * RefreshToken). Expired rows are never returned; `deleteExpiredPayloads` clears them out.
 */
export function createPostgresAdapter(db: Knex, model: string): StoreAdapter {
  const table = () => db('oidc_payloads').where({ model });
  const live = (query: Knex.QueryBuilder) =>
    query.andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()));

  const findWhere = async (where: Record<string, string>) => {
    const row = (await live(table().where(where)).first('payload', 'consumed_at')) as PayloadRow | undefined;
    if (!row) return undefined;
    return row.consumed_at ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : row.payload;
  };

  return {
    async upsert(id, payload, expiresIn) {
      const row = {
        model,
        id,
        payload: JSON.stringify(payload),
        grant_id: payload.grantId ?? null,
        user_code: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      };
      await db('oidc_payloads').insert(row).onConflict(['model', 'id']).merge();
    },
    find: (id) => findWhere({ id }),
    findByUid: (uid) => findWhere({ uid }),
    findByUserCode: (userCode) => findWhere({ user_code: userCode }),
    async consume(id) {
      // Only the first consume stamps the time, however many race: the row lock makes the others
      // re-check `consumed_at IS NULL` after it commits, and update nothing.
      const updated = await live(table().where({ id }).whereNull('consumed_at')).update({ consumed_at: db.fn.now() });
      return updated === 1;
    },
    async destroy(id) {
      await table().where({ id }).delete();
    },
    async revokeByGrantId(grantId) {
      await table().where({ grant_id: grantId }).delete();
    },
  };
}

/** Removes expired oidc-provider records; returns how many. */
export async function deleteExpiredPayloads(db: Knex): Promise<number> {
  return db('oidc_payloads').where('expires_at', '<=', db.fn.now()).delete();
}
