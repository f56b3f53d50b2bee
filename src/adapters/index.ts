import type { Knex } from 'knex';

import type { ClientRepository } from '../store/clients.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import { createClientAdapter } from './clients.ts';
import { createPostgresAdapter } from './postgres.ts';
import { createShortLivedAdapter } from './short-lived.ts';
import type { AdapterFactory } from './types.ts';

/** Models that must outlive a Redis restart: a user's grant and the refresh tokens issued under it. */
export const DURABLE_MODELS: ReadonlySet<string> = new Set(['Grant', 'RefreshToken']);

/**
 * Routes each oidc-provider model to its store (ARCHITECTURE.md, "Where state lives"): clients
 * from their table, durable models to Postgres, sessions, interactions, codes and short-lived
 * tokens to Redis (or memory in embedded mode).
 */
export function createAdapterFactory(options: { db: Knex; store: ShortLivedStore; clients: ClientRepository }): AdapterFactory {
  return (model) => {
    if (model === 'Client') return createClientAdapter(options.clients);
    if (DURABLE_MODELS.has(model)) return createPostgresAdapter(options.db, model);
    return createShortLivedAdapter(options.store, model);
  };
}
