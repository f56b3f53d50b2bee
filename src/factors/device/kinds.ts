import type { AuditLog, AuditType } from '../../store/audit.ts';
import type { DeviceKind, DeviceRecord, DeviceRepository, DeviceStatus } from '../../store/devices.ts';
import type { ActContext, Challenge, FactorKind, FactorRefusal, SecondFactor } from '../factor.ts';
import { decideLoginView, type ChallengeRecord } from './challenge-rules.ts';
import type { ChallengeStore } from './challenges.ts';

/**
 * What approving on a device proves (RFC 8176 §2): something the user knows, the PIN typed on
 * the device (`pin`), and something they have, the device's software-secured key that signed
 * the approval (`swk`).
 */
export const DEVICE_AMR = ['pin', 'swk'] as const;

export interface DeviceKindDeps {
  devices: Pick<DeviceRepository, 'list' | 'find' | 'rename'>;
  /**
   * Revokes the user's device (the device service's, which audits `device.revoked` and closes
   * the device's event stream on every node); undefined when it is not theirs.
   */
  revoke(input: { deviceId: string; userId: string; context: ActContext }): Promise<{ changed: boolean } | undefined>;
  challenges: ChallengeStore;
  audit: AuditLog;
  /** Tells the device of a new challenge: its event stream on every node, and push for an app. */
  announce(challenge: ChallengeRecord, device: DeviceRecord): Promise<void>;
  /** Whether the relying party wants number matching (the setting, global or its own). */
  numberMatching(clientId: string): Promise<boolean>;
  /** How long a challenge waits for the device, ms. */
  challengeTtlMs: number;
  /** The clock, epoch ms. */
  now: () => number;
}

/** The statuses of a device its user sees in self-service: all but revoked, which is gone. */
const LISTED: readonly DeviceStatus[] = ['pending', 'active', 'locked'];

/**
 * The desktop client (`desktop`: a computer or terminal, 4-digit PIN) and the phone app (`app`:
 * a phone or tablet, 6-digit PIN) as factor kinds: choosing one sends a challenge to the device
 * and shows the waiting page; the device approves with its PIN over the signed device API, and
 * the waiting login then spends that approval, once. A device registered but not yet paired is
 * listed `pending`, never usable. Deleting one in self-service revokes it.
 */
export function createDeviceKinds(deps: DeviceKindDeps): FactorKind[] {
  return (['desktop', 'app'] as const).map((kind) => createDeviceKind(kind, deps));
}

function createDeviceKind(kind: DeviceKind, deps: DeviceKindDeps): FactorKind {
  const events = { succeeded: 'login.second_factor.succeeded', failed: 'login.second_factor.failed', locked: 'device.locked' } as const;
  const now = () => new Date(deps.now());

  const toFactor = (device: DeviceRecord): SecondFactor => {
    const lockedUntil = device.status === 'locked' && device.lockedUntil && device.lockedUntil > now() ? device.lockedUntil : null;
    return {
      id: device.id,
      kind,
      name: device.name,
      detail: null,
      addedAt: device.createdAt,
      lastUsedAt: device.lastUsedAt,
      status: device.status === 'pending' ? 'pending' : lockedUntil ? 'locked' : 'active',
      lockedUntil,
    };
  };

  /** The user's device of this kind that is not revoked; undefined for anyone else's. */
  const ownDevice = async (userId: string, deviceId: string) => {
    const device = await deps.devices.find(deviceId);
    return device && device.userId === userId && device.kind === kind && device.status !== 'revoked' ? device : undefined;
  };

  /** The user's device of this kind that can take a challenge now, or why not. */
  const usableDevice = async (userId: string, deviceId: string) => {
    const device = await deps.devices.find(deviceId);
    if (!device || device.userId !== userId || device.kind !== kind) return { reason: 'not_found' as const, lockedUntil: undefined };
    const factor = toFactor(device);
    if (factor.lockedUntil) return { reason: 'locked' as const, lockedUntil: factor.lockedUntil };
    if (device.status !== 'active' && device.status !== 'locked') return { reason: 'not_found' as const };
    return { device, reason: undefined, lockedUntil: undefined };
  };

  const audit = (type: AuditType, userId: string, context: ActContext, details: Record<string, unknown>) =>
    deps.audit.record({ type, actor: context.actor, userId, clientId: context.clientId, ip: context.ip, requestId: context.requestId, details: { kind, ...details } });

  const refuse = async (userId: string, deviceId: string, context: ActContext, refusal: FactorRefusal) => {
    if (refusal.reason !== 'pending') await audit(events.failed, userId, context, { deviceId, reason: refusal.reason });
    return refusal;
  };

  return {
    name: kind,
    amr: DEVICE_AMR,
    events,

    async listForUser(userId) {
      const devices = await deps.devices.list({ userId });
      return devices.filter((device) => device.kind === kind && LISTED.includes(device.status)).map(toFactor);
    },

    async start({ userId, factor, flow, context, resend = false }) {
      const usable = await usableDevice(userId, factor.id);
      if (!usable.device) return { type: 'refused', refusal: { ok: false, reason: usable.reason, lockedUntil: usable.lockedUntil } };
      const latest = await deps.challenges.latestForFlow(flow.uid, usable.device.id);
      const view = decideLoginView({ ...latest, userId, deviceId: usable.device.id, flowUid: flow.uid, now: deps.now() });
      // Still answerable, or approved and not yet used: a reload shows it again and pushes nothing.
      if (!resend && (view === 'pending' || view === 'approved')) return { type: 'challenge', challenge: shownChallenge(latest.challenge as ChallengeRecord) };
      // Sent again: the old one is withdrawn, so the device shows one request for this login and its slot is free.
      if (resend && view === 'pending') await deps.challenges.settle(latest.challenge as ChallengeRecord, 'rejected');
      const challenge = await deps.challenges.create({
        userId,
        deviceId: usable.device.id,
        flowUid: flow.uid,
        clientName: flow.clientName ?? flow.clientId,
        numberMatching: await deps.numberMatching(flow.clientId),
        ttlMs: deps.challengeTtlMs,
      });
      if (!challenge) return { type: 'refused', refusal: { ok: false, reason: 'too_many_challenges' } };
      await deps.announce(challenge, usable.device);
      await deps.audit.record({ type: 'challenge.sent', actor: context.actor, userId, clientId: context.clientId, ip: context.ip, requestId: context.requestId, details: { kind, deviceId: usable.device.id, challengeId: challenge.id, numberMatching: Boolean(challenge.number) } });
      return { type: 'challenge', challenge: shownChallenge(challenge) };
    },

    async verify({ userId, factorId, answer, flow, context }) {
      const { challenge, outcome } = answer.challengeId ? await deps.challenges.find(answer.challengeId) : { challenge: undefined, outcome: undefined };
      const view = decideLoginView({ challenge, outcome, userId, deviceId: factorId, flowUid: flow.uid, now: deps.now() });
      if (view === 'pending') return { ok: false, reason: 'pending', challenge: challenge && shownChallenge(challenge) };
      if (view !== 'approved') return refuse(userId, factorId, context, { ok: false, reason: view });
      if (!(await deps.challenges.spend(challenge as ChallengeRecord))) return refuse(userId, factorId, context, { ok: false, reason: 'replayed' });
      await audit(events.succeeded, userId, context, { deviceId: factorId, challengeId: (challenge as ChallengeRecord).id });
      return { ok: true };
    },

    async awaitChallenge({ userId, factorId, challengeId, flow, signal }) {
      const look = async () => {
        const { challenge, outcome } = await deps.challenges.find(challengeId);
        return { challenge, state: decideLoginView({ challenge, outcome, userId, deviceId: factorId, flowUid: flow.uid, now: deps.now() }) };
      };
      let seen = await look();
      // A timer may fire a moment before the clock reaches the expiry: look again until it has.
      while (seen.state === 'pending' && !signal.aborted) {
        await deps.challenges.awaitOutcome(seen.challenge as ChallengeRecord, signal);
        seen = await look();
      }
      return seen.state;
    },

    async rename({ userId, factorId, name, context }) {
      // Of this kind only, as every kind acts on its own factors; the row's update checks the user.
      if (!(await ownDevice(userId, factorId))) return false;
      const before = await deps.devices.rename({ id: factorId, userId, name });
      if (!before) return false;
      await audit('factor.renamed', userId, context, { deviceId: factorId, name, nameWas: before.name });
      return true;
    },

    async remove({ userId, factorId, context }) {
      if (!(await ownDevice(userId, factorId))) return false;
      return Boolean((await deps.revoke({ deviceId: factorId, userId, context }))?.changed);
    },
  };
}

/** What the waiting page shows of a challenge. */
function shownChallenge(challenge: ChallengeRecord): Challenge {
  return { id: challenge.id, code: challenge.code, number: challenge.number, expiresAt: new Date(challenge.expiresAt) };
}
