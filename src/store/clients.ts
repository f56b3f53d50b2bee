import type { Knex } from 'knex';
import type { ClientMetadata } from 'oidc-provider';

import type { Level } from '../auth/levels.ts';
import type { SecretBox } from '../crypto/secret-box.ts';

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
  createdAt: Date;
}

interface ClientRow {
  client_id: string;
  metadata: ClientMetadata;
  client_secret_sealed: string | null;
  level: Level;
  password_max_age_seconds: number | null;
  second_factor_max_age_seconds: number | null;
  created_at: Date;
}

/** A relying party to register. */
export interface NewClient {
  metadata: ClientMetadata;
  clientSecret?: string | undefined;
  level: Level;
  passwordMaxAgeSeconds?: number | null | undefined;
  secondFactorMaxAgeSeconds?: number | null | undefined;
}

/** Stores relying parties; the client secret is sealed at rest and opened only to authenticate. */
export interface ClientRepository {
  add(input: NewClient, trx?: Knex.Transaction): Promise<ClientRecord>;
  /** The metadata oidc-provider needs, secret included; undefined if unknown. */
  findMetadata(clientId: string): Promise<ClientMetadata | undefined>;
  find(clientId: string): Promise<ClientRecord | undefined>;
  list(): Promise<ClientRecord[]>;
  count(): Promise<number>;
}

const toRecord = (row: ClientRow): ClientRecord => ({
  clientId: row.client_id,
  metadata: row.metadata,
  level: row.level,
  passwordMaxAgeSeconds: row.password_max_age_seconds,
  secondFactorMaxAgeSeconds: row.second_factor_max_age_seconds,
  createdAt: row.created_at,
});

/** A {@link ClientRepository} on the `oidc_clients` table. */
export function createClientRepository(db: Knex, box: SecretBox): ClientRepository {
  const context = (clientId: string) => `oidc_clients.client_secret:${clientId}`;
  const find = async (clientId: string) =>
    (await db<ClientRow>('oidc_clients').where({ client_id: clientId }).first()) as ClientRow | undefined;

  return {
    async add({ metadata, clientSecret, level, passwordMaxAgeSeconds, secondFactorMaxAgeSeconds }, trx) {
      const clientId = metadata.client_id;
      const [row] = (await (trx ?? db)('oidc_clients')
        .insert({
          client_id: clientId,
          metadata: JSON.stringify({ ...metadata, client_secret: undefined }),
          client_secret_sealed: clientSecret ? box.seal(clientSecret, context(clientId)) : null,
          level,
          password_max_age_seconds: passwordMaxAgeSeconds ?? null,
          second_factor_max_age_seconds: secondFactorMaxAgeSeconds ?? null,
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
    async count() {
      const [{ count }] = (await db('oidc_clients').count({ count: '*' })) as [{ count: string | number }];
      return Number(count);
    },
  };
}
