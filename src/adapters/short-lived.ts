import type { ShortLivedStore } from '../store/short-lived/types.ts';
import type { AdapterPayload, StoreAdapter } from './types.ts';

/** Models whose records oidc-provider finds by a grant, to revoke them together. */
const GRANT_MODELS = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * oidc-provider adapter over the short-lived store (Redis, or memory in embedded mode).
 *
 * Layout per record: `oidc:<Model>:<id>` holds the JSON payload with its TTL; `…:consumed` is
 * set once, atomically, when the record is consumed, and expires with it (its creator
 * is the one caller told it won); `oidc:<Model>:uid:<uid>` and
 * `…:user_code:<code>` point at ids; `oidc:grant:<grantId>` is the set of record keys of a
 * grant, so `revokeByGrantId` removes them all.
 */
export function createShortLivedAdapter(store: ShortLivedStore, model: string): StoreAdapter {
  const key = (id: string) => `oidc:${model}:${id}`;
  const consumedKey = (id: string) => `${key(id)}:consumed`;
  const grantKey = (grantId: string) => `oidc:grant:${grantId}`;
  const indexKey = (kind: 'uid' | 'user_code', value: string) => `oidc:${model}:${kind}:${value}`;

  const find = async (id: string): Promise<AdapterPayload | undefined> => {
    const [json, consumed] = await store.getMany(key(id), consumedKey(id));
    if (!json) return undefined;
    const payload = JSON.parse(json) as AdapterPayload;
    return consumed ? { ...payload, consumed: Number(consumed) } : payload;
  };

  const findBy = async (kind: 'uid' | 'user_code', value: string) => {
    const id = await store.get(indexKey(kind, value));
    return id ? find(id) : undefined;
  };

  const destroy = async (id: string) => {
    await store.delete(key(id), consumedKey(id));
  };

  return {
    async upsert(id, payload, expiresIn) {
      const ttlMs = expiresIn ? expiresIn * 1000 : undefined;
      const writes: Promise<unknown>[] = [store.set(key(id), JSON.stringify(payload), ttlMs)];
      if (GRANT_MODELS.has(model) && payload.grantId) {
        writes.push(store.addToSet(grantKey(payload.grantId), `${model}:${id}`, ttlMs ?? DAY_MS));
      }
      if (payload.uid) writes.push(store.set(indexKey('uid', payload.uid), id, ttlMs));
      if (payload.userCode) writes.push(store.set(indexKey('user_code', payload.userCode), id, ttlMs));
      await Promise.all(writes);
    },
    find,
    findByUid: (uid) => findBy('uid', uid),
    findByUserCode: (userCode) => findBy('user_code', userCode),
    async consume(id) {
      // Of any number of racing calls, on any node, exactly one creates the marker, and none
      // once the record has expired or been revoked.
      return store.setIfAbsentAlongside(consumedKey(id), String(Math.floor(Date.now() / 1000)), key(id), DAY_MS);
    },
    destroy,
    async revokeByGrantId(grantId) {
      const members = await store.setMembers(grantKey(grantId));
      const mine = members.filter((member) => member.startsWith(`${model}:`));
      await Promise.all(mine.map((member) => destroy(member.slice(model.length + 1))));
    },
  };
}
