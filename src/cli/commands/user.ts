import type { Argon2Params, LockoutLimits } from '../../config/index.ts';
import { hashPassword } from '../../auth/password-hash.ts';
import { createPasswordLogin } from '../../auth/password-login.ts';
import { deriveKey } from '../../crypto/derived-keys.ts';
import { createUserAttributes } from '../../identity/attributes.ts';
import type { Storage } from '../../store/index.ts';
import type { User } from '../../store/users.ts';
import { CliError } from '../errors.ts';
import type { Output } from '../output.ts';
import { checkAttributeName, checkAttributeValue, checkDisplayName, checkEmail, checkOneOf, checkPassword, checkUsername, printable } from '../validate.ts';

/** What `stepup` prints about a user: never the password hash. */
export interface UserSummary {
  id: string;
  username: string;
  name: string | null;
  email: string | null;
  status: User['status'];
  hasPassword: boolean;
}

const summary = (user: User): UserSummary => ({
  id: user.id,
  username: user.username,
  name: user.displayName,
  email: user.email,
  status: user.status,
  hasPassword: user.passwordHash !== null,
});

/** The audit actor for everything the command does. */
const ACTOR = 'cli';

export interface AddUserInput {
  username: string;
  name?: string | undefined;
  email?: string | undefined;
  /** The password in clear; undefined adds a user who cannot log in with a password yet. */
  password?: string | undefined;
}

/**
 * Adds an employee (`stepup user add`). The username is unique without regard to letter case;
 * the password is hashed with argon2id and never leaves this function; the user and the
 * `user.created` event are written in one transaction.
 */
export async function addUser(
  deps: { storage: Pick<Storage, 'db' | 'users' | 'audit'>; argon2: Argon2Params },
  input: AddUserInput,
  out: Output,
): Promise<{ user: UserSummary }> {
  const username = checkUsername(input.username);
  const displayName = input.name === undefined ? null : checkDisplayName(input.name);
  const email = input.email === undefined ? null : checkEmail(input.email);
  const password = input.password === undefined ? undefined : checkPassword(input.password);

  // Checked before the (deliberately slow) hash; the unique index still decides a race.
  const existing = await deps.storage.users.findByUsername(username);
  if (existing) throw new CliError('conflict', `the username "${username}" is taken (by "${existing.username}"; usernames ignore letter case)`);

  const passwordHash = password === undefined ? null : await hashPassword(password, deps.argon2);
  const user = await deps.storage.db.transaction(async (trx) => {
    const created = await deps.storage.users.add({ username, displayName, email, passwordHash }, trx);
    await deps.storage.audit.record({
      type: 'user.created',
      actor: ACTOR,
      userId: created.id,
      username: created.username,
      details: { hasPassword: passwordHash !== null, hasEmail: email !== null },
    }, trx);
    return created;
  });

  out.line(`Added user ${user.username} (id ${user.id}).`);
  if (passwordHash === null) out.line('The user has no password yet and cannot log in until one is set.');
  return { user: summary(user) };
}

export interface LockUserResult {
  user: UserSummary;
  /** False when the user was already locked (nothing was written). */
  changed: boolean;
}

/**
 * Locks an employee out (`stepup user lock`). A locked user cannot log in, and their SSO
 * sessions end at the next request, because the provider's account lookup refuses them.
 */
export async function lockUser(
  deps: { storage: Pick<Storage, 'db' | 'users' | 'audit'> },
  input: { username: string },
  out: Output,
): Promise<LockUserResult> {
  const user = await findUser(deps.storage, input.username);
  if (user.status === 'locked') {
    out.line(`User ${user.username} is already locked.`);
    return { user: summary(user), changed: false };
  }
  await deps.storage.db.transaction(async (trx) => {
    await deps.storage.users.setStatus(user.id, 'locked', trx);
    await deps.storage.audit.record({ type: 'user.locked', actor: ACTOR, userId: user.id, username: user.username, details: { reason: 'admin' } }, trx);
  });
  out.line(`Locked user ${user.username}: they cannot log in, and their sessions end at their next request.`);
  return { user: summary({ ...user, status: 'locked' }), changed: true };
}

export interface UnlockUserResult {
  user: UserSummary;
  /** The status before: `locked` (by an admin) or `active`. */
  statusWas: User['status'];
  /** Seconds that were left on an automatic lock after failed attempts (0 if none). */
  automaticLockSeconds: number;
}

/**
 * Lets an employee in again (`stepup user unlock`): sets the status to active and lifts any
 * automatic lock from failed password attempts, with its failure counters. Always writes
 * `user.unlocked`, since lifting an automatic lock is an act worth recording too.
 */
export async function unlockUser(
  deps: {
    storage: Pick<Storage, 'db' | 'users' | 'audit' | 'shortLived'>;
    argon2: Argon2Params;
    lockout: LockoutLimits;
    usernameKey: Buffer;
    /** No server runs (the command holds an embedded `DATA_DIR`), so no automatic lock lives anywhere. */
    alone?: boolean;
  },
  input: { username: string },
  out: Output,
): Promise<UnlockUserResult> {
  const { storage } = deps;
  const user = await findUser(storage, input.username);
  const passwordLogin = createPasswordLogin({ users: storage.users, store: storage.shortLived, audit: storage.audit, argon2: deps.argon2, limits: deps.lockout, usernameKey: deps.usernameKey });
  // A relay (the embedded server runs) can tell the server's memory to forget, not read it.
  const relay = storage.shortLived.kind === 'relay';
  const automaticLockSeconds = relay ? 0 : await passwordLogin.lockRemaining(user.username);

  // Before the transaction, not inside it: clearLock looks the user up, and on embedded PGlite
  // (one session) a query beside an open transaction waits for it. A failing store changes nothing.
  await passwordLogin.clearLock(user.username);
  await storage.db.transaction(async (trx) => {
    if (user.status !== 'active') await storage.users.setStatus(user.id, 'active', trx);
    await storage.audit.record({
      type: 'user.unlocked',
      actor: ACTOR,
      userId: user.id,
      username: user.username,
      details: { statusWas: user.status, automaticLockSeconds },
    }, trx);
  });

  if (user.status === 'locked') out.line(`Unlocked user ${user.username}.`);
  else out.line(`User ${user.username} was not locked by an admin.`);
  if (automaticLockSeconds > 0) out.line(`Lifted an automatic lock with ${automaticLockSeconds} s left.`);
  if (relay) out.line('The running server was told to lift any automatic lock.');
  else if (storage.shortLived.kind === 'memory' && !deps.alone) {
    out.notice('REDIS_URL is not set, so automatic locks live in the running server\'s memory and were not lifted there');
  }
  return { user: summary({ ...user, status: 'active' }), statusWas: user.status, automaticLockSeconds };
}

/** A row of `stepup user list`: the summary, when the user was added, and their second factors. */
export interface UserListEntry extends UserSummary {
  createdAt: string;
  /** Code viewers and apps bound to the user and in use (assigned, or locked after wrong codes). */
  secondFactors: number;
}

/** Lists employees (`stepup user list`), all or those of one status; never a password hash. */
export async function listUsers(
  deps: { storage: Pick<Storage, 'users' | 'totpTokens'> },
  input: { status?: string | undefined },
  out: Output,
): Promise<{ users: UserListEntry[] }> {
  const status = input.status === undefined ? undefined : checkOneOf(input.status, ['active', 'locked'] as const, '--status');
  const [users, tokens] = await Promise.all([deps.storage.users.list({ status }), deps.storage.totpTokens.list()]);
  const factors = new Map<string, number>();
  for (const token of tokens) {
    if (token.userId && (token.status === 'assigned' || token.status === 'locked')) factors.set(token.userId, (factors.get(token.userId) ?? 0) + 1);
  }
  const entries = users.map((user) => ({ ...summary(user), createdAt: user.createdAt.toISOString(), secondFactors: factors.get(user.id) ?? 0 }));

  if (entries.length === 0) out.line(status ? `No ${status} users.` : 'No users.');
  for (const entry of entries) {
    const facts = [entry.status, entry.hasPassword ? 'password' : 'no password', `${entry.secondFactors} second factor${entry.secondFactors === 1 ? '' : 's'}`];
    const who = [entry.name, entry.email && `<${entry.email}>`].filter(Boolean).join(' ');
    out.line(`${entry.username}${who ? `  ${printable(who)}` : ''}  (${facts.join(', ')}; added ${entry.createdAt.slice(0, 10)}; id ${entry.id})`);
  }
  return { users: entries };
}

/**
 * Sets an employee's password (`stepup user set-password`): an argon2id hash of the line read
 * from stdin, written with `user.password.set` in one transaction. The way back in for someone
 * who forgot theirs, or lost the demo password printed at first start. It lifts no lock: an
 * account IT locked stays locked until `stepup user unlock`.
 */
export async function setUserPassword(
  deps: { storage: Pick<Storage, 'db' | 'users' | 'audit'>; argon2: Argon2Params },
  input: { username: string; password: string },
  out: Output,
): Promise<{ user: UserSummary; hadPassword: boolean }> {
  const password = checkPassword(input.password);
  const user = await findUser(deps.storage, input.username);
  const passwordHash = await hashPassword(password, deps.argon2);
  await deps.storage.db.transaction(async (trx) => {
    await deps.storage.users.setPasswordHash(user.id, passwordHash, trx);
    await deps.storage.audit.record({
      type: 'user.password.set',
      actor: ACTOR,
      userId: user.id,
      username: user.username,
      details: { hadPassword: user.passwordHash !== null },
    }, trx);
  });
  out.line(`Set the password of ${user.username}.`);
  if (user.status === 'locked') out.line(`${user.username} is locked; \`stepup user unlock ${user.username}\` lets them in.`);
  return { user: summary({ ...user, passwordHash }), hadPassword: user.passwordHash !== null };
}

/**
 * Sets an attribute of an employee (`stepup user set-attribute`): what identity verification
 * compares the upstream's claim with (`IDENTITY_USER_ATTRIBUTE`), e.g. a person UUID. Only its
 * keyed digest is stored (`identity/attributes.ts`); the value comes from stdin, since a
 * CPR-derived value must not stay in shell history or `ps`. Written with `user.attribute.set`
 * (its name, never its value) in one transaction.
 */
export async function setUserAttribute(
  deps: { storage: Pick<Storage, 'db' | 'users' | 'audit'>; secretKey: string },
  input: { username: string; name: string; value: string },
  out: Output,
): Promise<{ user: UserSummary; attribute: string; replaced: boolean }> {
  const name = checkAttributeName(input.name);
  const value = checkAttributeValue(input.value);
  const user = await findUser(deps.storage, input.username);
  const attributes = createUserAttributes({ users: deps.storage.users, key: deriveKey(deps.secretKey, 'user-attribute') });
  const replaced = await deps.storage.db.transaction(async (trx) => {
    const had = await attributes.set({ userId: user.id, name, value }, trx);
    await deps.storage.audit.record({ type: 'user.attribute.set', actor: ACTOR, userId: user.id, username: user.username, details: { name, replaced: had } }, trx);
    return had;
  });
  out.line(`${replaced ? 'Replaced' : 'Set'} the attribute ${name} of ${user.username} (stored as a keyed digest; it cannot be shown).`);
  return { user: summary(user), attribute: name, replaced };
}

/** The user with this username (any letter case), or a `not_found` failure naming it. */
export async function findUser(storage: Pick<Storage, 'users'>, username: string): Promise<User> {
  const user = await storage.users.findByUsername(username);
  if (!user) throw new CliError('not_found', `there is no user "${printable(username)}"`);
  return user;
}
