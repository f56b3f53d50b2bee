import { randomBytes } from 'node:crypto';

import type { ShortLivedStore } from '../store/short-lived/types.ts';

/** A self-service ("selvbetjening") session: whose, since when, and what it has proven. Epoch seconds. */
export interface PortalSession {
  /** 256 random bits; the cookie holds it, the short-lived store the rest. */
  id: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  /** When one of the employee's second factors was last proven for this session. */
  secondFactorAt?: number | undefined;
  /** When an access pass from IT was redeemed in this session. */
  accessPassAt?: number | undefined;
  /** When the employee's identity was last verified at the upstream provider in this session. */
  identityVerifiedAt?: number | undefined;
}

/** How long a portal session lives, in seconds. */
export interface PortalSessionLimits {
  /** Ends after this long without a request. */
  idle: number;
  /** Ends this long after it began, however busy. */
  absolute: number;
}

/**
 * Self-service changes the factors that guard every other system, so its sessions are short:
 * 15 minutes without a request, 8 hours at most (issue "Step 3").
 */
export const SELFSERVICE_SESSION_LIMITS: PortalSessionLimits = { idle: 15 * 60, absolute: 8 * 60 * 60 };

/**
 * Seconds a session has left at `now`: the sooner of its idle and absolute ends, 0 when it has
 * ended (OWASP Session Management Cheat Sheet: idle and absolute timeouts).
 */
export function sessionSecondsLeft(session: Pick<PortalSession, 'createdAt' | 'lastSeenAt'>, limits: PortalSessionLimits, now: number): number {
  return Math.max(0, Math.min(session.lastSeenAt + limits.idle, session.createdAt + limits.absolute) - now);
}

export interface PortalSessions {
  /** Begins a new session (a new id every login, so an id planted before it is worthless). */
  create(input: Pick<PortalSession, 'userId' | 'secondFactorAt'>): Promise<PortalSession>;
  /** The live session with this id, its idle time restarted; undefined once ended. */
  touch(id: string): Promise<PortalSession | undefined>;
  /** Records what the session has proven since it began. */
  update(session: PortalSession): Promise<void>;
  /** Ends a session at once, on every node. */
  destroy(id: string): Promise<void>;
}

/**
 * Portal sessions in the short-lived store (Redis), shared by every node, so logging out ends a
 * session everywhere and a restart ends none. Each entry expires with its session.
 */
export function createPortalSessions(deps: { store: ShortLivedStore; limits: PortalSessionLimits; now: () => number }): PortalSessions {
  const key = (id: string) => `selfservice:session:${id}`;
  const nowSeconds = () => Math.floor(deps.now() / 1000);
  const save = async (session: PortalSession) => {
    const left = sessionSecondsLeft(session, deps.limits, nowSeconds());
    if (left > 0) await deps.store.set(key(session.id), JSON.stringify(session), left * 1000);
    else await deps.store.delete(key(session.id));
  };
  return {
    async create({ userId, secondFactorAt }) {
      const now = nowSeconds();
      const session: PortalSession = { id: randomBytes(32).toString('base64url'), userId, createdAt: now, lastSeenAt: now, secondFactorAt };
      await save(session);
      return session;
    },
    async touch(id) {
      if (!/^[\w-]{43}$/.test(id)) return undefined;
      const json = await deps.store.get(key(id));
      if (!json) return undefined;
      const stored = JSON.parse(json) as PortalSession;
      if (sessionSecondsLeft(stored, deps.limits, nowSeconds()) === 0) {
        await deps.store.delete(key(id));
        return undefined;
      }
      const session = { ...stored, lastSeenAt: nowSeconds() };
      await save(session);
      return session;
    },
    update: save,
    async destroy(id) {
      await deps.store.delete(key(id));
    },
  };
}
