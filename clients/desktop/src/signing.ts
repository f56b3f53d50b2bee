// The device's key and what it signs (the device API's "Signed requests"): ECDSA P-256 with
// SHA-256, signatures in IEEE P1363 form (r||s, 64 bytes) as WebCrypto and JOSE (RFC 7518 §3.4)
// write them, not the DER that node:crypto writes by default.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** The public half as the server stores it: an EC P-256 JWK (RFC 7517), nothing more. */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/** The whole key as the state file keeps it; `d` is the private part. */
export interface PrivateJwk extends PublicJwk {
  d: string;
}

/** A request to be signed, with the path exactly as it is sent (pathname plus `?query`). */
export interface RequestToSign {
  method: string;
  path: string;
  /** The raw body bytes; empty for a GET. */
  body: Uint8Array;
}

/** A fresh P-256 key pair from node:crypto. */
export function generateDeviceKey(): PrivateJwk {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { x, y, d } = privateKey.export({ format: 'jwk' });
  if (!x || !y || !d) throw new Error('node:crypto exported an EC key without x, y or d');
  return { kty: 'EC', crv: 'P-256', x, y, d };
}

/** The public members only, so `d` can never travel with a JWK built from the private one. */
export function publicJwk(jwk: PrivateJwk): PublicJwk {
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
}

/** The key object node:crypto signs with; throws if the state file's JWK is not a P-256 key. */
export function importDeviceKey(jwk: PrivateJwk): KeyObject {
  const key = createPrivateKey({ key: { ...jwk }, format: 'jwk' });
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the key is not an EC P-256 key');
  }
  return key;
}

/**
 * The registration `proof`: the new key signs `stepup-device-v1-register\n<pairingCode>\n<x>\n<y>`,
 * so the server knows the device holds the private key of the public key it registers.
 */
export function registrationProof(key: KeyObject, options: { pairingCode: string; publicKey: PublicJwk }): string {
  const text = ['stepup-device-v1-register', options.pairingCode, options.publicKey.x, options.publicKey.y].join('\n');
  return signText(key, text);
}

/**
 * The four `Stepup-*` headers of a signed request. The string signed is, joined by `\n` with no
 * trailing newline: `stepup-device-v1`, the method in upper case, the path as sent, the timestamp,
 * the nonce, and base64url(SHA-256(body)). Timestamp and nonce are parameters so the caller owns
 * the clock and the randomness.
 */
export function signedHeaders(
  key: KeyObject,
  options: RequestToSign & { deviceId: string; timestamp: number; nonce: string },
): Record<string, string> {
  const bodyHash = createHash('sha256').update(options.body).digest('base64url');
  const text = ['stepup-device-v1', options.method.toUpperCase(), options.path, String(options.timestamp), options.nonce, bodyHash].join('\n');
  return {
    'stepup-device': options.deviceId,
    'stepup-timestamp': String(options.timestamp),
    'stepup-nonce': options.nonce,
    'stepup-signature': signText(key, text),
  };
}

/** 16 random bytes as base64url (22 characters): the server refuses a nonce it has seen. */
export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

function signText(key: KeyObject, text: string): string {
  return sign('sha256', Buffer.from(text, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}
