/**
 * What self-service tells an employee when a code viewer is not bound or an app not confirmed:
 * the one map from each refusal to its words, so the router only passes the result on.
 */
import type { BindResult, ConfirmResult } from '../factors/totp-factors.ts';
import { clockTime, translate, type Language, type MessageKey } from '../http/i18n.ts';

const CODE_MESSAGES = {
  malformed: 'code.malformed',
  invalid: 'code.invalid',
  replayed: 'code.replayed',
} as const satisfies Record<string, MessageKey>;

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
