import type { Level } from './levels.ts';

/** What an SSO session has proven, and when (epoch seconds). */
export interface SessionAuthentication {
  accountId: string;
  passwordAt: number;
  /** When a second factor was last used, and what it proved (RFC 8176 `amr`). */
  secondFactorAt?: number | undefined;
  secondFactorAmr?: string[] | undefined;
}

/** How long each factor counts, in seconds (configured, or the relying party's own). */
export interface FactorLifetimes {
  password: number;
  secondFactor: number;
}

/** What an authorization request needs from the login, and what the SSO session already has. */
export interface LoginRequirements {
  level: Level;
  lifetimes: FactorLifetimes;
  /** What the session has proven for its account; undefined without a session or record. */
  authentication: SessionAuthentication | undefined;
  maxAge: number | undefined;
  forceLogin: boolean;
}

/** Which factors a login must ask for now. Both false: the session already satisfies it. */
export interface StepUpDecision {
  password: boolean;
  secondFactor: boolean;
}

/**
 * What a login must ask for, given what the session has proven and the level the relying party
 * needs (ARCHITECTURE.md, "A login, step by step"). Each factor counts for its own lifetime;
 * a session that has a fresh password but needs the substantial level asks for the second
 * factor only. `prompt=login` and an exceeded `max_age` (OIDC Core §3.1.2.1) demand a fresh
 * authentication with every factor the level needs.
 */
export function decideStepUp(options: {
  needed: Level;
  session: SessionAuthentication | undefined;
  /** Epoch seconds. */
  now: number;
  lifetimes: FactorLifetimes;
  maxAge?: number | undefined;
  forceLogin?: boolean | undefined;
}): StepUpDecision {
  const { needed, session, now, lifetimes } = options;
  const fresh = Boolean(options.forceLogin)
    || (options.maxAge !== undefined && (!session || now - session.passwordAt > options.maxAge));
  const passwordValid = Boolean(session) && !fresh && now - (session as SessionAuthentication).passwordAt <= lifetimes.password;
  const secondFactorValid = !fresh && session?.secondFactorAt !== undefined && now - session.secondFactorAt <= lifetimes.secondFactor;
  return {
    password: !passwordValid,
    secondFactor: needed === 'substantial' && !secondFactorValid,
  };
}

/** The level a session reaches once it has proven these factors within their lifetimes. */
export function levelReached(options: { session: SessionAuthentication; now: number; lifetimes: FactorLifetimes }): Level {
  const { secondFactor } = decideStepUp({ needed: 'substantial', session: options.session, now: options.now, lifetimes: options.lifetimes });
  return secondFactor ? 'low' : 'substantial';
}

/**
 * The `amr` of a session (RFC 8176): `pwd` for the password, the second factor's own values,
 * and `mfa` when both count.
 */
export function sessionAmr(options: { session: SessionAuthentication; now: number; lifetimes: FactorLifetimes }): string[] {
  if (levelReached(options) === 'low') return ['pwd'];
  return [...new Set(['pwd', ...(options.session.secondFactorAmr ?? []), 'mfa'])];
}
