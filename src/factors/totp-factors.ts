import { generateSecret, generateURI, ScureBase32Plugin } from 'otplib';

import { failureLocks, lockSeconds } from '../auth/lockout.ts';
import type { FactorLockoutLimits, TotpWindows } from '../config/index.ts';
import type { AuditLog } from '../store/audit.ts';
import type { TokenChanges, TotpTokenRecord, TotpTokenRepository } from '../store/totp-tokens.ts';
import { validateSerial } from './code-viewer/serial.ts';
import { bindTotp, resyncTotp, TOTP_DEFAULTS, verifyTotp } from './totp/index.ts';
import { amrOfKind, type SecondFactor } from './types.ts';

/** Who acts and from where, for the audit log. */
export interface ActContext {
  actor: string;
  ip?: string | undefined;
  clientId?: string | undefined;
  requestId?: string | undefined;
}

/** Why a code was not accepted. `replayed`: the code was already used, wait for the next one. */
export type CodeFailure = 'malformed' | 'invalid' | 'replayed' | 'locked' | 'not_found';

export type VerifyCodeResult =
  | { ok: true; factor: SecondFactor; amr: string[] }
  | { ok: false; reason: CodeFailure; lockedUntil?: Date };

export type BindFailure = 'serial' | 'not_in_stock' | 'malformed' | 'invalid' | 'replayed';

export type BindResult = { ok: true; token: TotpTokenRecord } | { ok: false; reason: BindFailure; message?: string };

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
  /** Checks a code at login under the window, replay and lock rules; audits the outcome. */
  verify(input: { userId: string; factorId: string; code: string; context: ActContext }): Promise<VerifyCodeResult>;
  /** Binds a code viewer from stock to a user with its serial and a code (self-service and IT). */
  bindCodeViewer(input: { userId: string; serial: string; name: string; code: string; context: ActContext }): Promise<BindResult>;
  /**
   * Finds a far-drifted token's drift from two consecutive codes. For IT (no `userId`) any
   * token in use; for the user at login (`userId`) only their own, counted like a code.
   */
  resync(input: { tokenId: string; code1: string; code2: string; userId?: string; context: ActContext }): Promise<ResyncResult>;
  /** Starts an authenticator app enrolment: a fresh secret, pending until confirmed. */
  startAuthenticator(input: { userId: string; username: string; name: string; issuerName: string }): Promise<AuthenticatorEnrolment>;
  /** A pending app's enrolment again (to show the QR code once more after a wrong first code). */
  pendingAuthenticator(input: { userId: string; id: string; username: string; issuerName: string }): Promise<AuthenticatorEnrolment | undefined>;
  /** Confirms a pending app with its first code. */
  confirmAuthenticator(input: { userId: string; id: string; code: string; context: ActContext }): Promise<{ ok: true } | { ok: false; reason: CodeFailure }>;
}

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

  const toFactor = (token: TotpTokenRecord): SecondFactor => ({
    id: token.id,
    kind: token.kind,
    name: token.name ?? (token.serial ? `Kodeviser ${token.serial.slice(-4)}` : 'Authenticator'),
    lastUsedAt: token.lastUsedAt,
    lockedUntil: token.lockedUntil && token.lockedUntil.getTime() > deps.now() ? token.lockedUntil : null,
  });

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
    if (options.counted && token.lockedUntil && token.lockedUntil > now) return { token, ok: false, reason: 'locked', lockedUntil: token.lockedUntil };
    const result = options.check(token);
    if (result.ok) {
      await update({ ...result.changes, failureCount: 0, lockCount: 0, lockedUntil: null });
      return { token, ok: true, drift: result.drift };
    }
    if (!options.counted || result.reason !== 'invalid') return { token, ok: false, reason: result.reason };
    const failures = token.failureCount + 1;
    if (!failureLocks({ attempt: failures, maxFailures: limits.maxFailures })) {
      await update({ failureCount: failures });
      return { token, ok: false, reason: 'invalid' };
    }
    const lockNumber = token.lockCount + 1;
    const lockedUntil = new Date(now.getTime() + 1000 * lockSeconds({ lockNumber, baseSeconds: limits.baseSeconds, maxSeconds: limits.maxSeconds }));
    await update({ failureCount: 0, lockCount: lockNumber, lockedUntil });
    return { token, ok: false, reason: 'locked', lockedUntil, lockNumber };
  });

  /** Audits a refused check (and the lock it set), outside the row lock; returns the refusal. */
  const refused = async (checked: Extract<Checked, { ok: false }>, context: ActContext, details: Record<string, unknown> = {}) => {
    await record('login.second_factor.failed', checked.token, context, { reason: checked.reason, ...details });
    if (checked.lockNumber) {
      await record('factor.locked', checked.token, { ...context, actor: 'system' }, { lockNumber: checked.lockNumber, lockedUntil: checked.lockedUntil?.toISOString() });
    }
    return { ok: false as const, reason: checked.reason, ...(checked.lockedUntil ? { lockedUntil: checked.lockedUntil } : {}) };
  };

  return {
    async listForUser(userId) {
      const owned = await tokens.listForUser(userId);
      return owned.filter((token) => token.status === 'assigned').map(toFactor);
    },

    async verify({ userId, factorId, code, context }) {
      const now = new Date(deps.now());
      const checked = await checkLocked(factorId, {
        usable: (token) => token.userId === userId && token.status === 'assigned',
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
      await record('login.second_factor.succeeded', token, context, { drift: checked.drift });
      return { ok: true, factor: toFactor(token), amr: amrOfKind(token.kind) };
    },

    async bindCodeViewer({ userId, serial, name, code, context }) {
      const checked = validateSerial({ serial });
      if (!checked.valid) return { ok: false, reason: 'serial', message: checked.message };
      const token = await tokens.findBySerial(checked.serial);
      if (!token || token.kind !== 'code_viewer' || token.status !== 'in_stock') {
        await record('factor.bind_failed', token, context, { serial: checked.serial, reason: 'not_in_stock', forUser: userId });
        return { ok: false, reason: 'not_in_stock' };
      }
      const now = new Date(deps.now());
      const result = bindTotp({ ...tokens.secretOf(token), code, now: now.getTime(), window: windows.bind, lastStep: token.lastStep });
      if (!result.verified) {
        await record('factor.bind_failed', token, context, { reason: result.reason, forUser: userId });
        return { ok: false, reason: result.reason };
      }
      if (!(await tokens.bindFromStock(token.id, { userId, name, step: result.step, drift: result.drift, now }))) {
        return { ok: false, reason: 'not_in_stock' };
      }
      const bound = (await tokens.find(token.id)) as TotpTokenRecord;
      await record('factor.bound', bound, context, { drift: result.drift, name });
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
      const token = await tokens.addPending({ userId, name, secret, algorithm: TOTP_DEFAULTS.algorithm, digits: TOTP_DEFAULTS.digits, period: TOTP_DEFAULTS.period });
      return enrolment(token.id, secretBase32, username, issuerName);
    },

    async pendingAuthenticator({ userId, id, username, issuerName }) {
      const token = await tokens.find(id);
      if (!token || token.userId !== userId || token.status !== 'pending') return undefined;
      return enrolment(token.id, new ScureBase32Plugin().encode(tokens.secretOf(token).secret), username, issuerName);
    },

    async confirmAuthenticator({ userId, id, code, context }) {
      const token = await tokens.find(id);
      if (!token || token.userId !== userId || token.status !== 'pending') return { ok: false, reason: 'not_found' };
      const now = new Date(deps.now());
      const result = verifyTotp({ ...tokens.secretOf(token), code, now: now.getTime(), window: windows.verify, lastStep: null });
      if (!result.verified) return { ok: false, reason: result.reason };
      if (!(await tokens.confirmPending(token.id, { step: result.step, drift: result.drift, now }))) {
        return { ok: false, reason: 'replayed' };
      }
      await record('factor.enrolled', token, context, { name: token.name });
      return { ok: true };
    },
  };
}

/** What an app needs to scan: the otpauth URI (Key Uri Format) of the secret. */
function enrolment(id: string, secretBase32: string, username: string, issuerName: string): AuthenticatorEnrolment {
  return { id, secretBase32, otpauthUri: generateURI({ issuer: issuerName, label: username, secret: secretBase32 }) };
}
