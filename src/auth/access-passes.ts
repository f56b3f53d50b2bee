import { createHmac, timingSafeEqual } from 'node:crypto';

import type { AccessPassRepository } from '../store/access-passes.ts';
import type { ActContext, AuditLog } from '../store/audit.ts';
import { generateAccessPass, normaliseAccessPass } from './access-pass-format.ts';
import { failureLocks } from './lockout.ts';

/** Why a pass was not accepted; the employee is told the same for all but `locked`. */
export type AccessPassFailure = 'malformed' | 'invalid' | 'none' | 'locked';

export type RedeemResult = { ok: true } | { ok: false; reason: AccessPassFailure };

export interface AccessPasses {
  /** Issues a new pass (IT's `stepup user access-pass`), revoking any earlier open one. Returns the pass, shown once. */
  issue(input: { userId: string; username: string; ttlSeconds: number; context: ActContext }): Promise<{ pass: string; expiresAt: Date }>;
  /** Uses the user's open pass, once. Wrong tries count; the one that reaches the limit revokes it. */
  redeem(input: { userId: string; typed: string; context: ActContext }): Promise<RedeemResult>;
}

/**
 * Temporary access passes (the idea Microsoft Entra ID calls a Temporary Access Pass): one-time,
 * expiring passes that let an employee without a second factor add their first. Only an HMAC of
 * the pass is stored: the pass has 80 random bits, so a keyed hash is as strong as a slow one and
 * a stolen table cannot be used without `SECRET_KEY`. Tries are counted on the pass's row under a
 * row lock, so concurrent guesses take turns and `maxFailures` is a hard limit.
 */
export function createAccessPasses(deps: {
  passes: AccessPassRepository;
  audit: AuditLog;
  /** HMAC key, derived from `SECRET_KEY` for this purpose only. */
  key: Buffer;
  /** Wrong tries before the pass is revoked. */
  maxFailures: number;
  /** The clock, epoch ms. */
  now: () => number;
}): AccessPasses {
  const hash = (normalised: string) => createHmac('sha256', deps.key).update(normalised).digest('base64url');
  const matches = (stored: string, normalised: string) => {
    const given = Buffer.from(hash(normalised));
    const expected = Buffer.from(stored);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const record = (type: 'access_pass.issued' | 'access_pass.redeemed' | 'access_pass.failed' | 'access_pass.revoked', userId: string, context: ActContext, details: Record<string, unknown> = {}) =>
    deps.audit.record({ type, actor: context.actor, userId, ip: context.ip, requestId: context.requestId, details });

  return {
    async issue({ userId, username, ttlSeconds, context }) {
      const pass = generateAccessPass();
      const now = new Date(deps.now());
      const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
      const stored = await deps.passes.issue({ userId, passHash: hash(normaliseAccessPass(pass) as string), expiresAt, createdBy: context.actor, now });
      await record('access_pass.issued', userId, context, { accessPassId: stored.id, username, expiresAt: expiresAt.toISOString() });
      return { pass, expiresAt };
    },

    async redeem({ userId, typed, context }) {
      const normalised = normaliseAccessPass(typed);
      const now = new Date(deps.now());
      const outcome = await deps.passes.withOpenPassLocked(userId, now, async (pass, update) => {
        if (!pass) return { reason: 'none' as const };
        if (normalised && matches(pass.passHash, normalised)) {
          await update({ usedAt: now });
          return { reason: undefined, passId: pass.id };
        }
        const failureCount = pass.failureCount + 1;
        const revoke = failureLocks({ attempt: failureCount, maxFailures: deps.maxFailures });
        await update({ failureCount, ...(revoke ? { revokedAt: now } : {}) });
        return { reason: revoke ? ('locked' as const) : normalised ? ('invalid' as const) : ('malformed' as const), passId: pass.id, failureCount };
      });
      if (!outcome.reason) {
        await record('access_pass.redeemed', userId, context, { accessPassId: outcome.passId });
        return { ok: true };
      }
      await record('access_pass.failed', userId, context, { reason: outcome.reason, accessPassId: 'passId' in outcome ? outcome.passId : undefined });
      if (outcome.reason === 'locked') {
        await record('access_pass.revoked', userId, { ...context, actor: 'system' }, { reason: 'failed-attempts', accessPassId: outcome.passId });
      }
      return { ok: false, reason: outcome.reason };
    },
  };
}
