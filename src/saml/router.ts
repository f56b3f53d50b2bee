/**
 * The SAML endpoints (issue "Step 5"): the IdP's metadata, and the SingleSignOnService (`sso.ts`)
 * and SingleLogoutService (`slo.ts`) for the HTTP-Redirect and HTTP-POST bindings.
 */
import Router from '@koa/router';
import type { Context } from 'koa';

import type { SigningKey } from '../store/signing-keys.ts';
import { buildIdpMetadata, METADATA_CONTENT_TYPE } from './idp-metadata.ts';
import type { createSloEndpoint } from './slo.ts';
import type { createSsoEndpoint } from './sso.ts';

/** Options of {@link createSamlRouter}. */
export interface SamlRouterOptions {
  issuer: string;
  /** The IdP's entityID. */
  entityId: string;
  /**
   * The published signing keys, read from the key store on every call (as the provider's reload
   * does), so a rotation shows in the metadata at once on every node.
   */
  keys: () => Promise<SigningKey[]>;
  /** How long a client may cache the metadata, seconds. Defaults to 300. */
  maxAgeSeconds?: number;
  /** The SSO endpoint's handlers. */
  sso: ReturnType<typeof createSsoEndpoint>;
  /** The SLO endpoint's handlers. */
  slo: ReturnType<typeof createSloEndpoint>;
}

/** The SAML router; paths are relative to the issuer (`/saml/...`). */
export function createSamlRouter(options: SamlRouterOptions): Router {
  const { issuer, entityId, keys, maxAgeSeconds = 300, sso, slo } = options;

  async function serveMetadata(ctx: Context) {
    const xml = buildIdpMetadata({ entityId, issuer, keys: await keys() });
    ctx.type = METADATA_CONTENT_TYPE;
    // Short, so a rotation's next certificate reaches SPs soon; public, it holds nothing secret.
    ctx.set('Cache-Control', `public, max-age=${maxAgeSeconds}`);
    ctx.body = xml;
  }

  const router = new Router({ prefix: '/saml' });
  router.get('/metadata', serveMetadata);
  router.get('/sso', sso.redirect);
  router.post('/sso', ...sso.post);
  router.get('/slo', slo.redirect);
  router.post('/slo', ...slo.post);
  router.get('/slo/:id', slo.continuePosted);
  return router;
}
