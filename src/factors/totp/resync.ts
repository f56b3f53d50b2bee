/**
 * The resynchronisation rule (RFC 6238 §6): a token whose clock has wandered out of the login
 * window is found again from two consecutive codes, searched in a wide window.
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

/** Options of {@link resyncTotp}. */
export interface ResyncTotpOptions extends TotpToken {
  /** The first code as typed. */
  code1: string;
  /** The code the token showed next (one time step later), as typed. */
  code2: string;
  /** The current time in epoch milliseconds, from the caller's clock. */
  now: number;
  /**
   * The drift stored for the token; the search is centred on `now + drift`. Defaults to `0`
   * (pass `0` to search around the true time when the stored drift is not trusted).
   */
  drift?: number;
  /**
   * Steps searched either side of `now + drift` for the first code. Defaults to
   * {@link TOTP_DEFAULTS.resyncWindow} (`60`).
   */
  window?: number;
  /** The last time step accepted for this token, or `null`; older pairs are `'replayed'`. */
  lastStep: number | null;
}

/** Result of {@link resyncTotp}. */
export type ResyncTotpResult =
  | {
      resynced: true;
      /** The token's new offset: the second code's step minus the current step. */
      drift: number;
      /** The second code's step: store it as the token's `lastStep`. */
      lastStep: number;
    }
  | {
      resynced: false;
      /**
       * `'malformed'`: either code is not exactly `digits` digits; `'replayed'`: the only
       * matching pair is at or before `lastStep`; `'invalid'`: no two consecutive steps match.
       */
      reason: TotpFailureReason;
    };

/**
 * Finds a step `s` within `now + drift ± window` where `code1` is the token's code for `s` and
 * `code2` its code for `s + 1`, nearest to the expected step, and returns the drift that puts
 * the second code at now. Two consecutive codes are needed because a single 6-digit code in a
 * window of 121 steps would match by chance about once in 8,000 tries.
 *
 * @throws {TypeError} when the token or a numeric option is invalid.
 */
export function resyncTotp(options: ResyncTotpOptions): ResyncTotpResult {
  const { code1, code2, now, drift = 0, window = TOTP_DEFAULTS.resyncWindow, lastStep } = options;
  const token = checkedToken({ ...options, now, drift, window, lastStep });

  const first = normaliseCode(code1, token.digits);
  const second = normaliseCode(code2, token.digits);
  if (first === null || second === null) return { resynced: false, reason: 'malformed' };

  const current = timeStepAt(now, token.period);
  const expected = current + drift;
  const firstSteps = findMatchingSteps(token, first, { from: expected - window, to: expected + window });
  const secondSteps = new Set(
    findMatchingSteps(token, second, { from: expected - window + 1, to: expected + window + 1 }),
  );
  const pairs = firstSteps.filter((step) => secondSteps.has(step + 1));

  // RFC 6238 §5.2: both codes must be newer than the last accepted step.
  const freshPairs = lastStep === null ? pairs : pairs.filter((step) => step > lastStep);
  const step = nearestStep(freshPairs, expected);
  if (step !== undefined) return { resynced: true, drift: step + 1 - current, lastStep: step + 1 };
  return { resynced: false, reason: pairs.length > 0 ? 'replayed' : 'invalid' };
}
