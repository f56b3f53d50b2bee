/**
 * Signed device requests (shared contract, "Signed requests"). After registration every call
 * carries the device's id, a timestamp, a nonce and an ECDSA P-256/SHA-256 signature (IEEE P1363
 * form, r||s) made with the private key that never left the device, over:
 *
 * ```
 * stepup-device-v1
 * <METHOD>
 * <path as sent, with ?query>
 * <timestamp>
 * <nonce>
 * <base64url(SHA-256(raw body))>
 * ```
 *
 * So a request cannot be changed in method, path, query or body, cannot be kept for later (the
 * timestamp must be within ±120 s), and cannot be sent twice (the caller remembers each nonce for
 * the window; see `router.ts`). Only the public key is stored, so a copy of the database cannot
 * sign. This file is pure: no store, no clock of its own.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

import type { DevicePublicKey } from '../store/devices.ts';

/** The request headers of a signed call, lower case as Node gives them. */
export const SIGNATURE_HEADERS = {
  device: 'stepup-device',
  timestamp: 'stepup-timestamp',
  nonce: 'stepup-nonce',
  signature: 'stepup-signature',
} as const;

/** How far a request's timestamp may be from the server's clock, either way. */
export const MAX_SKEW_SECONDS = 120;

/** How long a nonce is remembered: longer than the whole window a timestamp is accepted in. */
export const NONCE_TTL_SECONDS = 300;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIMESTAMP = /^[0-9]{1,12}$/;
// 16 random bytes, base64url without padding.
const NONCE = /^[A-Za-z0-9_-]{22}$/;
// 64 bytes (r||s of P-256), base64url without padding.
const SIGNATURE = /^[A-Za-z0-9_-]{86}$/;

/** The four headers of a signed request, each of the right shape. */
export interface SignatureHeaders {
  deviceId: string;
  timestamp: number;
  nonce: string;
  signature: string;
}

/** The headers of a signed request, or undefined when one is missing or malformed. */
export function parseSignatureHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): SignatureHeaders | undefined {
  const one = (name: string) => {
    const value = headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const deviceId = one(SIGNATURE_HEADERS.device);
  const timestamp = one(SIGNATURE_HEADERS.timestamp);
  const nonce = one(SIGNATURE_HEADERS.nonce);
  const signature = one(SIGNATURE_HEADERS.signature);
  if (!deviceId || !UUID.test(deviceId) || !timestamp || !TIMESTAMP.test(timestamp)) return undefined;
  if (!nonce || !NONCE.test(nonce) || !signature || !SIGNATURE.test(signature)) return undefined;
  return { deviceId: deviceId.toLowerCase(), timestamp: Number(timestamp), nonce, signature };
}

/** base64url(SHA-256(body)); of the empty string for a request without a body. */
export function bodyDigest(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('base64url');
}

/** The exact text a device signs for a request. */
export function stringToSign(input: { method: string; path: string; timestamp: number; nonce: string; body: Uint8Array }): string {
  return ['stepup-device-v1', input.method.toUpperCase(), input.path, String(input.timestamp), input.nonce, bodyDigest(input.body)].join('\n');
}

/** The text a new key signs at registration, proving the registrant holds its private part. */
export function registrationProofText(input: { pairingCode: string; publicKey: DevicePublicKey }): string {
  return ['stepup-device-v1-register', input.pairingCode, input.publicKey.x, input.publicKey.y].join('\n');
}

/**
 * A device's public JWK as a key object, or undefined when it is not a point on P-256 (Node
 * refuses such a point on import).
 */
export function importDeviceKey(publicKey: DevicePublicKey): KeyObject | undefined {
  try {
    const key = createPublicKey({ key: { kty: publicKey.kty, crv: publicKey.crv, x: publicKey.x, y: publicKey.y }, format: 'jwk' });
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `signature` (base64url, P1363) is `key`'s ECDSA P-256/SHA-256 signature of `text`. */
function signs(key: KeyObject, text: string, signature: string): boolean {
  try {
    return verify('sha256', Buffer.from(text, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** The RFC 7638 thumbprint of a P-256 public key (SHA-256, base64url): one key, one device. */
export function keyThumbprint(publicKey: DevicePublicKey): string {
  // Members in lexicographic order, no whitespace (RFC 7638 §3.2).
  const canonical = JSON.stringify({ crv: publicKey.crv, kty: publicKey.kty, x: publicKey.x, y: publicKey.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** Why a signed request was refused, by the contract's error codes. */
export type SignatureFailure = 'invalid_signature' | 'stale_timestamp';

export type SignatureResult =
  | { verified: true; deviceId: string; nonce: string; timestamp: number }
  | { verified: false; reason: SignatureFailure };

/**
 * Verifies a signed device request against the device's stored public key. Checks the headers'
 * shape, the timestamp against `now` (±`maxSkewSeconds`), and the signature over method, path,
 * timestamp, nonce and the body's digest. The nonce's single use is the caller's to check (it
 * needs the shared store), after this has verified.
 */
export function verifyRequestSignature(options: {
  /** The device's public key as stored. */
  publicKey: DevicePublicKey;
  /** The request headers (Node's lower-case names). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  method: string;
  /** The path as the client sent it, with the query: what it signed, even when mounted under a prefix. */
  path: string;
  /** The raw body bytes; empty for none. */
  body: Uint8Array;
  /** The server's clock, epoch ms. */
  now: number;
  /** Defaults to {@link MAX_SKEW_SECONDS}. */
  maxSkewSeconds?: number;
}): SignatureResult {
  const { publicKey, method, path, body, now, maxSkewSeconds = MAX_SKEW_SECONDS } = options;
  const headers = parseSignatureHeaders(options.headers);
  if (!headers) return { verified: false, reason: 'invalid_signature' };
  if (Math.abs(now / 1000 - headers.timestamp) > maxSkewSeconds) return { verified: false, reason: 'stale_timestamp' };
  const key = importDeviceKey(publicKey);
  const text = stringToSign({ method, path, timestamp: headers.timestamp, nonce: headers.nonce, body });
  if (!key || !signs(key, text, headers.signature)) return { verified: false, reason: 'invalid_signature' };
  return { verified: true, deviceId: headers.deviceId, nonce: headers.nonce, timestamp: headers.timestamp };
}

/** Whether `proof` shows that the registrant holds the private part of `publicKey` (contract, "register"). */
export function verifyRegistrationProof(options: { publicKey: DevicePublicKey; pairingCode: string; proof: string }): boolean {
  const key = importDeviceKey(options.publicKey);
  return key !== undefined && SIGNATURE.test(options.proof) && signs(key, registrationProofText(options), options.proof);
}
