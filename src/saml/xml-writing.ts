/**
 * Writing the SAML documents the IdP sends (its metadata, its Responses, its LogoutResponses):
 * escaping, ids, and the ways they are signed: an enveloped XML signature, or the HTTP-Redirect
 * binding's signature over the query. What we receive is read by `xml-safety.ts` and checked by
 * `request-signature.ts` and `bindings.ts`; this is the other direction.
 */
import { createPrivateKey, sign, randomBytes } from 'node:crypto';

import type { SigningKey } from '../store/signing-keys.ts';
import { signedXml } from './signed-xml.ts';

/** Signature algorithms (RFC 6931 §2.3.2, §2.1.3; exclusive c14n, W3C xml-exc-c14n). */
export const ALGORITHMS = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  exclusiveC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  envelopedSignature: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;

/** Element text, escaped. */
export const xmlText = (value: string) => value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** An attribute value in double quotes, escaped. */
export const xmlAttr = (value: string) => xmlText(value).replaceAll('"', '&quot;');

/** An xs:ID: a letter first (NCName), 160 random bits. */
export const newSamlId = () => `_${randomBytes(20).toString('hex')}`;

/** An xs:dateTime in UTC with milliseconds cut (SAML core §1.3.3), from epoch ms. */
export const xmlInstant = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/**
 * Signs the element `xpath` selects with an enveloped signature (RSA-SHA256, SHA-256 digest,
 * exclusive c14n: the only algorithms we accept from others too), placed where `location` says
 * (the schemas fix where a Signature may stand). The key is the current RS256 signing key with
 * its certificate, which goes in KeyInfo.
 */
export function signXml(options: { xml: string; key: SigningKey; xpath: string; location: { reference: string; action: 'prepend' | 'after' } }): string {
  const { key } = options;
  if (!key.certificatePem) throw new Error(`signing key ${key.kid} has no certificate: SAML cannot sign with it`);
  const SignedXml = signedXml();
  const signer = new SignedXml({
    privateKey: privateKeyOf(key).export({ type: 'pkcs8', format: 'pem' }),
    publicCert: key.certificatePem,
    signatureAlgorithm: ALGORITHMS.rsaSha256,
    canonicalizationAlgorithm: ALGORITHMS.exclusiveC14n,
  });
  signer.addReference({ xpath: options.xpath, transforms: [ALGORITHMS.envelopedSignature, ALGORITHMS.exclusiveC14n], digestAlgorithm: ALGORITHMS.sha256 });
  signer.computeSignature(options.xml, { prefix: 'ds', location: options.location });
  return signer.getSignedXml();
}

/**
 * Signs the one element `localName` in `namespace` (a Response, its Assertion, a
 * LogoutResponse), the Signature right after its saml:Issuer, where the schemas put it (SAML
 * core §2.3.3, §3.2.1, §3.2.2).
 */
export function signAfterIssuer(xml: string, key: SigningKey, localName: string, namespace: string): string {
  const element = `//*[local-name(.)='${localName}' and namespace-uri(.)='${namespace}']`;
  const issuer = `${element}/*[local-name(.)='Issuer' and namespace-uri(.)='urn:oasis:names:tc:SAML:2.0:assertion']`;
  return signXml({ xml, key, xpath: element, location: { reference: issuer, action: 'after' } });
}

/**
 * The HTTP-Redirect binding's signature (SAML Bindings §3.4.4.1): RSA-SHA256 (`SigAlg`
 * {@link ALGORITHMS.rsaSha256}) over the query's octets `SAMLResponse=…&RelayState=…&SigAlg=…`
 * exactly as sent, base64. The current RS256 key signs, as it signs our XML.
 */
export function signRedirectQuery(signedOctets: string, key: SigningKey): string {
  if (key.alg !== 'RS256') throw new Error(`signing key ${key.kid} is not an RSA key: it cannot make an RSA-SHA256 signature`);
  return sign('sha256', Buffer.from(signedOctets, 'utf8'), privateKeyOf(key)).toString('base64');
}

const privateKeyOf = (key: SigningKey) => createPrivateKey({ key: key.privateJwk, format: 'jwk' });
