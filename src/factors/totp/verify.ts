/**
 * The login rule for code viewers and authenticator apps: is this typed code the token's code
 * for now (give or take its drift and a small window), and was it not used before?
 */
import { TOTP_DEFAULTS } from './defaults.ts';
import {
  checkedToken,
  findMatchingSteps,
  nearestStep,
  normaliseCode,
  timeStepAt,
  type TotpFailureReason,
  type TotpToken,
} from './steps.ts';

/** Options of {@link verifyTotp}. */
export interface VerifyTotpOptions extends TotpToken {
  /** The code as the person typed it; whitespace between digit groups is ignored. */
  code: string;
  /** The current time in epoch milliseconds, from the caller's clock (never read here). */
  now: number;
  /**
   * The token's measured clock offset in time steps (positive: the token runs fast), as
   * returned by the last successful verification, binding or resynchronisation.
   * Defaults to `0`.
   */
  drift?: number;
  /**
   * Steps accepted either side of `now + drift`. Defaults to
   * {@link TOTP_DEFAULTS.verifyWindow} (`1`).
   */
  window?: number;
  /**
   * The last time step accepted for this token, or `null` if none was. A code for this step or
   * an earlier one is refused as `'replayed'` (RFC 6238 §5.2). Required so that no caller
   * forgets replay protection.
   */
  lastStep: number | null;
}

/** Result of {@link verifyTotp}. */
export type VerifyTotpResult =
  | {
      verified: true;
      /** The time step the code belongs to: store it as the token's `lastStep`. */
      step: number;
      /** The offset found now, `step` minus the current step: store it as the token's drift. */
      drift: number;
    }
  | {
      verified: false;
      /**
       * `'malformed'`: not exactly `digits` digits; `'replayed'`: the code is the token's code
       * for `lastStep` or an earlier step; `'invalid'`: anything else.
       */
      reason: TotpFailureReason;
    };

/**
 * Verifies a TOTP code (RFC 6238) against a token, with drift, a window and replay protection.
 *
 * Every fresh step in `now + drift ± window` is checked (at most 2 × window + 1 HMACs); when
 * the code matches several, the one nearest to the expected step is taken. Steps at or before
 * `lastStep` never verify.
 *
 * @throws {TypeError} when the token or a numeric option is invalid (a programming error,
 *   not something the person typed).
 */
export function verifyTotp(options: VerifyTotpOptions): VerifyTotpResult {
  const { code, now, drift = 0, window = TOTP_DEFAULTS.verifyWindow, lastStep } = options;
  const token = checkedToken({ ...options, now, drift, window, lastStep });

  const typed = normaliseCode(code, token.digits);
  if (typed === null) return { verified: false, reason: 'malformed' };

  const current = timeStepAt(now, token.period);
  const expected = current + drift;
  const from = expected - window;
  const to = expected + window;

  // RFC 6238 §5.2: only steps after the last accepted one may verify.
  const fresh = findMatchingSteps(token, typed, { from, to, after: lastStep ?? undefined });
  const step = nearestStep(fresh, expected);
  if (step !== undefined) return { verified: true, step, drift: step - current };

  // Tell a replay apart from a wrong code, so the caller can log and count it as such.
  if (lastStep !== null && findMatchingSteps(token, typed, { from, to: Math.min(to, lastStep) }).length > 0) {
    return { verified: false, reason: 'replayed' };
  }
  return { verified: false, reason: 'invalid' };
}
