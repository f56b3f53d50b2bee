import Router from '@koa/router';
import * as client from 'openid-client';

import { ACR_VALUES } from '../auth/levels.ts';
import { createOwnClient } from '../http/own-client.ts';
import type { Renderer } from '../http/render.ts';

/** The demo relying party's registration, seeded in embedded mode (see `seed.ts`). */
export const DEMO_CLIENT_ID = 'demo';

/**
 * A small relying party served by the IdP itself at `/demo`, so a newcomer sees a whole login:
 * a real authorization-code + PKCE flow against this issuer, ending with the ID token's claims
 * and what userinfo says.
 */
export function createDemoRouter(options: { issuer: string; render: Renderer }): Router {
  const router = new Router();
  const rp = createOwnClient({ issuer: options.issuer, clientId: DEMO_CLIENT_ID, path: '/demo' });
  const rows = (entries: object) => Object.entries(entries).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]);

  router.get('/demo', (ctx) => {
    options.render(ctx, 'demo', { loginHref: 'demo/login', substantialHref: 'demo/login?level=substantial' });
  });

  router.get('/demo/login', async (ctx) => {
    await rp.begin(ctx, { acr_values: ACR_VALUES[ctx.query.level === 'substantial' ? 'substantial' : 'low'] });
  });

  router.get('/demo/callback', async (ctx) => {
    const tokens = await rp.finish(ctx);
    if (!tokens) return ctx.redirect('../demo');
    const config = await rp.configuration();
    const claims = tokens.claims() ?? { sub: '' };
    const idToken = tokens.id_token as string;
    const header = JSON.parse(Buffer.from(idToken.split('.')[0] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
    options.render(ctx, 'demo', {
      claims: rows(claims),
      userinfo: rows(await client.fetchUserInfo(config, tokens.access_token, claims.sub)),
      header: JSON.stringify(header),
      logoutHref: client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: `${options.issuer}/demo` }).href,
      loginHref: 'login',
      substantialHref: 'login?level=substantial',
    });
  });

  return router;
}
