import type { Argon2Params, LockoutLimits } from '../config/index.ts';
import type { AuditLog } from '../store/audit.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import type { User, UserRepository } from '../store/users.ts';
import { decideAttempt, failureLocks, ipThrottled, lockSeconds } from './lockout.ts';
import { hashPassword, needsRehash, verifyPassword } from './password-hash.ts';

/** Why a password login failed. Internal: the user is shown one generic message for all. */
export type PasswordFailure = 'unknown-user' | 'wrong-password' | 'locked' | 'disabled' | 'throttled';

export type PasswordLoginResult = { ok: true; user: User } | { ok: false; reason: PasswordFailure };

/** Where a login attempt comes from, for counting and the audit log. */
export interface AttemptContext {
  ip: string;
  clientId?: string | undefined;
  requestId?: string | undefined;
}

export interface PasswordLogin {
  /** Checks a username and password under the lockout rules, audits the outcome. */
  login(input: { username: string; password: string } & AttemptContext): Promise<PasswordLoginResult>;
  /** Lifts an automatic lock and forgets the failures (IT's `stepup user unlock`). */
  clearLock(username: string): Promise<void>;
  /** Seconds left on an automatic lock, or 0. */
  lockRemaining(username: string): Promise<number>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The password step of a login (ARCHITECTURE.md, "A login, step by step", 3): argon2id verify,
 * lockout counters, no user enumeration. An unknown user costs the same argon2 work as a known
 * one (a dummy hash is verified), so response time tells nothing.
 */
export function createPasswordLogin(deps: {
  users: UserRepository;
  store: ShortLivedStore;
  audit: AuditLog;
  argon2: Argon2Params;
  limits: LockoutLimits;
}): PasswordLogin {
  const { users, store, audit, argon2, limits } = deps;
  // Keyed by the lower-cased username, so unknown usernames lock exactly like known ones.
  const keys = (username: string) => {
    const name = username.toLowerCase();
    return { attempts: `lockout:attempts:${name}`, lock: `lockout:lock:${name}`, locks: `lockout:locks:${name}` };
  };
  const ipKey = (ip: string) => `lockout:ip:${ip}`;
  let dummyHash: Promise<string> | undefined;

  const lockRemaining = async (username: string) => {
    const ttl = await store.ttl(keys(username).lock);
    return ttl === null ? 0 : Math.ceil(ttl / 1000);
  };

  const lockAccount = async (username: string, user: User | undefined, context: AttemptContext) => {
    const k = keys(username);
    const lockNumber = await store.increment(k.locks, DAY_MS);
    const seconds = lockSeconds({ lockNumber, baseSeconds: limits.baseSeconds, maxSeconds: limits.maxSeconds });
    // The lock is written before the counter is cleared: an attempt that lands on the fresh
    // counter then already sees the lock.
    await store.set(k.lock, String(Date.now() + seconds * 1000), seconds * 1000);
    await store.delete(k.attempts);
    await audit.record({
      type: 'user.locked',
      actor: 'system',
      userId: user?.id,
      username,
      clientId: context.clientId,
      ip: context.ip,
      requestId: context.requestId,
      details: { reason: 'failed-attempts', seconds, lockNumber, knownUser: Boolean(user) },
    });
  };

  const fail = async (reason: PasswordFailure, username: string, user: User | undefined, context: AttemptContext) => {
    await audit.record({
      type: 'login.password.failed',
      actor: user ? `user:${user.id}` : 'anonymous',
      userId: user?.id,
      username,
      clientId: context.clientId,
      ip: context.ip,
      requestId: context.requestId,
      details: { reason },
    });
    return { ok: false as const, reason };
  };

  return {
    lockRemaining,

    async login({ username, password, ...context }) {
      const k = keys(username);
      const ipFailures = Number((await store.get(ipKey(context.ip))) ?? 0);
      if (ipThrottled({ failures: ipFailures, ipMaxFailures: limits.ipMaxFailures })) {
        return fail('throttled', username, undefined, context);
      }
      if (await lockRemaining(username)) return fail('locked', username, undefined, context);

      const attempt = await store.increment(k.attempts, DAY_MS);
      if (decideAttempt({ attempt, maxFailures: limits.maxFailures }) === 'refuse' || (await lockRemaining(username))) {
        return fail('locked', username, undefined, context);
      }

      const user = await users.findByUsername(username);
      dummyHash ??= hashPassword('no such user', argon2);
      const matches = await verifyPassword(user?.passwordHash ?? (await dummyHash), password);

      if (user && matches && user.status === 'active') {
        await store.delete(k.attempts);
        if (needsRehash(user.passwordHash as string, argon2)) {
          await users.setPasswordHash(user.id, await hashPassword(password, argon2));
          await audit.record({ type: 'user.password.rehashed', actor: 'system', userId: user.id, username: user.username, requestId: context.requestId });
        }
        await audit.record({
          type: 'login.password.succeeded',
          actor: `user:${user.id}`,
          userId: user.id,
          username: user.username,
          clientId: context.clientId,
          ip: context.ip,
          requestId: context.requestId,
        });
        return { ok: true, user };
      }

      if (user && matches) {
        // Right password on an account IT has locked: not a guess, so it counts no failure.
        await store.delete(k.attempts);
        return fail('disabled', username, user, context);
      }

      const ipCount = await store.increment(ipKey(context.ip), limits.ipWindowSeconds * 1000);
      if (ipCount === limits.ipMaxFailures) {
        await audit.record({ type: 'ip.throttled', actor: 'system', ip: context.ip, requestId: context.requestId, details: { failures: ipCount, windowSeconds: limits.ipWindowSeconds } });
      }
      if (failureLocks({ attempt, maxFailures: limits.maxFailures })) await lockAccount(username, user, context);
      return fail(user ? 'wrong-password' : 'unknown-user', username, user, context);
    },

    async clearLock(username) {
      const k = keys(username);
      await store.delete(k.lock, k.attempts, k.locks);
    },
  };
}
