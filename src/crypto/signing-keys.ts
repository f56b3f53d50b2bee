/**
 * The signing keys both protocols use (ARCHITECTURE.md: "Signing keys serve both protocols, so
 * they live below both"): generated, rotated and loaded here, stored by `store/signing-keys.ts`.
 * OIDC publishes them as a JWK Set; SAML publishes the RSA key's certificate in its metadata and
 * signs with it (RSA-SHA256).
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';

import { RETIRED_KEY_SECONDS, type NewSigningKey, type SigningKey, type SigningKeyRepository } from '../store/signing-keys.ts';
import { createSigningCertificate } from './signing-certificate.ts';

export { RETIRED_KEY_SECONDS };

/** The algorithms we sign with: ES256 by default, RS256 for relying parties that ask for it and for SAML. */
export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;

/** Published on the short-lived store when keys change, so every node reloads them. */
export const KEYS_CHANGED_CHANNEL = 'keys.changed';

/** What a certificate made for a signing key says about us. */
export interface CertificateSubject {
  /** The certificate's subject CN: the host of the SAML entityID. */
  commonName: string;
  /** The clock, epoch ms; certificates are valid from its now. */
  now: () => number;
}

async function generateKey(alg: (typeof SIGNING_ALGORITHMS)[number], subject: CertificateSubject): Promise<NewSigningKey> {
  const { privateKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg, use: 'sig' };
  const certificatePem = alg === 'RS256'
    ? await createSigningCertificate({ jwk, commonName: subject.commonName, notBefore: new Date(subject.now()) })
    : null;
  return { jwk, certificatePem };
}

/** Options of {@link rotateSigningKeys}. */
export interface RotateSigningKeysOptions {
  keys: SigningKeyRepository;
  /** For the RSA key's certificate. */
  subject: CertificateSubject;
  /**
   * How long new keys are published before they sign (`SIGNING_KEY_LEAD_HOURS`), seconds, so
   * relying parties and SAML SPs that cache our JWKS or metadata learn them first. Keys still
   * waiting from an earlier rotation start signing at once. The first keys sign at once anyway.
   */
  leadSeconds: number;
}

/**
 * Generates a new key per algorithm, published at once and signing after `leadSeconds`; the
 * keys they supersede stay published for {@link RETIRED_KEY_SECONDS}. Returns the new kids.
 */
export async function rotateSigningKeys(options: RotateSigningKeysOptions): Promise<string[]> {
  const fresh = await Promise.all(SIGNING_ALGORITHMS.map((alg) => generateKey(alg, options.subject)));
  await options.keys.addKeys(fresh, options.leadSeconds);
  return fresh.map(({ jwk }) => jwk.kid);
}

/** Options of {@link loadSigningKeys}. */
export interface LoadSigningKeysOptions {
  keys: SigningKeyRepository;
  /** For the certificates of RSA keys that have none yet, and of the first keys. */
  subject: CertificateSubject;
}

/**
 * The published keys, current first (oidc-provider signs with the first key of an algorithm),
 * then next, then retired. On a new database the first keys are made; an RSA key stored before
 * certificates were (migration 010) gets one now, stored so every node publishes the same.
 */
export async function loadSigningKeys(options: LoadSigningKeysOptions): Promise<SigningKey[]> {
  const { keys, subject } = options;
  let published = await keys.listPublished();
  if (!SIGNING_ALGORITHMS.every((alg) => published.some((key) => key.alg === alg && key.state === 'current'))) {
    await rotateSigningKeys({ keys, subject, leadSeconds: 0 });
    published = await keys.listPublished();
  }
  const uncertified = published.filter((key) => key.alg === 'RS256' && key.certificatePem === null);
  if (uncertified.length) {
    for (const key of uncertified) {
      await keys.addCertificate(key.kid, await createSigningCertificate({ jwk: key.privateJwk, commonName: subject.commonName, notBefore: new Date(subject.now()) }));
    }
    // Another node may have stored its own first: read back what won.
    published = await keys.listPublished();
  }
  return published;
}

/** The host of the SAML entityID, for the certificates' subject (`urn:` entityIDs have none: then the issuer's). */
export function certificateCommonName(entityId: string, issuer: string): string {
  try {
    const host = new URL(entityId).hostname;
    if (host) return host;
  } catch {
    // an entityID need not be a URL (SAML core §8.3.6 allows any URI)
  }
  return new URL(issuer).hostname;
}
