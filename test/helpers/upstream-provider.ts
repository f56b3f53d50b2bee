import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import Koa from 'koa';
import mount from 'koa-mount';
import Provider, { type JWK } from 'oidc-provider';

const NSIS_LEVELS = ['Low', 'Substantial', 'High'].map((level) => `https://data.gov.dk/concept/core/nsis/loa/${level}`);

/** oidc-provider's storage in a map of one upstream's own (and without its warning about the default one). */
function mapAdapter() {
  const records = new Map<string, Record<string, unknown>>();
  return class MapAdapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: Record<string, unknown>) {
      records.set(`${this.model}:${id}`, payload);
    }

    async find(id: string) {
      return records.get(`${this.model}:${id}`);
    }

    async findByUid(uid: string) {
      return [...records.values()].find((payload) => payload.uid === uid);
    }

    async findByUserCode() {
      return undefined;
    }

    async consume(id: string) {
      const payload = records.get(`${this.model}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id: string) {
      records.delete(`${this.model}:${id}`);
    }

    async revokeByGrantId(grantId: string) {
      for (const [key, payload] of records) if (payload.grantId === grantId) records.delete(key);
    }
  };
}

/** The person at the upstream's login (MitID, in life): who they are, and the level they log in at. */
export interface UpstreamPerson {
  sub: string;
  acr: string;
  /** Claims beside `sub`, released by the scopes `person` (`person_uuid`) and `email`. */
  claims: Record<string, unknown>;
}

/** A running upstream OpenID provider for identity verification tests. */
export interface RunningUpstream {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who logs in at the next authorization request; each request is a fresh login (`prompt=login`). */
  person: UpstreamPerson;
  /** Registers our IdP's redirect URI and starts answering; until then only the port is open. */
  register(redirectUri: string): void;
  stop(): Promise<void>;
}

/**
 * A small upstream provider of our own (issue 9's tests): a bare oidc-provider with one
 * confidential client (the IdP under test, `client_secret_basic`, PKCE required), whose
 * interaction logs `person` in without a page, as a broker does after MitID. Its cookies have
 * names of their own, since the test browser keeps one jar for every host.
 */
export async function startUpstream(): Promise<RunningUpstream> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'stepup-identity';
  const clientSecret = randomBytes(32).toString('base64url');
  const signingKey = { ...(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as JWK), kid: 'upstream', alg: 'RS256', use: 'sig' };
  const accounts = new Map<string, Record<string, unknown>>();
  const cookieKeys = [randomBytes(32).toString('base64url')];

  const upstream: RunningUpstream = {
    issuer,
    clientId,
    clientSecret,
    person: { sub: 'nobody', acr: '', claims: {} },
    register(redirectUri) {
      const provider = new Provider(issuer, {
        clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code'], response_types: ['code'] }],
        jwks: { keys: [signingKey] },
        // The NSIS levels, so the ID token carries the `acr` the person logged in at.
        acrValues: NSIS_LEVELS,
        claims: { acr: null, auth_time: null, sid: null, openid: ['sub'], person: ['person_uuid'], email: ['email', 'email_verified'] },
        findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, ...accounts.get(sub) }) }),
        adapter: mapAdapter(),
        ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 600, IdToken: 600, Interaction: 600, Session: 600 },
        features: { devInteractions: { enabled: false } },
        interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
        cookies: { keys: cookieKeys, names: { session: 'upstream_session', interaction: 'upstream_interaction', resume: 'upstream_resume' } },
        pkce: { required: () => true },
      });
      // Mounted, the provider sets its cookies in this app's jar, so that signs with its keys.
      const app = new Koa({ keys: cookieKeys });
      app.use(async (ctx, next) => {
        if (!ctx.path.startsWith('/interaction/')) return next();
        const details = await provider.interactionDetails(ctx.req, ctx.res);
        const { sub, acr, claims } = upstream.person;
        accounts.set(sub, claims);
        const grant = new provider.Grant({ accountId: sub, clientId });
        grant.addOIDCScope(String(details.params.scope));
        const grantId = await grant.save();
        await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: sub, acr }, consent: { grantId } }, { mergeWithLastSubmission: false });
        ctx.respond = false;
      });
      app.use(mount(provider));
      server.on('request', app.callback());
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return upstream;
}
