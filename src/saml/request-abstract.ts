/**
 * What every request an SP sends has in common (SAML core §3.2.1, RequestAbstractType): ID,
 * Version, IssueInstant, the Issuer, and the rule for how old IssueInstant may be. Read by the
 * AuthnRequest (`authn-request.ts`) and the LogoutRequest (`logout-request.ts`) alike. Pure.
 */
import type { Element } from '@xmldom/xmldom';

import { childElements } from '../factors/code-viewer/import/xml.ts';

/** The SAML 2.0 protocol and assertion namespaces. */
export const SAML_NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
} as const;

/** The attributes and Issuer of a request (§3.2.1), spelled as there. */
export interface RequestAbstract {
  ID: string;
  /** As written; {@link checkIssueInstant} judges it. */
  IssueInstant: string;
  Issuer: string;
  /** Where the SP sent it, when it says. */
  Destination: string | undefined;
}

/** Why {@link readRequestAbstract} refused a request. */
export type RequestAbstractFailure = 'version' | 'missing-id' | 'missing-issuer';

/** Result of {@link readRequestAbstract}. */
export type ReadRequestAbstractResult = { ok: true; request: RequestAbstract } | { ok: false; reason: RequestAbstractFailure };

/**
 * Reads the request's root: Version 2.0, an ID, and the Issuer that is the root's own child (an
 * Issuer nested elsewhere, in an Extensions say, is not the issuer). The caller has checked the
 * root is the request it expects.
 */
export function readRequestAbstract(root: Element): ReadRequestAbstractResult {
  if (root.getAttribute('Version') !== '2.0') return { ok: false, reason: 'version' };
  const ID = root.getAttribute('ID');
  if (!ID) return { ok: false, reason: 'missing-id' };
  const Issuer = childElements(root, SAML_NS.saml, 'Issuer')[0]?.textContent?.trim();
  if (!Issuer) return { ok: false, reason: 'missing-issuer' };
  return { ok: true, request: { ID, IssueInstant: root.getAttribute('IssueInstant') ?? '', Issuer, Destination: root.getAttribute('Destination') || undefined } };
}

/**
 * Whether a request's Destination, when it has one, is the endpoint it reached (SAML Bindings
 * §3.4.5.2, §3.5.5.2): a request the SP addressed to another endpoint, or another IdP, is not
 * for us, however well it is signed.
 */
export function checkDestination(Destination: string | undefined, ours: string): 'destination' | undefined {
  return Destination !== undefined && Destination !== ours ? 'destination' : undefined;
}

/** xs:dateTime in UTC (SAML core §1.3.3); Date.parse accepts more, so the shape is checked too. */
const UTC_DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** An xs:dateTime in UTC as epoch ms, or undefined when it is not one. */
export function parseUtcDateTime(value: string): number | undefined {
  const parsed = Date.parse(value);
  return UTC_DATE_TIME.test(value) && !Number.isNaN(parsed) ? parsed : undefined;
}

/** Options of {@link checkIssueInstant}. */
export interface CheckIssueInstantOptions {
  IssueInstant: string;
  /** Epoch ms. */
  now: number;
  /** How far IssueInstant may be from `now`, either way, seconds (`SAML_CLOCK_SKEW_SECONDS`). */
  skewSeconds: number;
}

/**
 * Whether IssueInstant is a UTC xs:dateTime within the skew of our clock: undefined when it is,
 * else why not. The replay store remembers an ID for as long as this accepts its request.
 */
export function checkIssueInstant(options: CheckIssueInstantOptions): 'issue-instant' | 'stale' | undefined {
  const issued = parseUtcDateTime(options.IssueInstant);
  if (issued === undefined) return 'issue-instant';
  return Math.abs(options.now - issued) > options.skewSeconds * 1000 ? 'stale' : undefined;
}
