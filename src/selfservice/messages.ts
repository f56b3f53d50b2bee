/**
 * What self-service tells an employee when a device's name breaks the rule, a code viewer is not
 * bound, an app not confirmed or an identity not verified: the one map from each refusal to its words, so the router only
 * passes the result on.
 */
import { FACTOR_NAME_MAX_LENGTH, type FactorNameFailure } from '../factors/factor-name.ts';
import type { BindResult, ConfirmResult } from '../factors/totp-factors.ts';
import { clockTime, translate, type Language, type MessageKey } from '../http/i18n.ts';
import type { VerificationFailure } from '../identity/verification.ts';

const CODE_MESSAGES = {
  malformed: 'code.malformed',
  invalid: 'code.invalid',
  replayed: 'code.replayed',
} as const satisfies Record<string, MessageKey>;

/** Why the name typed for a device (added or renamed) was refused, in `language`. */
export function nameRefusal(language: Language, reason: FactorNameFailure): string {
  switch (reason) {
    case 'empty':
      return translate(language, 'ss.nameMissing');
    case 'too_long':
      return translate(language, 'ss.name.tooLong', { max: String(FACTOR_NAME_MAX_LENGTH) });
    case 'control':
      return translate(language, 'ss.name.control');
  }
}

/** Why a code viewer was not bound, in `language`. */
export function bindRefusal(language: Language, refusal: Extract<BindResult, { ok: false }>): string {
  const time = refusal.lockedUntil ? clockTime(language, refusal.lockedUntil) : '';
  switch (refusal.reason) {
    case 'serial':
      // The serial rule's own words (validateSerial), already in both languages.
      return refusal.message ?? translate(language, 'ss.notInStock');
    case 'not_in_stock':
      return translate(language, 'ss.notInStock');
    case 'locked':
      return translate(language, 'ss.serialLocked', { time });
    case 'user_locked':
      return translate(language, 'ss.enrolmentLocked', { time });
    default:
      return translate(language, CODE_MESSAGES[refusal.reason]);
  }
}

/** Why an authenticator app was not confirmed, in `language`. */
export function confirmRefusal(language: Language, refusal: Extract<ConfirmResult, { ok: false }>): string {
  switch (refusal.reason) {
    case 'user_locked':
      return translate(language, 'ss.enrolmentLocked', { time: refusal.lockedUntil ? clockTime(language, refusal.lockedUntil) : '' });
    // A pending app that ran out, or was dropped for a newer one, can only be started again.
    case 'expired':
    case 'not_found':
      return translate(language, 'ss.enrolmentExpired');
    default:
      return translate(language, CODE_MESSAGES[refusal.reason]);
  }
}

/**
 * Why an identity was not verified, in words an employee can act on. Their own mistake or ours
 * reads as a mismatch, an upstream that answered wrongly as a failure, and every way a callback
 * cannot be matched to this session (late, replayed, another window's) as one: start again.
 */
const VERIFICATION_MESSAGES = {
  mismatch: 'ss.identity.mismatch',
  email_unverified: 'ss.identity.mismatch',
  no_attribute: 'ss.identity.noAttribute',
  acr: 'ss.identity.acr',
  claim_missing: 'ss.identity.failed',
  upstream_error: 'ss.identity.failed',
  upstream_unavailable: 'ss.identity.unavailable',
  cancelled: 'ss.identity.cancelled',
  expired: 'ss.identity.expired',
  unknown_state: 'ss.identity.expired',
  replayed: 'ss.identity.expired',
  other_session: 'ss.identity.expired',
} as const satisfies Record<VerificationFailure, MessageKey>;

/** The reasons {@link verificationRefusal} has words for, to read one back from a query string. */
export const isVerificationFailure = (value: unknown): value is VerificationFailure => typeof value === 'string' && Object.hasOwn(VERIFICATION_MESSAGES, value);

/** Why an identity was not verified, in `language`. */
export function verificationRefusal(language: Language, reason: VerificationFailure): string {
  return translate(language, VERIFICATION_MESSAGES[reason]);
}
