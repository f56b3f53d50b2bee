import type { Knex } from 'knex';

import type { SecretBox } from '../crypto/secret-box.ts';

/** A private JWK as oidc-provider's `jwks` option takes it. */
export type PrivateJwk = Record<string, unknown> & { kid: string; alg: string };

export interface SigningKey {
  kid: string;
  alg: string;
  privateJwk: PrivateJwk;
  createdAt: Date;
  retiredAt: Date | null;
}

interface KeyRow {
  kid: string;
  alg: string;
  private_jwk_sealed: string;
  created_at: Date;
  retired_at: Date | null;
}

export interface SigningKeyRepository {
  /** Keys still published: the current ones first (newest first), then retired ones. */
  listPublished(): Promise<SigningKey[]>;
  /** Retires the current keys (published for `retainSeconds` more) and adds the new ones, in one transaction. */
  replaceCurrent(keys: PrivateJwk[], retainSeconds: number): Promise<void>;
}

/** A {@link SigningKeyRepository} on `signing_keys`; private parts are sealed with `SECRET_KEY`. */
export function createSigningKeyRepository(db: Knex, box: SecretBox): SigningKeyRepository {
  const context = (kid: string) => `signing_keys.private_jwk:${kid}`;
  return {
    async listPublished() {
      const rows = (await db<KeyRow>('signing_keys')
        .where((q) => q.whereNull('unpublish_at').orWhere('unpublish_at', '>', db.fn.now()))
        .orderByRaw('retired_at IS NOT NULL, created_at DESC, kid')) as KeyRow[];
      return rows.map((row) => ({
        kid: row.kid,
        alg: row.alg,
        privateJwk: JSON.parse(box.open(row.private_jwk_sealed, context(row.kid)).toString('utf8')) as PrivateJwk,
        createdAt: row.created_at,
        retiredAt: row.retired_at,
      }));
    },
    async replaceCurrent(keys, retainSeconds) {
      await db.transaction(async (trx) => {
        await trx('signing_keys')
          .whereNull('retired_at')
          .update({ retired_at: trx.fn.now(), unpublish_at: trx.raw(`now() + make_interval(secs => ?)`, [retainSeconds]) });
        for (const jwk of keys) {
          const { kid, alg, ...rest } = jwk;
          const publicJwk = Object.fromEntries(Object.entries({ kid, alg, ...rest }).filter(([name]) => !PRIVATE_MEMBERS.has(name)));
          await trx('signing_keys').insert({
            kid,
            alg,
            public_jwk: JSON.stringify(publicJwk),
            private_jwk_sealed: box.seal(JSON.stringify(jwk), context(kid)),
          });
        }
      });
    },
  };
}

/** JWK members that are private (RFC 7518 §6.2.2, §6.3.2). */
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);
