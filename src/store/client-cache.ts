import type { ClientMetadata } from 'oidc-provider';

import { CLIENTS_CHANGED_CHANNEL, type ClientRecord, type ClientRepository } from './clients.ts';
import type { ShortLivedStore } from './short-lived/types.ts';

/** A node's {@link ClientRepository} with lookups kept in memory; `close` ends its subscription. */
export interface ClientCache extends ClientRepository {
  /** Forgets one client (or all), as a message on {@link CLIENTS_CHANGED_CHANNEL} does. */
  forget(clientId?: string): void;
  close(): Promise<void>;
}

/** Options of {@link createClientCache}. */
export interface ClientCacheOptions {
  clients: ClientRepository;
  /** Where changes are announced (Redis pub/sub; the embedded server's store gets the command's notices). */
  store: ShortLivedStore;
  /**
   * How long a lookup is kept even without a message, ms: the bound on staleness should a message
   * be lost (a subscription down while Redis restarted). Defaults to 60 s, as the signing keys'
   * periodic check.
   */
  maxAgeMs?: number;
  /** Told when the subscription cannot be made (the node then keeps nothing longer than `maxAgeMs`). */
  onSubscribeError?: (error: unknown) => void;
  now?: () => number;
}

/**
 * Keeps each client this node looked up in memory, so a token request reads neither Postgres
 * nor opens the sealed secret (issue 10: every client_credentials grant did both, a third of
 * the CPU). Every change (`stepup client add`, `remove`) is announced on
 * {@link CLIENTS_CHANGED_CHANNEL} and every node forgets that client at once; a lookup in flight
 * when the message comes is not kept. Unknown ids are not kept, so made-up ones cannot fill
 * the memory.
 */
export async function createClientCache(options: ClientCacheOptions): Promise<ClientCache> {
  const { clients } = options;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const now = options.now ?? Date.now;
  const records = new Map<string, { value: Promise<ClientRecord | undefined>; at: number }>();
  const metadata = new Map<string, { value: Promise<ClientMetadata | undefined>; at: number }>();

  const cached = <T>(map: Map<string, { value: Promise<T | undefined>; at: number }>, clientId: string, load: () => Promise<T | undefined>) => {
    const entry = map.get(clientId);
    if (entry && now() - entry.at < maxAgeMs) return entry.value;
    const value = load();
    const fresh = { value, at: now() };
    map.set(clientId, fresh);
    // A miss or a failure is asked again next time; only a found client is kept.
    const drop = () => {
      if (map.get(clientId) === fresh) map.delete(clientId);
    };
    value.then((found) => found === undefined && drop(), drop);
    return value;
  };

  const forget = (clientId?: string) => {
    if (clientId === undefined) {
      records.clear();
      metadata.clear();
    } else {
      records.delete(clientId);
      metadata.delete(clientId);
    }
  };

  const unsubscribe = await options.store.subscribe(CLIENTS_CHANGED_CHANNEL, (message) => forget(message || undefined)).catch((error: unknown) => {
    options.onSubscribeError?.(error);
    return async () => {};
  });

  return {
    ...clients,
    find: (clientId) => cached(records, clientId, () => clients.find(clientId)),
    findMetadata: (clientId) => cached(metadata, clientId, () => clients.findMetadata(clientId)),
    forget,
    close: unsubscribe,
  };
}
