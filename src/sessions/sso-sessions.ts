import { randomBytes } from 'node:crypto';

import type { Context } from 'koa';

import type { SessionAuthentication } from '../store/authentications.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import { sessionAfterLogin, ssoSessionSecondsLeft, withParticipant, type SessionParticipant, type SsoSession, type SsoSessionLimits } from './sso-session.ts';

/** Our cookie: the SSO session's id, signed with the instance's cookie keys. */
export const SSO_SESSION_COOKIE = 'stepup_sso';

/**
 * The one interface through which every protocol reads and writes the SSO session of the
 * request's browser. A session lives in the short-lived store (shared by every node, so ending
 * it ends it everywhere), keyed by the id in our own cookie; oidc-provider's session is not it.
 */
export interface SsoSessions {
  /**
   * The browser's live session, its idle time restarted; undefined without one, once ended, or
   * when its account may no longer log in (a locked user's session ends at the next request).
   */
  current(ctx: Context): Promise<SsoSession | undefined>;
  /** Records what a finished login proved, before the protocol answers the relying party. */
  record(ctx: Context, authentication: SessionAuthentication): Promise<SsoSession>;
  /**
   * Notes that a relying party was answered in the browser's session, and with which subject,
   * so that its logout request can be matched to it later. Without a session, nothing.
   */
  addParticipant(ctx: Context, participant: SessionParticipant): Promise<void>;
  /** Ends the browser's session (logout) on every node, and clears the cookie. */
  end(ctx: Context): Promise<void>;
}

export function createSsoSessions(deps: {
  store: ShortLivedStore;
  limits: SsoSessionLimits;
  /** Whether the account may still log in (it exists and is not locked). */
  accountActive: (accountId: string) => Promise<boolean>;
  /** Path of the cookie: where the IdP is mounted, `/` at the root. */
  cookiePath: string;
  /** The clock, epoch ms. */
  now: () => number;
}): SsoSessions {
  const key = (id: string) => `sso:session:${id}`;
  const nowSeconds = () => Math.floor(deps.now() / 1000);
  // No maxAge: a browser session cookie; the store decides how long the session lives.
  const cookieOptions = (ctx: Context) => ({ httpOnly: true, sameSite: 'lax' as const, signed: true, secure: ctx.secure, path: deps.cookiePath });
  const cookieId = (ctx: Context) => {
    const id = ctx.cookies.get(SSO_SESSION_COOKIE, { signed: true });
    return id && /^[\w-]{43}$/.test(id) ? id : undefined;
  };
  const save = async (session: SsoSession) => {
    const left = ssoSessionSecondsLeft(session, deps.limits, nowSeconds());
    if (left > 0) await deps.store.set(key(session.id), JSON.stringify(session), left * 1000);
    else await deps.store.delete(key(session.id));
  };
  const end = async (ctx: Context) => {
    const id = cookieId(ctx);
    if (id) await deps.store.delete(key(id));
    ctx.cookies.set(SSO_SESSION_COOKIE, null, cookieOptions(ctx));
  };
  // A request may read the session more than once (the prompt check, then the flow); once is enough.
  const read = async (ctx: Context): Promise<SsoSession | undefined> => {
    const id = cookieId(ctx);
    const json = id && await deps.store.get(key(id));
    if (!json) return undefined;
    const stored = JSON.parse(json) as SsoSession;
    if (ssoSessionSecondsLeft(stored, deps.limits, nowSeconds()) === 0 || !await deps.accountActive(stored.authentication.accountId)) {
      await end(ctx);
      return undefined;
    }
    const session = { ...stored, lastSeenAt: nowSeconds() };
    await save(session);
    return session;
  };
  const memo = new WeakMap<Context, Promise<SsoSession | undefined>>();
  const current = (ctx: Context) => {
    let session = memo.get(ctx);
    if (!session) memo.set(ctx, session = read(ctx));
    return session;
  };

  return {
    current,

    async record(ctx, authentication) {
      const before = await current(ctx);
      const { session: next, change } = sessionAfterLogin({ current: before, authentication, now: nowSeconds() });
      const session: SsoSession = { ...next, id: change === 'same' && before ? before.id : randomBytes(32).toString('base64url') };
      if (before && before.id !== session.id) await deps.store.delete(key(before.id));
      await save(session);
      if (session.id !== before?.id) ctx.cookies.set(SSO_SESSION_COOKIE, session.id, cookieOptions(ctx));
      memo.set(ctx, Promise.resolve(session));
      return session;
    },

    async addParticipant(ctx, participant) {
      const session = await current(ctx);
      if (!session) return;
      const next = withParticipant(session, participant);
      await save(next);
      memo.set(ctx, Promise.resolve(next));
    },

    async end(ctx) {
      await end(ctx);
      memo.set(ctx, Promise.resolve(undefined));
    },
  };
}
