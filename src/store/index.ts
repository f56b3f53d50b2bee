import type { Knex } from 'knex';

import type { IdpConfig } from '../config/index.ts';
import { deriveKey } from '../crypto/derived-keys.ts';
import { createSecretBox, type SecretBox } from '../crypto/secret-box.ts';
import { createAccessPassRepository, type AccessPassRepository } from './access-passes.ts';
import { createAuditLog, type AuditEvent, type AuditLog } from './audit.ts';
import { createClientRepository, type ClientRepository } from './clients.ts';
import { databaseReachable, openDatabase, type DatabaseTarget } from './database.ts';
import { createDeviceRepository, type DeviceRepository } from './devices.ts';
import { migrateToLatest } from './migrations.ts';
import { createPairingCodeRepository, type PairingCodeRepository } from './pairing-codes.ts';
import { createServiceProviderRepository, type ServiceProviderRepository } from './service-providers.ts';
import { createMemoryStore } from './short-lived/memory.ts';
import { createRedisStore } from './short-lived/redis.ts';
import type { ShortLivedStore } from './short-lived/types.ts';
import { createSigningKeyRepository, type SigningKeyRepository } from './signing-keys.ts';
import { createTotpTokenRepository, type TotpTokenRepository } from './totp-tokens.ts';
import { createUserRepository, type UserRepository } from './users.ts';
import { createWebAuthnCredentialRepository, type WebAuthnCredentialRepository } from './webauthn-credentials.ts';

/** Everything durable and short-lived one IdP instance (or one CLI run) works with. */
export interface Storage {
  db: Knex;
  shortLived: ShortLivedStore;
  box: SecretBox;
  users: UserRepository;
  clients: ClientRepository;
  /** SAML service providers, read from the table on every lookup. */
  serviceProviders: ServiceProviderRepository;
  signingKeys: SigningKeyRepository;
  totpTokens: TotpTokenRepository;
  accessPasses: AccessPassRepository;
  devices: DeviceRepository;
  pairingCodes: PairingCodeRepository;
  /** Security keys and passkeys (WebAuthn). */
  webauthnCredentials: WebAuthnCredentialRepository;
  audit: AuditLog;
  /**
   * Whether Postgres (or PGlite) answers and Redis (or memory) takes a write with a TTL, as a
   * login needs; each check that has not answered within {@link READINESS_TIMEOUT_MS} counts as
   * not ready.
   */
  ready(): Promise<{ database: boolean; shortLived: boolean }>;
  close(): Promise<void>;
}

export interface StorageOptions {
  /** Overrides where the durable data lives (tests use their own database or PGlite in memory). */
  database?: DatabaseTarget;
  /** Overrides the short-lived store the configuration names (the embedded server's, or a command's relay to it). */
  shortLived?: ShortLivedStore;
  /** Prefix for every Redis key, to keep several IdPs on one Redis apart. Default `stepup:`. */
  redisKeyPrefix?: string;
  /** Run migrations on open. */
  migrate?: boolean;
  /**
   * Postgres cancels a statement running longer (a server only): the IdP bounds its requests so
   * (`POSTGRES_TIMEOUTS` in database.ts). Migrations run on open are not bounded. Defaults to none.
   */
  statementTimeoutMs?: number;
  onStoreError?: (error: Error) => void;
  /** Hears of every audit event once it is written (the metrics count them). */
  onAudit?: (event: AuditEvent) => void;
  /** Told of knex's warnings (a failed connection attempt); silent by default. */
  onDatabaseWarning?: (message: string) => void;
}

/**
 * How long a readiness check waits for each store: a load balancer's probe gets its answer soon,
 * and a store slower than this is not fit to serve logins.
 */
export const READINESS_TIMEOUT_MS = 1_000;

/**
 * Opens the storage the configuration names: Postgres or embedded PGlite, Redis or the
 * in-process store, and the repositories over them.
 */
export async function openStorage(config: IdpConfig, options: StorageOptions = {}): Promise<Storage> {
  const target: DatabaseTarget = options.database ?? (config.databaseUrl ? { url: config.databaseUrl } : { pgliteDir: config.dataDir });
  const db = openDatabase(target, { onWarning: options.onDatabaseWarning, statementTimeoutMs: options.statementTimeoutMs });
  const shortLived = options.shortLived ?? (config.redisUrl
    ? createRedisStore({ url: config.redisUrl, keyPrefix: options.redisKeyPrefix, onError: options.onStoreError })
    : createMemoryStore());
  try {
    if (options.migrate) await migrateUnbounded(target, db, options);
  } catch (error) {
    await Promise.allSettled([db.destroy(), shortLived.close()]);
    throw error;
  }
  const box = createSecretBox(deriveKey(config.secretKey, 'at-rest'));
  return {
    db,
    shortLived,
    box,
    users: createUserRepository(db),
    clients: createClientRepository(db, box),
    serviceProviders: createServiceProviderRepository(db),
    signingKeys: createSigningKeyRepository(db, box),
    totpTokens: createTotpTokenRepository(db, box),
    accessPasses: createAccessPassRepository(db),
    devices: createDeviceRepository(db),
    pairingCodes: createPairingCodeRepository(db),
    webauthnCredentials: createWebAuthnCredentialRepository(db),
    audit: createAuditLog(db, options.onAudit),
    async ready() {
      const [database, store] = await Promise.all([within(READINESS_TIMEOUT_MS, databaseReachable(db)), within(READINESS_TIMEOUT_MS, shortLived.probe())]);
      return { database, shortLived: store };
    },
    async close() {
      // knex-pglite opens PGlite lazily; destroyed while that is still under way, the instance
      // opens afterwards and keeps the process alive. Let it finish opening, then close it.
      if (!('url' in target)) await databaseReachable(db);
      await Promise.allSettled([db.destroy(), shortLived.close()]);
    },
  };
}

/**
 * Migrates on a connection without the statement timeout: a schema change may take longer than
 * a request may, and so may waiting for another node's migration lock.
 */
async function migrateUnbounded(target: DatabaseTarget, db: Knex, options: StorageOptions): Promise<void> {
  if (!('url' in target) || !options.statementTimeoutMs) {
    await migrateToLatest(db);
    return;
  }
  const unbounded = openDatabase(target, { onWarning: options.onDatabaseWarning });
  try {
    await migrateToLatest(unbounded);
  } finally {
    await unbounded.destroy();
  }
}

/** A check's answer, or false when it has none within `ms`. */
async function within(ms: number, check: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([check, late]);
  } finally {
    clearTimeout(timer);
  }
}
