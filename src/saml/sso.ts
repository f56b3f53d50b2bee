/**
 * The SingleSignOnService (SAML profiles §4.1.4.1; issue "Step 5", "SP-initiated SSO"): an
 * AuthnRequest over HTTP-Redirect or HTTP-POST passes every check here, becomes a SAML flow, and
 * the browser goes to the same interaction pages as an OIDC login. A refused request is an error
 * page and an audit event, never a redirect: nothing in it is trusted until it all checked out.
 */
import type { Context, Middleware } from 'koa';

import type { AuditLog } from '../store/audit.ts';
import type { ServiceProviderRepository } from '../store/service-providers.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import { checkAuthnRequest, readAuthnRequest } from './authn-request.ts';
import { bindingEndpoint, checkSignature, createRequestIntake, openRequest, Refusal, type ReceivedRequest } from './incoming-request.ts';
import { STATUS } from './response.ts';
import type { SamlFlowProtocol } from './saml-flow.ts';

/** Options of {@link createSsoEndpoint}. */
export interface SsoEndpointOptions {
  serviceProviders: ServiceProviderRepository;
  store: ShortLivedStore;
  audit: AuditLog;
  flows: SamlFlowProtocol;
  /** How far IssueInstant may be from our clock, seconds (`SAML_CLOCK_SKEW_SECONDS`). */
  skewSeconds: number;
  /** This endpoint's URL, `{issuer}/saml/sso`, which a request's Destination must name. */
  ssoUrl: string;
  basePath: string;
  now: () => number;
}

/** The SSO endpoint's two handlers, for `GET` (HTTP-Redirect) and `POST` (HTTP-POST) `/saml/sso`. */
export function createSsoEndpoint(options: SsoEndpointOptions): { redirect: Middleware; post: Middleware[] } {
  const { flows, skewSeconds, now } = options;
  const intake = createRequestIntake(options);

  /** Every check, in order; the request's ID is claimed last, so a refused request burns none. */
  async function acceptRequest(received: ReceivedRequest) {
    const document = openRequest(received);
    const read = readAuthnRequest(document);
    if (!read.ok) throw new Refusal(read.reason);
    const { request } = read;
    const sp = await intake.serviceProvider(request.Issuer);
    // Required when the SP's metadata (AuthnRequestsSigned) or its registration
    // (`--require-signed-requests`) says so; verified whenever there is one.
    checkSignature(received, document, sp, { required: sp.metadata.authnRequestsSigned || sp.requireSignedRequests });
    const checked = checkAuthnRequest({ request, sp, now: now(), skewSeconds, destination: options.ssoUrl });
    if (!checked.ok) throw new Refusal(checked.reason, sp.entityId);
    await intake.claimId(sp, request.ID);
    return { request, sp, acs: checked.acs, assurance: checked.assurance };
  }

  async function startFlow(ctx: Context, received: ReceivedRequest) {
    const { request, sp, acs, assurance } = await acceptRequest(received);
    const target = { requestId: request.ID, spEntityId: sp.entityId, acs, RelayState: received.RelayState };
    if (!assurance) return flows.refuse(ctx, target, STATUS.noAuthnContext);
    const uid = await flows.start({ ...target, assurance, forceLogin: request.ForceAuthn, passive: request.IsPassive });
    ctx.status = 303;
    ctx.redirect(`${options.basePath}/interaction/${uid}`);
  }

  return bindingEndpoint({ audit: options.audit, refusedEvent: 'saml.request_refused', refusedError: 'saml_request_refused', handle: startFlow });
}
