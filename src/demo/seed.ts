import { randomBytes } from 'node:crypto';

import type { IdpConfig } from '../config/index.ts';
import { hashPassword } from '../auth/password-hash.ts';
import type { Storage } from '../store/index.ts';
import { DEMO_CLIENT_ID } from './router.ts';

/** What was seeded, so the start-up banner can show the password once. */
export interface DemoSeed {
  username: string;
  password: string;
  demoUrl: string;
}

/**
 * For a first run in embedded mode only: on an empty database, a demo user with a random
 * password and the demo relying party at `/demo`. Returns undefined when anything exists.
 */
export async function seedDemo(storage: Storage, config: IdpConfig): Promise<DemoSeed | undefined> {
  if ((await storage.users.count()) > 0 || (await storage.clients.count()) > 0) return undefined;
  const username = 'demo';
  const password = randomBytes(9).toString('base64url');
  const passwordHash = await hashPassword(password, config.argon2);
  await storage.db.transaction(async (trx) => {
    const user = await storage.users.add({ username, displayName: 'Demo Bruger', email: 'demo@example.invalid', passwordHash }, trx);
    await storage.clients.add({
      metadata: {
        client_id: DEMO_CLIENT_ID,
        client_name: 'Demo',
        redirect_uris: [`${config.issuer}/demo/callback`],
        post_logout_redirect_uris: [`${config.issuer}/demo`],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
      },
      level: 'low',
    }, trx);
    await storage.audit.record({ type: 'user.created', actor: 'system', userId: user.id, username, details: { seed: 'demo' } }, trx);
    await storage.audit.record({ type: 'client.created', actor: 'system', clientId: DEMO_CLIENT_ID, details: { seed: 'demo' } }, trx);
  });
  return { username, password, demoUrl: `${config.issuer}/demo` };
}
