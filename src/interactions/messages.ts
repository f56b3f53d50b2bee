/**
 * What the login pages tell a user whose second-factor answer was refused: the one map from
 * each refusal to its words, so the router only passes the result on.
 */
import type { FactorFailure, FactorRefusal } from '../factors/factor.ts';
import { clockTime, translate, type Language, type MessageKey } from '../http/i18n.ts';

const FAILURE_MESSAGES: Readonly<Record<FactorFailure, MessageKey>> = {
  malformed: 'code.malformed',
  invalid: 'code.invalid',
  replayed: 'code.replayed',
  locked: 'code.locked',
  not_found: 'code.not_found',
  pending: 'challenge.pending',
  rejected: 'challenge.rejected',
  expired: 'challenge.expired',
  too_many_challenges: 'challenge.tooMany',
  not_verified: 'webauthn.notVerified',
};

/** Why an answer was refused, in `language`; a lock says until when. */
export function factorRefusal(language: Language, refusal: Pick<FactorRefusal, 'reason' | 'lockedUntil'>): string {
  if (refusal.lockedUntil) return translate(language, 'code.lockedUntil', { time: clockTime(language, refusal.lockedUntil) });
  return translate(language, FAILURE_MESSAGES[refusal.reason]);
}

/** How long a challenge has left, as a countdown reads (`1:05`); never below zero. */
export function timeLeft(untilMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.ceil((untilMs - nowMs) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
