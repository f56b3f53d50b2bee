/**
 * What an audit event counts for in the metrics (issue "Step 7"): every authentication act is
 * already an audit event, so the counters are read off the events rather than threaded through
 * every module. Pure: an event in, the counts out. Every label value comes from a fixed list, so
 * no username, address, client or secret can become a label, and the label sets stay bounded.
 */
import type { AuditEvent } from '../store/audit.ts';

/** One increment of one counter. */
export type Count =
  | { counter: 'password_checks'; labels: { outcome: PasswordOutcome } }
  | { counter: 'second_factor_verifications'; labels: { kind: string; outcome: 'success' | 'failure' } }
  | { counter: 'lockouts'; labels: { what: LockedThing } }
  | { counter: 'challenges'; labels: { outcome: 'sent' | 'approved' | 'rejected' | 'expired' } };

export const PASSWORD_OUTCOMES = ['success', 'wrong_password', 'unknown_user', 'disabled', 'locked', 'throttled'] as const;
export type PasswordOutcome = (typeof PASSWORD_OUTCOMES)[number];

export const LOCKED_THINGS = ['account', 'address', 'factor', 'device', 'enrolment'] as const;
export type LockedThing = (typeof LOCKED_THINGS)[number];

/** The second-factor kinds a label may name; another kind (a plug-in's) counts as `other`. */
export const FACTOR_KIND_LABELS = ['code_viewer', 'authenticator', 'desktop', 'app', 'security_key'] as const;

const LOCKED_BY_EVENT: Partial<Record<AuditEvent['type'], LockedThing>> = {
  'user.locked': 'account',
  'ip.throttled': 'address',
  'factor.locked': 'factor',
  'device.locked': 'device',
  'factor.enrolment_locked': 'enrolment',
};

/** The counts an audit event makes; none for events the metrics do not follow. */
export function countsOf(event: AuditEvent): Count[] {
  const locked = LOCKED_BY_EVENT[event.type];
  if (locked) return [{ counter: 'lockouts', labels: { what: locked } }];
  switch (event.type) {
    case 'login.password.succeeded':
      return [{ counter: 'password_checks', labels: { outcome: 'success' } }];
    case 'login.password.failed':
      return [{ counter: 'password_checks', labels: { outcome: passwordOutcome(event.details?.reason) } }];
    case 'login.second_factor.succeeded':
    case 'login.second_factor.failed': {
      const verification: Count = {
        counter: 'second_factor_verifications',
        labels: { kind: kindLabel(event.details?.kind), outcome: event.type === 'login.second_factor.succeeded' ? 'success' : 'failure' },
      };
      // A challenge that ran out is seen when the waiting page goes on without an answer; one
      // the employee walked away from is not counted.
      return event.details?.reason === 'expired' ? [verification, { counter: 'challenges', labels: { outcome: 'expired' } }] : [verification];
    }
    case 'challenge.sent':
      return [{ counter: 'challenges', labels: { outcome: 'sent' } }];
    case 'challenge.approved':
      return [{ counter: 'challenges', labels: { outcome: 'approved' } }];
    case 'challenge.rejected':
      return [{ counter: 'challenges', labels: { outcome: 'rejected' } }];
    default:
      return [];
  }
}

/** `password-login.ts`'s failure reasons (`wrong-password`, …) as labels; anything else is a wrong password. */
function passwordOutcome(reason: unknown): PasswordOutcome {
  const label = typeof reason === 'string' ? reason.replaceAll('-', '_') : '';
  return (PASSWORD_OUTCOMES as readonly string[]).includes(label) && label !== 'success' ? (label as PasswordOutcome) : 'wrong_password';
}

function kindLabel(kind: unknown): string {
  return typeof kind === 'string' && (FACTOR_KIND_LABELS as readonly string[]).includes(kind) ? kind : 'other';
}
