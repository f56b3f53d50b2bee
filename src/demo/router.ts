import Router from '@koa/router';
import type { Context } from 'koa';
import * as client from 'openid-client';

import { ACR_VALUES } from '../auth/levels.ts';
import type { Renderer } from '../http/render.ts';

/** The demo relying party's registration, seeded in embedded mode (see `seed.ts`). */
export const DEMO_CLIENT_ID = 'demo';

const TRANSACTION_COOKIE = 'stepup_demo_tx';

/**
 * A small relying party served by the IdP itself at `/demo`, so a newcomer sees a whole login:
 * it runs a real authorization-code + PKCE flow with openid-client against this issuer over
 * HTTP, as any municipal system would, and shows the ID token's claims.
 */
export function createDemoRouter(options: { issuer: string; render: Renderer }): Router {
  const router = new Router();
  const redirectUri = `${options.issuer}/demo/callback`;
  let configuration: Promise<client.Configuration> | undefined;
  const discover = () => {
    configuration ??= client.discovery(new URL(options.issuer), DEMO_CLIENT_ID, undefined, client.None(), {
      execute: new URL(options.issuer).protocol === 'http:' ? [client.allowInsecureRequests] : [],
    }).catch((error: unknown) => {
      configuration = undefined;
      throw error;
    });
    return configuration;
  };
  const cookieOptions = (ctx: Context) => ({ httpOnly: true, sameSite: 'lax' as const, signed: true, secure: ctx.secure, path: new URL(redirectUri).pathname.replace(/\/callback$/, '') });

  router.get('/demo', (ctx) => {
    options.render(ctx, 'demo', { loginHref: 'demo/login', substantialHref: 'demo/login?level=substantial' });
  });

  router.get('/demo/login', async (ctx) => {
    const config = await discover();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    ctx.cookies.set(TRANSACTION_COOKIE, JSON.stringify({ codeVerifier, state }), { ...cookieOptions(ctx), maxAge: 10 * 60 * 1000 });
    const level = ctx.query.level === 'substantial' ? 'substantial' : 'low';
    ctx.redirect(client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      acr_values: ACR_VALUES[level],
    }).href);
  });

  router.get('/demo/callback', async (ctx) => {
    const config = await discover();
    const transaction = ctx.cookies.get(TRANSACTION_COOKIE, { signed: true });
    ctx.cookies.set(TRANSACTION_COOKIE, null, cookieOptions(ctx));
    if (!transaction) return ctx.redirect('../demo');
    const { codeVerifier, state } = JSON.parse(transaction) as { codeVerifier: string; state: string };
    const currentUrl = new URL(ctx.originalUrl, new URL(options.issuer).origin);
    const tokens = await client.authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: codeVerifier, expectedState: state });
    const claims = tokens.claims() ?? { sub: '' };
    const idToken = tokens.id_token as string;
    const header = JSON.parse(Buffer.from(idToken.split('.')[0] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    const rows = (entries: object) => Object.entries(entries).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]);
    options.render(ctx, 'demo', {
      claims: rows(claims),
      userinfo: rows(userinfo),
      header: JSON.stringify(header),
      logoutHref: client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: `${options.issuer}/demo` }).href,
      loginHref: 'login',
      substantialHref: 'login?level=substantial',
    });
  });

  return router;
}
