import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import type { SsoSessions } from '../sessions/sso-sessions.ts';

/**
 * Ends our SSO session when the user logs out of the IdP at `/session/end` (RP-initiated
 * logout, "log out of all"), so no protocol logs them in from it afterwards. "Stay logged in"
 * (no `logout` parameter) ends only that relying party's part of oidc-provider's session, and
 * ours stays. Wraps oidc-provider's routes: the confirmation is its action.
 */
export function endSsoSessionOnLogout(sessions: SsoSessions): Middleware {
  return async (ctx: Context, next: Next) => {
    await next();
    const oidc = (ctx as unknown as Partial<KoaContextWithOIDC>).oidc;
    const loggedOut = oidc?.route === 'end_session_confirm' && Boolean(oidc.params?.logout) && ctx.status >= 300 && ctx.status < 400;
    if (loggedOut) await sessions.end(ctx);
  };
}

/**
 * Ends oidc-provider's session of the browser the way its logout of all does
 * (`end_session_confirm` with `logout`): the session is destroyed and its cookie cleared. For a
 * logout that arrives another way (SAML single logout), so that the two sessions end together.
 * Unlike that logout, it leaves the relying parties' grants and tokens: telling them is logout
 * propagation, which is not built yet.
 */
export async function endProviderSession(provider: Provider, ctx: Context): Promise<void> {
  const session = await provider.Session.get(ctx);
  await session.destroy();
  ctx.cookies.set(provider.cookieName('session'), null, { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.secure });
}
