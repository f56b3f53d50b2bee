/**
 * The VAPID key pair (RFC 8292) the IdP signs its Web Push requests with, derived from
 * `SECRET_KEY`. An app subscribes with the public key as its `applicationServerKey`, and the push
 * service then accepts only requests signed by the matching private key (RFC 8292 §4), so every
 * node must sign with the same pair: deriving it from the secret every node already shares needs
 * no new secret to distribute, store or rotate. Changing `SECRET_KEY` changes the pair, and apps
 * must subscribe again (they compare the published key with the one they subscribed with).
 */
import { createECDH } from 'node:crypto';

import { deriveKey } from './derived-keys.ts';

/** The order n of the P-256 group (SEC 2 §2.4.2; FIPS 186-4 D.1.2.3). */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** Bytes of key material per scalar: the curve's 256 bits and 64 more, as FIPS 186-4 B.4.1 asks. */
export const SCALAR_SOURCE_BYTES = 40;

/** A VAPID key pair as `web-push` takes it: base64url of the uncompressed public point (65 bytes) and the private scalar (32 bytes). */
export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/**
 * Turns key material into a P-256 private scalar in [1, n−1] the way FIPS 186-4 B.4.1 ("key pair
 * generation using extra random bits") does: d = (c mod (n−1)) + 1 with c at least 64 bits longer
 * than n, so every input gives a valid key and the bias is below 2^-64. Returns 32 bytes, big-endian.
 */
export function p256PrivateScalar(material: Buffer): Buffer {
  if (material.length < SCALAR_SOURCE_BYTES) throw new Error(`p256PrivateScalar: needs at least ${SCALAR_SOURCE_BYTES} bytes`);
  const c = BigInt(`0x${material.toString('hex')}`);
  const d = (c % (P256_ORDER - 1n)) + 1n;
  return Buffer.from(d.toString(16).padStart(64, '0'), 'hex');
}

/** The VAPID key pair of every node sharing `secretKey` (HKDF purpose `vapid`). */
export function deriveVapidKeys(secretKey: string): VapidKeys {
  const privateKey = p256PrivateScalar(deriveKey(secretKey, 'vapid', SCALAR_SOURCE_BYTES));
  const ecdh = createECDH('prime256v1');
  // setPrivateKey refuses a scalar outside [1, n−1] and computes the public point d·G.
  ecdh.setPrivateKey(privateKey);
  return { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: privateKey.toString('base64url') };
}
