/**
 * The SAML Response the IdP posts to an SP's ACS (SAML core §3.2.2, §2.3.3; profiles §4.1.4.2,
 * the Web Browser SSO profile's rules for a Response over HTTP-POST): a signed assertion, the
 * Response signed too when the SP was registered with `--sign-response`; or a Response with an
 * error status and no assertion.
 */
import type { SigningKey } from '../store/signing-keys.ts';
import { newSamlId as newId, signAfterIssuer as sign, xmlAttr as attr, xmlInstant as iso, xmlText as text } from './xml-writing.ts';

const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
} as const;

/** Status codes (SAML core §3.2.2.2). */
export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
  noAuthnContext: 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext',
  noPassive: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
  requestDenied: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  unknownPrincipal: 'urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal',
} as const;

/** How long an assertion may be presented, seconds: NotBefore now, NotOnOrAfter now + this. */
export const ASSERTION_LIFETIME_SECONDS = 5 * 60;

/** Who answers, where the answer goes, and what it answers (core §3.2.2, StatusResponseType). */
export interface StatusResponseAddress {
  /** The IdP's entityID (the Issuer). */
  issuer: string;
  /** The endpoint it is sent to: the ACS URL, the SP's SingleLogoutService (Destination). */
  destination: string;
  /** The request's ID. */
  inResponseTo: string;
}

/** What the Response is about: who asked, where it goes. */
export interface ResponseAddress extends StatusResponseAddress {
  /** The SP's entityID (the Audience); the destination is also the SubjectConfirmation's Recipient. */
  audience: string;
}

/** Options of {@link buildSuccessResponse}. */
export interface BuildSuccessResponseOptions extends ResponseAddress {
  nameId: { format: string; value: string };
  /** The AuthnContextClassRef: the level reached. */
  authnContextClassRef: string;
  /** When the authentication the level rests on took place, epoch seconds. */
  authnInstant: number;
  /**
   * The AuthnStatement's SessionIndex (core §2.7.2), a new id (`newSamlId`) which the SP
   * names in its LogoutRequest; the caller keeps it with the SSO session.
   */
  sessionIndex: string;
  /** Attribute name (a URI) to its values, in order. */
  attributes: ReadonlyArray<readonly [string, string[]]>;
  /** The current RSA key, with its certificate. */
  key: SigningKey;
  /** Sign the Response as well as the assertion. Defaults to false. */
  signResponse?: boolean;
  /**
   * Replaces the signed assertion with an EncryptedAssertion (`assertion-encryption.ts`), for an
   * SP with an encryption certificate; before the Response is signed, so that signature covers it.
   */
  encrypt?: (responseXml: string) => Promise<string>;
  /** Epoch ms. */
  now: number;
}

/**
 * A Response with one assertion, signed enveloped (RSA-SHA256, exclusive c14n), its signature
 * after the Issuer as the schema puts it (core §2.3.3); encrypted, if asked; then the Response
 * signed over it, if asked (sign, encrypt, sign: the SP checks the outer signature first and
 * the assertion's once it has opened it).
 */
export async function buildSuccessResponse(options: BuildSuccessResponseOptions): Promise<string> {
  const { now, key } = options;
  const instant = iso(now);
  const assertionId = newId();
  const subjectConfirmation = `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">`
    + `<saml:SubjectConfirmationData InResponseTo="${attr(options.inResponseTo)}" NotOnOrAfter="${iso(now + ASSERTION_LIFETIME_SECONDS * 1000)}" Recipient="${attr(options.destination)}"/>`
    + `</saml:SubjectConfirmation>`;
  const attributes = options.attributes.length
    ? `<saml:AttributeStatement>${options.attributes.map(([name, values]) =>
      `<saml:Attribute Name="${attr(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">${values.map((value) => `<saml:AttributeValue>${text(value)}</saml:AttributeValue>`).join('')}</saml:Attribute>`).join('')}</saml:AttributeStatement>`
    : '';
  const assertion = `<saml:Assertion xmlns:saml="${NS.saml}" ID="${assertionId}" Version="2.0" IssueInstant="${instant}">`
    + `<saml:Issuer>${text(options.issuer)}</saml:Issuer>`
    + `<saml:Subject><saml:NameID Format="${attr(options.nameId.format)}">${text(options.nameId.value)}</saml:NameID>${subjectConfirmation}</saml:Subject>`
    + `<saml:Conditions NotBefore="${instant}" NotOnOrAfter="${iso(now + ASSERTION_LIFETIME_SECONDS * 1000)}"><saml:AudienceRestriction><saml:Audience>${text(options.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>`
    + `<saml:AuthnStatement AuthnInstant="${iso(options.authnInstant * 1000)}" SessionIndex="${attr(options.sessionIndex)}"><saml:AuthnContext><saml:AuthnContextClassRef>${text(options.authnContextClassRef)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
    + attributes
    + `</saml:Assertion>`;
  const xml = statusResponseXml('Response', options, instant, STATUS.success, undefined, assertion);
  const signedAssertion = sign(xml, key, 'Assertion', NS.saml);
  const sealed = options.encrypt ? await options.encrypt(signedAssertion) : signedAssertion;
  return options.signResponse ? sign(sealed, key, 'Response', NS.samlp) : sealed;
}

/** Options of {@link buildErrorResponse}. */
export interface BuildErrorResponseOptions extends ResponseAddress {
  /** The second-level status code (e.g. {@link STATUS.authnFailed}); the top level is Responder. */
  status: string;
  key: SigningKey;
  /** Epoch ms. */
  now: number;
}

/** A Response with status Responder and the second-level code, no assertion; signed. */
export function buildErrorResponse(options: BuildErrorResponseOptions): string {
  return sign(statusResponseXml('Response', options, iso(options.now), STATUS.responder, options.status, ''), options.key, 'Response', NS.samlp);
}

/**
 * The envelope a Response and a LogoutResponse share (core §3.2.2, StatusResponseType): a new
 * ID, IssueInstant, Destination, InResponseTo, the Issuer and the Status (with a second-level
 * code, if given), then `content` (the assertion, or nothing). Unsigned.
 */
export function statusResponseXml(element: 'Response' | 'LogoutResponse', address: StatusResponseAddress, instant: string, status: string, subStatus: string | undefined, content: string): string {
  const statusCode = subStatus
    ? `<samlp:StatusCode Value="${status}"><samlp:StatusCode Value="${attr(subStatus)}"/></samlp:StatusCode>`
    : `<samlp:StatusCode Value="${status}"/>`;
  return `<samlp:${element} xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${newId()}" Version="2.0" IssueInstant="${instant}" Destination="${attr(address.destination)}" InResponseTo="${attr(address.inResponseTo)}">`
    + `<saml:Issuer>${text(address.issuer)}</saml:Issuer>`
    + `<samlp:Status>${statusCode}</samlp:Status>`
    + content
    + `</samlp:${element}>`;
}
