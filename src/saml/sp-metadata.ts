/**
 * Reading a SAML service provider's metadata (SAML 2.0 metadata, OASIS saml-metadata-2.0-os)
 * into what the IdP uses from it, refusing a document it could not safely act on.
 */
import { X509Certificate } from 'node:crypto';

import type { Element } from '@xmldom/xmldom';

import { childElements } from '../factors/code-viewer/import/xml.ts';
import type { SpEndpoint, SpIndexedEndpoint, SpMetadata } from '../store/service-providers.ts';
import { validateMetadataSchema } from './metadata-schema.ts';
import { parseSamlXml, type SamlXmlFailure } from './xml-safety.ts';

const NS = {
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

/** The protocol an SPSSODescriptor must support for us (SAML 2.0 metadata §2.4.1). */
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';

/** The one binding the IdP sends its Response with (issue "Step 5": "The Response to the ACS (HTTP-POST)"). */
export const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

/** Larger than any real SP's metadata by far; the schema validator works in 16 MB of memory. */
export const MAX_METADATA_BYTES = 512 * 1024;

/** A certificate that expired longer ago than this is refused: the SP has clearly moved on. */
export const EXPIRED_CERTIFICATE_LIMIT_MS = 365 * 24 * 60 * 60 * 1000;

/** RSA keys shorter than this are refused (RSA-SHA256 signatures and RSA-OAEP both need it; NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048;

const REFUSED: Readonly<Record<SamlXmlFailure, (detail: string) => string>> = {
  'too-large': (detail) => `the metadata is too large (${detail})`,
  doctype: () => 'the metadata has a DOCTYPE or ENTITY declaration, which SAML metadata never needs (refused before parsing)',
  'processing-instruction': () => 'the metadata has a processing instruction, which SAML metadata never needs (refused before parsing)',
  malformed: (detail) => `the metadata is not well-formed XML: ${detail}`,
};

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Options of {@link parseSpMetadata}. */
export interface ParseSpMetadataOptions {
  /** The metadata document's text. */
  xml: string;
  /** The time certificates are judged at. */
  now: Date;
}

/** Result of {@link parseSpMetadata}: the SP, with warnings worth showing, or every error found. */
export type ParseSpMetadataResult =
  | { ok: true; sp: SpMetadata; warnings: string[] }
  | { ok: false; errors: string[] };

/**
 * Parses and checks one SP's metadata: refuses a DOCTYPE or entity declaration before parsing,
 * validates against the SAML 2.0 metadata schema, then reads the single EntityDescriptor's
 * SPSSODescriptor. Reports every error it finds, not only the first, so an operator fixes a file
 * in one go. Certificates in it are trusted as the operator registers them (no chain).
 */
export function parseSpMetadata(options: ParseSpMetadataOptions): ParseSpMetadataResult {
  const { xml, now } = options;
  // The same refusals as for every incoming SAML message (DOCTYPE, ENTITY, processing
  // instructions, size), before the document is parsed or handed to libxml2.
  const parsed = parseSamlXml({ xml, maxBytes: MAX_METADATA_BYTES });
  if (!parsed.ok) return { ok: false, errors: [REFUSED[parsed.reason](parsed.detail)] };
  const root = parsed.document.documentElement as Element;
  if (root.namespaceURI === NS.md && root.localName === 'EntitiesDescriptor') {
    return { ok: false, errors: ['the metadata is an EntitiesDescriptor (a federation file); give one service provider\'s EntityDescriptor'] };
  }
  if (root.namespaceURI !== NS.md || root.localName !== 'EntityDescriptor') {
    return { ok: false, errors: [`the metadata's root element is ${root.localName}, not a SAML 2.0 metadata EntityDescriptor`] };
  }
  const schemaErrors = validateMetadataSchema(xml);
  if (schemaErrors.length) return { ok: false, errors: schemaErrors.map((error) => `not valid SAML 2.0 metadata: ${error}`) };

  const errors: string[] = [];
  const warnings: string[] = [];
  const entityId = root.getAttribute('entityID') ?? '';
  // The schema allows any anyURI; the entityID is matched against Issuer and shown to operators.
  if (/[\s\p{Cc}]/u.test(entityId)) errors.push('entityID must not contain spaces or control characters');

  const validUntil = root.getAttribute('validUntil');
  if (validUntil && Date.parse(validUntil) <= now.getTime()) errors.push(`the metadata expired at ${validUntil} (validUntil)`);

  const descriptors = childElements(root, NS.md, 'SPSSODescriptor').filter((element) =>
    (element.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL));
  if (descriptors.length !== 1) {
    errors.push(descriptors.length === 0
      ? `the metadata has no SPSSODescriptor supporting ${SAML2_PROTOCOL}`
      : 'the metadata has more than one SAML 2.0 SPSSODescriptor');
    return { ok: false, errors };
  }
  const descriptor = descriptors[0] as Element;

  const { signing, encryption, encryptionMethods } = readCertificates(descriptor, now, errors, warnings);
  const assertionConsumerServices = childElements(descriptor, NS.md, 'AssertionConsumerService').map((element): SpIndexedEndpoint => ({
    binding: element.getAttribute('Binding') ?? '',
    location: checkLocation(element.getAttribute('Location') ?? '', 'AssertionConsumerService', errors),
    index: Number(element.getAttribute('index')),
    isDefault: isTrue(element.getAttribute('isDefault')),
  }));
  const indexes = assertionConsumerServices.map((endpoint) => endpoint.index);
  for (const index of new Set(indexes.filter((index, i) => indexes.indexOf(index) !== i))) {
    errors.push(`two AssertionConsumerService elements have index ${index}`);
  }
  if (!assertionConsumerServices.some((endpoint) => endpoint.binding === HTTP_POST)) {
    errors.push('no AssertionConsumerService has the HTTP-POST binding, the one the IdP sends its Response with');
  }
  const singleLogoutServices = childElements(descriptor, NS.md, 'SingleLogoutService').map((element): SpEndpoint => {
    const responseLocation = element.getAttribute('ResponseLocation');
    return {
      binding: element.getAttribute('Binding') ?? '',
      location: checkLocation(element.getAttribute('Location') ?? '', 'SingleLogoutService', errors),
      ...(responseLocation ? { responseLocation: checkLocation(responseLocation, 'SingleLogoutService ResponseLocation', errors) } : {}),
    };
  });

  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    warnings,
    sp: {
      entityId,
      authnRequestsSigned: isTrue(descriptor.getAttribute('AuthnRequestsSigned')),
      wantAssertionsSigned: isTrue(descriptor.getAttribute('WantAssertionsSigned')),
      signingCertificates: signing,
      encryptionCertificates: encryption,
      encryptionMethods,
      assertionConsumerServices,
      singleLogoutServices,
      nameIdFormats: childElements(descriptor, NS.md, 'NameIDFormat').map((element) => (element.textContent ?? '').trim()),
    },
  };
}

/** xs:boolean: `true` or `1` (XML Schema Part 2 §3.2.2.1); the schema has already refused anything else. */
const isTrue = (value: string | null) => value === 'true' || value === '1';

/**
 * The certificates of the descriptor's KeyDescriptors, by use, and the EncryptionMethods listed
 * with the encryption ones. A KeyDescriptor without `use` is for both signing and encryption
 * (SAML 2.0 metadata §2.4.1.1).
 */
function readCertificates(descriptor: Element, now: Date, errors: string[], warnings: string[]) {
  const signing: string[] = [];
  const encryption: string[] = [];
  const encryptionMethods: string[] = [];
  for (const keyDescriptor of childElements(descriptor, NS.md, 'KeyDescriptor')) {
    const use = keyDescriptor.getAttribute('use') || 'signing and encryption';
    if (use !== 'signing') {
      encryptionMethods.push(...childElements(keyDescriptor, NS.md, 'EncryptionMethod').map((element) => element.getAttribute('Algorithm') ?? ''));
    }
    const keyInfo = childElements(keyDescriptor, NS.ds, 'KeyInfo')[0];
    const certificates = (keyInfo ? childElements(keyInfo, NS.ds, 'X509Data') : [])
      .flatMap((data) => childElements(data, NS.ds, 'X509Certificate'))
      .map((element) => (element.textContent ?? '').replace(/\s+/g, ''));
    if (certificates.length === 0) {
      errors.push(`a KeyDescriptor (${use}) has no X509Certificate; only certificates are supported`);
      continue;
    }
    for (const base64 of certificates) {
      const problem = checkCertificate(base64, now, warnings);
      if (problem) {
        errors.push(`${use === 'encryption' ? 'an' : 'a'} ${use} certificate ${problem}`);
        continue;
      }
      if (use !== 'encryption') signing.push(base64);
      if (use !== 'signing') encryption.push(base64);
    }
  }
  return { signing: [...new Set(signing)], encryption: [...new Set(encryption)], encryptionMethods: [...new Set(encryptionMethods)] };
}

/** Why a certificate (base64 DER, as the schema checked) cannot be used, or undefined; a recently expired one only warns. */
function checkCertificate(base64: string, now: Date, warnings: string[]): string | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(Buffer.from(base64, 'base64'));
  } catch {
    return 'is not a valid X.509 certificate';
  }
  const subject = certificate.subject.replace(/\n/g, ', ');
  const { publicKey } = certificate;
  if (publicKey.asymmetricKeyType !== 'rsa') return `(${subject}) has a ${publicKey.asymmetricKeyType ?? 'unknown'} key; RSA-SHA256 and RSA-OAEP need an RSA key`;
  const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) return `(${subject}) has a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`;
  // Keys in metadata are trusted because the operator registered them, not by their certificate's
  // dates (SAML V2.0 Metadata Interoperability Profile), so an expired one is accepted for a
  // while; expired for over a year, the file is stale.
  const expired = now.getTime() - certificate.validToDate.getTime();
  if (expired > EXPIRED_CERTIFICATE_LIMIT_MS) return `(${subject}) expired at ${certificate.validToDate.toISOString()}, more than a year ago`;
  if (expired > 0) warnings.push(`the certificate ${subject} expired at ${certificate.validToDate.toISOString()}`);
  return undefined;
}

/**
 * An endpoint's URL: absolute, https, or http only to a loopback host for development (as OIDC
 * redirect URIs, RFC 8252 §7.3); a Response posted over plain http would expose the assertion.
 */
function checkLocation(location: string, what: string, errors: string[]): string {
  const url = URL.parse(location);
  if (!url || /[\s\p{Cc}]/u.test(location)) errors.push(`${what} Location ${JSON.stringify(location)} is not an absolute URL`);
  else if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) errors.push(`${what} Location ${JSON.stringify(location)} must use https (plain http only for localhost or 127.0.0.1)`);
  else if (url.protocol !== 'https:' && url.protocol !== 'http:') errors.push(`${what} Location ${JSON.stringify(location)} must be an https URL`);
  return location;
}
