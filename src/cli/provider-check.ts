import { generateKeyPairSync, randomBytes } from 'node:crypto';

import type { ClientMetadata } from 'oidc-provider';

import { createProvider } from '../provider/index.ts';
import { SIGNING_ALGORITHMS } from '../crypto/signing-keys.ts';
import type { PrivateJwk } from '../store/signing-keys.ts';
import type { UserRepository } from '../store/users.ts';
import { CliError } from './errors.ts';

/**
 * Checks client metadata exactly as the running provider will when it loads the client: a
 * throwaway provider is built with the server's own `createProvider()` configuration (features,
 * algorithms, client defaults) and its static `Client.validate()` is asked. Nothing is stored
 * and nothing listens; the provider is dropped when this returns.
 *
 * The provider only offers an id_token signing algorithm it holds a key for, so it gets a
 * throwaway key per algorithm the server signs with.
 */
export async function validateClientMetadata(issuer: string, metadata: ClientMetadata): Promise<void> {
  const provider = createProvider({
    issuer,
    adapter: () => {
      throw new Error('the metadata check stores nothing');
    },
    jwks: SIGNING_ALGORITHMS.map(throwawayJwk),
    users: {} as UserRepository,
    pages: { renderError: async () => {}, logoutSource: async () => {}, postLogoutSuccessSource: async () => {} },
    cookieKeys: [randomBytes(32).toString('base64url')],
    dpopNonceSecret: randomBytes(32),
    secureCookies: false,
  });
  try {
    await provider.Client.validate(metadata);
  } catch (error) {
    const { error: code, error_description: description } = error as { error?: string; error_description?: string };
    if (code === 'invalid_client_metadata' || code === 'invalid_redirect_uri') {
      throw new CliError('invalid_input', `the provider would refuse this client: ${description ?? code}`, { cause: error });
    }
    throw error;
  }
}

function throwawayJwk(alg: (typeof SIGNING_ALGORITHMS)[number]): PrivateJwk {
  const { privateKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `check-${alg}`, alg, use: 'sig' };
}
