/**
 * The TOTP parameters this IdP supports and every default the TOTP rules use, each with why.
 *
 * One place on purpose: the verification rules, the binding and resynchronisation rules and the
 * token importers all read their defaults from here, so a number is changed once.
 */

/** Hash functions RFC 6238 §1.2 allows for TOTP (HMAC-SHA-1, HMAC-SHA-256, HMAC-SHA-512). */
export const TOTP_ALGORITHMS = ['SHA1', 'SHA256', 'SHA512'] as const;

/** A TOTP hash function, spelled as in RFC 6238 Appendix B. */
export type TotpAlgorithm = (typeof TOTP_ALGORITHMS)[number];

/**
 * Code lengths we accept. RFC 4226 §5.3 allows 6 to 8 digits; code viewers and authenticator
 * apps show 6, the RFC 6238 Appendix B vectors use 8, and nobody ships 7.
 */
export const TOTP_DIGITS = [6, 8] as const;

/** A supported code length. */
export type TotpDigits = (typeof TOTP_DIGITS)[number];

/**
 * Time steps we accept, in seconds. RFC 6238 §5.2 recommends 30 s; some code viewers
 * (Feitian c100/c200, for one) ship with 60 s.
 */
export const TOTP_PERIODS = [30, 60] as const;

/** A supported time step, in seconds. */
export type TotpPeriod = (typeof TOTP_PERIODS)[number];

/** Every default of the TOTP rules. */
export const TOTP_DEFAULTS = {
  /**
   * Hash function when a token file leaves it out. Defaults to `'SHA1'`: RFC 6238 §1.2 makes
   * HMAC-SHA-1 the base function and virtually every code viewer and app uses it.
   */
  algorithm: 'SHA1',
  /** Code length when a token file leaves it out. Defaults to `6`, what code viewers show. */
  digits: 6,
  /** Time step when a token file leaves it out. Defaults to `30` s, RFC 6238 §5.2's advice. */
  period: 30,
  /**
   * Steps accepted either side of `now + drift` at login. Defaults to `2` (±1 min at 30 s):
   * RFC 6238 §5.2 advises one step of transmission delay, and an employee reading a code viewer
   * near the end of its step and typing it slowly needs one more. The measured drift absorbs the
   * token's clock error; with 5 guesses before a lock an attacker's chance stays 25 / 10^6.
   */
  verifyWindow: 2,
  /**
   * Steps searched either side of now when a token is first bound to a user. Defaults to `10`
   * (±5 min at 30 s): a code viewer may have lain in a drawer for months and its clock moved;
   * one 6-digit guess still succeeds with probability only 21 / 10^6.
   */
  bindWindow: 10,
  /**
   * Steps searched either side of `now + drift` when resynchronising with two consecutive
   * codes (RFC 6238 §6). Defaults to `60` (±30 min at 30 s): wide enough for a token left
   * unused for years, while two consecutive 6-digit codes matching by chance anywhere in the
   * window has probability about 121 / 10^12.
   */
  resyncWindow: 60,
} as const satisfies {
  algorithm: TotpAlgorithm;
  digits: TotpDigits;
  period: TotpPeriod;
  verifyWindow: number;
  bindWindow: number;
  resyncWindow: number;
};

/**
 * The shortest secret we accept, in bytes. RFC 4226 §4 (R6): the shared secret MUST be at
 * least 128 bits; otplib refuses shorter ones too (`MIN_SECRET_BYTES`).
 */
export const TOTP_MIN_SECRET_BYTES = 16;

/** The longest secret we accept, in bytes: otplib's `MAX_SECRET_BYTES`, a SHA-512 block's worth. */
export const TOTP_MAX_SECRET_BYTES = 64;
