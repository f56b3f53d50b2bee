import type { Argon2Params, LockoutLimits } from '../config/index.ts';
import type { AuditLog } from '../store/audit.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import type { User, UserRepository } from '../store/users.ts';
import { decideAttempt, failureLocks, lockSeconds } from './lockout.ts';
import { hashPassword, needsRehash, verifyPassword } from './password-hash.ts';
import { usernameDigest } from './username-digest.ts';

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
  /** Lifts an automatic lock and forgets the failures and lock history (IT's `stepup user unlock`). */
  clearLock(username: string): Promise<void>;
  /** Seconds left on an automatic lock, or 0. */
  lockRemaining(username: string): Promise<number>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whose attempts a login counts and how the audit log names them. */
interface Subject {
  /** The counters' key: the user's id, or the digest of a name that matches no user. */
  key: string;
  user: User | undefined;
  /** Audit fields: the user's own name, or only the digest of what was typed. */
  audit: { actor: string; userId: string | undefined; username: string | undefined; digest: Record<string, string> };
}

/**
 * The password step of a login (ARCHITECTURE.md, "A login, step by step", 3): argon2id verify,
 * lockout counters, no user enumeration. An unknown user costs the same argon2 work as a known
 * one (a dummy hash is verified), so response time tells nothing.
 *
 * Counters are kept per user id when the name matches a user, so every spelling of one account
 * (see `normaliseUsername`) shares them, and per keyed digest of the normalised name otherwise,
 * so unknown names lock exactly like known ones without their text being stored anywhere.
 */
export function createPasswordLogin(deps: {
  users: UserRepository;
  store: ShortLivedStore;
  audit: AuditLog;
  argon2: Argon2Params;
  limits: LockoutLimits;
  /** Key for {@link usernameDigest}: `deriveKey(SECRET_KEY, 'audit-username')`. */
  usernameKey: Buffer;
}): PasswordLogin {
  const { users, store, audit, argon2, limits } = deps;
  const ipWindowMs = limits.ipWindowSeconds * 1000;
  const keys = (subject: string) => ({ attempts: `lockout:attempts:${subject}`, lock: `lockout:lock:${subject}`, locks: `lockout:locks:${subject}` });
  const ipKey = (ip: string) => `lockout:ip:${ip}`;
  let dummyHash: Promise<string> | undefined;

  const subjectOf = (user: User | undefined, username: string): Subject => {
    if (user) return { key: `user:${user.id}`, user, audit: { actor: `user:${user.id}`, userId: user.id, username: user.username, digest: {} } };
    const digest = usernameDigest(deps.usernameKey, username);
    return { key: `name:${digest}`, user, audit: { actor: 'anonymous', userId: undefined, username: undefined, digest: { usernameHash: digest } } };
  };

  const remaining = async (subjectKey: string) => {
    const ttl = await store.ttl(keys(subjectKey).lock);
    return ttl === null ? 0 : Math.ceil(ttl / 1000);
  };

  const lockAccount = async (subject: Subject, context: AttemptContext) => {
    const k = keys(subject.key);
    const lockNumber = await store.increment(k.locks, DAY_MS);
    const seconds = lockSeconds({ lockNumber, baseSeconds: limits.baseSeconds, maxSeconds: limits.maxSeconds });
    // The lock is written before the counter is cleared: an attempt that lands on the fresh
    // counter then already sees the lock. Only its expiry matters; the value is its length.
    await store.set(k.lock, String(seconds), seconds * 1000);
    await store.delete(k.attempts);
    await audit.record({
      type: 'user.locked',
      actor: 'system',
      userId: subject.audit.userId,
      username: subject.audit.username,
      clientId: context.clientId,
      ip: context.ip,
      requestId: context.requestId,
      details: { reason: 'failed-attempts', seconds, lockNumber, knownUser: Boolean(subject.user), ...subject.audit.digest },
    });
  };

  const fail = async (reason: PasswordFailure, subject: Subject, context: AttemptContext) => {
    await audit.record({
      type: 'login.password.failed',
      actor: subject.audit.actor,
      userId: subject.audit.userId,
      username: subject.audit.username,
      clientId: context.clientId,
      ip: context.ip,
      requestId: context.requestId,
      details: { reason, ...subject.audit.digest },
    });
    return { ok: false as const, reason };
  };

  return {
    async lockRemaining(username) {
      return remaining(subjectOf(await users.findByUsername(username), username).key);
    },

    async login({ username, password, ...context }) {
      const user = await users.findByUsername(username);
      const subject = subjectOf(user, username);
      const k = keys(subject.key);

      // Both counts are reserved (INCR) before the password is checked, so requests that arrive
      // together cannot all pass a limit each of them read as not yet reached.
      const ipAttempt = await store.increment(ipKey(context.ip), ipWindowMs);
      if (decideAttempt({ attempt: ipAttempt, maxFailures: limits.ipMaxFailures }) === 'refuse') {
        if (ipAttempt === limits.ipMaxFailures + 1) {
          await audit.record({ type: 'ip.throttled', actor: 'system', ip: context.ip, requestId: context.requestId, details: { failures: limits.ipMaxFailures, windowSeconds: limits.ipWindowSeconds } });
        }
        return fail('throttled', subject, context);
      }
      // Counted only while no lock runs, in one atomic step, so a lock set by a racing attempt
      // is seen however the two interleave (null: locked, nothing counted).
      const attempt = await store.incrementUnless(k.attempts, DAY_MS, k.lock);
      if (attempt === null || decideAttempt({ attempt, maxFailures: limits.maxFailures }) === 'refuse') {
        return fail('locked', subject, context);
      }

      dummyHash ??= hashPassword('no such user', argon2);
      const matches = await verifyPassword(user?.passwordHash ?? (await dummyHash), password);

      if (user && matches && user.status === 'active') {
        // Success forgets the failures and the lock history (the next lock starts short again)
        // and gives back the IP's reservation, so an office behind one address is not throttled
        // by its own morning logins.
        await Promise.all([store.delete(k.attempts, k.locks), store.decrement(ipKey(context.ip), ipWindowMs)]);
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

      // Everything else is a failure, the right password on an account IT locked included: it
      // counts towards the lock and resets nothing, and the caller answers it like a wrong one,
      // so a password cannot be tested against a locked account.
      if (failureLocks({ attempt, maxFailures: limits.maxFailures })) await lockAccount(subject, context);
      const reason: PasswordFailure = !user ? 'unknown-user' : matches ? 'disabled' : 'wrong-password';
      return fail(reason, subject, context);
    },

    async clearLock(username) {
      // The user's counters, and those of the name itself from before the user existed.
      const user = await users.findByUsername(username);
      const subjects = [subjectOf(undefined, username).key, ...(user ? [subjectOf(user, username).key] : [])];
      await store.delete(...subjects.flatMap((subject) => Object.values(keys(subject))));
    },
  };
}
