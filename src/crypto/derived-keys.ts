import { hkdfSync } from 'node:crypto';

/** The purposes a key is derived from `SECRET_KEY` for; one key per purpose, never shared. */
export type KeyPurpose = 'at-rest' | 'cookies' | 'csrf' | 'dpop-nonce' | 'access-pass' | 'audit-username' | 'pairing-code' | 'device-pin' | 'vapid' | 'saml-nameid' | 'user-attribute';

/**
 * Derives a key for one purpose from `SECRET_KEY` with HKDF-SHA256 (RFC 5869), so one
 * operator secret yields independent keys and every node derives the same ones.
 * `length` is in bytes and defaults to 32; an elliptic-curve scalar wants a few more (`vapid-keys.ts`).
 */
export function deriveKey(secretKey: string, purpose: KeyPurpose, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, 'stepup-idp', `stepup-idp/${purpose}`, length));
}
