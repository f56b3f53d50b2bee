import type { SessionAuthentication } from '../store/authentications.ts';

/**
 * The SSO session both protocols share (ARCHITECTURE.md, "Where state lives"): who logged in,
 * which factors they proved and when, and when the session began and was last used. Epoch
 * seconds.
 */
export interface SsoSession {
  /** 256 random bits; our cookie holds it, the short-lived store the rest. */
  id: string;
  createdAt: number;
  lastSeenAt: number;
  authentication: SessionAuthentication;
  /** The relying parties answered in this session, oldest first; absent before the first. */
  participants?: SessionParticipant[];
}

/**
 * A relying party the session answered, and what it was told, so that its logout request can be
 * matched to the session: a SAML LogoutRequest names the NameID and SessionIndex it was given
 * (SAML core §3.7.1, §3.7.3.2), and a transient NameID cannot be made again, so it is kept.
 */
export interface SessionParticipant {
  /** The relying party: a SAML SP's entityID. */
  clientId: string;
  /** The subject it was given: a SAML NameID's format and value. */
  subject: { format: string; value: string };
  /** Its handle on this session: the SAML SessionIndex. */
  sessionIndex: string;
}

/**
 * How many participants a session keeps, the newest: every SAML Response adds one (its
 * SessionIndex is new), and a working day at a few systems stays far below this.
 */
export const MAX_SESSION_PARTICIPANTS = 50;

/** The session with `participant` added as the newest, the oldest dropped beyond {@link MAX_SESSION_PARTICIPANTS}. */
export function withParticipant(session: SsoSession, participant: SessionParticipant): SsoSession {
  return { ...session, participants: [...(session.participants ?? []), participant].slice(-MAX_SESSION_PARTICIPANTS) };
}

/** How long an SSO session lives, in seconds. */
export interface SsoSessionLimits {
  /** Ends after this long without a login request. */
  idle: number;
  /** Ends this long after its password login, however busy. */
  absolute: number;
}

/**
 * A working day at most, as oidc-provider's session was before (`TTL.Session`, 10 hours); and
 * two hours without a login request at any relying party, so a PC left unlocked over lunch
 * does not log the next person in (OWASP Session Management Cheat Sheet: idle and absolute
 * timeouts). Each factor still counts only for its own lifetime within the session.
 */
export const SSO_SESSION_LIMITS: SsoSessionLimits = { idle: 2 * 60 * 60, absolute: 10 * 60 * 60 };

/** Seconds a session has left at `now`: the sooner of its idle and absolute ends, 0 once ended. */
export function ssoSessionSecondsLeft(session: Pick<SsoSession, 'createdAt' | 'lastSeenAt'>, limits: SsoSessionLimits, now: number): number {
  return Math.max(0, Math.min(session.lastSeenAt + limits.idle, session.createdAt + limits.absolute) - now);
}

/** What recording a finished login does to the browser's session. */
export interface SessionAfterLogin {
  session: Omit<SsoSession, 'id'>;
  /**
   * `new`: a password login, or another account: a new session (new id, new absolute start).
   * `renewed`: the same login stepped up; a new id (the session's privilege changed, OWASP
   * Session Management: renew the id), the same start. `same`: nothing new was proven.
   */
  change: 'new' | 'renewed' | 'same';
}

/**
 * What a finished login leaves as the browser's SSO session, given the session it had (if any).
 * A session belongs to one account and one password login; a second factor proven later adds to
 * it. The relying parties the account was logged in at stay with it, through a new password
 * login too (they are still logged in, and their logout must still find it); another account
 * starts with none.
 */
export function sessionAfterLogin(options: { current: SsoSession | undefined; authentication: SessionAuthentication; now: number }): SessionAfterLogin {
  const { current, authentication, now } = options;
  const before = current?.authentication;
  const participants = before?.accountId === authentication.accountId && current?.participants ? { participants: current.participants } : {};
  if (!current || before?.accountId !== authentication.accountId || before.passwordAt !== authentication.passwordAt) {
    return { session: { createdAt: now, lastSeenAt: now, authentication, ...participants }, change: 'new' };
  }
  const same = before.secondFactorAt === authentication.secondFactorAt;
  return { session: { createdAt: current.createdAt, lastSeenAt: now, authentication, ...participants }, change: same ? 'same' : 'renewed' };
}
