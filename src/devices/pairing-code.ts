/**
 * Pairing codes (shared contract, "Pairing codes"): 10 characters from an alphabet without the
 * look-alikes 0/O, 1/I/L, shown as `XXXXX-XXXXX` to be read aloud or typed from a screen. 31^10
 * is about 2^49.5; with a code living 15 minutes and wrong codes limited per client address,
 * guessing one is hopeless, so a keyed hash (HMAC-SHA256 under a key derived for this purpose)
 * stores it as safely as a slow hash would.
 */
import { createHmac, randomInt } from 'node:crypto';

/** The characters a code is made of. */
export const PAIRING_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/** Characters in a code, without the dash. */
export const PAIRING_CODE_LENGTH = 10;

/** How long a code can be used: long enough to install the client, short enough to be no standing credential. */
export const PAIRING_CODE_TTL_SECONDS = 15 * 60;

/** A new random code, formatted `XXXXX-XXXXX`. */
export function generatePairingCode(): string {
  const chars = Array.from({ length: PAIRING_CODE_LENGTH }, () => PAIRING_CODE_ALPHABET[randomInt(PAIRING_CODE_ALPHABET.length)]);
  return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
}

/**
 * A typed code in its one comparable form: upper case, without spaces and dashes. Undefined when
 * it cannot be a code (wrong length or a character outside the alphabet).
 */
export function normalisePairingCode(typed: string): string | undefined {
  const normalised = typed.toUpperCase().replace(/[\s-]/g, '');
  if (normalised.length !== PAIRING_CODE_LENGTH) return undefined;
  return [...normalised].every((char) => PAIRING_CODE_ALPHABET.includes(char)) ? normalised : undefined;
}

/** The stored form of a normalised code: HMAC-SHA256 under the 'pairing-code' key, base64url. */
export function hashPairingCode(key: Buffer, normalised: string): string {
  return createHmac('sha256', key).update(normalised).digest('base64url');
}
