/**
 * Reading and checking an AuthnRequest (SAML core §3.4.1) once its XML has passed the binding's
 * and the parser's defences (`bindings.ts`, `xml-safety.ts`). Pure: the registered SP, the clock
 * and the skew come in; a decision comes out. Whether its ID was seen before is the caller's
 * (a short-lived store), as is the signature (`bindings.ts`, `request-signature.ts`).
 */
import type { Document, Element } from '@xmldom/xmldom';

import { higherLevel, levelOfAcr, lowerLevel, type Level } from '../auth/levels.ts';
import type { ServiceProviderRecord, SpIndexedEndpoint } from '../store/service-providers.ts';
import { HTTP_POST } from './sp-metadata.ts';

const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
} as const;

/** The parts of an AuthnRequest the IdP acts on, spelled as in SAML core §3.4.1. */
export interface AuthnRequest {
  ID: string;
  IssueInstant: string;
  Issuer: string;
  AssertionConsumerServiceURL: string | undefined;
  AssertionConsumerServiceIndex: number | undefined;
  ProtocolBinding: string | undefined;
  ForceAuthn: boolean;
  IsPassive: boolean;
  /** RequestedAuthnContext (§3.3.2.2.1): its class refs and comparison (default `exact`). */
  RequestedAuthnContext: { Comparison: string; AuthnContextClassRef: string[] } | undefined;
}

/** Why a request was refused; each is a distinct audit `reason`. */
export type AuthnRequestFailure =
  | 'not-authn-request'
  | 'version'
  | 'missing-id'
  | 'missing-issuer'
  | 'issue-instant'
  | 'stale'
  | 'unknown-sp'
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
  if (root.getAttribute('Version') !== '2.0') return { ok: false, reason: 'version' };
  const ID = root.getAttribute('ID');
  if (!ID) return { ok: false, reason: 'missing-id' };
  // Only the root's own children: an Issuer nested elsewhere (in an Extensions, say) is not the issuer.
  const children = (parent: Element, ns: string, name: string) =>
    Array.from(parent.childNodes).filter((node): node is Element => node.nodeType === 1 && (node as Element).namespaceURI === ns && (node as Element).localName === name);
  const Issuer = children(root, NS.saml, 'Issuer')[0]?.textContent?.trim();
  if (!Issuer) return { ok: false, reason: 'missing-issuer' };
  const requested = children(root, NS.samlp, 'RequestedAuthnContext')[0];
  const index = root.getAttribute('AssertionConsumerServiceIndex');
  return {
    ok: true,
    request: {
      ID,
      IssueInstant: root.getAttribute('IssueInstant') ?? '',
      Issuer,
      AssertionConsumerServiceURL: root.getAttribute('AssertionConsumerServiceURL') || undefined,
      AssertionConsumerServiceIndex: index !== null && /^\d{1,5}$/.test(index) ? Number(index) : undefined,
      ProtocolBinding: root.getAttribute('ProtocolBinding') || undefined,
      ForceAuthn: bool(root.getAttribute('ForceAuthn')),
      IsPassive: bool(root.getAttribute('IsPassive')),
      RequestedAuthnContext: requested && {
        Comparison: requested.getAttribute('Comparison') || 'exact',
        AuthnContextClassRef: children(requested, NS.saml, 'AuthnContextClassRef').map((ref) => (ref.textContent ?? '').trim()),
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
}

/** Result of {@link checkAuthnRequest}: where to answer, and the level the login must reach. */
export type CheckAuthnRequestResult =
  | { ok: true; acs: string; level: Level }
  | { ok: false; reason: AuthnRequestFailure };

/**
 * Checks a request against its SP's registration: the SP is known, the ACS is one of its
 * metadata's HTTP-POST endpoints, IssueInstant is within the skew, and the requested
 * authentication context is one we can meet. Never trusts the request's ACS URL before it matched.
 */
export function checkAuthnRequest(options: CheckAuthnRequestOptions): CheckAuthnRequestResult {
  const { request, sp, now, skewSeconds } = options;
  if (!sp) return { ok: false, reason: 'unknown-sp' };
  const issued = Date.parse(request.IssueInstant);
  // xs:dateTime in UTC (SAML core §1.3.3); Date.parse accepts more, so the shape is checked too.
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(request.IssueInstant) || Number.isNaN(issued)) return { ok: false, reason: 'issue-instant' };
  if (Math.abs(now - issued) > skewSeconds * 1000) return { ok: false, reason: 'stale' };
  if (request.ProtocolBinding !== undefined && request.ProtocolBinding !== HTTP_POST) return { ok: false, reason: 'binding-unsupported' };
  const acs = assertionConsumerService(request, sp.metadata.assertionConsumerServices);
  if (!acs) return { ok: false, reason: 'acs-not-registered' };
  const requested = requestedLevel(request.RequestedAuthnContext);
  if (requested === null) return { ok: false, reason: 'authn-context-unsupported' };
  return { ok: true, acs: acs.location, level: higherLevel(sp.level, requested ?? 'low') };
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

/**
 * The level RequestedAuthnContext asks for (SAML core §3.3.2.2.1): with `minimum` or `exact`,
 * the lowest NSIS level it names is enough (each listed ref is acceptable). Undefined when it
 * names no NSIS level: refs of other schemes (a library's default PasswordProtectedTransport,
 * say) are left to the SP's registered level. Null when it compares NSIS levels otherwise
 * (`better`, `maximum`), which we do not promise.
 */
export function requestedLevel(context: AuthnRequest['RequestedAuthnContext']): Level | undefined | null {
  const levels = (context?.AuthnContextClassRef ?? []).map(levelOfAcr).filter((level): level is Level => level !== undefined);
  if (!context || !levels.length) return undefined;
  if (context.Comparison !== 'minimum' && context.Comparison !== 'exact') return null;
  return levels.reduce(lowerLevel);
}
