/**
 * What can happen to a device, free of HTTP: a pairing code issued, a device registered and
 * paired, its PIN checked, unregistered, revoked, unlocked. The device API (`router.ts`) and the
 * `stepup device` command call these; each act is audited, and whatever ends a device's event
 * stream is announced on its channel (`notices.ts`) so every node closes it at once.
 */
import { countFailure, CLEARED, runningLock, type FailureLimits } from '../auth/failure-count.ts';
import { decideAttempt } from '../auth/lockout.ts';
import type { ActContext, AuditLog, AuditType } from '../store/audit.ts';
import { DeviceKeyTakenError, type DeviceChanges, type DeviceKind, type DevicePublicKey, type DeviceRecord, type DeviceRepository, type DeviceStatus } from '../store/devices.ts';
import type { PairingCodeRepository } from '../store/pairing-codes.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import type { UserRepository } from '../store/users.ts';
import { publishDeviceNotice, type ClosedReason } from './notices.ts';
import { generatePairingCode, hashPairingCode, normalisePairingCode, PAIRING_CODE_TTL_SECONDS } from './pairing-code.ts';
import { hashPin, verifyPin } from './pin-hash.ts';
import { checkPinRule } from './pin.ts';
import { keyThumbprint, verifyRegistrationProof } from './signature.ts';

/**
 * Wrong pairing codes one client address may send in a minute. Reserved before the code is
 * looked up (as password attempts are, `auth/lockout.ts`), so a burst cannot pass it together;
 * a right code gives its reservation back. Pairing is rare, so a handful is plenty.
 */
export const PAIRING_ATTEMPTS = { maxFailures: 10, windowSeconds: 60 } as const;

/** A device's status as it stands at `now`: a lock that has run out no longer locks. */
export function effectiveStatus(options: { device: Pick<DeviceRecord, 'status' | 'lockedUntil'>; now: Date }): { status: DeviceStatus; lockedUntil?: Date } {
  const { device, now } = options;
  if (device.status !== 'locked') return { status: device.status };
  const lockedUntil = device.lockedUntil && device.lockedUntil > now ? device.lockedUntil : undefined;
  return lockedUntil ? { status: 'locked', lockedUntil } : { status: 'active' };
}

export type RegisterResult =
  | { ok: true; device: DeviceRecord }
  | { ok: false; reason: 'invalid_proof' | 'invalid_pairing_code' | 'too_many_requests' | 'key_taken' }
  | { ok: false; reason: 'pin_rejected'; message: string };

export type PairResult =
  | { ok: true; device: DeviceRecord; userName: string }
  | { ok: false; reason: 'invalid_pairing_code' | 'too_many_requests' | 'not_pending' };

/** The outcome of a PIN check (the challenge step's approval). */
export type PinCheckResult =
  | { ok: true }
  | { ok: false; reason: 'wrong_pin'; triesLeft: number }
  | { ok: false; reason: 'locked'; lockedUntil: Date }
  /** The device is not in use (unknown, pending or revoked): nothing was checked or counted. */
  | { ok: false; reason: 'unusable' };

/** A PIN check's answer, what it writes, and the device it locked, if it did. */
interface PinVerdict {
  result: PinCheckResult;
  changes?: DeviceChanges;
  locked?: DeviceRecord;
}

export interface DeviceService {
  /** Issues a pairing code for a user and a kind of device; the code is returned once and stored as an HMAC. */
  issuePairingCode(input: { userId: string; username: string; kind: DeviceKind; context: ActContext }): Promise<{ code: string; expiresAt: Date }>;
  /** Registers a new device, `pending`, for the user of an open pairing code of the same kind. */
  register(input: { pairingCode: string; kind: DeviceKind; name: string; publicKey: DevicePublicKey; pin: string; proof: string; context: ActContext }): Promise<RegisterResult>;
  /** Pairs a pending device: consumes its pairing code (once) and activates it. */
  pair(input: { device: DeviceRecord; pairingCode: string; context: ActContext }): Promise<PairResult>;
  /** The device revokes itself. */
  unregister(input: { device: DeviceRecord; context: ActContext }): Promise<void>;
  /**
   * IT revokes a device, or with `userId` its employee deletes their own in self-service.
   * Undefined for an unknown id (or another user's); `changed` false when it was revoked already.
   * Its event stream is closed at once, on whichever node it is open.
   */
  revoke(input: { deviceId: string; userId?: string | undefined; context: ActContext }): Promise<{ device: DeviceRecord; changed: boolean; announced: boolean } | undefined>;
  /** IT lifts a PIN lock. Undefined for an unknown id; `changed` false when nothing was locked or counted. */
  unlock(input: { deviceId: string; context: ActContext }): Promise<{ device: DeviceRecord; changed: boolean } | undefined>;
  /**
   * Checks a PIN of `device` (as the request read it). Concurrent checks count one after another,
   * each on the count the one before it wrote, so of fifty wrong PINs sent at once `maxFailures`
   * are counted and the rest find the device locked. The one that reaches the limit locks the
   * device (status `locked` until `lockedUntil`, longer with each lock in a row), audits it and
   * closes its event streams; a right PIN clears the count.
   */
  checkPin(input: { device: DeviceRecord; pin: string; context: ActContext }): Promise<PinCheckResult>;
}

/** Builds the {@link DeviceService} of one IdP instance (or one `stepup` run). */
export function createDeviceService(deps: {
  devices: DeviceRepository;
  pairingCodes: PairingCodeRepository;
  users: Pick<UserRepository, 'findById'>;
  audit: AuditLog;
  /** For the per-address count of pairing attempts and the device channels. */
  store: ShortLivedStore;
  /** HMAC key for pairing codes, derived from `SECRET_KEY` for this purpose only. */
  pairingKey: Buffer;
  /** The key PIN hashes are made with (`pin-hash.ts`), derived from `SECRET_KEY` for this purpose only. */
  pinKey: Buffer;
  /** Wrong PINs before a lock, and how long locks last (`FACTOR_LOCKOUT_*`). */
  limits: FailureLimits;
  /** The clock, epoch ms. */
  now: () => number;
}): DeviceService {
  const record = (type: AuditType, userId: string, context: ActContext, details: Record<string, unknown>) =>
    deps.audit.record({ type, actor: context.actor, userId, ip: context.ip, requestId: context.requestId, details });
  const close = (deviceId: string, reason: ClosedReason) => publishDeviceNotice(deps.store, deviceId, { type: 'closed', reason });

  /**
   * What a PIN check does to a device as it stands: the answer, and what to write (nothing when
   * no PIN was checked). A locked or unusable device checks no PIN and counts nothing.
   */
  const judgePin = async (device: DeviceRecord | undefined, pin: string, now: Date): Promise<PinVerdict> => {
    if (!device) return { result: { ok: false, reason: 'unusable' } };
    const state = effectiveStatus({ device, now });
    if (state.status === 'locked') return { result: { ok: false, reason: 'locked', lockedUntil: state.lockedUntil as Date } };
    if (state.status !== 'active') return { result: { ok: false, reason: 'unusable' } };
    // A lock that ran out leaves its history (lock_count), so the next lock lasts longer.
    const count = { failureCount: device.failureCount, lockCount: device.lockCount, lockedUntil: runningLock({ count: device, now }) ?? null };
    const pinCheck = await verifyPin(device.pinHash, pin, deps.pinKey);
    if (pinCheck.matches) {
      return { result: { ok: true }, changes: { ...CLEARED, status: 'active', lastUsedAt: now, ...(pinCheck.rehashed && { pinHash: pinCheck.rehashed }) } };
    }
    const counted = countFailure({ count, now, limits: deps.limits });
    const changes: DeviceChanges = { ...counted.count, status: counted.lockNumber ? 'locked' : 'active' };
    if (counted.lockNumber) {
      return { result: { ok: false, reason: 'locked', lockedUntil: counted.count.lockedUntil as Date }, changes, locked: { ...device, lockCount: counted.lockNumber } };
    }
    return { result: { ok: false, reason: 'wrong_pin', triesLeft: deps.limits.maxFailures - counted.count.failureCount }, changes };
  };

  /** Reserves one pairing attempt for the client address; undefined when its budget is spent. */
  const reserveAttempt = async (context: ActContext) => {
    const key = `device-pairing-attempts:${context.ip ?? 'unknown'}`;
    const attempt = await deps.store.increment(key, PAIRING_ATTEMPTS.windowSeconds * 1000);
    if (decideAttempt({ attempt, maxFailures: PAIRING_ATTEMPTS.maxFailures }) === 'refuse') return undefined;
    return { giveBack: () => deps.store.decrement(key, PAIRING_ATTEMPTS.windowSeconds * 1000) };
  };
  const codeHash = (typed: string) => {
    const normalised = normalisePairingCode(typed);
    return normalised === undefined ? undefined : hashPairingCode(deps.pairingKey, normalised);
  };

  return {
    async issuePairingCode({ userId, username, kind, context }) {
      const code = generatePairingCode();
      const now = new Date(deps.now());
      const expiresAt = new Date(now.getTime() + PAIRING_CODE_TTL_SECONDS * 1000);
      const stored = await deps.pairingCodes.issue({ userId, kind, codeHash: codeHash(code) as string, expiresAt, createdBy: context.actor, now });
      await record('pairing_code.issued', userId, context, { pairingCodeId: stored.id, username, kind, expiresAt: expiresAt.toISOString() });
      return { code, expiresAt };
    },

    async register({ pairingCode, kind, name, publicKey, pin, proof, context }) {
      if (!verifyRegistrationProof({ publicKey, pairingCode, proof })) return { ok: false, reason: 'invalid_proof' };
      const rule = checkPinRule({ pin, kind });
      if (!rule.ok) return { ok: false, reason: 'pin_rejected', message: rule.message };
      const reservation = await reserveAttempt(context);
      if (!reservation) return { ok: false, reason: 'too_many_requests' };
      const now = new Date(deps.now());
      const hash = codeHash(pairingCode);
      const code = hash === undefined ? undefined : await deps.pairingCodes.findOpen(hash, now);
      const user = code && code.kind === kind ? await deps.users.findById(code.userId) : undefined;
      if (!code || !user || user.status !== 'active') {
        await deps.audit.record({ type: 'pairing_code.failed', actor: context.actor, userId: user?.id, ip: context.ip, requestId: context.requestId, details: { step: 'register', kind } });
        return { ok: false, reason: 'invalid_pairing_code' };
      }
      await reservation.giveBack();
      try {
        const device = await deps.devices.add({
          userId: user.id,
          kind,
          name,
          publicKey: { kty: 'EC', crv: 'P-256', x: publicKey.x, y: publicKey.y },
          keyThumbprint: keyThumbprint(publicKey),
          pinHash: await hashPin(pin, deps.pinKey),
          pairingCodeId: code.id,
          now,
        });
        await record('device.registered', user.id, context, { deviceId: device.id, kind, name, pairingCodeId: code.id });
        return { ok: true, device };
      } catch (error) {
        if (error instanceof DeviceKeyTakenError) return { ok: false, reason: 'key_taken' };
        throw error;
      }
    },

    async pair({ device, pairingCode, context }) {
      if (device.status !== 'pending') return { ok: false, reason: 'not_pending' };
      const reservation = await reserveAttempt(context);
      if (!reservation) return { ok: false, reason: 'too_many_requests' };
      const hash = codeHash(pairingCode);
      const outcome = hash === undefined
        ? { paired: false as const, reason: 'no_code' as const }
        : await deps.devices.completePairing({ deviceId: device.id, codeHash: hash, now: new Date(deps.now()) });
      if (!outcome.paired) {
        if (outcome.reason === 'not_pending') return { ok: false, reason: 'not_pending' };
        await record('pairing_code.failed', device.userId, context, { step: 'pair', deviceId: device.id, kind: device.kind });
        return { ok: false, reason: 'invalid_pairing_code' };
      }
      await reservation.giveBack();
      const user = await deps.users.findById(device.userId);
      await record('device.paired', device.userId, context, { deviceId: device.id, kind: device.kind, name: device.name });
      return { ok: true, device: outcome.device, userName: user?.username ?? '' };
    },

    async unregister({ device, context }) {
      const revoked = await deps.devices.revoke(device.id, new Date(deps.now()));
      if (!revoked) return;
      await record('device.unregistered', device.userId, context, { deviceId: device.id, kind: device.kind, name: device.name });
      await close(device.id, 'unregistered');
    },

    async revoke({ deviceId, userId, context }) {
      const device = await deps.devices.find(deviceId);
      // A device's user never changes, so checking it before the revocation leaves no race.
      if (!device || (userId !== undefined && device.userId !== userId)) return undefined;
      const revoked = await deps.devices.revoke(device.id, new Date(deps.now()));
      if (!revoked) return { device, changed: false, announced: false };
      await record('device.revoked', device.userId, context, { deviceId: device.id, kind: device.kind, name: device.name, previousStatus: revoked.status });
      const announced = await close(device.id, 'revoked');
      return { device: { ...revoked, status: 'revoked' }, changed: true, announced };
    },

    async unlock({ deviceId, context }) {
      const before = await deps.devices.unlock(deviceId);
      if (!before) return undefined;
      const changed = before.status === 'locked' || before.failureCount > 0 || before.lockCount > 0 || before.lockedUntil !== null;
      if (changed) await record('device.unlocked', before.userId, context, { deviceId: before.id, kind: before.kind, name: before.name });
      const status = before.status === 'locked' ? 'active' : before.status;
      return { device: { ...before, status, failureCount: 0, lockCount: 0, lockedUntil: null }, changed };
    },

    async checkPin({ device, pin, context }) {
      const now = new Date(deps.now());
      // Judged first on the device as this request read it, and written only if no other check
      // changed its counters meanwhile (one statement); else judged again in turn, under the
      // row lock, on what the checks before it wrote.
      let outcome = await judgePin(device, pin, now);
      if (outcome.changes && !(await deps.devices.updateIfUnchanged(device.id, device, outcome.changes))) {
        outcome = await deps.devices.withDeviceLocked(device.id, async (current, update) => {
          const judged = await judgePin(current, pin, now);
          if (judged.changes) await update(judged.changes);
          return judged;
        });
      }
      if (outcome.locked) {
        const { locked } = outcome;
        const lockedUntil = (outcome.result as { lockedUntil: Date }).lockedUntil;
        await record('device.locked', locked.userId, { ...context, actor: 'system' }, { deviceId: locked.id, kind: locked.kind, lockNumber: locked.lockCount, lockedUntil: lockedUntil.toISOString() });
        await close(locked.id, 'locked');
      }
      return outcome.result;
    },
  };
}
