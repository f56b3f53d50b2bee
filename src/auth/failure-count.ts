/**
 * The count of wrong codes kept beside whatever is guessed at: a second factor at login, a code
 * viewer in stock being bound, a person binding or confirming devices. Pure: the caller reads
 * the count under a row lock, asks these functions, and writes back what they return, so that
 * racing requests take turns and each sees the count the one before it left.
 */
import { failureLocks, lockSeconds } from './lockout.ts';

/** Consecutive wrong codes, how many locks they have set in a row, and the running lock. */
export interface FailureCount {
  failureCount: number;
  lockCount: number;
  lockedUntil: Date | null;
}

/** How many wrong codes lock, and for how long (`FACTOR_LOCKOUT_*`). */
export interface FailureLimits {
  maxFailures: number;
  baseSeconds: number;
  maxSeconds: number;
}

/** The running lock at `now`, if any. */
export function runningLock(options: { count: FailureCount; now: Date }): Date | undefined {
  const { lockedUntil } = options.count;
  return lockedUntil && lockedUntil > options.now ? lockedUntil : undefined;
}

/** What one more wrong code makes of a count: `lockNumber` is set when it set a lock. */
export type CountedFailure = { count: FailureCount; lockNumber?: number };

/**
 * Counts a wrong code. The one that reaches `maxFailures` locks for `baseSeconds`, doubling with
 * each further lock in a row up to `maxSeconds` (`lockout.ts`), and starts the count again.
 */
export function countFailure(options: { count: FailureCount; now: Date; limits: FailureLimits }): CountedFailure {
  const { count, now, limits } = options;
  const failures = count.failureCount + 1;
  if (!failureLocks({ attempt: failures, maxFailures: limits.maxFailures })) {
    return { count: { ...count, failureCount: failures } };
  }
  const lockNumber = count.lockCount + 1;
  const seconds = lockSeconds({ lockNumber, baseSeconds: limits.baseSeconds, maxSeconds: limits.maxSeconds });
  return { count: { failureCount: 0, lockCount: lockNumber, lockedUntil: new Date(now.getTime() + 1000 * seconds) }, lockNumber };
}

/** A count after a right code: nothing counted, no lock, no lock history. */
export const CLEARED: FailureCount = Object.freeze({ failureCount: 0, lockCount: 0, lockedUntil: null });
