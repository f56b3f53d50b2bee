/**
 * Reading and checking a LogoutRequest (SAML core §3.7.1) once its XML has passed the binding's
 * and the parser's defences; where its LogoutResponse goes (profiles §4.4.4.2: the SP's
 * SingleLogoutService from its metadata); and whether the principal it names is one the
 * browser's session gave that SP (core §3.7.3.2). Pure: the clock, the skew, our endpoint and
 * the SP's endpoints come in; a decision comes out. Its signature and ID are the caller's.
 */
import type { Document, Element } from '@xmldom/xmldom';

import { childElements } from '../factors/code-viewer/import/xml.ts';
import type { SessionParticipant } from '../sessions/sso-session.ts';
import type { SpEndpoint } from '../store/service-providers.ts';
import { BINDINGS, type SamlBinding } from './idp-metadata.ts';
import { checkDestination, checkIssueInstant, parseUtcDateTime, readRequestAbstract, SAML_NS as NS, type RequestAbstract, type RequestAbstractFailure } from './request-abstract.ts';

/** The parts of a LogoutRequest the IdP acts on, spelled as in SAML core §3.7.1. */
export interface LogoutRequest extends RequestAbstract {
  /** The time after which it is void (§3.7.1), when it says. */
  NotOnOrAfter: string | undefined;
  /** The principal to log out: the NameID's Format (absent: unspecified, §8.3.1) and value. */
  NameID: { Format: string | undefined; value: string };
  /** The sessions to end, when it names them (§3.7.1); none means all of the principal's. */
  SessionIndex: string[];
}

/** Why a LogoutRequest was refused; each is a distinct audit `reason`. */
export type LogoutRequestFailure =
  | RequestAbstractFailure
  | 'not-logout-request'
  | 'name-id-missing'
  | 'name-id-encrypted'
  | 'issue-instant'
  | 'stale'
  | 'not-on-or-after'
  | 'expired'
  | 'destination'
  | 'no-logout-service';

/** Result of {@link readLogoutRequest}. */
export type ReadLogoutRequestResult = { ok: true; request: LogoutRequest } | { ok: false; reason: LogoutRequestFailure };

/**
 * Reads the root `samlp:LogoutRequest` of a parsed message; nothing else in the document counts.
 * An EncryptedID is refused: we publish no encryption key, so no SP can have encrypted to us.
 */
export function readLogoutRequest(document: Document): ReadLogoutRequestResult {
  const root = document.documentElement as Element;
  if (root.namespaceURI !== NS.samlp || root.localName !== 'LogoutRequest') return { ok: false, reason: 'not-logout-request' };
  const abstract = readRequestAbstract(root);
  if (!abstract.ok) return abstract;
  const nameId = childElements(root, NS.saml, 'NameID')[0];
  if (!nameId) return { ok: false, reason: childElements(root, NS.saml, 'EncryptedID').length ? 'name-id-encrypted' : 'name-id-missing' };
  const value = (nameId.textContent ?? '').trim();
  if (!value) return { ok: false, reason: 'name-id-missing' };
  return {
    ok: true,
    request: {
      ...abstract.request,
      NotOnOrAfter: root.getAttribute('NotOnOrAfter') || undefined,
      NameID: { Format: nameId.getAttribute('Format') || undefined, value },
      SessionIndex: childElements(root, NS.samlp, 'SessionIndex').map((element) => (element.textContent ?? '').trim()),
    },
  };
}

/** Where a LogoutResponse goes: one of the SP's SingleLogoutService endpoints. */
export interface LogoutResponseEndpoint {
  binding: SamlBinding;
  /** Its ResponseLocation, else its Location (metadata §2.2.2). */
  location: string;
}

/** Options of {@link checkLogoutRequest}. */
export interface CheckLogoutRequestOptions {
  request: LogoutRequest;
  /** The binding the request came on. */
  binding: SamlBinding;
  /** The SP's SingleLogoutService endpoints, from its registered metadata. */
  singleLogoutServices: readonly SpEndpoint[];
  /** Our SingleLogoutService URL (`{issuer}/saml/slo`), which a Destination must name. */
  destination: string;
  /** Epoch ms. */
  now: number;
  /** How far IssueInstant may be from `now`, and how late NotOnOrAfter may be met, seconds. */
  skewSeconds: number;
}

/** Result of {@link checkLogoutRequest}: where to answer. */
export type CheckLogoutRequestResult = { ok: true; endpoint: LogoutResponseEndpoint } | { ok: false; reason: LogoutRequestFailure };

/**
 * Checks a request from a registered SP whose signature verified: IssueInstant within the skew;
 * NotOnOrAfter, if given, not passed; Destination, if given, ours (Bindings §3.4.5.2, §3.5.5.2:
 * a message sent to another endpoint is not for us); and the SP has an endpoint for the
 * LogoutResponse, for we answer nowhere its metadata does not name.
 */
export function checkLogoutRequest(options: CheckLogoutRequestOptions): CheckLogoutRequestResult {
  const { request, now, skewSeconds } = options;
  const instant = checkIssueInstant({ IssueInstant: request.IssueInstant, now, skewSeconds });
  if (instant) return { ok: false, reason: instant };
  if (request.NotOnOrAfter !== undefined) {
    const expires = parseUtcDateTime(request.NotOnOrAfter);
    if (expires === undefined) return { ok: false, reason: 'not-on-or-after' };
    if (now >= expires + skewSeconds * 1000) return { ok: false, reason: 'expired' };
  }
  const destination = checkDestination(request.Destination, options.destination);
  if (destination) return { ok: false, reason: destination };
  const endpoint = logoutResponseEndpoint(options.singleLogoutServices, options.binding);
  return endpoint ? { ok: true, endpoint } : { ok: false, reason: 'no-logout-service' };
}

/**
 * The SP's SingleLogoutService to answer at: the first on the binding the request came on, else
 * the first on the other one we speak (HTTP-Redirect, HTTP-POST); SOAP and the rest are not ours.
 */
export function logoutResponseEndpoint(services: readonly SpEndpoint[], binding: SamlBinding): LogoutResponseEndpoint | undefined {
  const order: SamlBinding[] = binding === 'redirect' ? ['redirect', 'post'] : ['post', 'redirect'];
  for (const name of order) {
    const service = services.find((endpoint) => endpoint.binding === BINDINGS[name]);
    if (service) return { binding: name, location: service.responseLocation ?? service.location };
  }
  return undefined;
}

/** Options of {@link issuedInSession}. */
export interface IssuedInSessionOptions {
  request: Pick<LogoutRequest, 'NameID' | 'SessionIndex'>;
  /** The SP that sent the request (its signature verified). */
  spEntityId: string;
  /** The relying parties the browser's session answered, and what each was told. */
  participants: readonly SessionParticipant[];
}

/**
 * Whether the request names a principal this session gave that SP (core §3.7.3.2): the same
 * NameID value, the same format when it gives one, and, when it names sessions, one of them. A
 * NameID given to another SP, or in another browser, is not this session's to end.
 */
export function issuedInSession(options: IssuedInSessionOptions): boolean {
  const { request: { NameID, SessionIndex }, spEntityId } = options;
  return options.participants.some((participant) => participant.clientId === spEntityId
    && participant.subject.value === NameID.value
    && (NameID.Format === undefined || NameID.Format === participant.subject.format)
    && (SessionIndex.length === 0 || SessionIndex.includes(participant.sessionIndex)));
}
