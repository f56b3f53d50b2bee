import type { Knex } from 'knex';
import type { ClientMetadata } from 'oidc-provider';

import type { Level } from '../auth/levels.ts';
import type { SecretBox } from '../crypto/secret-box.ts';

/**
 * The channel (short-lived store pub/sub) on which a change to a client is announced, with its
 * client_id as the message (empty: every client), so every node's cache forgets it at once.
 */
export const CLIENTS_CHANGED_CHANNEL = 'clients.changed';

/** A registered relying party (OIDC client). */
export interface ClientRecord {
  clientId: string;
  /** oidc-provider client metadata, without the secret. */
  metadata: ClientMetadata;
  /** The minimum level this client requires for every login. */
  level: Level;
  /** How long a password / second factor counts for this client, in seconds; null: the default. */
  passwordMaxAgeSeconds: number | null;
  secondFactorMaxAgeSeconds: number | null;
  /** Whether its logins use number matching on devices; null: the IdP's setting (`NUMBER_MATCHING`). */
  numberMatching: boolean | null;
  createdAt: Date;
}

interface ClientRow {
  client_id: string;
  metadata: ClientMetadata;
  client_secret_sealed: string | null;
  level: Level;
  password_max_age_seconds: number | null;
  second_factor_max_age_seconds: number | null;
  number_matching: boolean | null;
  created_at: Date;
}

/** A relying party to register. */
export interface NewClient {
  metadata: ClientMetadata;
  clientSecret?: string | undefined;
  level: Level;
  passwordMaxAgeSeconds?: number | null | undefined;
  secondFactorMaxAgeSeconds?: number | null | undefined;
  numberMatching?: boolean | null | undefined;
}

/** Stores relying parties; the client secret is sealed at rest and opened only to authenticate. */
export interface ClientRepository {
  add(input: NewClient, trx?: Knex.Transaction): Promise<ClientRecord>;
  /** The metadata oidc-provider needs, secret included; undefined if unknown. */
  findMetadata(clientId: string): Promise<ClientMetadata | undefined>;
  find(clientId: string): Promise<ClientRecord | undefined>;
  list(): Promise<ClientRecord[]>;
  count(): Promise<number>;
  /**
   * Removes a client with its grants and refresh tokens (the durable `oidc_payloads` rows whose
   * payload names it). Returns the ids of the grants removed, so the short-lived records issued
   * under them can go too; undefined if there is no such client.
   */
  remove(clientId: string, trx?: Knex.Transaction): Promise<RemovedClient | undefined>;
}

/** What removing a client took with it. */
export interface RemovedClient {
  grantIds: string[];
  refreshTokens: number;
}

const toRecord = (row: ClientRow): ClientRecord => ({
  clientId: row.client_id,
  metadata: row.metadata,
  level: row.level,
  passwordMaxAgeSeconds: row.password_max_age_seconds,
  secondFactorMaxAgeSeconds: row.second_factor_max_age_seconds,
  numberMatching: row.number_matching,
  createdAt: row.created_at,
});

/** A {@link ClientRepository} on the `oidc_clients` table. */
export function createClientRepository(db: Knex, box: SecretBox): ClientRepository {
  const context = (clientId: string) => `oidc_clients.client_secret:${clientId}`;
  const find = async (clientId: string) =>
    (await db<ClientRow>('oidc_clients').where({ client_id: clientId }).first()) as ClientRow | undefined;

  return {
    async add({ metadata, clientSecret, level, passwordMaxAgeSeconds, secondFactorMaxAgeSeconds, numberMatching }, trx) {
      const clientId = metadata.client_id;
      const [row] = (await (trx ?? db)('oidc_clients')
        .insert({
          client_id: clientId,
          metadata: JSON.stringify({ ...metadata, client_secret: undefined }),
          client_secret_sealed: clientSecret ? box.seal(clientSecret, context(clientId)) : null,
          level,
          password_max_age_seconds: passwordMaxAgeSeconds ?? null,
          second_factor_max_age_seconds: secondFactorMaxAgeSeconds ?? null,
          number_matching: numberMatching ?? null,
        })
        .returning('*')) as ClientRow[];
      return toRecord(row as ClientRow);
    },
    async findMetadata(clientId) {
      const row = await find(clientId);
      if (!row) return undefined;
      if (!row.client_secret_sealed) return row.metadata;
      return { ...row.metadata, client_secret: box.open(row.client_secret_sealed, context(clientId)).toString('utf8') };
    },
    async find(clientId) {
      const row = await find(clientId);
      return row && toRecord(row);
    },
    async list() {
      return ((await db<ClientRow>('oidc_clients').orderBy('client_id')) as ClientRow[]).map(toRecord);
    },
    async remove(clientId, trx) {
      const run = async (t: Knex.Transaction): Promise<RemovedClient | undefined> => {
        const removed = await t('oidc_clients').where({ client_id: clientId }).delete();
        if (removed === 0) return undefined;
        // Grant and RefreshToken payloads carry the client's id (oidc-provider's `clientId`).
        const payloads = (await t('oidc_payloads')
          .whereRaw("payload->>'clientId' = ?", [clientId])
          .delete()
          .returning(['model', 'id', 'grant_id'])) as Array<{ model: string; id: string; grant_id: string | null }>;
        const grantIds = new Set(payloads.flatMap((row) => (row.model === 'Grant' ? [row.id] : row.grant_id ? [row.grant_id] : [])));
        return { grantIds: [...grantIds], refreshTokens: payloads.filter((row) => row.model === 'RefreshToken').length };
      };
      return trx ? run(trx) : db.transaction(run);
    },
    async count() {
      const [{ count }] = (await db('oidc_clients').count({ count: '*' })) as [{ count: string | number }];
      return Number(count);
    },
  };
}
