import { decideStepUp, sessionAssurance, type SessionAuthentication, type StepUpDecision } from '../auth/step-up.ts';
import type { Flow, LoginResult } from './flow.ts';

/** Where a login stands: what counts as proven so far, and what is still to ask. */
export interface FlowProgress {
  authentication: SessionAuthentication | undefined;
  decision: StepUpDecision;
}

/**
 * Combines what the SSO session had proven (`session`, from `sessions/`) with what this login has
 * proven so far (`proven`, kept per flow), and decides what is still to ask. Once the password is given in this flow,
 * `prompt=login` and `max_age` are met; a second factor the session still holds for the same
 * account counts, unless a fresh authentication was demanded.
 */
export function flowProgress(options: {
  flow: Flow;
  session: SessionAuthentication | undefined;
  proven: SessionAuthentication | undefined;
  now: number;
}): FlowProgress {
  const { requirements } = options.flow;
  const decide = (authentication: SessionAuthentication | undefined, fresh: boolean) => decideStepUp({
    needed: requirements.level,
    session: authentication,
    now: options.now,
    lifetimes: requirements.lifetimes,
    ...(fresh ? { maxAge: requirements.maxAge, forceLogin: requirements.forceLogin } : {}),
  });

  const { proven, session } = options;
  if (!proven) return { authentication: session, decision: decide(session, true) };

  const sessionFactorCounts = session?.accountId === proven.accountId && !decide(session, true).secondFactor && session.secondFactorAt !== undefined;
  const authentication = proven.secondFactorAt === undefined && sessionFactorCounts
    ? { ...proven, secondFactorAt: session.secondFactorAt, secondFactorAmr: session.secondFactorAmr }
    : proven;
  return { authentication, decision: decide(authentication, false) };
}

/** The level, `amr` and authentication time a finished login reports. */
export function loginOutcome(authentication: SessionAuthentication, flow: Flow, now: number): LoginResult {
  const { level, amr, authTime } = sessionAssurance({ session: authentication, now, lifetimes: flow.requirements.lifetimes });
  return { level, amr, authTime: authTime ?? authentication.passwordAt, authentication };
}
