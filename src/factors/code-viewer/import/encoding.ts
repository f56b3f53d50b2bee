/**
 * Strict decoders for the secret encodings in token files. Node's `Buffer.from(…, 'base64')`
 * and `'hex'` skip what they cannot read; a secret misread that way would import without a
 * word and never verify, so these refuse anything that is not exactly the encoding.
 */
import { ScureBase32Plugin } from 'otplib';

const base32 = new ScureBase32Plugin();

/** Hex (RFC 4648 §8), either case, an even number of digits; `null` if it is not. */
export function decodeHex(text: string): Uint8Array | null {
  if (text.length === 0 || !/^(?:[0-9a-fA-F]{2})+$/.test(text)) return null;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/**
 * Base32 (RFC 4648 §6), as authenticator apps show it: either case, padding optional, unused
 * trailing bits zero. `null` if it is not.
 */
export function decodeBase32(text: string): Uint8Array | null {
  if (text.length === 0 || !/^[A-Za-z2-7]+=*$/.test(text)) return null;
  try {
    return new Uint8Array(base32.decode(text.toUpperCase()));
  } catch {
    return null;
  }
}

/** Base64 (RFC 4648 §4), whitespace allowed (XML wraps it), padding required; `null` if not. */
export function decodeBase64(text: string): Uint8Array | null {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact)) {
    return null;
  }
  return new Uint8Array(Buffer.from(compact, 'base64'));
}
