import type { Knex } from 'knex';

import type { AdapterPayload, StoreAdapter } from './types.ts';

interface PayloadRow {
  payload: AdapterPayload;
  consumed_at: Date | null;
}

/** A record is live until it expires; `deleteExpiredPayloads` clears out the rest. */
const LIVE = '(expires_at is null or expires_at > current_timestamp)';

/**
 * oidc-provider adapter over the `oidc_payloads` table, for the durable models (Grant,
 * RefreshToken). Expired rows are never returned; `deleteExpiredPayloads` clears them out.
 */
export function createPostgresAdapter(db: Knex, model: string): StoreAdapter {
  const table = () => db('oidc_payloads').where({ model });
  const live = (query: Knex.QueryBuilder) => query.andWhereRaw(LIVE);

  const findWhere = async (where: Record<string, string>) => {
    const row = (await live(table().where(where)).first('payload', 'consumed_at')) as PayloadRow | undefined;
    return row && withConsumed(row.payload, row.consumed_at);
  };

  const rowOf = (id: string, payload: AdapterPayload, expiresIn: number | undefined) => ({
    model,
    id,
    payload: JSON.stringify(payload),
    grant_id: payload.grantId ?? null,
    user_code: payload.userCode ?? null,
    uid: payload.uid ?? null,
    expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
  });

  return {
    async upsert(id, payload, expiresIn) {
      await db('oidc_payloads').insert(rowOf(id, payload, expiresIn)).onConflict(['model', 'id']).merge();
    },
    find: (id) => findWhere({ id }),
    findByUid: (uid) => findWhere({ uid }),
    findByUserCode: (userCode) => findWhere({ user_code: userCode }),
    async findWithGrant(id) {
      const { rows } = (await db.raw(
        `select r.payload, r.consumed_at, g.payload as grant_payload, g.consumed_at as grant_consumed_at
           from oidc_payloads r
           left join oidc_payloads g on g.model = 'Grant' and g.id = r.grant_id and (g.expires_at is null or g.expires_at > current_timestamp)
          where r.model = ? and r.id = ? and (r.expires_at is null or r.expires_at > current_timestamp)`,
        [model, id],
      )) as { rows: Array<PayloadRow & { grant_payload: AdapterPayload | null; grant_consumed_at: Date | null }> };
      const [row] = rows;
      if (!row) return undefined;
      return {
        record: withConsumed(row.payload, row.consumed_at),
        grant: row.grant_payload ? withConsumed(row.grant_payload, row.grant_consumed_at) : undefined,
      };
    },
    async consume(id) {
      // Only the first consume stamps the time, however many race: the row lock makes the others
      // re-check `consumed_at IS NULL` after it commits, and update nothing.
      const updated = await live(table().where({ id }).whereNull('consumed_at')).update({ consumed_at: db.fn.now() });
      return updated === 1;
    },
    async rotate(consumedId, id, payload, expiresIn) {
      // One statement, so one transaction: the successor is inserted only from the row that this
      // statement consumed, and a failure leaves the old token as it was, still usable.
      const row = rowOf(id, payload, expiresIn);
      const { rows } = (await db.raw(
        `with consumed as (
           update oidc_payloads set consumed_at = current_timestamp
            where model = ? and id = ? and consumed_at is null and ${LIVE}
            returning id
         )
         insert into oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at)
         select ?, ?, ?::jsonb, ?, ?, ?, ?::timestamptz from consumed
         on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id,
           user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at
         returning id`,
        [model, consumedId, row.model, row.id, row.payload, row.grant_id, row.user_code, row.uid, row.expires_at],
      )) as { rows: unknown[] };
      return rows.length === 1;
    },
    async destroy(id) {
      await table().where({ id }).delete();
    },
    async revokeByGrantId(grantId) {
      await table().where({ grant_id: grantId }).delete();
    },
  };
}

function withConsumed(payload: AdapterPayload, consumedAt: Date | null): AdapterPayload {
  return consumedAt ? { ...payload, consumed: Math.floor(consumedAt.getTime() / 1000) } : payload;
}

/** Removes expired oidc-provider records; returns how many. */
export async function deleteExpiredPayloads(db: Knex): Promise<number> {
  return db('oidc_payloads').where('expires_at', '<=', db.fn.now()).delete();
}
