/**
 * The binding rule: the first code typed when a code viewer or authenticator app is tied to a
 * person proves possession and measures the token's clock offset in one go.
 */
import { TOTP_DEFAULTS } from './defaults.ts';
import type { TotpToken } from './steps.ts';
import { verifyTotp, type VerifyTotpResult } from './verify.ts';

/** Options of {@link bindTotp}. */
export interface BindTotpOptions extends TotpToken {
  /** The code as the person typed it; whitespace between digit groups is ignored. */
  code: string;
  /** The current time in epoch milliseconds, from the caller's clock. */
  now: number;
  /**
   * Steps searched either side of now. Defaults to {@link TOTP_DEFAULTS.bindWindow} (`10`):
   * nothing is known yet about the token's clock.
   */
  window?: number;
  /**
   * The last step accepted for this token, if it was used before (a code viewer handed to a
   * new person). Defaults to `null`.
   */
  lastStep?: number | null;
}

/** Result of {@link bindTotp}: on success, store `step` as `lastStep` and `drift` as the drift. */
export type BindTotpResult = VerifyTotpResult;

/**
 * Verifies the first code of a token with a wide window around now (no drift assumed) and
 * returns the drift found, from which later logins verify with the narrow window.
 *
 * @throws {TypeError} when the token or a numeric option is invalid.
 */
export function bindTotp(options: BindTotpOptions): BindTotpResult {
  const { window = TOTP_DEFAULTS.bindWindow, lastStep = null, ...rest } = options;
  return verifyTotp({ ...rest, drift: 0, window, lastStep });
}
