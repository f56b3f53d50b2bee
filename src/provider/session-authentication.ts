import type { Context, Middleware, Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

import type { SessionAuthentication } from '../auth/step-up.ts';
import type { AuthenticationStore } from '../store/authentications.ts';

/**
 * Keeps what a finished login proved under the SSO session's uid, once oidc-provider has resumed
 * the authorization request and the session (new or not) is known. Wraps the provider's routes.
 */
export function rememberSessionAuthentication(options: { authentications: AuthenticationStore; ttlSeconds: number }): Middleware {
  return async (ctx: Context, next: Next) => {
    await next();
    const oidc = (ctx as unknown as Partial<KoaContextWithOIDC>).oidc;
    const proven = (oidc?.result as { authentication?: SessionAuthentication } | undefined)?.authentication;
    const session = oidc?.session;
    if (proven && session?.uid && session.accountId === proven.accountId) {
      await options.authentications.saveForSession(session.uid, proven, options.ttlSeconds);
    }
  };
}
