import * as client from 'openid-client';

import type { IdentityUpstream } from '../config/index.ts';

/** Why the upstream gave no identity: it could not be reached, or it answered with an error or something invalid. */
export type UpstreamFailure = 'upstream_unavailable' | 'upstream_error';

/** The upstream did not give an identity; `reason` is for the audit log, `cause` for the server log. */
export class UpstreamError extends Error {
  readonly reason: UpstreamFailure;

  constructor(reason: UpstreamFailure, options: { cause?: unknown } = {}) {
    super(`identity upstream: ${reason}`, options);
    this.name = 'UpstreamError';
    this.reason = reason;
  }
}

/** What one verification carries from the authorization request to the callback. */
export interface UpstreamChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** What the upstream said about the person: its ID token's claims, and its userinfo when the claim is not in the ID token. */
export interface UpstreamIdentity {
  idToken: Readonly<Record<string, unknown>>;
  userinfo?: Readonly<Record<string, unknown>> | undefined;
}

/** The upstream OpenID provider (MitID through a broker), as a confidential client with PKCE. */
export interface UpstreamIdentityProvider {
  /** Where to send the browser. Throws {@link UpstreamError} `upstream_unavailable` when discovery fails. */
  authorizationUrl(checks: UpstreamChecks): Promise<URL>;
  /** The origin of its authorization endpoint (the page's CSP `form-action` must allow it), or undefined while it cannot be discovered. */
  authorizationOrigin(): Promise<string | undefined>;
  /**
   * Redeems the code of the callback (`params`, its query) and checks the ID token: signature,
   * `iss`, `aud`, `exp`, `nonce` (OIDC Core §3.1.3.7), and the PKCE verifier at the token
   * endpoint (RFC 7636 §4.6). Throws {@link UpstreamError}.
   */
  redeem(params: URLSearchParams, checks: UpstreamChecks): Promise<UpstreamIdentity>;
}

/** Errors that mean the upstream could not be reached or did not answer in time, rather than answered wrongly. */
function unreachable(error: unknown): boolean {
  const name = (error as { name?: unknown } | undefined)?.name;
  return (error instanceof TypeError && error.message === 'fetch failed') || name === 'TimeoutError' || name === 'AbortError';
}

/**
 * An {@link UpstreamIdentityProvider} with openid-client: discovery once per instance (again
 * after a failure), the authorization code flow with PKCE S256, `state` and `nonce`, the
 * client secret sent with HTTP Basic, `prompt=login`, and `acr_values` asking for the levels we
 * accept (voluntary for the upstream, so the ID token's `acr` is checked after, `identity/check.ts`).
 */
export function createUpstreamIdentityProvider(options: {
  upstream: IdentityUpstream;
  /** Ours: `{ISSUER}/selfservice/verify/callback`, registered at the upstream. */
  redirectUri: string;
  /** Seconds an HTTP request to the upstream may take. Defaults to 10. */
  timeoutSeconds?: number;
}): UpstreamIdentityProvider {
  const { upstream, redirectUri } = options;
  let configuration: Promise<client.Configuration> | undefined;
  const discover = () => {
    configuration ??= client.discovery(new URL(upstream.issuer), upstream.clientId, undefined, client.ClientSecretBasic(upstream.clientSecret), {
      // Plain http only outside production (config/index.ts refuses it there), for tests and development.
      execute: new URL(upstream.issuer).protocol === 'http:' ? [client.allowInsecureRequests] : [],
      timeout: options.timeoutSeconds ?? 10,
    }).catch((error: unknown) => {
      configuration = undefined;
      throw new UpstreamError('upstream_unavailable', { cause: error });
    });
    return configuration;
  };

  return {
    async authorizationOrigin() {
      const endpoint = await discover().then((config) => config.serverMetadata().authorization_endpoint, () => undefined);
      return endpoint && new URL(endpoint).origin;
    },

    async authorizationUrl({ state, nonce, codeVerifier }) {
      return client.buildAuthorizationUrl(await discover(), {
        redirect_uri: redirectUri,
        scope: upstream.scope,
        response_type: 'code',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        acr_values: upstream.acrValues.join(' '),
        // A verification is a login now, never the upstream's single sign-on from earlier, which
        // on a shared computer could be someone else's (OIDC Core §3.1.2.1).
        prompt: 'login',
      });
    },

    async redeem(params, { state, nonce, codeVerifier }) {
      const config = await discover();
      try {
        // Our redirect URI with the query it was called with: openid-client reads the response
        // from it and sends it, less the query, as the token request's redirect_uri (RFC 6749 §4.1.3).
        const callback = new URL(redirectUri);
        callback.search = params.toString();
        const tokens = await client.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: codeVerifier,
          expectedState: state,
          expectedNonce: nonce,
        });
        const idToken = tokens.claims() as Readonly<Record<string, unknown>>;
        if (upstream.claim in idToken) return { idToken };
        // OIDC Core §5.4: claims asked for by scope may come only from userinfo when an access
        // token is issued; its `sub` must be the ID token's (§5.3.2).
        const userinfo = await client.fetchUserInfo(config, tokens.access_token, String(idToken.sub));
        return { idToken, userinfo: userinfo as Readonly<Record<string, unknown>> };
      } catch (error) {
        throw new UpstreamError(unreachable(error) ? 'upstream_unavailable' : 'upstream_error', { cause: error });
      }
    },
  };
}
