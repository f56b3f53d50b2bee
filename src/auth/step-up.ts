import type { SessionAuthentication } from '../store/authentications.ts';
import type { Level } from './levels.ts';

/** What an SSO session has proven, and when (epoch seconds); stored by `sessions/`. */
export type { SessionAuthentication };

/** How long each factor counts, in seconds (configured, or the relying party's own). */
export interface FactorLifetimes {
  password: number;
  secondFactor: number;
}

/**
 * What a relying party needs from a login, whatever its protocol: the level, how long each
 * factor counts for it, and how fresh the authentication must be. What the SSO session already
 * has is the session's (`sessions/`), not the request's.
 */
export interface LoginRequirements {
  level: Level;
  lifetimes: FactorLifetimes;
  /** Seconds: no factor older than this counts (OIDC `max_age`). */
  maxAge: number | undefined;
  /** Nothing proven before this request counts (OIDC `prompt=login`, SAML `ForceAuthn`). */
  forceLogin: boolean;
}

/** Which factors a login must ask for now. Both false: the session already satisfies it. */
export interface StepUpDecision {
  password: boolean;
  secondFactor: boolean;
}

/** The factors that still count, and the level they reach together. */
export interface SessionAssurance {
  level: Level;
  /** RFC 8176 `amr`: `pwd`, the second factor's own values, and `mfa` when both count. */
  amr: string[];
  /**
   * When the authentication the level rests on took place: the oldest factor it counts (epoch
   * seconds). An ID token's `auth_time`; a relying party that checks `max_age` against it
   * thereby checks every factor, and self-service knows the second factor is at least this
   * fresh. Undefined when not even the password counts.
   */
  authTime: number | undefined;
}

interface AssuranceOptions {
  session: SessionAuthentication | undefined;
  /** Epoch seconds. */
  now: number;
  lifetimes: FactorLifetimes;
  /** OIDC `max_age` in seconds: a factor older than this does not count for this request. */
  maxAge?: number | undefined;
  /** `prompt=login`: nothing the session proved before counts. */
  forceLogin?: boolean | undefined;
}

/** Whether a factor proven at `at` (epoch seconds) with this lifetime still counts. */
function factorCounts({ now, maxAge, forceLogin }: AssuranceOptions) {
  return (at: number | undefined, lifetime: number) =>
    at !== undefined && !forceLogin && now - at <= Math.min(lifetime, maxAge ?? Infinity);
}

/**
 * Which of a session's factors count now: each for its own lifetime, and none older than
 * `max_age` (OIDC Core §3.1.2.1; applied to every factor, so `max_age` with the substantial level
 * asks for a fresh second factor too) or proven before a `prompt=login`.
 */
export function sessionAssurance(options: AssuranceOptions): SessionAssurance {
  const { session, lifetimes } = options;
  const counts = factorCounts(options);
  if (!session || !counts(session.passwordAt, lifetimes.password)) return { level: 'low', amr: [], authTime: undefined };
  if (!counts(session.secondFactorAt, lifetimes.secondFactor)) return { level: 'low', amr: ['pwd'], authTime: session.passwordAt };
  return {
    level: 'substantial',
    amr: [...new Set(['pwd', ...(session.secondFactorAmr ?? []), 'mfa'])],
    authTime: Math.min(session.passwordAt, session.secondFactorAt as number),
  };
}

/**
 * What a login must ask for, given what the session has proven and the level the relying party
 * needs (ARCHITECTURE.md, "A login, step by step"). Each factor counts for its own lifetime (see
 * {@link sessionAssurance}); a session that has a fresh password but needs the substantial level
 * asks for the second factor only.
 */
export function decideStepUp(options: AssuranceOptions & { needed: Level }): StepUpDecision {
  const { session, lifetimes } = options;
  const counts = factorCounts(options);
  return {
    password: !counts(session?.passwordAt, lifetimes.password),
    secondFactor: options.needed === 'substantial' && !counts(session?.secondFactorAt, lifetimes.secondFactor),
  };
}

/** The level a session reaches with the factors that still count. */
export function levelReached(options: AssuranceOptions & { session: SessionAuthentication }): Level {
  return sessionAssurance(options).level;
}

/** The `amr` of a session (RFC 8176), from the factors that still count. */
export function sessionAmr(options: AssuranceOptions & { session: SessionAuthentication }): string[] {
  return sessionAssurance(options).amr;
}
