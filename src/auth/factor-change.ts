import type { FirstFactorEnrolment } from '../config/index.ts';

/** What allowed a change of an employee's second factors. Named in the audit log. */
export type FactorChangeAuthority = 'second-factor' | 'access-pass' | 'identity' | 'password';

export type FactorChangeDecision =
  | { allowed: true; via: FactorChangeAuthority }
  /**
   * `step-up`: prove a second factor again; `access-pass`: type the pass IT gave; `identity`:
   * verify at the upstream provider (one who has a factor may step up instead).
   */
  | { allowed: false; need: 'step-up' | 'access-pass' | 'identity' };

/**
 * Whether a self-service session may add, rename or delete second factors now (issue "Step 3":
 * a password alone never reaches Substantial). Decided on every request that changes something,
 * from what the session proved and when, never from what it was allowed when it began:
 * - an employee who has a second factor must have proven one within `maxAge` seconds;
 * - one who has none adds the first as `firstFactorEnrolment` allows: with an access pass
 *   redeemed in this session within `maxAge`, an identity verified in this session within
 *   `identityHold`, or (embedded demo only) with the password;
 * - with `identity`, a fresh verification stands in for a fresh factor, so an employee who lost
 *   their only phone can remove it and add another (issue 9). An access pass never does: it
 *   is for the first factor only.
 */
export function decideFactorChange(options: {
  /** Whether the employee has a second factor in use now. */
  hasSecondFactor: boolean;
  /** When this session last proved one of the employee's second factors, epoch seconds. */
  secondFactorAt: number | undefined;
  /** When an access pass was redeemed in this session, epoch seconds. */
  accessPassAt: number | undefined;
  /** When this session's employee was last verified at the upstream identity provider, epoch seconds. */
  identityVerifiedAt: number | undefined;
  firstFactorEnrolment: FirstFactorEnrolment;
  /** Epoch seconds. */
  now: number;
  /** `SELFSERVICE_STEP_UP_MAX_AGE`, in seconds. */
  maxAge: number;
  /** `IDENTITY_VERIFICATION_SECONDS`: how long a verification holds, in seconds. */
  identityHold: number;
}): FactorChangeDecision {
  const { now, maxAge } = options;
  const fresh = (at: number | undefined, within: number) => at !== undefined && at <= now && now - at <= within;
  const identity = options.firstFactorEnrolment === 'identity';
  const identityFresh = identity && fresh(options.identityVerifiedAt, options.identityHold);
  if (options.hasSecondFactor) {
    if (fresh(options.secondFactorAt, maxAge)) return { allowed: true, via: 'second-factor' };
    if (identityFresh) return { allowed: true, via: 'identity' };
    return { allowed: false, need: identity ? 'identity' : 'step-up' };
  }
  switch (options.firstFactorEnrolment) {
    case 'password':
      return { allowed: true, via: 'password' };
    case 'identity':
      return identityFresh ? { allowed: true, via: 'identity' } : { allowed: false, need: 'identity' };
    default:
      return fresh(options.accessPassAt, maxAge) ? { allowed: true, via: 'access-pass' } : { allowed: false, need: 'access-pass' };
  }
}
