import Provider, { type Adapter, type AdapterPayload } from 'oidc-provider';

import type { StoreAdapter } from '../adapters/types.ts';

/** A grant read with its refresh token; `payload` undefined when the grant was gone. */
interface KeptGrant {
  id: string;
  payload: AdapterPayload | undefined;
}

/**
 * Reads a refresh token's grant in the same statement as the token (`findWithGrant`) and answers
 * oidc-provider's read of that grant, which follows at once (`actions/grants/refresh_token.js`,
 * introspection), from it: one round trip to Postgres fewer per refresh. What is kept belongs to
 * one request (oidc-provider's `Provider.ctx`), answers one read, and is dropped by any write of a
 * grant in that request, so nothing is read older than the request's own first read of it.
 */
export function createGrantPrefetch() {
  const kept = new WeakMap<object, KeptGrant>();

  return {
    /** Finds a record in `store`, with its grant where the store can read both at once. */
    async find(store: StoreAdapter, id: string): Promise<AdapterPayload | undefined> {
      const request = Provider.ctx;
      if (!request || !store.findWithGrant) return (await store.find(id)) ?? undefined;
      const found = await store.findWithGrant(id);
      if (found?.record.grantId) kept.set(request, { id: found.record.grantId, payload: found.grant });
      return found?.record;
    },

    /** The Grant model's adapter, answering a read of the grant kept in this request. */
    grants(adapter: Adapter): Adapter {
      const forget = () => {
        const request = Provider.ctx;
        if (request) kept.delete(request);
      };
      return {
        ...adapter,
        async find(id) {
          const request = Provider.ctx;
          const grant = request && kept.get(request);
          if (!request || grant?.id !== id) return adapter.find(id);
          kept.delete(request);
          return grant.payload;
        },
        async upsert(id, payload, expiresIn) {
          forget();
          return adapter.upsert(id, payload, expiresIn);
        },
        async destroy(id) {
          forget();
          return adapter.destroy(id);
        },
        async revokeByGrantId(grantId) {
          forget();
          return adapter.revokeByGrantId(grantId);
        },
      };
    },
  };
}
