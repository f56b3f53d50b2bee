/**
 * How a device's PIN is stored and checked: argon2id keyed with a secret derived from
 * `SECRET_KEY` (argon2's `secret` input, a pepper), at low cost.
 *
 * A PIN is 4 or 6 digits, so 10,000 or a million guesses find it: a stolen table of PIN hashes
 * is open to anyone who can compute them, whatever the cost (at the password parameters, 15 ms
 * a hash, every 4-digit PIN takes two and a half minutes of one core). What protects it is the
 * key, which is not in the database, and the device lock counts the guesses made online (five).
 * The cost buys nothing more, and is paid at every approval, in the device's wait; so it is
 * argon2id's smallest sensible: 8 MiB, one pass (under 2 ms).
 */
import { hash, verify } from '@node-rs/argon2';

import { needsRehash, verifyPassword } from '../auth/password-hash.ts';

/**
 * Below `ARGON2_MEMORY_KIB`'s least (19456), so a PIN hashed before PINs were keyed, with the
 * password parameters and no key, is told apart by its header.
 */
export const PIN_ARGON2 = { memoryCost: 8192, timeCost: 1, parallelism: 1 } as const;

// 2 is `Algorithm.Argon2id`, a const enum that erasable-syntax TypeScript cannot import.
const ARGON2ID = 2;

/** The stored form of a new PIN. */
export function hashPin(pin: string, key: Buffer): Promise<string> {
  return hash(pin, { algorithm: ARGON2ID, ...PIN_ARGON2, secret: key });
}

/**
 * Whether `pin` matches the stored hash; for a right PIN stored the older way (unkeyed, at the
 * password parameters), also its keyed hash to store in its place. False, never a throw, for a
 * malformed hash.
 */
export async function verifyPin(stored: string, pin: string, key: Buffer): Promise<{ matches: boolean; rehashed?: string }> {
  if (needsRehash(stored, PIN_ARGON2)) {
    if (!(await verifyPassword(stored, pin))) return { matches: false };
    return { matches: true, rehashed: await hashPin(pin, key) };
  }
  try {
    return { matches: await verify(stored, pin, { secret: key }) };
  } catch {
    return { matches: false };
  }
}
