import { randomBytes, randomInt } from 'node:crypto';

/**
 * A login's request to approve it on a device (issue "Step 4"), as kept in the short-lived store.
 * Times are epoch ms.
 */
export interface ChallengeRecord {
  id: string;
  userId: string;
  deviceId: string;
  /** The login it was sent for; only that login may use its approval. */
  flowUid: string;
  /** The relying party, as the device shows it ("log in to …"). */
  clientName: string;
  /** Shown in the browser and on the device, so the user sees they are the same request. */
  code: string;
  /** Number matching: the user reads it in the browser and types it on the device. */
  number?: string | undefined;
  createdAt: number;
  expiresAt: number;
}

/** What became of a challenge, settled once: by the device, or by the login that used it. */
export type ChallengeOutcome = 'approved' | 'rejected';

export type ChallengeStatus = 'pending' | 'approved' | 'rejected' | 'expired';

/**
 * Letters and digits without look-alikes (no 0/O, 1/I/L): a code read off one screen and
 * compared with another must not be misread.
 */
export const CHALLENGE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/** A fresh 4-character comparison code. */
export function generateChallengeCode(): string {
  return Array.from({ length: 4 }, () => CHALLENGE_ALPHABET[randomInt(CHALLENGE_ALPHABET.length)]).join('');
}

/** A fresh 2-digit number for number matching, 10 to 99 so it never starts with a zero to drop. */
export function generateMatchNumber(): string {
  return String(randomInt(10, 100));
}

/** A challenge id: 128 random bits, unguessable, safe in a URL. */
export function generateChallengeId(): string {
  return randomBytes(16).toString('base64url');
}

/** A challenge's status at `now`: its settled outcome, else pending until it expires. */
export function challengeStatus(options: { challenge: Pick<ChallengeRecord, 'expiresAt'>; outcome: ChallengeOutcome | undefined; now: number }): ChallengeStatus {
  if (options.outcome) return options.outcome;
  return options.now < options.challenge.expiresAt ? 'pending' : 'expired';
}

/** Why a device may not answer a challenge. */
export type AnswerRefusal = 'not_found' | 'expired' | 'closed';

/**
 * Whether a device may approve or reject a challenge now: only the device it was sent to (for
 * any other the challenge does not exist), only while pending, once.
 */
export function decideDeviceAnswer(options: { challenge: ChallengeRecord | undefined; outcome: ChallengeOutcome | undefined; deviceId: string; now: number }): { ok: true } | { ok: false; reason: AnswerRefusal } {
  const { challenge } = options;
  if (!challenge || challenge.deviceId !== options.deviceId) return { ok: false, reason: 'not_found' };
  const status = challengeStatus({ challenge, outcome: options.outcome, now: options.now });
  if (status === 'expired') return { ok: false, reason: 'expired' };
  if (status !== 'pending') return { ok: false, reason: 'closed' };
  return { ok: true };
}

/** What the waiting login learns of its challenge. */
export type LoginView = ChallengeStatus | 'not_found';

/**
 * What a login sees of a challenge: only the login it was sent for, by the user and device it
 * names, sees it at all; an approval counts for that login alone.
 */
export function decideLoginView(options: { challenge: ChallengeRecord | undefined; outcome: ChallengeOutcome | undefined; userId: string; deviceId: string; flowUid: string; now: number }): LoginView {
  const { challenge } = options;
  if (!challenge || challenge.userId !== options.userId || challenge.deviceId !== options.deviceId || challenge.flowUid !== options.flowUid) return 'not_found';
  return challengeStatus({ challenge, outcome: options.outcome, now: options.now });
}
