import type { Account, FindAccount } from 'oidc-provider';

import type { UserRepository } from '../store/users.ts';

/**
 * oidc-provider's account lookup. `sub` is the user's id (opaque, stable across renames). A
 * locked user has no account, which also ends their SSO session at the next request.
 */
export function createFindAccount(users: UserRepository): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    const user = await users.findById(sub);
    if (!user || user.status !== 'active') return undefined;
    return {
      accountId: user.id,
      claims: async () => ({
        sub: user.id,
        name: user.displayName ?? user.username,
        preferred_username: user.username,
        ...(user.email ? { email: user.email } : {}),
      }),
    };
  };
}

/**
 * Scopes and the claims each releases (OIDC Core §5.4). `acr` and `amr` belong to `openid`,
 * so every ID token says how the user logged in whether or not the client asked.
 */
export const CLAIMS = {
  auth_time: null,
  sid: null,
  openid: ['sub', 'acr', 'amr'],
  profile: ['name', 'preferred_username'],
  email: ['email'],
};
