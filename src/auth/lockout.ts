/**
 * Brute-force rules for password attempts, free of storage: the caller counts attempts
 * atomically (Redis INCR) and asks these functions what the count means.
 *
 * Attempts are counted *before* the password is checked (a reservation), so when 50 wrong
 * attempts arrive at once only the first `maxFailures` are ever checked; the rest are refused
 * as if the account were locked (OWASP ASVS 5.0 6.3.1, "controls against credential stuffing").
 * The same rule, with its own limit, counts attempts per client IP.
 */

/** What to do with an attempt, given its place in the count of consecutive attempts. */
export type AttemptDecision = 'check' | 'refuse';

/**
 * Whether the attempt numbered `attempt` (1 for the first since the last success or lock, or in
 * the client IP's window) may have its password checked.
 */
export function decideAttempt(options: { attempt: number; maxFailures: number }): AttemptDecision {
  return options.attempt <= options.maxFailures ? 'check' : 'refuse';
}

/** Whether a failed attempt numbered `attempt` is the one that locks the account. */
export function failureLocks(options: { attempt: number; maxFailures: number }): boolean {
  return options.attempt >= options.maxFailures;
}

/**
 * How long the `lockNumber`-th lock in a row lasts: `baseSeconds`, doubling with each further
 * lock, never longer than `maxSeconds`. A patient attacker gets ever fewer guesses a day; an
 * employee who mistyped five times waits minutes, and IT can unlock at once.
 */
export function lockSeconds(options: { lockNumber: number; baseSeconds: number; maxSeconds: number }): number {
  const doublings = Math.max(0, options.lockNumber - 1);
  return Math.min(options.maxSeconds, options.baseSeconds * 2 ** Math.min(doublings, 30));
}

