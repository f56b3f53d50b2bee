import Provider, { type ClientMetadata, type Configuration, type interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

import { ACR_VALUES } from '../auth/levels.ts';
import type { AdapterFactory, AdapterPayload } from '../adapters/types.ts';
import type { UserRepository } from '../store/users.ts';
import type { PrivateJwk } from '../store/signing-keys.ts';
import { CLAIMS, createFindAccount } from './account.ts';
import { createGrantPrefetch } from './grant-prefetch.ts';
import { loadExistingGrant } from './grants.ts';
import { redeemOnce } from './single-redemption.ts';

/** Pages oidc-provider renders itself, drawn with our templates (CSP, language, accessibility). */
export interface ProviderPages {
  renderError: NonNullable<Configuration['renderError']>;
  logoutSource: (ctx: KoaContextWithOIDC, form: string) => Promise<void>;
  postLogoutSuccessSource: (ctx: KoaContextWithOIDC) => Promise<void>;
}

export interface ProviderOptions {
  issuer: string;
  adapter: AdapterFactory;
  jwks: PrivateJwk[];
  users: UserRepository;
  pages: ProviderPages;
  /** Keys that sign oidc-provider's cookies, the same on every node (derived from `SECRET_KEY`). */
  cookieKeys: string[];
  /** Secret for stateless DPoP nonces, the same on every node. */
  dpopNonceSecret: Buffer;
  /** Mark cookies `Secure` (production, https). */
  secureCookies: boolean;
  /** The interaction policy (oidc-provider's, with our step-up check: `stepUpPolicy`). Defaults to oidc-provider's. */
  policy?: interactionPolicy.Prompt[];
  /** Clients that are part of the IdP itself (self-service), fixed in configuration. */
  staticClients?: ClientMetadata[];
  /**
   * Restates a refresh token's `acr`/`amr` whenever oidc-provider reads it, so the ID token of a
   * refresh claims only factors that still count (`createRefreshTokenRestatement`). Defaults to
   * the stored values.
   */
  restateRefreshToken?: (payload: AdapterPayload) => Promise<AdapterPayload>;
}

/** Token and session lifetimes in seconds, with why. */
export const TTL = {
  /** Opaque access tokens: short, refresh tokens carry long-running access. */
  AccessToken: 10 * 60,
  AuthorizationCode: 60,
  /** Long enough for an interactive login with a second factor. */
  Interaction: 30 * 60,
  IdToken: 60 * 60,
  /** Rotated on each use; a desk PC in daily use keeps its token fresh for a working week. */
  RefreshToken: 7 * 24 * 60 * 60,
  /**
   * oidc-provider's own session: a working day, the SSO session's absolute end. What it proved
   * is ours to say (`sessions/`), which also ends sooner when idle or logged out.
   */
  Session: 10 * 60 * 60,
  Grant: 7 * 24 * 60 * 60,
  ClientCredentials: 10 * 60,
} as const;

/**
 * Builds the oidc-provider instance: authorization code with PKCE required for every client,
 * no implicit or hybrid flows, our own interaction pages (`devInteractions` off), rotating
 * refresh tokens, introspection, revocation, RP-initiated logout, client credentials.
 */
export function createProvider(options: ProviderOptions): Provider {
  const mountPath = new URL(options.issuer).pathname.replace(/\/$/, '');
  const provider = new Provider(options.issuer, {
    adapter: adapterClass(options.adapter, options.restateRefreshToken),
    clients: options.staticClients ?? [],
    jwks: { keys: options.jwks as never[] },
    findAccount: createFindAccount(options.users),
    claims: CLAIMS,
    acrValues: Object.values(ACR_VALUES),
    responseTypes: ['code'],
    // OWASP ASVS 5.0 10.4.6 and OAuth 2.1: PKCE for every client, confidential ones too.
    pkce: { required: () => true },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_basic',
      // Every ID token says when the authentication its acr rests on took place (OIDC Core §2),
      // so a relying party can judge its age itself; stored clients get it too, since
      // oidc-provider fills metadata a client lacks from these defaults.
      require_auth_time: true,
    },
    enabledJWA: { idTokenSigningAlgValues: ['ES256', 'RS256'] },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: ownTokensOnly },
      revocation: { enabled: true, allowedPolicy: ownTokensOnly },
      userinfo: { enabled: true },
      dPoP: { enabled: true, nonceSecret: options.dpopNonceSecret },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: options.pages.logoutSource,
        postLogoutSuccessSource: options.pages.postLogoutSuccessSource,
      },
    },
    // Municipal systems are registered by IT, so the employee is not asked to consent.
    loadExistingGrant,
    // Every client allowed the refresh_token grant gets one, without `offline_access`: the
    // systems are first-party and their sessions are short.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: { ...TTL },
    cookies: {
      keys: options.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax', secure: options.secureCookies },
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure: options.secureCookies },
    },
    interactions: { ...(options.policy ? { policy: options.policy } : {}), url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}` },
    // Browser apps may call the token endpoint from the origin of one of their redirect URIs.
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris?.some((uri) => new URL(uri).origin === origin) ?? false,
    renderError: options.pages.renderError,
  });
  return provider;
}

/** A client may introspect and revoke the tokens issued to it, no one else's. */
async function ownTokensOnly(_ctx: unknown, client: { clientId: string }, token: { clientId?: string | undefined }) {
  return token.clientId === client.clientId;
}

/**
 * oidc-provider wants an adapter class constructed per model name; ours are factories, whose
 * codes and refresh tokens are made redeemable once ({@link redeemOnce}), whose refresh tokens
 * are read with their grant ({@link createGrantPrefetch}) and restated.
 */
function adapterClass(factory: AdapterFactory, restateRefreshToken: ProviderOptions['restateRefreshToken']) {
  const grantPrefetch = createGrantPrefetch();
  return function ModelAdapter(this: unknown, model: string) {
    const adapter = redeemOnce(factory, model);
    if (model === 'Grant') return grantPrefetch.grants(adapter);
    if (model !== 'RefreshToken') return adapter;
    const store = factory(model);
    return {
      ...adapter,
      find: async (id: string) => {
        const payload = await grantPrefetch.find(store, id);
        return payload && restateRefreshToken ? restateRefreshToken(payload) : payload;
      },
    };
  } as unknown as NonNullable<Configuration['adapter']>;
}
