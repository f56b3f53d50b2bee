import type { ClientRepository } from '../store/clients.ts';
import type { StoreAdapter } from './types.ts';

/**
 * oidc-provider's Client model, read from the `oidc_clients` table through the node's client
 * cache (`store/client-cache.ts`), so a client registered with `stepup client add` works on every
 * node without a restart and one removed is refused everywhere at once. Registration goes through
 * the CLI (and later the admin API), never through oidc-provider, so writes are refused.
 */
export function createClientAdapter(clients: ClientRepository): StoreAdapter {
  const readOnly = async () => {
    throw new Error('clients are registered with `stepup client add`, not through oidc-provider');
  };
  return {
    find: (id) => clients.findMetadata(id),
    upsert: readOnly,
    findByUid: readOnly,
    findByUserCode: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
  };
}
