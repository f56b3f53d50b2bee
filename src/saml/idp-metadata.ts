/**
 * The IdP's own SAML 2.0 metadata (OASIS saml-metadata-2.0-os; issue "Step 5": "IdP metadata at
 * `/saml/metadata`"): one EntityDescriptor with an IDPSSODescriptor, signed so an SP that
 * fetches it over a channel it does not trust can still check it against a certificate it holds.
 */
import { X509Certificate } from 'node:crypto';

import type { SigningKey } from '../store/signing-keys.ts';
import { newSamlId, signXml, xmlAttr as attr, xmlText as text } from './xml-writing.ts';

/** SAML 2.0 bindings (saml-bindings-2.0-os §3.4, §3.5). */
export const BINDINGS = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

/** The bindings the IdP speaks, by short name: HTTP-Redirect and HTTP-POST. */
export type SamlBinding = keyof typeof BINDINGS;

/** The NameID formats the IdP issues (SAML core §8.3): persistent, transient, email. */
export const NAMEID_FORMATS = [
  'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
] as const;

/** The metadata's own media type (saml-metadata-2.0-os Appendix A). */
export const METADATA_CONTENT_TYPE = 'application/samlmetadata+xml';

/**
 * How often an SP should fetch the metadata again (ISO 8601 duration, the `cacheDuration`
 * attribute, metadata §2.3.2). An hour: well within `SIGNING_KEY_LEAD_HOURS`, so an SP that
 * honours it learns the next certificate before it signs.
 */
export const METADATA_CACHE_DURATION = 'PT1H';

const NS = {
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

/**
 * The RSA keys SAML publishes: the current one, which signs, then the next one, published ahead
 * of use. Retired keys are left out: SAML messages are consumed at once, so nothing an SP still
 * checks was signed by one.
 */
export function samlSigningKeys(keys: readonly SigningKey[]): { current: SigningKey; published: SigningKey[] } {
  const rsa = keys.filter((key) => key.alg === 'RS256' && key.certificatePem !== null);
  const current = rsa.find((key) => key.state === 'current');
  if (!current) throw new Error('no current RS256 signing key with a certificate: SAML cannot sign');
  return { current, published: [current, ...rsa.filter((key) => key.state === 'next')] };
}

/** Options of {@link buildIdpMetadata}. */
export interface BuildIdpMetadataOptions {
  /** The IdP's entityID. */
  entityId: string;
  /** The issuer URL; the SSO and SLO endpoints are `{issuer}/saml/sso` and `{issuer}/saml/slo`. */
  issuer: string;
  /** The published keys (as `loadSigningKeys` returns them); the current RS256 key signs the document. */
  keys: readonly SigningKey[];
}

/**
 * The IdP's EntityDescriptor, signed (enveloped, RSA-SHA256, exclusive c14n) with the current
 * RSA key. `WantAuthnRequestsSigned` is false: whether a request must be signed is each SP's
 * registration (its `AuthnRequestsSigned`, or `--require-signed-requests`).
 */
export function buildIdpMetadata(options: BuildIdpMetadataOptions): string {
  const { entityId, issuer, keys } = options;
  const { current, published } = samlSigningKeys(keys);
  const endpoints = (element: string, location: string) =>
    [BINDINGS.redirect, BINDINGS.post].map((binding) => `<md:${element} Binding="${binding}" Location="${attr(location)}"/>`).join('');
  const xml = `<md:EntityDescriptor xmlns:md="${NS.md}" xmlns:ds="${NS.ds}" ID="${newSamlId()}" entityID="${attr(entityId)}" cacheDuration="${METADATA_CACHE_DURATION}">`
    + `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="false">`
    + published.map((key) => `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:KeyName>${text(key.kid)}</ds:KeyName><ds:X509Data><ds:X509Certificate>${certificateBase64(key.certificatePem as string)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`).join('')
    + endpoints('SingleLogoutService', `${issuer}/saml/slo`)
    + NAMEID_FORMATS.map((format) => `<md:NameIDFormat>${format}</md:NameIDFormat>`).join('')
    + endpoints('SingleSignOnService', `${issuer}/saml/sso`)
    + `</md:IDPSSODescriptor></md:EntityDescriptor>`;
  return signEnveloped(xml, current);
}

/** Signs the root element; the Signature goes first, where the metadata schema wants it (§2.3.2). */
function signEnveloped(xml: string, key: SigningKey): string {
  const root = "/*[local-name(.)='EntityDescriptor' and namespace-uri(.)='urn:oasis:names:tc:SAML:2.0:metadata']";
  return `<?xml version="1.0" encoding="UTF-8"?>\n${signXml({ xml, key, xpath: root, location: { reference: root, action: 'prepend' } })}`;
}

/** The base64 DER of a PEM certificate, as `ds:X509Certificate` holds it (XML-DSig §4.4.4). */
function certificateBase64(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64');
}
