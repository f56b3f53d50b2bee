import type { Context } from 'koa';

import { requestState } from '../http/context.ts';
import { clockTime, translate } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import type { IdentityVerification } from '../identity/verification.ts';
import type { ActContext } from '../store/audit.ts';
import type { User } from '../store/users.ts';
import { isVerificationFailure, verificationRefusal } from './messages.ts';
import type { PortalSession, PortalSessions } from './sessions.ts';

/** Where the upstream sends the browser back, under the portal: our redirect URI there. */
export const identityRedirectUri = (issuer: string) => `${issuer}/selfservice/verify/callback`;

/** What identity verification takes from the portal. */
export interface IdentityVerificationPagesDeps {
  verification: IdentityVerification;
  sessions: Pick<PortalSessions, 'update'>;
  render: Renderer;
  /** The portal session and employee `loadSession` found. */
  who(ctx: Context): { session: PortalSession; user: User };
  csrfToken(session: PortalSession): string;
  acting(ctx: Context): ActContext;
  /** Whether the employee has a second factor, to offer proving it instead. */
  hasSecondFactor(userId: string): Promise<boolean>;
  /** Where the portal's list is. */
  home: string;
  /** The clock, epoch ms. */
  now: () => number;
}

/**
 * "Verificer identitet" (issue 9): the employee confirms at the upstream provider (MitID through
 * a broker) that it is them, and for `IDENTITY_VERIFICATION_SECONDS` the portal lets them add
 * a first device, or change devices without the one they lost (`auth/factor-change.ts`). The
 * start is a form (CSRF) behind `loadSession`, the callback is bound to the session that began it,
 * and its outcome is shown on the page after a redirect, so a reload or the language switch
 * never posts a code to the upstream twice.
 */
export function identityVerificationPages(deps: IdentityVerificationPagesDeps) {
  const nowSeconds = () => Math.floor(deps.now() / 1000);
  const seeOther = (ctx: Context, location: string) => {
    ctx.status = 303;
    ctx.redirect(location);
  };
  const page = `${deps.home}/verify`;

  /** The page: the button, how the last verification went, and how long a success holds. */
  async function showVerification(ctx: Context) {
    const { session, user } = deps.who(ctx);
    const language = requestState(ctx).language;
    const verifiedAt = session.identityVerifiedAt;
    const holdsUntil = verifiedAt === undefined ? undefined : verifiedAt + deps.verification.holdSeconds;
    const holding = holdsUntil !== undefined && verifiedAt !== undefined && verifiedAt <= nowSeconds() && nowSeconds() <= holdsUntil;
    const { result } = ctx.query;
    // The form's post is answered with a redirect to the upstream, which CSP form-action must allow.
    const upstream = await deps.verification.authorizationOrigin();
    if (upstream) requestState(ctx).formTargets = [upstream];
    deps.render(ctx, 'selfservice-verify', {
      csrf: deps.csrfToken(session),
      verified: holding ? translate(language, 'ss.identity.verified', { time: clockTime(language, new Date(holdsUntil * 1000)) }) : undefined,
      error: isVerificationFailure(result) ? verificationRefusal(language, result) : undefined,
      holdExpired: !holding && verifiedAt !== undefined,
      offerDevice: await deps.hasSecondFactor(user.id),
    });
  }

  async function startVerification(ctx: Context) {
    const { session, user } = deps.who(ctx);
    const begun = await deps.verification.begin({ sessionId: session.id, user, context: deps.acting(ctx) });
    if (!begun.ok) return seeOther(ctx, `${page}?result=${begun.reason}`);
    seeOther(ctx, begun.url.href);
  }

  async function finishVerification(ctx: Context) {
    const { session, user } = deps.who(ctx);
    const params = new URLSearchParams(ctx.querystring);
    const finished = await deps.verification.finish({ sessionId: session.id, user, params, context: deps.acting(ctx) });
    if (!finished.verified) return seeOther(ctx, `${page}?result=${finished.reason}`);
    await deps.sessions.update({ ...session, identityVerifiedAt: finished.at });
    seeOther(ctx, page);
  }

  return { showVerification, startVerification, finishVerification };
}
