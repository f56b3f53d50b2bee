import { hkdfSync } from 'node:crypto';

/** The purposes a key is derived from `SECRET_KEY` for; one key per purpose, never shared. */
export type KeyPurpose = 'at-rest' | 'cookies' | 'csrf' | 'dpop-nonce' | 'access-pass' | 'audit-username' | 'pairing-code';

/**
 * Derives a 32-byte key for one purpose from `SECRET_KEY` with HKDF-SHA256 (RFC 5869), so one
 * operator secret yields independent keys and every node derives the same ones.
 */
export function deriveKey(secretKey: string, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, 'stepup-idp', `stepup-idp/${purpose}`, 32));
}
