import { randomBytes } from 'node:crypto';

/**
 * Crockford's base32 alphabet: no I, L, O or U, so a pass read aloud over the phone or copied
 * from a note cannot be mistyped into another valid one.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Characters in a pass: 16 × 5 bits = 80 bits, far beyond the five guesses a pass allows. */
const LENGTH = 16;

/** A new access pass as IT reads it out: four groups of four, e.g. `7KQ2-M9XD-3HTR-B6WE`. */
export function generateAccessPass(): string {
  // 256 is a multiple of 32, so masking a random byte picks every character equally often.
  const chars = [...randomBytes(LENGTH)].map((byte) => ALPHABET[byte & 31]);
  return [0, 4, 8, 12].map((at) => chars.slice(at, at + 4).join('')).join('-');
}

/**
 * A typed pass in the one form that is hashed: upper case, without spaces or dashes, with the
 * letters Crockford's alphabet reads as digits (O as 0, I and L as 1). Undefined when what is left
 * cannot be a pass, so a malformed entry costs no database work.
 */
export function normaliseAccessPass(typed: string): string | undefined {
  const pass = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (pass.length !== LENGTH || [...pass].some((char) => !ALPHABET.includes(char))) return undefined;
  return pass;
}
