/**
 * The yardstick: bare oidc-provider 9 with its in-memory adapter, one static client and the
 * features ours has on the token endpoint (client credentials, rotating refresh tokens, ES256 ID
 * tokens, PKCE), in a process of its own. Logins go through its development interactions (any
 * username and password). Started by bench/run.ts: `node bench/bare-provider.ts` with PORT; it
 * prints "ready" when it listens.
 */
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

import { BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_REDIRECT_URI } from './client.ts';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [{
    client_id: BENCH_CLIENT_ID,
    client_secret: BENCH_CLIENT_SECRET,
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    redirect_uris: [BENCH_REDIRECT_URI],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [{ ...signingKey, kid: 'bench', alg: 'ES256', use: 'sig' }] as never[] },
  features: { clientCredentials: { enabled: true } },
  // As ours: a refresh token for every client allowed the grant, rotated on each use.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  cookies: { keys: ['bench-cookie-key-that-is-long-enough'] },
});
provider.listen(port, '127.0.0.1', () => console.log('ready'));
