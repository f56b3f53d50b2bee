import { generateKeyPairSync, randomUUID } from 'node:crypto';

import type { PrivateJwk, SigningKeyRepository } from '../store/signing-keys.ts';

/** The algorithms we sign with: ES256 by default, RS256 for relying parties that ask for it. */
export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;

/**
 * How long a retired key stays published. ID tokens live an hour; a day covers them and the
 * `id_token_hint` of a logout late in the working day.
 */
export const RETIRED_KEY_SECONDS = 24 * 60 * 60;

function generateJwk(alg: (typeof SIGNING_ALGORITHMS)[number]): PrivateJwk {
  const { privateKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg, use: 'sig' };
}

/** Generates a new current key per algorithm; the old ones stay published for {@link RETIRED_KEY_SECONDS}. */
export async function rotateSigningKeys(keys: SigningKeyRepository): Promise<string[]> {
  const fresh = SIGNING_ALGORITHMS.map(generateJwk);
  await keys.replaceCurrent(fresh, RETIRED_KEY_SECONDS);
  return fresh.map((jwk) => jwk.kid);
}

/**
 * The published private keys as oidc-provider's `jwks` option, generating the first ones on a
 * new database. Current keys come first, so oidc-provider signs with them.
 */
export async function loadSigningKeys(keys: SigningKeyRepository): Promise<PrivateJwk[]> {
  let published = await keys.listPublished();
  if (!published.some((key) => key.retiredAt === null)) {
    await rotateSigningKeys(keys);
    published = await keys.listPublished();
  }
  return published.map((key) => key.privateJwk);
}

/** Published on the short-lived store when keys change, so every node reloads them. */
export const KEYS_CHANGED_CHANNEL = 'keys.changed';
