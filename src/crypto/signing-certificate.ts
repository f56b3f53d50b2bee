/**
 * Self-signed X.509 certificates for the RSA signing keys. SAML metadata publishes a signing key
 * as a certificate (`ds:X509Certificate` in a KeyDescriptor, SAML 2.0 metadata §2.4.1.1); SAML
 * trusts the certificate as the metadata pins it, so it is self-signed and nothing checks a
 * chain. Made with `@peculiar/x509` (pure JavaScript on WebCrypto): Node can read certificates
 * but not write them.
 */
import { randomBytes, webcrypto } from 'node:crypto';

import type { PrivateJwk } from '../store/signing-keys.ts';

/** How long a signing certificate is valid. Keys rotate well before; SPs that check expiry see no surprise. */
export const CERTIFICATE_VALIDITY_MS = 2 * 365 * 24 * 60 * 60 * 1000;

/** Options of {@link createSigningCertificate}. */
export interface SigningCertificateOptions {
  /** The RSA private key (an RS256 JWK) the certificate is for, and signed with. */
  jwk: PrivateJwk;
  /** The subject's (and issuer's) common name: the host of the SAML entityID. */
  commonName: string;
  /** The start of validity. */
  notBefore: Date;
  /** How long it is valid, ms. Defaults to {@link CERTIFICATE_VALIDITY_MS} (2 years). */
  validityMs?: number;
}

/** The members of an RSA private JWK (RFC 7518 §6.3). */
const RSA_MEMBERS = new Set(['kty', 'n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi']);

const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/**
 * A PEM self-signed certificate for an RS256 key, signed with RSA-SHA256 (RFC 5280). The library
 * is imported here, as a certificate is made only with a new key: it and the ASN.1 libraries it
 * brings are heap a node at rest does not need (issue 10's memory goal).
 */
export async function createSigningCertificate(options: SigningCertificateOptions): Promise<string> {
  const { jwk, commonName, notBefore, validityMs = CERTIFICATE_VALIDITY_MS } = options;
  if (jwk.kty !== 'RSA') throw new TypeError(`a signing certificate is made for RSA keys only, not ${String(jwk.kty)}`);
  const { BasicConstraintsExtension, KeyUsageFlags, KeyUsagesExtension, Name, X509CertificateGenerator } = await import('@peculiar/x509');
  // Only the key material: WebCrypto checks `alg`/`use`/`key_ops` against the import, and `kid` is ours.
  const material = Object.fromEntries(Object.entries(jwk).filter(([name]) => RSA_MEMBERS.has(name))) as webcrypto.JsonWebKey;
  const privateKey = await webcrypto.subtle.importKey('jwk', material, RSA_SHA256, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('jwk', { kty: 'RSA', n: jwk.n as string, e: jwk.e as string }, RSA_SHA256, true, ['verify']);
  // A positive serial of 64 random bits at least (CA/Browser Forum habit; RFC 5280 §4.1.2.2 allows 20 octets).
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  const name = new Name([{ CN: [commonName] }]);
  const certificate = await X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name,
    notBefore,
    notAfter: new Date(notBefore.getTime() + validityMs),
    keys: { privateKey, publicKey },
    signingAlgorithm: RSA_SHA256,
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    ],
  }, webcrypto as unknown as Parameters<typeof X509CertificateGenerator.createSelfSigned>[1]);
  return certificate.toString('pem');
}
