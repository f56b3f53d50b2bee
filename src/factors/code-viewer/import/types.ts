/**
 * What the token importers return: every token of a file, or every error found in it.
 */
import type { TotpAlgorithm, TotpDigits, TotpPeriod } from '../../totp/defaults.ts';

/** One code viewer read from a vendor file, ready to store. */
export interface ImportedToken {
  /**
   * Where in the file it was read, as errors name it: `line 4` in CSV, `KeyPackage 2 (serial
   * 2600215704919)` in PSKC; so a later check (against the inventory) can name the row too.
   */
  where: string;
  /** The 13-digit serial, normalised (no separators). */
  serial: string;
  /** The shared secret as raw bytes, 16 to 64 of them. */
  secret: Uint8Array;
  /** The token's hash function. */
  algorithm: TotpAlgorithm;
  /** How many digits the token shows. */
  digits: TotpDigits;
  /** The token's time step, in seconds. */
  period: TotpPeriod;
}

/**
 * What is wrong, as a stable code callers can `switch` on (and translate):
 * - `format`: the file's structure (header, column count, not XML, wrong root or version, empty)
 * - `doctype`: an XML document with a DOCTYPE, refused before parsing (entity attacks)
 * - `serial`: missing or not 13 digits; `duplicate_serial`: the same serial twice in the file
 * - `secret`: missing, badly encoded, or not 16 to 64 bytes
 * - `token_type`: not a TOTP token (an HOTP one, say)
 * - `algorithm`, `digits`, `period`: a value this IdP does not support
 * - `psk_missing`: the file is encrypted and no pre-shared key was given
 * - `decryption`: a value could not be decrypted (wrong key, bad padding, wrong key length)
 * - `mac`: a MAC is missing or does not match (RFC 6030 §6.1.1)
 * - `unencrypted`: a secret in the clear in a file that declares encryption, or a secret with
 *   both a plain and an encrypted value
 * - `unsupported`: a feature of the file this importer does not handle
 */
export type ImportErrorCode =
  | 'format'
  | 'doctype'
  | 'serial'
  | 'duplicate_serial'
  | 'secret'
  | 'token_type'
  | 'algorithm'
  | 'digits'
  | 'period'
  | 'psk_missing'
  | 'decryption'
  | 'mac'
  | 'unencrypted'
  | 'unsupported';

/** One problem in a file. */
export interface ImportError {
  /** Where: `line 4` in a CSV file, `KeyPackage 2 (serial 2600215704919)` in PSKC. */
  where: string;
  /** What, as a stable code. */
  code: ImportErrorCode;
  /** What, for the person: Danish first, then English. */
  message: string;
}

/**
 * A file is all or nothing: either every token in it, or every error found (never some tokens
 * and some errors), so a half-imported batch of code viewers cannot happen.
 */
export type ImportResult =
  | { ok: true; tokens: ImportedToken[] }
  | { ok: false; errors: ImportError[] };
