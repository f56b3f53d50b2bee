/**
 * Building blocks shared by the TOTP rules: what a token is, which time step an instant falls
 * in, what a typed code looks like once cleaned, and which steps of a range a code matches.
 *
 * The one-time values themselves are always computed by otplib (RFC 4226 §5.3 truncation,
 * RFC 6238 §4 time counter); nothing here does HMAC or truncation by hand.
 */
import { createGuardrails, verifySync } from 'otplib';
import type { HashAlgorithm } from 'otplib';
import {
  TOTP_ALGORITHMS,
  TOTP_DIGITS,
  TOTP_MAX_SECRET_BYTES,
  TOTP_MIN_SECRET_BYTES,
  TOTP_PERIODS,
  type TotpAlgorithm,
  type TotpDigits,
  type TotpPeriod,
} from './defaults.ts';

/** What every TOTP rule needs to know about the token itself. */
export interface TotpToken {
  /** The shared secret (RFC 6238 §3 R3), as raw bytes: 16 to 64 bytes. */
  secret: Uint8Array;
  /** The token's hash function. */
  algorithm: TotpAlgorithm;
  /** How many digits the token shows. */
  digits: TotpDigits;
  /** The token's time step X, in seconds (RFC 6238 §4.1). */
  period: TotpPeriod;
}

/** Why a typed code was refused. Stable: callers `switch` on it and tests assert it. */
export type TotpFailureReason = 'invalid' | 'replayed' | 'malformed';

const OTPLIB_ALGORITHM: Record<TotpAlgorithm, HashAlgorithm> = {
  SHA1: 'sha1',
  SHA256: 'sha256',
  SHA512: 'sha512',
};

/**
 * Checks the token and numeric options a caller passed. These come from our own database and
 * configuration, never from the person typing, so a bad one is a programming error: it throws
 * rather than returning a result.
 *
 * @throws {TypeError} naming the option that is wrong.
 */
export function assertTotpToken(token: TotpToken): void {
  if (!(token.secret instanceof Uint8Array)) throw new TypeError('secret must be a Uint8Array');
  if (token.secret.length < TOTP_MIN_SECRET_BYTES || token.secret.length > TOTP_MAX_SECRET_BYTES) {
    // RFC 4226 §4 R6: at least 128 bits; otplib enforces the same bounds.
    throw new TypeError(`secret must be ${TOTP_MIN_SECRET_BYTES} to ${TOTP_MAX_SECRET_BYTES} bytes, got ${token.secret.length}`);
  }
  if (!(TOTP_ALGORITHMS as readonly string[]).includes(token.algorithm)) {
    throw new TypeError(`algorithm must be one of ${TOTP_ALGORITHMS.join(', ')}`);
  }
  if (!(TOTP_DIGITS as readonly number[]).includes(token.digits)) {
    throw new TypeError(`digits must be one of ${TOTP_DIGITS.join(', ')}`);
  }
  if (!(TOTP_PERIODS as readonly number[]).includes(token.period)) {
    throw new TypeError(`period must be one of ${TOTP_PERIODS.join(', ')}`);
  }
}

/**
 * Checks that `value` is a safe integer not below `min`.
 *
 * @throws {TypeError} naming the option.
 */
export function assertInteger(name: string, value: number, min = Number.MIN_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`${name} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ''}, got ${value}`);
  }
}

/**
 * Checks the clock reading passed in.
 *
 * @throws {TypeError} when `now` is not a finite, non-negative number of milliseconds.
 */
export function assertNow(now: number): void {
  if (!Number.isFinite(now) || now < 0) throw new TypeError(`now must be epoch milliseconds, got ${now}`);
}

/**
 * The RFC 6238 §4.2 time step of an instant: T = floor((unix time - T0) / X), with T0 = 0.
 *
 * @param now - Epoch milliseconds, from the caller's clock.
 */
/**
 * The token part of a rule's options, after checking it and the numbers every rule shares, so
 * each rule starts from the same validated inputs.
 *
 * @throws {TypeError} when the token or a numeric option is invalid.
 */
export function checkedToken(options: TotpToken & { now: number; drift: number; window: number; lastStep: number | null }): TotpToken {
  const token: TotpToken = { secret: options.secret, algorithm: options.algorithm, digits: options.digits, period: options.period };
  assertTotpToken(token);
  assertNow(options.now);
  assertInteger('drift', options.drift);
  assertInteger('window', options.window, 0);
  if (options.lastStep !== null) assertInteger('lastStep', options.lastStep, 0);
  return token;
}

export function timeStepAt(now: number, period: TotpPeriod): number {
  return Math.floor(now / (period * 1000));
}

/**
 * The code as the token shows it, or `null` when it cannot be one. People type "123 456" the
 * way a code viewer groups the digits, so whitespace is dropped; anything else that is not one
 * of the ASCII digits, or the wrong count of them, makes the code malformed.
 */
export function normaliseCode(code: string, digits: TotpDigits): string | null {
  if (typeof code !== 'string') return null;
  const compact = code.replace(/\s+/g, '');
  return compact.length === digits && /^[0-9]+$/.test(compact) ? compact : null;
}

/** Where to look for a code, in time steps. */
export interface StepRange {
  /** First step of the range (clamped to 0: there is no step before the Unix epoch). */
  from: number;
  /** Last step of the range, included. */
  to: number;
  /** Only steps after this one count (exclusive), as otplib's `afterTimeStep`. */
  after?: number;
}

/**
 * Every step in a range whose one-time value equals `code` (already normalised), ascending.
 *
 * otplib's `verifySync` carries the range: `epoch` at the first step and `epochTolerance`
 * `[0, span]` make its window exactly `from..to`. It stops at the first match, earliest first,
 * so to see every match (the rules want the nearest one, not the earliest) we call it again
 * with `afterTimeStep` set to the step just found: it skips those steps without computing
 * them, so each step's HMAC is computed at most once, and its comparison is constant-time.
 */
export function findMatchingSteps(token: TotpToken, code: string, range: StepRange): number[] {
  const from = Math.max(0, range.from);
  const { to } = range;
  if (to < from) return [];
  const span = to - from;
  const options = {
    secret: token.secret,
    token: code,
    algorithm: OTPLIB_ALGORITHM[token.algorithm],
    digits: token.digits,
    period: token.period,
    epoch: from * token.period,
    epochTolerance: [0, span * token.period] as [number, number],
    // otplib caps a window at 99 steps (MAX_WINDOW) by default; resynchronisation searches
    // 121 (±60), so the cap is raised to exactly the range asked for.
    guardrails: createGuardrails({ MAX_WINDOW: span + 1 }),
  };
  const matches: number[] = [];
  let after = range.after;
  // otplib throws when afterTimeStep lies past the window's end, hence `after < to`.
  while (after === undefined || after < to) {
    const result = verifySync({ ...options, afterTimeStep: after });
    if (!result.valid || !('timeStep' in result)) break;
    matches.push(result.timeStep);
    after = result.timeStep;
  }
  return matches;
}

/**
 * The step nearest to `expected`. On a tie the later step wins: it moves the last accepted
 * step further on, so the same code cannot be accepted a second time at the other step
 * (RFC 6238 §5.2: the verifier must not accept the second attempt of the same OTP).
 */
export function nearestStep(steps: readonly number[], expected: number): number | undefined {
  let best: number | undefined;
  for (const step of steps) {
    if (best === undefined) {
      best = step;
      continue;
    }
    const distance = Math.abs(step - expected);
    const bestDistance = Math.abs(best - expected);
    if (distance < bestDistance || (distance === bestDistance && step > best)) best = step;
  }
  return best;
}
