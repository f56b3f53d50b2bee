import { randomBytes } from 'node:crypto';

import type { IdpConfig } from '../config/index.ts';
import { hashPassword } from '../auth/password-hash.ts';
import type { Storage } from '../store/index.ts';
import { DEMO_CLIENT_ID } from './router.ts';

/** The demo user's username. */
export const DEMO_USERNAME = 'demo';

/** What was seeded, so the start-up banner can show a new password once. */
export interface DemoSeed {
  demoUrl: string;
  /** Whether the demo relying party was missing and has been added. */
  clientAdded: boolean;
  /** The demo user, when it was missing and has been added: the only time its password is known. */
  userAdded?: { username: string; password: string };
}

/**
 * For embedded mode only: makes sure the demo relying party at `/demo` and the demo user exist,
 * each added when it is missing, so `/demo` works however the database was filled before the
 * first start (`stepup migrate` and `stepup user add` first left it ending in `invalid_client`).
 * A user named `demo` that someone else added is left as it is.
 */
export async function seedDemo(storage: Storage, config: IdpConfig): Promise<DemoSeed> {
  const demoUrl = `${config.issuer}/demo`;
  let clientAdded = false;
  if (!(await storage.clients.find(DEMO_CLIENT_ID))) {
    await storage.db.transaction(async (trx) => {
      await storage.clients.add({
        metadata: {
          client_id: DEMO_CLIENT_ID,
          client_name: 'Demo',
          redirect_uris: [`${config.issuer}/demo/callback`],
          post_logout_redirect_uris: [demoUrl],
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
        },
        level: 'low',
      }, trx);
      await storage.audit.record({ type: 'client.created', actor: 'system', clientId: DEMO_CLIENT_ID, details: { seed: 'demo' } }, trx);
    });
    clientAdded = true;
  }
  if (await storage.users.findByUsername(DEMO_USERNAME)) return { demoUrl, clientAdded };

  const password = randomBytes(9).toString('base64url');
  const passwordHash = await hashPassword(password, config.argon2);
  await storage.db.transaction(async (trx) => {
    const user = await storage.users.add({ username: DEMO_USERNAME, displayName: 'Demo Bruger', email: 'demo@example.invalid', passwordHash }, trx);
    await storage.audit.record({ type: 'user.created', actor: 'system', userId: user.id, username: DEMO_USERNAME, details: { seed: 'demo' } }, trx);
  });
  return { demoUrl, clientAdded, userAdded: { username: DEMO_USERNAME, password } };
}
