import { timingSafeEqual } from 'node:crypto';

import type { AuditLog } from '../../store/audit.ts';
import type { DeviceRecord } from '../../store/devices.ts';
import type { ActContext } from '../factor.ts';
import { challengeStatus, decideDeviceAnswer, type ChallengeRecord, type ChallengeStatus } from './challenge-rules.ts';
import type { ChallengeStore } from './challenges.ts';

/** The device's PIN check, counted and locking (the device service's `checkPin`). */
export type CheckPin = (input: { device: DeviceRecord; pin: string; context: ActContext }) => Promise<
  | { ok: true }
  | { ok: false; reason: 'wrong_pin'; triesLeft: number }
  | { ok: false; reason: 'locked'; lockedUntil: Date }
  | { ok: false; reason: 'unusable' }
>;

/** Why a device's answer was refused; the device API has a stable error for each. */
export type AnswerFailure =
  | { reason: 'not_found' | 'expired' | 'closed' | 'unusable' }
  | { reason: 'wrong_number' }
  | { reason: 'wrong_pin'; triesLeft: number }
  | { reason: 'locked'; lockedUntil: Date };

export type AnswerResult = { ok: true; challenge: ChallengeRecord } | ({ ok: false } & AnswerFailure);

export interface ChallengeAnswers {
  /** The device's challenges still waiting, for polling and for a stream that (re)connects. */
  pending(device: DeviceRecord): Promise<ChallengeRecord[]>;
  /** A challenge as its device may read it; undefined for another device's or an unknown one. */
  read(device: DeviceRecord, challengeId: string): Promise<{ challenge: ChallengeRecord; status: ChallengeStatus } | undefined>;
  /**
   * Approves with the PIN (and in number-matching mode the number read in the browser): only the
   * device the challenge was sent to, only while it waits, once. The number is checked before
   * the PIN; a wrong number means the user cannot see the login they are approving, so the
   * challenge is rejected outright (the defence against approving out of habit).
   */
  approve(input: { device: DeviceRecord; challengeId: string; pin: string; number: string | undefined; context: ActContext }): Promise<AnswerResult>;
  /** Rejects: the login's waiting page says so at once. */
  reject(input: { device: DeviceRecord; challengeId: string; context: ActContext }): Promise<AnswerResult>;
}

/** How devices answer challenges (the device API's approve and reject). */
export function createChallengeAnswers(deps: { challenges: ChallengeStore; checkPin: CheckPin; audit: AuditLog; now: () => number }): ChallengeAnswers {
  const open = async (device: DeviceRecord, challengeId: string) => {
    const { challenge, outcome } = await deps.challenges.find(challengeId);
    const decision = decideDeviceAnswer({ challenge, outcome, deviceId: device.id, now: deps.now() });
    return decision.ok ? { ok: true as const, challenge: challenge as ChallengeRecord } : decision;
  };
  const record = (type: 'challenge.approved' | 'challenge.rejected', challenge: ChallengeRecord, context: ActContext, details: Record<string, unknown> = {}) =>
    deps.audit.record({ type, actor: context.actor, userId: challenge.userId, ip: context.ip, requestId: context.requestId, details: { challengeId: challenge.id, deviceId: challenge.deviceId, ...details } });
  /** Settles once; a challenge settled meanwhile by another request is `closed`. */
  const settle = async (challenge: ChallengeRecord, outcome: 'approved' | 'rejected', context: ActContext, details?: Record<string, unknown>): Promise<AnswerResult> => {
    if (!(await deps.challenges.settle(challenge, outcome))) return { ok: false, reason: 'closed' };
    await record(outcome === 'approved' ? 'challenge.approved' : 'challenge.rejected', challenge, context, details);
    return { ok: true, challenge };
  };

  return {
    pending: (device) => deps.challenges.pendingForDevice(device.id),

    async read(device, challengeId) {
      const { challenge, outcome } = await deps.challenges.find(challengeId);
      if (!challenge || challenge.deviceId !== device.id) return undefined;
      return { challenge, status: challengeStatus({ challenge, outcome, now: deps.now() }) };
    },

    async approve({ device, challengeId, pin, number, context }) {
      const opened = await open(device, challengeId);
      if (!opened.ok) return opened;
      const { challenge } = opened;
      if (challenge.number !== undefined && !sameText(number ?? '', challenge.number)) {
        await settle(challenge, 'rejected', context, { reason: 'wrong_number' });
        return { ok: false, reason: 'wrong_number' };
      }
      const pinChecked = await deps.checkPin({ device, pin, context });
      if (!pinChecked.ok) return pinChecked;
      return settle(challenge, 'approved', context);
    },

    async reject({ device, challengeId, context }) {
      const opened = await open(device, challengeId);
      if (!opened.ok) return opened;
      return settle(opened.challenge, 'rejected', context, { reason: 'device' });
    },
  };
}

/** Compares without a timing side channel (the number is short, but the habit costs nothing). */
function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
