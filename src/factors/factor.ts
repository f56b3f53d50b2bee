import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';

import type { ActContext, AuditType } from '../store/audit.ts';

export type { ActContext } from '../store/audit.ts';

/**
 * Where a factor stands for its user: `active` (usable at login), `locked` after wrong answers
 * (until {@link SecondFactor.lockedUntil}), or `pending`: registered but not yet usable (a
 * computer or phone not yet paired), listed in self-service and never offered at login.
 */
export type FactorStatus = 'active' | 'locked' | 'pending';

/** A second factor of a user, as the chooser and the self-service list show it. */
export interface SecondFactor {
  id: string;
  /** The name of the {@link FactorKind} it belongs to. */
  kind: string;
  name: string;
  /** What else tells the user which one it is, in any language (a code viewer's serial); null when nothing. */
  detail: string | null;
  /** When it became the user's device: bound, confirmed or registered. */
  addedAt: Date;
  lastUsedAt: Date | null;
  status: FactorStatus;
  /** Set while the factor is locked after wrong answers (status `locked`). */
  lockedUntil: Date | null;
}

/** A request sent to the user's device, to be approved there while the browser waits. */
export interface Challenge {
  id: string;
  /** Shown on the waiting page and on the device, so the user can see they are the same request. */
  code: string;
  /** In number-matching mode: the number the user types or picks on the device. */
  number?: string | undefined;
  expiresAt: Date;
}

/**
 * How a kind begins once the user picked one of its factors: `code` asks for a code on the
 * code page; `challenge` has sent a {@link Challenge} and shows the waiting page; `webauthn`
 * shows the security key page, whose script runs the browser's WebAuthn ceremony with `options`
 * and posts the assertion; `refused` could send none (the device is locked, or the user has too
 * many challenges waiting).
 */
export type FactorStart =
  | { type: 'code' }
  | { type: 'challenge'; challenge: Challenge }
  | { type: 'webauthn'; options: PublicKeyCredentialRequestOptionsJSON }
  | { type: 'refused'; refusal: FactorRefusal };

/**
 * Why an answer was not accepted; the login pages have one message for each.
 * - `malformed`: not a code at all; `invalid`: a wrong code; `replayed`: a code used before;
 * - `locked`: the factor is locked after wrong answers (`lockedUntil` says until when);
 * - `not_found`: no such factor or challenge of this user;
 * - `pending`: the challenge is not answered on the device yet; `rejected`: it was refused
 *   there; `expired`: it ran out; `too_many_challenges`: the user has as many waiting as allowed.
 * - `not_verified`: a security key's assertion was not accepted (signature, challenge, origin,
 *   counter); the kind's audit event names which, the user is only asked to try again.
 */
export type FactorFailure = 'malformed' | 'invalid' | 'replayed' | 'locked' | 'not_found' | 'pending' | 'rejected' | 'expired' | 'too_many_challenges' | 'not_verified';

/** A refused answer. With `pending`, `challenge` is the challenge still waiting, to show again. */
export interface FactorRefusal {
  ok: false;
  reason: FactorFailure;
  lockedUntil?: Date | undefined;
  challenge?: Challenge | undefined;
}

/**
 * Where a login's challenge stands, as its waiting page learns it: `not_found` for a challenge
 * that is not this login's (or is forgotten), so nothing is told about another login's.
 */
export type ChallengeState = 'pending' | 'approved' | 'rejected' | 'expired' | 'not_found';

/**
 * The outcome of an answer: accepted, or refused. Accepted, it proves the kind's
 * {@link FactorKind.amr}, or `amr` when the answer itself tells what it proved (a security key
 * that verified its user).
 */
export type FactorVerifyResult = { ok: true; amr?: readonly string[] | undefined } | FactorRefusal;

/** The audit event types a kind records for answers at login, so the log reads alike for every kind. */
export interface FactorEvents {
  succeeded: AuditType;
  failed: AuditType;
  /** The answer that reached the lockout limit locked the factor. */
  locked: AuditType;
}

/** The login a factor is started for, for a device to show ("log in to …"). */
export interface FactorFlow {
  uid: string;
  clientId: string;
  clientName: string | undefined;
}

/**
 * One kind of second factor (ARCHITECTURE.md, "Factor kinds are plug-ins"). The chooser, the
 * login flow and the self-service list dispatch on it, so adding a kind touches no route or
 * page of another kind. A kind keeps its own rules (windows, lockout, replay) and records its
 * audit events under {@link FactorKind.events}.
 */
export interface FactorKind {
  /** Stable name, also the i18n suffix of its words (`factor.kind.<name>`, `code.hint.<name>`). */
  readonly name: string;
  /** What a factor of this kind proves, as RFC 8176 §2 `amr` values (e.g. `otp`, `hwk`). */
  readonly amr: readonly string[];
  readonly events: FactorEvents;
  /**
   * The user's factors of this kind, the last used first: those in use (`active`, `locked`) and
   * those registered but not yet usable (`pending`), which the registry keeps from the login.
   */
  listForUser(userId: string): Promise<SecondFactor[]>;
  /**
   * Begins a login with one of the user's factors: ask for a code, or send a challenge. A
   * challenge kind shows again the challenge this login already has waiting on that factor, so
   * reloading a page sends nothing; only `resend` (the waiting page's "send again") sends a new one.
   */
  start(input: { userId: string; factor: SecondFactor; flow: FactorFlow; context: ActContext; resend?: boolean }): Promise<FactorStart>;
  /**
   * Checks an answer: a typed `code`; for a challenge kind the `challengeId` the waiting page
   * posts, which is accepted once the device approved it, for the login (`flow`) it was sent
   * for and no other; for a `webauthn` kind the `assertion` its page posts (the JSON of the
   * browser's `AuthenticationResponseJSON`). Counts failures and audits the outcome.
   */
  verify(input: { userId: string; factorId: string; answer: { code?: string; challengeId?: string; assertion?: string }; flow: FactorFlow; context: ActContext }): Promise<FactorVerifyResult>;
  /**
   * Only for challenge kinds: waits until the challenge sent for this login (`flow`) is
   * approved, rejected or expires, so the waiting page can go on by itself; heard from whichever
   * node the device answered on. Resolves at once when it is not pending, and with `pending`
   * only when `signal` aborts first. Spends nothing: the login still posts `verify`.
   */
  awaitChallenge?(input: { userId: string; factorId: string; challengeId: string; flow: FactorFlow; signal: AbortSignal }): Promise<ChallengeState>;
  /**
   * Only for kinds whose codes follow a clock that can drift (TOTP): finds the factor's drift
   * from two codes in a row (RFC 6238 §6). The code page offers it after a wrong code.
   */
  resync?(input: { userId: string; factorId: string; codes: [string, string]; context: ActContext }): Promise<{ ok: true } | FactorRefusal>;
  /**
   * Only for kinds an employee deletes in self-service: deletes the user's factor `factorId` and
   * audits it. False, changing nothing, when it is not one of theirs. A kind with
   * {@link FactorKind.removalReasons} gets the one the employee chose as `reason`.
   */
  remove?(input: { userId: string; factorId: string; reason?: string | undefined; context: ActContext }): Promise<boolean>;
  /**
   * Only for kinds whose deletion differs by why it is deleted (a code viewer given to a
   * colleague goes back to stock, a lost one does not): the reasons the confirmation asks the
   * employee to choose from, one required. Their words are `ss.remove.reason.<reason>`.
   */
  readonly removalReasons?: readonly string[];
  /**
   * Only for kinds an employee renames in self-service: gives the user's factor `factorId` the
   * name `name` (already checked by `checkFactorName`, `factor-name.ts`) and audits `factor.renamed`. False,
   * changing nothing, when it is not one of theirs.
   */
  rename?(input: { userId: string; factorId: string; name: string; context: ActContext }): Promise<boolean>;
}

/** A factor as the registry lists it: with whether it is the user's default, which comes first. */
export interface ListedFactor extends SecondFactor {
  isDefault: boolean;
}

/** The kinds this instance offers, looked up by name. */
export interface FactorRegistry {
  readonly kinds: readonly FactorKind[];
  /** The kind of that name; undefined for a kind not registered. */
  get(name: string): FactorKind | undefined;
  /**
   * The user's factors of every registered kind, in the order of {@link orderFactors}: those
   * usable at login, or with `pending` also those not yet usable (the self-service list).
   */
  listForUser(userId: string, options?: { pending?: boolean }): Promise<ListedFactor[]>;
}

/** Options of {@link createFactorRegistry} beside the kinds. */
export interface FactorRegistryOptions {
  /**
   * The id of the factor the user made their default, or null. Defaults to none (no user has a
   * default), for a registry of kinds alone.
   */
  defaultFactorOf?: (userId: string) => Promise<string | null>;
}

/**
 * The registry of the given kinds, in that order where nothing else orders them. `app.ts`
 * builds it; a name given twice is refused, as the second kind could never be reached.
 */
export function createFactorRegistry(kinds: readonly FactorKind[], { defaultFactorOf = async () => null }: FactorRegistryOptions = {}): FactorRegistry {
  const byName = new Map<string, FactorKind>();
  for (const kind of kinds) {
    if (byName.has(kind.name)) throw new Error(`factor kind "${kind.name}" is registered twice`);
    byName.set(kind.name, kind);
  }
  return {
    kinds: [...kinds],
    get: (name) => byName.get(name),
    async listForUser(userId, { pending = false } = {}) {
      const [lists, defaultFactorId] = await Promise.all([Promise.all(kinds.map((kind) => kind.listForUser(userId))), defaultFactorOf(userId)]);
      const factors = lists.flat().filter((factor) => pending || factor.status !== 'pending');
      return orderFactors({ factors, defaultFactorId });
    },
  };
}

/**
 * The order the chooser and the self-service list show a user's factors in: the default first
 * (an id that names none of them is ignored: it may outlive its factor), then the last used,
 * the never used last. Factors used equally late keep the order they were given in (the kinds'
 * order), as `Array.prototype.sort` is stable.
 */
export function orderFactors(options: { factors: readonly SecondFactor[]; defaultFactorId: string | null }): ListedFactor[] {
  const listed = options.factors.map((factor) => ({ ...factor, isDefault: factor.id === options.defaultFactorId }));
  return listed.sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || lastUsedFirst(a, b));
}

/** Orders factors by their last use, the newest first and the never used last. */
function lastUsedFirst(a: SecondFactor, b: SecondFactor): number {
  if (!a.lastUsedAt || !b.lastUsedAt) return Number(Boolean(b.lastUsedAt)) - Number(Boolean(a.lastUsedAt));
  return b.lastUsedAt.getTime() - a.lastUsedAt.getTime();
}
