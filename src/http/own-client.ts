import type { Context } from 'koa';
import * as client from 'openid-client';

/** A relying party that the IdP runs itself (the demo, self-service), talking to its own issuer. */
export interface OwnClient {
  /** Sends the browser to the authorization endpoint with PKCE; `params` adds e.g. `acr_values`. */
  begin(ctx: Context, params?: Record<string, string>): Promise<void>;
  /** Completes the callback: checks state, exchanges the code; undefined without a transaction. */
  finish(ctx: Context): Promise<(client.TokenEndpointResponse & client.TokenEndpointResponseHelpers) | undefined>;
  configuration(): Promise<client.Configuration>;
}

/**
 * A public client of this IdP served under `path` (`/demo`, `/selfservice`): a real
 * authorization-code + PKCE flow with openid-client over HTTP, as any municipal system runs
 * it. The PKCE verifier and state wait in a signed, HttpOnly cookie scoped to `path`.
 */
export function createOwnClient(options: { issuer: string; clientId: string; path: string }): OwnClient {
  const redirectUri = `${options.issuer}${options.path}/callback`;
  const cookie = `stepup_tx${options.path.replace(/\W/g, '_')}`;
  const cookieOptions = (ctx: Context) => ({
    httpOnly: true,
    sameSite: 'lax' as const,
    signed: true,
    secure: ctx.secure,
    path: `${new URL(options.issuer).pathname.replace(/\/$/, '')}${options.path}`,
  });
  let configuration: Promise<client.Configuration> | undefined;
  const discover = () => {
    configuration ??= client.discovery(new URL(options.issuer), options.clientId, undefined, client.None(), {
      execute: new URL(options.issuer).protocol === 'http:' ? [client.allowInsecureRequests] : [],
    }).catch((error: unknown) => {
      configuration = undefined;
      throw error;
    });
    return configuration;
  };

  return {
    configuration: discover,
    async begin(ctx, params = {}) {
      const config = await discover();
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      ctx.cookies.set(cookie, JSON.stringify({ codeVerifier, state }), { ...cookieOptions(ctx), maxAge: 10 * 60 * 1000 });
      ctx.redirect(client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid profile email',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        ...params,
      }).href);
    },
    async finish(ctx) {
      const config = await discover();
      const transaction = ctx.cookies.get(cookie, { signed: true });
      ctx.cookies.set(cookie, null, cookieOptions(ctx));
      if (!transaction) return undefined;
      const { codeVerifier, state } = JSON.parse(transaction) as { codeVerifier: string; state: string };
      const currentUrl = new URL(ctx.originalUrl, new URL(options.issuer).origin);
      return client.authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: codeVerifier, expectedState: state });
    },
  };
}
