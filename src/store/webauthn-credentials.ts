import type { Knex } from 'knex';

/**
 * Whether a credential's key stays in one authenticator (`singleDevice`) or may be synced to
 * others (`multiDevice`, a synced passkey): the BE flag of WebAuthn Level 3 §6.1.
 */
export type WebAuthnDeviceType = 'singleDevice' | 'multiDevice';

/** A security key or passkey as stored: its public key and counter, never a secret. */
export interface WebAuthnCredentialRecord {
  /** Our id: the factor's id in the chooser and in self-service. */
  id: string;
  userId: string;
  /** The authenticator's credential id, base64url (W3C WebAuthn `PublicKeyCredential.id`). */
  credentialId: string;
  /** The COSE public key (RFC 9053) from the registration's attested credential data. */
  publicKey: Uint8Array<ArrayBuffer>;
  /** The signature counter last accepted (WebAuthn Level 3 §6.1.1); 0 for keys that keep none. */
  counter: number;
  /** How the browser may reach the authenticator (`usb`, `nfc`, `ble`, `internal`, `hybrid`). */
  transports: string[];
  name: string;
  deviceType: WebAuthnDeviceType;
  backedUp: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** A new credential, as a verified registration gives it. */
export type NewWebAuthnCredential = Omit<WebAuthnCredentialRecord, 'id' | 'counter' | 'createdAt' | 'lastUsedAt'> & { counter: number; now: Date };

interface CredentialRow {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: Uint8Array;
  counter: string | number;
  transports: string[] | string;
  name: string;
  device_type: WebAuthnDeviceType;
  backed_up: boolean;
  created_at: Date;
  last_used_at: Date | null;
}

/** Thrown when a credential id is registered a second time (by anyone). */
export class CredentialTakenError extends Error {
  constructor() {
    super('this credential is already registered');
    this.name = 'CredentialTakenError';
  }
}

/**
 * Security keys and passkeys in Postgres. The counter is checked and moved with the row locked,
 * so two assertions of one key racing on any nodes take turns, and the second sees the first's
 * counter.
 */
export interface WebAuthnCredentialRepository {
  /** Adds a credential; throws {@link CredentialTakenError} for a credential id already stored. */
  add(input: NewWebAuthnCredential): Promise<WebAuthnCredentialRecord>;
  /** One user's credentials, the newest first. */
  listForUser(userId: string): Promise<WebAuthnCredentialRecord[]>;
  /** The user's credential with our id `id`; undefined when there is none, or it is another user's. */
  findForUser(userId: string, id: string): Promise<WebAuthnCredentialRecord | undefined>;
  /**
   * Runs `work` with the credential's row locked (`SELECT … FOR UPDATE`); `accept` stores a new
   * counter and the time of use in the same transaction. `work` gets undefined for an unknown id.
   */
  withCredentialLocked<T>(id: string, work: (credential: WebAuthnCredentialRecord | undefined, accept: (use: { counter: number; backedUp: boolean; at: Date }) => Promise<void>) => Promise<T>): Promise<T>;
  /** Deletes the user's credential `id`; returns it as it was, or undefined when it is not theirs. */
  remove(userId: string, id: string): Promise<WebAuthnCredentialRecord | undefined>;
  /** Renames the user's credential `id`; returns it as it was, or undefined (nothing changed) when it is not theirs. */
  rename(userId: string, id: string, name: string): Promise<WebAuthnCredentialRecord | undefined>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const toRecord = (row: CredentialRow): WebAuthnCredentialRecord => ({
  id: row.id,
  userId: row.user_id,
  credentialId: row.credential_id,
  publicKey: new Uint8Array(row.public_key),
  // pg returns bigint as text; a signature counter is 32 bits, so it fits a number exactly.
  counter: Number(row.counter),
  // pg parses jsonb; PGlite through knex may hand back the text.
  transports: typeof row.transports === 'string' ? (JSON.parse(row.transports) as string[]) : row.transports,
  name: row.name,
  deviceType: row.device_type,
  backedUp: row.backed_up,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

/** A {@link WebAuthnCredentialRepository} on the `webauthn_credentials` table. */
export function createWebAuthnCredentialRepository(db: Knex): WebAuthnCredentialRepository {
  const credentials = (trx?: Knex.Transaction) => (trx ?? db)('webauthn_credentials');

  return {
    async add(input) {
      try {
        const [row] = (await credentials()
          .insert({
            user_id: input.userId,
            credential_id: input.credentialId,
            public_key: Buffer.from(input.publicKey),
            counter: input.counter,
            transports: JSON.stringify(input.transports),
            name: input.name,
            device_type: input.deviceType,
            backed_up: input.backedUp,
            created_at: input.now,
          })
          .returning('*')) as CredentialRow[];
        return toRecord(row as CredentialRow);
      } catch (error) {
        if ((error as { code?: string }).code === '23505') throw new CredentialTakenError();
        throw error;
      }
    },
    async listForUser(userId) {
      if (!UUID.test(userId)) return [];
      return ((await credentials().where({ user_id: userId }).orderBy('created_at', 'desc')) as CredentialRow[]).map(toRecord);
    },
    async findForUser(userId, id) {
      if (!UUID.test(userId) || !UUID.test(id)) return undefined;
      const row = (await credentials().where({ id, user_id: userId }).first()) as CredentialRow | undefined;
      return row && toRecord(row);
    },
    async withCredentialLocked(id, work) {
      if (!UUID.test(id)) return work(undefined, async () => {});
      return db.transaction(async (trx) => {
        const row = (await credentials(trx).where({ id }).forUpdate().first()) as CredentialRow | undefined;
        const accept = async (use: { counter: number; backedUp: boolean; at: Date }) => {
          await credentials(trx).where({ id }).update({ counter: use.counter, backed_up: use.backedUp, last_used_at: use.at });
        };
        return work(row && toRecord(row), accept);
      });
    },
    async remove(userId, id) {
      if (!UUID.test(userId) || !UUID.test(id)) return undefined;
      const [row] = (await credentials().where({ id, user_id: userId }).delete().returning('*')) as CredentialRow[];
      return row && toRecord(row);
    },
    async rename(userId, id, name) {
      if (!UUID.test(userId) || !UUID.test(id)) return undefined;
      return db.transaction(async (trx) => {
        const mine = () => credentials(trx).where({ id, user_id: userId });
        const row = (await mine().forUpdate().first()) as CredentialRow | undefined;
        if (!row) return undefined;
        await mine().update({ name });
        return toRecord(row);
      });
    },
  };
}
