import type { Knex } from 'knex';

import type { SecretBox } from '../crypto/secret-box.ts';

/** A private JWK as oidc-provider's `jwks` option takes it. */
export type PrivateJwk = Record<string, unknown> & { kid: string; alg: string };

/**
 * Where a published key is in its life: `next` is published but does not sign yet, `current`
 * signs (the newest activated key of its algorithm), `retired` was superseded and stays
 * published so what it signed still verifies.
 */
export type SigningKeyState = 'next' | 'current' | 'retired';

export interface SigningKey {
  kid: string;
  alg: string;
  privateJwk: PrivateJwk;
  /** The self-signed X.509 certificate of an RSA key, PEM; null for other keys (and RSA keys made before step 5, until loaded). */
  certificatePem: string | null;
  state: SigningKeyState;
  createdAt: Date;
  /** When it starts (or started) to sign. */
  activatesAt: Date;
  /** When a newer key of its algorithm took over; null while next or current. */
  retiredAt: Date | null;
}

/** A key to add: its private JWK and, for RSA, its certificate. */
export interface NewSigningKey {
  jwk: PrivateJwk;
  certificatePem: string | null;
}

/**
 * How long a superseded key stays published. ID tokens live an hour, SAML assertions minutes;
 * a day covers them and the `id_token_hint` of a logout late in the working day.
 */
export const RETIRED_KEY_SECONDS = 24 * 60 * 60;

interface KeyRow {
  kid: string;
  alg: string;
  private_jwk_sealed: string;
  certificate_pem: string | null;
  state: SigningKeyState;
  created_at: Date;
  activates_at: Date;
  superseded_at: Date | null;
}

export interface SigningKeyRepository {
  /** Keys still published: current first, then next, then retired; newest first within each (then by algorithm). Times are the database's. */
  listPublished(): Promise<SigningKey[]>;
  /**
   * Adds keys in one transaction. Keys still waiting (`next`) are promoted at once first, so a
   * rotation never leaves two generations waiting. A new key of an algorithm that has a current
   * key waits `leadSeconds` before it signs; the first key of an algorithm signs at once.
   */
  addKeys(keys: NewSigningKey[], leadSeconds: number): Promise<void>;
  /** Stores the certificate of a key that had none (made before certificates were); a certificate already there wins. */
  addCertificate(kid: string, certificatePem: string): Promise<void>;
}

/** A {@link SigningKeyRepository} on `signing_keys`; private parts are sealed with `SECRET_KEY`. */
export function createSigningKeyRepository(db: Knex, box: SecretBox): SigningKeyRepository {
  const context = (kid: string) => `signing_keys.private_jwk:${kid}`;
  return {
    async listPublished() {
      // A key is superseded when the first key of its algorithm ordered after it activates.
      // Ordering by (activates_at, created_at) lets a key made in the same instant as a promoted
      // one win. Rows retired before migration 010 also carry their own `unpublish_at`.
      const { rows } = (await db.raw(`
        SELECT kid, alg, private_jwk_sealed, certificate_pem, created_at, activates_at, superseded_at,
               CASE WHEN activates_at > now() THEN 'next' WHEN superseded_at IS NULL THEN 'current' ELSE 'retired' END AS state
        FROM (
          SELECT k.*, (SELECT min(s.activates_at) FROM signing_keys s
                       WHERE s.alg = k.alg AND s.activates_at <= now()
                         AND (s.activates_at, s.created_at, s.kid) > (k.activates_at, k.created_at, k.kid)) AS superseded_at
          FROM signing_keys k
        ) keyed
        WHERE (superseded_at IS NULL OR superseded_at > now() - make_interval(secs => ?))
          AND (unpublish_at IS NULL OR unpublish_at > now())
        ORDER BY CASE WHEN activates_at > now() THEN 1 WHEN superseded_at IS NULL THEN 0 ELSE 2 END,
                 activates_at DESC, created_at DESC, alg, kid`, [RETIRED_KEY_SECONDS])) as { rows: KeyRow[] };
      return rows.map((row) => ({
        kid: row.kid,
        alg: row.alg,
        privateJwk: JSON.parse(box.open(row.private_jwk_sealed, context(row.kid)).toString('utf8')) as PrivateJwk,
        certificatePem: row.certificate_pem,
        state: row.state,
        createdAt: new Date(row.created_at),
        activatesAt: new Date(row.activates_at),
        retiredAt: row.superseded_at === null ? null : new Date(row.superseded_at),
      }));
    },
    async addKeys(keys, leadSeconds) {
      await db.transaction(async (trx) => {
        await trx('signing_keys').where('activates_at', '>', trx.fn.now()).update({ activates_at: trx.fn.now() });
        for (const { jwk, certificatePem } of keys) {
          const { kid, alg } = jwk;
          const publicJwk = Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name)));
          const hasCurrent = await trx('signing_keys').where({ alg }).andWhere('activates_at', '<=', trx.fn.now()).first('kid');
          await trx('signing_keys').insert({
            kid,
            alg,
            public_jwk: JSON.stringify(publicJwk),
            private_jwk_sealed: box.seal(JSON.stringify(jwk), context(kid)),
            certificate_pem: certificatePem,
            activates_at: hasCurrent ? trx.raw(`now() + make_interval(secs => ?)`, [leadSeconds]) : trx.fn.now(),
          });
        }
      });
    },
    async addCertificate(kid, certificatePem) {
      await db('signing_keys').where({ kid }).whereNull('certificate_pem').update({ certificate_pem: certificatePem });
    },
  };
}

/** JWK members that are private (RFC 7518 §6.2.2, §6.3.2). */
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);
