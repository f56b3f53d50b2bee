/**
 * The SingleLogoutService (SAML profiles §4.4; issue "Step 5", "Single logout"): an SP-initiated
 * LogoutRequest over HTTP-Redirect or HTTP-POST passes the checks every request gets
 * (`incoming-request.ts`), must be signed, and ends the browser's SSO session when it names a
 * principal the session gave that SP; the SP gets a signed LogoutResponse at its
 * SingleLogoutService from its metadata. A refused request is an error page and an audit event,
 * never a redirect, and ends nothing. Logging out the session's other SPs (IdP-initiated
 * LogoutRequests, profiles §4.4.3.3) is not built yet: their sessions end at their own idle times.
 */
import { randomBytes } from 'node:crypto';

import type { Context } from 'koa';

import { requestState } from '../http/context.ts';
import { IdpError } from '../http/errors.ts';
import type { Renderer } from '../http/render.ts';
import type { SsoSessions } from '../sessions/sso-sessions.ts';
import type { AuditLog } from '../store/audit.ts';
import type { ServiceProviderRepository } from '../store/service-providers.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import type { SigningKey } from '../store/signing-keys.ts';
import { samlSigningKeys } from './idp-metadata.ts';
import { bindingEndpoint, checkSignature, createRequestIntake, openRequest, Refusal, type ReceivedRequest } from './incoming-request.ts';
import { checkLogoutRequest, issuedInSession, readLogoutRequest, type LogoutRequest, type LogoutResponseEndpoint } from './logout-request.ts';
import { buildLogoutResponse } from './logout-response.ts';
import { sendResponse } from './outgoing-message.ts';

/** Options of {@link createSloEndpoint}. */
export interface SloEndpointOptions {
  /** The IdP's entityID (the LogoutResponse's Issuer). */
  entityId: string;
  /** Our SingleLogoutService URL, `{issuer}/saml/slo`, which a request's Destination must name. */
  sloUrl: string;
  serviceProviders: ServiceProviderRepository;
  store: ShortLivedStore;
  audit: AuditLog;
  /** The browser's SSO session and the relying parties it answered. */
  sessions: Pick<SsoSessions, 'current'>;
  /** Ends the browser's SSO session: ours, and oidc-provider's, as the OIDC logout does. */
  endSession: (ctx: Context) => Promise<void>;
  /** The signing keys (the current RSA key signs). */
  keys: () => Promise<SigningKey[]>;
  render: Renderer;
  /** How far IssueInstant may be from our clock, seconds (`SAML_CLOCK_SKEW_SECONDS`). */
  skewSeconds: number;
  basePath: string;
  now: () => number;
}

/** A checked LogoutRequest: whom it names, and where and how the answer goes. */
interface AcceptedLogout {
  requestId: string;
  spEntityId: string;
  NameID: LogoutRequest['NameID'];
  SessionIndex: string[];
  endpoint: LogoutResponseEndpoint;
  RelayState: string | undefined;
}

/**
 * How long a POSTed request waits for the browser to come back with its cookies, seconds: the
 * browser follows our 303 at once.
 */
const POSTED_LOGOUT_TTL_SECONDS = 120;

const postedKey = (id: string) => `saml:logout:${id}`;

/** The SLO endpoint's handlers: `GET /saml/slo` (HTTP-Redirect), `POST /saml/slo` (HTTP-POST), and `GET /saml/slo/:id`, where a POSTed request is acted on. */
export function createSloEndpoint(options: SloEndpointOptions) {
  const { store, audit, sessions, now } = options;
  const intake = createRequestIntake(options);

  /** Every check, in order; the request's ID is claimed last, so a refused request burns none. */
  async function acceptRequest(received: ReceivedRequest): Promise<AcceptedLogout> {
    const document = openRequest(received);
    const read = readLogoutRequest(document);
    if (!read.ok) throw new Refusal(read.reason);
    const { request } = read;
    const sp = await intake.serviceProvider(request.Issuer);
    // Profiles §4.4.4.1: the request MUST be authenticated, and over a front-channel binding its
    // signature is the only way; so it is required whatever the SP's registration says.
    checkSignature(received, document, sp, { required: true });
    const checked = checkLogoutRequest({
      request,
      binding: received.binding,
      singleLogoutServices: sp.metadata.singleLogoutServices,
      destination: options.sloUrl,
      now: now(),
      skewSeconds: options.skewSeconds,
    });
    if (!checked.ok) throw new Refusal(checked.reason, sp.entityId);
    await intake.claimId(sp, request.ID);
    return {
      requestId: request.ID,
      spEntityId: sp.entityId,
      NameID: request.NameID,
      SessionIndex: request.SessionIndex,
      endpoint: checked.endpoint,
      RelayState: received.RelayState,
    };
  }

  /**
   * Ends the session when the request names a principal it gave that SP, and answers: Success
   * (also without a session: the SP's goal holds), or Requester/UnknownPrincipal with the
   * session left alone (core §3.7.3.2).
   */
  async function logOut(ctx: Context, logout: AcceptedLogout, binding: ReceivedRequest['binding']) {
    const session = await sessions.current(ctx);
    const event = { clientId: logout.spEntityId, ip: ctx.ip, requestId: requestState(ctx).requestId };
    const known = !session || issuedInSession({ request: logout, spEntityId: logout.spEntityId, participants: session.participants ?? [] });
    if (!known) {
      await audit.record({ type: 'saml.logout_refused', actor: 'anonymous', ...event, details: { reason: 'unknown-principal', binding } });
    } else if (session) {
      await options.endSession(ctx);
      const { accountId } = session.authentication;
      await audit.record({ type: 'saml.logout', actor: `user:${accountId}`, userId: accountId, ...event, details: { binding } });
    } else {
      await audit.record({ type: 'saml.logout', actor: 'anonymous', ...event, details: { binding, session: 'none' } });
    }
    const key = samlSigningKeys(await options.keys()).current;
    const { endpoint } = logout;
    const SAMLResponse = buildLogoutResponse({
      issuer: options.entityId,
      destination: endpoint.location,
      inResponseTo: logout.requestId,
      outcome: known ? 'success' : 'unknownPrincipal',
      binding: endpoint.binding,
      key,
      now: now(),
    });
    sendResponse(ctx, { response: { ...endpoint, SAMLResponse, RelayState: logout.RelayState }, key, render: options.render });
  }

  /**
   * A request over HTTP-Redirect is a top-level GET, which carries our SameSite=Lax session
   * cookie: acted on at once. One over HTTP-POST comes from the SP's page, a cross-site POST
   * that carries no Lax cookie (RFC 6265bis §5.6.7.1), so it would see no session: it is kept
   * for a moment under a random id and the browser sent on with a 303 to a GET of ours, which
   * carries the cookie.
   */
  async function receiveLogout(ctx: Context, received: ReceivedRequest) {
    const logout = await acceptRequest(received);
    if (received.binding === 'redirect') return logOut(ctx, logout, 'redirect');
    const id = randomBytes(16).toString('base64url');
    await store.set(postedKey(id), JSON.stringify(logout), POSTED_LOGOUT_TTL_SECONDS * 1000);
    ctx.status = 303;
    ctx.redirect(`${options.basePath}/saml/slo/${id}`);
  }

  /** The GET a POSTed request continues with: once, and only soon after it was checked. */
  async function continuePostedLogout(ctx: Context) {
    const id = String(ctx.params.id);
    const stored = /^[\w-]{22}$/.test(id) ? await store.get(postedKey(id)) : null;
    const taken = stored !== null && await store.setIfAbsent(`${postedKey(id)}:taken`, '1', POSTED_LOGOUT_TTL_SECONDS * 1000);
    if (!stored || !taken) throw new IdpError('saml_logout_refused', { detail: 'no such posted logout, or it was used or has expired' });
    await store.delete(postedKey(id));
    await logOut(ctx, JSON.parse(stored) as AcceptedLogout, 'post');
  }

  return {
    ...bindingEndpoint({ audit, refusedEvent: 'saml.logout_refused', refusedError: 'saml_logout_refused', handle: receiveLogout }),
    continuePosted: continuePostedLogout,
  };
}
