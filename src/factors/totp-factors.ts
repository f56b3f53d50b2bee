import { generateSecret, generateURI, ScureBase32Plugin } from 'otplib';

import { CLEARED, countFailure, runningLock, type CountedFailure } from '../auth/failure-count.ts';
import type { FactorLockoutLimits, TotpWindows } from '../config/index.ts';
import type { AuditLog } from '../store/audit.ts';
import type { LockedEnrolment, TokenChanges, TotpKind, TotpTokenRecord, TotpTokenRepository } from '../store/totp-tokens.ts';
import { validateSerial } from './code-viewer/serial.ts';
import type { ActContext, FactorEvents, SecondFactor } from './factor.ts';
import { bindTotp, resyncTotp, TOTP_DEFAULTS, verifyTotp } from './totp/index.ts';

/** The audit events of a code checked at login or resynchronisation, for both TOTP kinds. */
export const TOTP_LOGIN_EVENTS = {
  succeeded: 'login.second_factor.succeeded',
  failed: 'login.second_factor.failed',
  locked: 'factor.locked',
} as const satisfies FactorEvents;

/** Why a code was not accepted. `replayed`: the code was already used, wait for the next one. */
export type CodeFailure = 'malformed' | 'invalid' | 'replayed' | 'locked' | 'not_found';

export type VerifyCodeResult =
  | { ok: true; factor: SecondFactor }
  | { ok: false; reason: CodeFailure; lockedUntil?: Date };

/**
 * Why a code viewer was not bound, or an app not confirmed. Beside a code's failures:
 * - `serial`: not 13 digits (`message` says why); `not_in_stock`: no such code viewer in stock;
 * - `locked`: the code viewer's serial is locked after wrong codes (`lockedUntil`);
 * - `user_locked`: the person is, after wrong codes against any serial or app (`lockedUntil`);
 * - `expired`: the pending app was not confirmed in time ({@link PENDING_APP_SECONDS}).
 */
export type BindFailure = 'serial' | 'not_in_stock' | 'malformed' | 'invalid' | 'replayed' | 'locked' | 'user_locked';

export type BindResult = { ok: true; token: TotpTokenRecord } | { ok: false; reason: BindFailure; message?: string; lockedUntil?: Date };

/** Why an authenticator app was not confirmed; see {@link BindFailure}. */
export type ConfirmFailure = 'malformed' | 'invalid' | 'replayed' | 'not_found' | 'user_locked' | 'expired';

export type ConfirmResult = { ok: true } | { ok: false; reason: ConfirmFailure; lockedUntil?: Date };

/**
 * How long a started app may wait for its first code: the self-service session's quarter of an
 * hour. After that it cannot be confirmed and is deleted, so a secret shown once does not stay
 * usable for enrolment forever.
 */
export const PENDING_APP_SECONDS = 15 * 60;

/** Pending apps one person may have at once; starting another drops the oldest (several tabs, never a pile). */
export const MAX_PENDING_APPS = 3;

export type ResyncResult = { ok: true; drift: number } | { ok: false; reason: CodeFailure; lockedUntil?: Date };

/** A new authenticator app: the secret to show (base32 and as an otpauth URI) until confirmed. */
export interface AuthenticatorEnrolment {
  id: string;
  secretBase32: string;
  otpauthUri: string;
}

export interface TotpFactors {
  /** The user's code viewers and apps in use, the last used first. */
  listForUser(userId: string): Promise<SecondFactor[]>;
  /**
   * Checks a code at login under the window, replay and lock rules; audits the outcome. With
   * `kind`, a token of another kind is `not_found`, so a kind never proves another's `amr`.
   */
  verify(input: { userId: string; factorId: string; code: string; kind?: TotpKind; context: ActContext }): Promise<VerifyCodeResult>;
  /**
   * Binds a code viewer from stock to a user with its serial and a code (self-service and IT).
   * Wrong codes count against both the serial and the person, with the lockout of codes at
   * login; each lock is audited.
   */
  bindCodeViewer(input: { userId: string; serial: string; name: string; code: string; context: ActContext }): Promise<BindResult>;
  /**
   * Finds a far-drifted token's drift from two consecutive codes. For IT (no `userId`) any
   * token in use; for the user at login (`userId`) only their own, counted like a code.
   */
  resync(input: { tokenId: string; code1: string; code2: string; userId?: string; context: ActContext }): Promise<ResyncResult>;
  /**
   * Starts an authenticator app enrolment: a fresh secret, pending until confirmed or for
   * {@link PENDING_APP_SECONDS}; at most {@link MAX_PENDING_APPS} of a person's are kept.
   */
  startAuthenticator(input: { userId: string; username: string; name: string; issuerName: string }): Promise<AuthenticatorEnrolment>;
  /** A pending app's enrolment again (to show the QR code once more after a wrong first code). */
  pendingAuthenticator(input: { userId: string; id: string; username: string; issuerName: string }): Promise<AuthenticatorEnrolment | undefined>;
  /** Confirms a pending app with its first code; wrong codes count against the person. */
  confirmAuthenticator(input: { userId: string; id: string; code: string; context: ActContext }): Promise<ConfirmResult>;
  /** Renames the user's token of `kind` in use and audits `factor.renamed`; false when it is not theirs. */
  rename(input: { userId: string; tokenId: string; kind: TotpKind; name: string; context: ActContext }): Promise<boolean>;
  /**
   * Deletes the user's authenticator app and audits `factor.removed`; false when it is not
   * theirs. (A code viewer is IT's and is never deleted: see `code-viewer/release.ts`.)
   */
  removeAuthenticator(input: { userId: string; tokenId: string; context: ActContext }): Promise<boolean>;
}

/** A lock an enrolment step set: its number in a row and its end. */
type SetLock = { lockNumber: number; lockedUntil: Date };

/** A refused enrolment step; `locks` holds the locks it set, to audit. */
type Refused<F extends string> = { ok: false; reason: F; lockedUntil?: Date; locks?: { person?: SetLock | undefined; serial?: SetLock | undefined } };

/** An enrolment step decided under the row locks. */
type Enrolled<F extends string> = { ok: true; drift: number } | Refused<F>;

/** Whether a pending app may still be confirmed at `now`. */
const pendingAt = (token: TotpTokenRecord, now: Date) => token.pendingUntil !== null && token.pendingUntil > now;

/** A code check decided under the token's row lock. */
type Checked =
  | { token: TotpTokenRecord | undefined; ok: true; drift: number }
  | { token: TotpTokenRecord | undefined; ok: false; reason: CodeFailure; lockedUntil?: Date; lockNumber?: number };

/**
 * Code viewers and authenticator apps as second factors: the TOTP rules of `totp/` applied to
 * the tokens in Postgres. Each code is checked with the token's row locked, so racing requests,
 * on one node or several, take turns: one code is accepted once, and of fifty wrong codes sent
 * at once five are counted and the rest find the token locked.
 */
export function createTotpFactors(deps: {
  tokens: TotpTokenRepository;
  audit: AuditLog;
  windows: TotpWindows;
  limits: FactorLockoutLimits;
  /** The clock, epoch ms; tests move it. */
  now: () => number;
}): TotpFactors {
  const { tokens, audit, windows, limits } = deps;

  const toFactor = (token: TotpTokenRecord): SecondFactor => {
    const lockedUntil = token.lockedUntil && token.lockedUntil.getTime() > deps.now() ? token.lockedUntil : null;
    return {
      id: token.id,
      kind: token.kind,
      name: token.name ?? (token.serial ? `Kodeviser ${token.serial.slice(-4)}` : 'Authenticator'),
      // The serial on its back is how the employee, and IT, tell one code viewer from another.
      detail: token.serial,
      // A code viewer was created when IT imported it; it became this user's when bound.
      addedAt: token.assignedAt ?? token.createdAt,
      lastUsedAt: token.lastUsedAt,
      status: lockedUntil ? 'locked' : 'active',
      lockedUntil,
    };
  };

  const record = (type: Parameters<AuditLog['record']>[0]['type'], token: TotpTokenRecord | undefined, context: ActContext, details: Record<string, unknown> = {}) =>
    audit.record({
      type,
      actor: context.actor,
      userId: token?.userId,
      clientId: context.clientId,
      ip: context.ip,
      requestId: context.requestId,
      details: { tokenId: token?.id, kind: token?.kind, serial: token?.serial, ...details },
    });

  /**
   * Checks a code against a token with its row locked. A running lock refuses (when the check
   * is `counted`, as a user's is); a wrong code counts, and the one that reaches the limit locks
   * the token for longer each time (`auth/lockout.ts`). A code typed twice is no guess and
   * counts nothing. Success clears the count and the lock history.
   */
  const checkLocked = (
    tokenId: string,
    options: {
      usable: (token: TotpTokenRecord) => boolean;
      counted: boolean;
      now: Date;
      check: (token: TotpTokenRecord) => { ok: true; drift: number; changes: TokenChanges } | { ok: false; reason: CodeFailure };
    },
  ) => tokens.withTokenLocked(tokenId, async (token, update): Promise<Checked> => {
    const { now } = options;
    if (!token || !options.usable(token)) return { token, ok: false, reason: 'not_found' };
    const lockedUntil = options.counted ? runningLock({ count: token, now }) : undefined;
    if (lockedUntil) return { token, ok: false, reason: 'locked', lockedUntil };
    const result = options.check(token);
    if (result.ok) {
      await update({ ...result.changes, ...CLEARED });
      return { token, ok: true, drift: result.drift };
    }
    if (!options.counted || result.reason !== 'invalid') return { token, ok: false, reason: result.reason };
    const counted = countFailure({ count: token, now, limits });
    await update(counted.count);
    return counted.lockNumber
      ? { token, ok: false, reason: 'locked', lockedUntil: counted.count.lockedUntil as Date, lockNumber: counted.lockNumber }
      : { token, ok: false, reason: 'invalid' };
  });

  /** Audits a refused check (and the lock it set), outside the row lock; returns the refusal. */
  const refused = async (checked: Extract<Checked, { ok: false }>, context: ActContext, details: Record<string, unknown> = {}) => {
    await record(TOTP_LOGIN_EVENTS.failed, checked.token, context, { reason: checked.reason, ...details });
    if (checked.lockNumber) {
      await record(TOTP_LOGIN_EVENTS.locked, checked.token, { ...context, actor: 'system' }, { lockNumber: checked.lockNumber, lockedUntil: checked.lockedUntil?.toISOString() });
    }
    return { ok: false as const, reason: checked.reason, ...(checked.lockedUntil ? { lockedUntil: checked.lockedUntil } : {}) };
  };

  /**
   * Counts a wrong enrolment code against the person and, given the `token` (an in-stock code
   * viewer), against its serial: the one that reaches the limit locks, as at login. A person's
   * lock is reported over a serial's, as it refuses more.
   */
  const countWrongCode = async (enrolment: LockedEnrolment, now: Date, token?: TotpTokenRecord): Promise<Refused<'invalid' | 'locked' | 'user_locked'>> => {
    const person = countFailure({ count: enrolment.failures, now, limits });
    await enrolment.saveFailures(person.count);
    const serial = token && countFailure({ count: token, now, limits });
    if (serial) await enrolment.updateToken(serial.count);
    const setLock = (counted: CountedFailure | undefined) =>
      counted?.lockNumber ? { lockNumber: counted.lockNumber, lockedUntil: counted.count.lockedUntil as Date } : undefined;
    const locks = { person: setLock(person), serial: setLock(serial) };
    if (locks.person) return { ok: false, reason: 'user_locked', lockedUntil: locks.person.lockedUntil, locks };
    if (locks.serial) return { ok: false, reason: 'locked', lockedUntil: locks.serial.lockedUntil, locks };
    return { ok: false, reason: 'invalid' };
  };

  /** Audits a refused enrolment step and the locks it set, outside the row locks. */
  const enrolmentRefused = async (
    refusal: Refused<BindFailure | ConfirmFailure>,
    about: { userId: string; kind: TotpKind; token: TotpTokenRecord | undefined; context: ActContext; details: Record<string, unknown> },
  ) => {
    const { userId, kind, token, context } = about;
    await record('factor.bind_failed', token, context, { kind, ...about.details, reason: refusal.reason, forUser: userId });
    const { serial, person } = refusal.locks ?? {};
    if (serial) {
      await record('factor.locked', token, { ...context, actor: 'system' }, { lockNumber: serial.lockNumber, lockedUntil: serial.lockedUntil.toISOString(), binding: true, forUser: userId });
    }
    if (person) {
      await audit.record({
        type: 'factor.enrolment_locked',
        actor: 'system',
        userId,
        clientId: context.clientId,
        ip: context.ip,
        requestId: context.requestId,
        details: { kind, lockNumber: person.lockNumber, lockedUntil: person.lockedUntil.toISOString(), ...about.details },
      });
    }
  };

  return {
    async listForUser(userId) {
      const owned = await tokens.listForUser(userId);
      return owned.filter((token) => token.status === 'assigned').map(toFactor);
    },

    async verify({ userId, factorId, code, kind, context }) {
      const now = new Date(deps.now());
      const checked = await checkLocked(factorId, {
        usable: (token) => token.userId === userId && token.status === 'assigned' && (!kind || token.kind === kind),
        counted: true,
        now,
        check: (token) => {
          const result = verifyTotp({ ...tokens.secretOf(token), code, now: now.getTime(), drift: token.drift, window: windows.verify, lastStep: token.lastStep });
          return result.verified
            ? { ok: true, drift: result.drift, changes: { lastStep: result.step, drift: result.drift, lastUsedAt: now } }
            : { ok: false, reason: result.reason };
        },
      });
      if (!checked.ok) return refused(checked, context);
      const token = checked.token as TotpTokenRecord;
      await record(TOTP_LOGIN_EVENTS.succeeded, token, context, { drift: checked.drift });
      return { ok: true, factor: toFactor(token) };
    },

    async bindCodeViewer({ userId, serial, name, code, context }) {
      const checked = validateSerial({ serial });
      if (!checked.valid) return { ok: false, reason: 'serial', message: checked.message };
      const found = await tokens.findBySerial(checked.serial);
      const now = new Date(deps.now());
      const outcome = await tokens.withEnrolmentLocked({ userId, kind: 'code_viewer', tokenId: found?.id }, async (enrolment): Promise<Enrolled<BindFailure>> => {
        // The person's lock first: while it runs, not even whether a serial is in stock is told.
        const personLock = runningLock({ count: enrolment.failures, now });
        if (personLock) return { ok: false, reason: 'user_locked', lockedUntil: personLock };
        const { token } = enrolment;
        if (!token || token.kind !== 'code_viewer' || token.status !== 'in_stock') return { ok: false, reason: 'not_in_stock' };
        const serialLock = runningLock({ count: token, now });
        if (serialLock) return { ok: false, reason: 'locked', lockedUntil: serialLock };
        const result = bindTotp({ ...tokens.secretOf(token), code, now: now.getTime(), window: windows.bind, lastStep: token.lastStep });
        if (result.verified) {
          // bindTotp refused any step at or before the last one, so under the row lock this holds.
          if (!(await enrolment.bindFromStock({ name, step: result.step, drift: result.drift, now }))) return { ok: false, reason: 'not_in_stock' };
          await enrolment.saveFailures(CLEARED);
          return { ok: true, drift: result.drift };
        }
        if (result.reason !== 'invalid') return { ok: false, reason: result.reason };
        return countWrongCode(enrolment, now, token);
      });
      if (!outcome.ok) {
        await enrolmentRefused(outcome, { userId, kind: 'code_viewer', token: found, context, details: { serial: checked.serial } });
        return { ok: false, reason: outcome.reason, ...(outcome.lockedUntil ? { lockedUntil: outcome.lockedUntil } : {}) };
      }
      const bound = (await tokens.find((found as TotpTokenRecord).id)) as TotpTokenRecord;
      await record('factor.bound', bound, context, { drift: outcome.drift, name });
      return { ok: true, token: bound };
    },

    async resync({ tokenId, code1, code2, userId, context }) {
      const now = new Date(deps.now());
      const checked = await checkLocked(tokenId, {
        usable: (token) => (userId ? token.userId === userId && token.status === 'assigned' : ['assigned', 'locked'].includes(token.status)),
        counted: Boolean(userId),
        now,
        check: (token) => {
          const result = resyncTotp({ ...tokens.secretOf(token), code1, code2, now: now.getTime(), drift: token.drift, window: windows.resync, lastStep: token.lastStep });
          return result.resynced
            ? { ok: true, drift: result.drift, changes: { lastStep: result.lastStep, drift: result.drift } }
            : { ok: false, reason: result.reason };
        },
      });
      if (!checked.ok) return refused(checked, context, { resync: true });
      const token = checked.token as TotpTokenRecord;
      await record('factor.resynced', token, context, { driftBefore: token.drift, drift: checked.drift });
      return { ok: true, drift: checked.drift };
    },

    async startAuthenticator({ userId, username, name, issuerName }) {
      // 20 bytes (otplib's default): RFC 4226 §4 recommends 160 bits, and every app accepts
      // SHA1, 6 digits, 30 s, which is why the app gets the defaults.
      const secretBase32 = generateSecret({ length: 20 });
      const secret = new ScureBase32Plugin().decode(secretBase32);
      const now = new Date(deps.now());
      const pendingUntil = new Date(now.getTime() + 1000 * PENDING_APP_SECONDS);
      // Under the person's lock, so starts racing each other cannot leave more than the limit.
      const token = await tokens.withEnrolmentLocked({ userId, kind: 'authenticator' }, async (enrolment) => {
        await enrolment.prunePending({ now, keep: MAX_PENDING_APPS - 1 });
        return enrolment.addPending({ name, secret, algorithm: TOTP_DEFAULTS.algorithm, digits: TOTP_DEFAULTS.digits, period: TOTP_DEFAULTS.period, pendingUntil });
      });
      return enrolment(token.id, secretBase32, username, issuerName);
    },

    async pendingAuthenticator({ userId, id, username, issuerName }) {
      const token = await tokens.find(id);
      if (!token || token.userId !== userId || token.status !== 'pending' || !pendingAt(token, new Date(deps.now()))) return undefined;
      return enrolment(token.id, new ScureBase32Plugin().encode(tokens.secretOf(token).secret), username, issuerName);
    },

    async confirmAuthenticator({ userId, id, code, context }) {
      const now = new Date(deps.now());
      let confirmed: TotpTokenRecord | undefined;
      const outcome = await tokens.withEnrolmentLocked({ userId, kind: 'authenticator', tokenId: id }, async (enrolment): Promise<Enrolled<ConfirmFailure>> => {
        const { token } = enrolment;
        if (!token || token.userId !== userId || token.status !== 'pending') return { ok: false, reason: 'not_found' };
        confirmed = token;
        if (!pendingAt(token, now)) {
          await enrolment.removeToken();
          return { ok: false, reason: 'expired' };
        }
        const personLock = runningLock({ count: enrolment.failures, now });
        if (personLock) return { ok: false, reason: 'user_locked', lockedUntil: personLock };
        const result = verifyTotp({ ...tokens.secretOf(token), code, now: now.getTime(), window: windows.verify, lastStep: null });
        if (result.verified) {
          if (!(await enrolment.confirmPending({ step: result.step, drift: result.drift, now }))) return { ok: false, reason: 'replayed' };
          await enrolment.saveFailures(CLEARED);
          return { ok: true, drift: result.drift };
        }
        if (result.reason !== 'invalid') return { ok: false, reason: result.reason };
        const counted = await countWrongCode(enrolment, now);
        // Without a serial only the person's count can lock.
        return counted.reason === 'locked' ? { ...counted, reason: 'user_locked' } : { ...counted, reason: counted.reason };
      });
      if (!outcome.ok) {
        if (outcome.reason === 'not_found') return { ok: false, reason: 'not_found' };
        await enrolmentRefused(outcome, { userId, kind: 'authenticator', token: confirmed, context, details: {} });
        return { ok: false, reason: outcome.reason, ...(outcome.lockedUntil ? { lockedUntil: outcome.lockedUntil } : {}) };
      }
      await record('factor.enrolled', confirmed, context, { name: confirmed?.name });
      return { ok: true };
    },

    async rename({ userId, tokenId, kind, name, context }) {
      const before = await tokens.rename({ id: tokenId, userId, kind, name });
      if (!before) return false;
      await record('factor.renamed', before, context, { name, nameWas: before.name });
      return true;
    },

    async removeAuthenticator({ userId, tokenId, context }) {
      const removed = await tokens.remove({ id: tokenId, userId, kind: 'authenticator' });
      if (!removed) return false;
      await record('factor.removed', removed, context, { name: removed.name });
      return true;
    },
  };
}

/** What an app needs to scan: the otpauth URI (Key Uri Format) of the secret. */
function enrolment(id: string, secretBase32: string, username: string, issuerName: string): AuthenticatorEnrolment {
  return { id, secretBase32, otpauthUri: generateURI({ issuer: issuerName, label: username, secret: secretBase32 }) };
}
