/**
 * Reading and checking an AuthnRequest (SAML core §3.4.1) once its XML has passed the binding's
 * and the parser's defences (`bindings.ts`, `xml-safety.ts`). Pure: the registered SP, the clock
 * and the skew come in; a decision comes out. Whether its ID was seen before is the caller's
 * (a short-lived store), as is the signature (`bindings.ts`, `request-signature.ts`).
 */
import type { Document, Element } from '@xmldom/xmldom';

import { LEVELS, levelOfAcr, satisfiesLevel, type Level } from '../auth/levels.ts';
import { childElements } from '../factors/code-viewer/import/xml.ts';
import type { ServiceProviderRecord, SpIndexedEndpoint } from '../store/service-providers.ts';
import { checkDestination, checkIssueInstant, readRequestAbstract, SAML_NS as NS, type RequestAbstract } from './request-abstract.ts';
import { HTTP_POST } from './sp-metadata.ts';

/** The parts of an AuthnRequest the IdP acts on, spelled as in SAML core §3.4.1. */
export interface AuthnRequest extends RequestAbstract {
  AssertionConsumerServiceURL: string | undefined;
  AssertionConsumerServiceIndex: number | undefined;
  ProtocolBinding: string | undefined;
  ForceAuthn: boolean;
  IsPassive: boolean;
  /** RequestedAuthnContext (§3.3.2.2.1): its class refs and comparison (default `exact`). */
  RequestedAuthnContext: { Comparison: Comparison; AuthnContextClassRef: string[] } | undefined;
}

/** AuthnContextComparisonType (SAML core §3.3.2.2.1). */
export type Comparison = 'exact' | 'minimum' | 'maximum' | 'better';

const COMPARISONS: readonly string[] = ['exact', 'minimum', 'maximum', 'better'] satisfies Comparison[];

/** Why a request was refused; each is a distinct audit `reason`. */
export type AuthnRequestFailure =
  | 'not-authn-request'
  | 'version'
  | 'missing-id'
  | 'missing-issuer'
  | 'issue-instant'
  | 'stale'
  | 'unknown-sp'
  | 'destination'
  | 'acs-not-registered'
  | 'binding-unsupported'
  | 'authn-context-unsupported';

/** Result of {@link readAuthnRequest}. */
export type ReadAuthnRequestResult = { ok: true; request: AuthnRequest } | { ok: false; reason: AuthnRequestFailure };

const bool = (value: string | null) => value === 'true' || value === '1';

/** Reads the root `samlp:AuthnRequest` of a parsed message; nothing else in the document counts. */
export function readAuthnRequest(document: Document): ReadAuthnRequestResult {
  const root = document.documentElement as Element;
  if (root.namespaceURI !== NS.samlp || root.localName !== 'AuthnRequest') return { ok: false, reason: 'not-authn-request' };
  const abstract = readRequestAbstract(root);
  if (!abstract.ok) return abstract;
  const requested = childElements(root, NS.samlp, 'RequestedAuthnContext')[0];
  const Comparison = requested?.getAttribute('Comparison') || 'exact';
  if (!COMPARISONS.includes(Comparison)) return { ok: false, reason: 'authn-context-unsupported' };
  const index = root.getAttribute('AssertionConsumerServiceIndex');
  return {
    ok: true,
    request: {
      ...abstract.request,
      AssertionConsumerServiceURL: root.getAttribute('AssertionConsumerServiceURL') || undefined,
      AssertionConsumerServiceIndex: index !== null && /^\d{1,5}$/.test(index) ? Number(index) : undefined,
      ProtocolBinding: root.getAttribute('ProtocolBinding') || undefined,
      ForceAuthn: bool(root.getAttribute('ForceAuthn')),
      IsPassive: bool(root.getAttribute('IsPassive')),
      RequestedAuthnContext: requested && {
        Comparison: Comparison as Comparison,
        AuthnContextClassRef: childElements(requested, NS.saml, 'AuthnContextClassRef').map((ref) => (ref.textContent ?? '').trim()),
      },
    },
  };
}

/** Options of {@link checkAuthnRequest}. */
export interface CheckAuthnRequestOptions {
  request: AuthnRequest;
  /** The SP registered under the request's Issuer, or undefined. */
  sp: ServiceProviderRecord | undefined;
  /** Epoch ms. */
  now: number;
  /** How far IssueInstant may be from `now`, seconds. */
  skewSeconds: number;
  /** Our SingleSignOnService URL (`{issuer}/saml/sso`), which a Destination must name. */
  destination: string;
}

/**
 * Result of {@link checkAuthnRequest}: where to answer, and what the login must reach and the
 * Response may say; `assurance` undefined when no level of ours meets the request (the answer is
 * then NoAuthnContext, at the ACS, as the request itself checked out).
 */
export type CheckAuthnRequestResult =
  | { ok: true; acs: string; assurance: AssuranceRequest | undefined }
  | { ok: false; reason: AuthnRequestFailure };

/**
 * Checks a request against its SP's registration: the SP is known, the ACS is one of its
 * metadata's HTTP-POST endpoints, IssueInstant is within the skew, a Destination is ours. Never
 * trusts the request's ACS URL before it matched.
 */
export function checkAuthnRequest(options: CheckAuthnRequestOptions): CheckAuthnRequestResult {
  const { request, sp, now, skewSeconds } = options;
  if (!sp) return { ok: false, reason: 'unknown-sp' };
  const instant = checkIssueInstant({ IssueInstant: request.IssueInstant, now, skewSeconds });
  if (instant) return { ok: false, reason: instant };
  const destination = checkDestination(request.Destination, options.destination);
  if (destination) return { ok: false, reason: destination };
  if (request.ProtocolBinding !== undefined && request.ProtocolBinding !== HTTP_POST) return { ok: false, reason: 'binding-unsupported' };
  const acs = assertionConsumerService(request, sp.metadata.assertionConsumerServices);
  if (!acs) return { ok: false, reason: 'acs-not-registered' };
  return { ok: true, acs: acs.location, assurance: assuranceRequest(request.RequestedAuthnContext, sp.level) };
}

/**
 * The ACS to answer at (SAML core §3.4.1; metadata §2.2.3 for the default): the URL, if it is
 * one of the SP's HTTP-POST endpoints; else the index; else the default endpoint.
 */
function assertionConsumerService(request: AuthnRequest, endpoints: readonly SpIndexedEndpoint[]): SpIndexedEndpoint | undefined {
  const post = endpoints.filter((endpoint) => endpoint.binding === HTTP_POST);
  if (request.AssertionConsumerServiceURL !== undefined) {
    return post.find((endpoint) => endpoint.location === request.AssertionConsumerServiceURL);
  }
  if (request.AssertionConsumerServiceIndex !== undefined) {
    return post.find((endpoint) => endpoint.index === request.AssertionConsumerServiceIndex);
  }
  // §2.2.3: the one marked isDefault, else the first not marked false (our record keeps only
  // true/false, so: the first), by document order.
  return post.find((endpoint) => endpoint.isDefault) ?? post[0];
}

/** What the login must reach, and what its Response may state. */
export interface AssuranceRequest {
  /** The lowest level the login must reach. */
  level: Level;
  /** The levels the Response may state, lowest first; it states the highest one the login reached. */
  statable: Level[];
}

/**
 * What RequestedAuthnContext (SAML core §3.3.2.2.1) and the SP's registered minimum allow,
 * among the NSIS levels it names: `exact`, one of them; `minimum`, one at least as strong as
 * the weakest; `better`, one stronger than the strongest; `maximum`, one no stronger than the
 * strongest. Refs of other schemes (a library's default PasswordProtectedTransport, say) name
 * no level, and leave the SP's minimum. Undefined when no level of ours fits.
 */
export function assuranceRequest(context: AuthnRequest['RequestedAuthnContext'], spMinimum: Level): AssuranceRequest | undefined {
  const atLeastMinimum = LEVELS.filter((level) => satisfiesLevel(level, spMinimum));
  const named = LEVELS.filter((level) => context?.AuthnContextClassRef.some((ref) => levelOfAcr(ref) === level));
  const weakest = named[0];
  const strongest = named.at(-1);
  const statable = !context || !weakest || !strongest
    ? atLeastMinimum
    : atLeastMinimum.filter((level) => {
      switch (context.Comparison) {
        case 'exact': return named.includes(level);
        case 'minimum': return satisfiesLevel(level, weakest);
        case 'better': return !satisfiesLevel(strongest, level);
        case 'maximum': return satisfiesLevel(strongest, level);
      }
    });
  const [level] = statable;
  return level && { level, statable };
}

/** The level a Response states: the highest it may state that the login reached. */
export function statedLevel(reached: Level, statable: readonly Level[]): Level | undefined {
  return statable.filter((level) => satisfiesLevel(reached, level)).at(-1);
}
