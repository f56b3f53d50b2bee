import type { FirstFactorEnrolment } from '../config/index.ts';

/** What allowed a change of an employee's second factors. Named in the audit log. */
export type FactorChangeAuthority = 'second-factor' | 'access-pass' | 'password';

export type FactorChangeDecision =
  | { allowed: true; via: FactorChangeAuthority }
  /** `step-up`: prove a second factor again; `access-pass`: type the pass IT gave. */
  | { allowed: false; need: 'step-up' | 'access-pass' };

/**
 * Whether a self-service session may add, rename or delete second factors now (issue "Step 3":
 * a password alone never reaches Substantial). Decided on every request that changes something,
 * from what the session proved and when, never from what it was allowed when it began:
 * - an employee who has a second factor must have proven one within `maxAge` seconds;
 * - one who has none adds the first as `firstFactorEnrolment` allows: with an access pass
 *   redeemed in this session within `maxAge`, or (embedded demo only) with the password.
 */
export function decideFactorChange(options: {
  /** Whether the employee has a second factor in use now. */
  hasSecondFactor: boolean;
  /** When this session last proved one of the employee's second factors, epoch seconds. */
  secondFactorAt: number | undefined;
  /** When an access pass was redeemed in this session, epoch seconds. */
  accessPassAt: number | undefined;
  firstFactorEnrolment: FirstFactorEnrolment;
  /** Epoch seconds. */
  now: number;
  /** `SELFSERVICE_STEP_UP_MAX_AGE`, in seconds. */
  maxAge: number;
}): FactorChangeDecision {
  const { now, maxAge } = options;
  const fresh = (at: number | undefined) => at !== undefined && at <= now && now - at <= maxAge;
  if (options.hasSecondFactor) {
    return fresh(options.secondFactorAt) ? { allowed: true, via: 'second-factor' } : { allowed: false, need: 'step-up' };
  }
  if (options.firstFactorEnrolment === 'password') return { allowed: true, via: 'password' };
  return fresh(options.accessPassAt) ? { allowed: true, via: 'access-pass' } : { allowed: false, need: 'access-pass' };
}
