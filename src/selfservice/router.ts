import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { ClientMetadata } from 'oidc-provider';

import type { AccessPasses } from '../auth/access-passes.ts';
import { decideFactorChange, type FactorChangeAuthority } from '../auth/factor-change.ts';
import { ACR_VALUES, levelOfAcr } from '../auth/levels.ts';
import type { FirstFactorEnrolment } from '../config/index.ts';
import { checkFactorName } from '../factors/factor-name.ts';
import type { ActContext, FactorRegistry } from '../factors/factor.ts';
import type { DeviceService } from '../devices/service.ts';
import type { AuthenticatorEnrolment, TotpFactors } from '../factors/totp-factors.ts';
import type { SecurityKeys } from '../factors/webauthn/security-keys.ts';
import { requestState } from '../http/context.ts';
import type { Csrf } from '../http/csrf.ts';
import { checkFormToken, formField, formParser } from '../http/form.ts';
import { IdpError } from '../http/errors.ts';
import { translate, type MessageKey } from '../http/i18n.ts';
import { createOwnClient } from '../http/own-client.ts';
import type { Renderer } from '../http/render.ts';
import type { IdentityVerification } from '../identity/verification.ts';
import type { AuditLog } from '../store/audit.ts';
import type { User, UserRepository } from '../store/users.ts';
import { deviceRows } from './device-list.ts';
import { historyPage } from './history.ts';
import { identityVerificationPages } from './identity-verification.ts';
import { pairingPages } from './pairing.ts';
import { qrCodeSvg } from './qr-code.ts';
import { bindRefusal, confirmRefusal, nameRefusal } from './messages.ts';
import { removalPages } from './removal.ts';
import { renamePages } from './rename.ts';
import { securityKeyPages } from './security-keys.ts';
import type { PortalSession, PortalSessions } from './sessions.ts';

/** The self-service portal's registration with this IdP: a public client, known to every node. */
export const SELFSERVICE_CLIENT_ID = 'stepup-selfservice';

/** The portal's client metadata, for oidc-provider's static clients. */
export function selfServiceClient(issuer: string): ClientMetadata {
  return {
    client_id: SELFSERVICE_CLIENT_ID,
    client_name: 'Selvbetjening',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [`${issuer}/selfservice/callback`],
    // The portal dates the second factor by `auth_time`, so it must always be there.
    require_auth_time: true,
  };
}

const SESSION_COOKIE = 'stepup_selfservice';

/** What the portal's steps know about the request, under `ctx.state.portal`. */
interface PortalState {
  session: PortalSession;
  user: User;
  /** Set by `mayChangeFactors`: what allowed this change. */
  authority?: FactorChangeAuthority;
  /** Set by `mayChangeFactors`: whether the employee had no second factor before this change. */
  firstFactor?: boolean;
}

const portal = (ctx: Context) => (ctx.state as { portal: PortalState }).portal;

export interface SelfServiceDeps {
  issuer: string;
  basePath: string;
  render: Renderer;
  csrf: Csrf;
  /** Every kind of second factor: the employee's list, and whether they have one at all. */
  factors: FactorRegistry;
  /** Binding code viewers and enrolling authenticator apps. */
  totp: TotpFactors;
  /** Pairing codes for computers and phones. */
  devices: Pick<DeviceService, 'issuePairingCode'>;
  /** Registering security keys and passkeys (WebAuthn). */
  securityKeys: SecurityKeys;
  users: UserRepository;
  sessions: PortalSessions;
  accessPasses: AccessPasses;
  audit: AuditLog;
  firstFactorEnrolment: FirstFactorEnrolment;
  /** Verifying identities at the upstream provider: set exactly when `firstFactorEnrolment` is `identity`. */
  identity?: IdentityVerification | undefined;
  /** `SELFSERVICE_STEP_UP_MAX_AGE` in seconds: how fresh a second factor must be to change devices. */
  stepUpMaxAge: number;
  /** Shown as the issuer in authenticator apps. */
  issuerName: string;
  /** The clock, epoch ms. */
  now: () => number;
}

/**
 * The self-service portal ("selvbetjening"): an employee logs in here as to any system, sees their
 * 2-factor devices, binds a code viewer from IT's stock with its serial and a code, adds an
 * authenticator app by scanning a QR code, makes one device the default offered first at login,
 * and renames or deletes any of them (`rename.ts`, `removal.ts`).
 *
 * Every request that changes a device decides again who may change it (`auth/factor-change.ts`):
 * someone who has a second factor must have proven one within `stepUpMaxAge`, else the portal
 * steps up first; someone who has none adds the first with an access pass from IT, a verification
 * of their identity at the upstream provider (which with `identity` also stands in for a lost
 * device), or, in the embedded demo, the password. Sessions live in the short-lived store, end after 15 idle
 * minutes or 8 hours, end at logout on every node, and bind the CSRF token.
 */
export function createSelfServiceRouter(deps: SelfServiceDeps): Router {
  const router = new Router({ prefix: '/selfservice' });
  const forms = formParser();
  const rp = createOwnClient({ issuer: deps.issuer, clientId: SELFSERVICE_CLIENT_ID, path: '/selfservice' });
  const home = `${deps.basePath}/selfservice`;
  const cookieOptions = (ctx: Context) => ({ httpOnly: true, sameSite: 'lax' as const, signed: true, secure: ctx.secure, path: home });
  const nowSeconds = () => Math.floor(deps.now() / 1000);
  const text = (ctx: Context, key: MessageKey) => translate(requestState(ctx).language, key);
  const csrfToken = (session: PortalSession) => deps.csrf.token(`selfservice:${session.id}`);
  const acting = (ctx: Context): ActContext => ({ actor: `user:${portal(ctx).user.id}`, ip: ctx.ip, requestId: requestState(ctx).requestId });
  /** Substantial, with every factor proven within the window (`max_age` applies to each). */
  const stepUp = { acr_values: ACR_VALUES.substantial, max_age: String(deps.stepUpMaxAge) };

  const seeOther = (ctx: Context, location: string) => {
    ctx.status = 303;
    ctx.redirect(location);
  };

  /** The live session and its employee; without one, off to log in. */
  async function loadSession(ctx: Context, next: Next) {
    const id = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    const session = id ? await deps.sessions.touch(id) : undefined;
    const user = session ? await deps.users.findById(session.userId) : undefined;
    if (!session || !user || user.status !== 'active') {
      if (session) await deps.sessions.destroy(session.id);
      return ctx.redirect(`${home}/login`);
    }
    (ctx.state as { portal: PortalState }).portal = { session, user };
    return next();
  }

  /** A posted form carries this session's CSRF token and comes from our origin. */
  async function checkForm(ctx: Context, next: Next) {
    checkFormToken(ctx, deps.csrf, `selfservice:${portal(ctx).session.id}`);
    return next();
  }

  const hasSecondFactor = async (userId: string) => (await deps.factors.listForUser(userId)).length > 0;

  /** Whether a session (or what a login just proved) may change the devices of an employee who has a factor or not. */
  const changeDecision = (hasFactor: boolean, proven: Pick<PortalSession, 'secondFactorAt' | 'accessPassAt' | 'identityVerifiedAt'>) => decideFactorChange({
    hasSecondFactor: hasFactor,
    secondFactorAt: proven.secondFactorAt,
    accessPassAt: proven.accessPassAt,
    identityVerifiedAt: proven.identityVerifiedAt,
    firstFactorEnrolment: deps.firstFactorEnrolment,
    now: nowSeconds(),
    maxAge: deps.stepUpMaxAge,
    identityHold: deps.identity?.holdSeconds ?? 0,
  });

  /** Decided on the request itself: a fresh second factor (or verification), or for the first one what the configuration allows. */
  async function mayChangeFactors(ctx: Context, next: Next) {
    const { session, user } = portal(ctx);
    const hadFactor = await hasSecondFactor(user.id);
    const decision = changeDecision(hadFactor, session);
    if (decision.allowed) {
      portal(ctx).authority = decision.via;
      portal(ctx).firstFactor = !hadFactor;
      return next();
    }
    if (decision.need === 'access-pass') return seeOther(ctx, `${home}/access-pass`);
    if (decision.need === 'identity') return seeOther(ctx, `${home}/verify`);
    return rp.begin(ctx, stepUp);
  }

  /** After a device was added: a first one is evidence of how it was allowed. */
  async function added(ctx: Context, factorId: string) {
    await noteFirstEnrolment(ctx, { factorId });
    seeOther(ctx, `${home}?added=1`);
  }

  /** Audits what let an employee without a second factor add their first (an access pass, say). */
  async function noteFirstEnrolment(ctx: Context, details: Record<string, unknown>) {
    const { user, authority, firstFactor } = portal(ctx);
    // A verification may also stand in for a factor the employee has: then this is not their first.
    if (authority && authority !== 'second-factor' && firstFactor) {
      await deps.audit.record({ type: 'factor.first_enrolled', ...acting(ctx), userId: user.id, details: { ...details, allowedBy: authority } });
    }
  }

  async function showPortal(ctx: Context) {
    const { session, user } = portal(ctx);
    // Pending devices are listed too, as such; they prove nothing, so the decision counts the rest.
    const devices = await deps.factors.listForUser(user.id, { pending: true });
    const factors = devices.filter((factor) => factor.status !== 'pending');
    const decision = changeDecision(factors.length > 0, session);
    // With `identity`, a password login lets one who has a factor in to verify instead of proving it
    // (a lost phone); their devices wait until they have done one or the other in this session.
    const provenNothing = session.secondFactorAt === undefined && session.identityVerifiedAt === undefined;
    if (!decision.allowed && decision.need === 'identity' && factors.length > 0 && provenNothing) return ctx.redirect(`${home}/verify`);
    const notices: Record<string, MessageKey> = { added: 'ss.added', pass: 'ss.accessPass.accepted', default: 'ss.defaultSet', removed: 'ss.removed', renamed: 'ss.renamed' };
    const notice = Object.keys(notices).find((name) => ctx.query[name] === '1');
    deps.render(ctx, 'selfservice', {
      csrf: csrfToken(session),
      userName: user.displayName ?? user.username,
      factors: deviceRows({ factors: devices, kindOf: deps.factors.get, language: requestState(ctx).language }),
      needsAccessPass: !decision.allowed && decision.need === 'access-pass',
      needsIdentity: !decision.allowed && decision.need === 'identity' && factors.length === 0,
      offerIdentity: deps.identity !== undefined && factors.length > 0,
      notice: notice ? text(ctx, notices[notice] as MessageKey) : undefined,
    });
  }

  async function beginLogin(ctx: Context) {
    await rp.begin(ctx, { acr_values: ACR_VALUES.low });
  }

  /** Proves a second factor on request: the identity verification page offers it beside verifying. */
  async function beginStepUp(ctx: Context) {
    await rp.begin(ctx, stepUp);
  }

  /**
   * The IdP sent the employee back. Someone who has a second factor must have proven it within
   * the window to get in at all (with `identity`, they may verify their identity instead, on the
   * page the portal shows them first); the session is new on every login, and dated by the token's
   * `auth_time`, the oldest factor the level rests on.
   */
  async function finishLogin(ctx: Context) {
    if (typeof ctx.query.error === 'string') throw new IdpError('login_cancelled', { detail: `self-service login: ${ctx.query.error}` });
    const tokens = await rp.finish(ctx);
    const claims = tokens?.claims();
    if (!claims) return ctx.redirect(`${home}/login`);
    const substantial = levelOfAcr(String(claims.acr)) === 'substantial' && typeof claims.auth_time === 'number';
    const secondFactorAt = substantial ? (claims.auth_time as number) : undefined;
    const decision = changeDecision(await hasSecondFactor(claims.sub), { secondFactorAt });
    if (!decision.allowed && decision.need === 'step-up') return rp.begin(ctx, stepUp);
    const previous = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    if (previous) await deps.sessions.destroy(previous);
    const session = await deps.sessions.create({ userId: claims.sub, secondFactorAt });
    ctx.cookies.set(SESSION_COOKIE, session.id, cookieOptions(ctx));
    await deps.audit.record({ type: 'selfservice.login', actor: `user:${claims.sub}`, userId: claims.sub, ip: ctx.ip, requestId: requestState(ctx).requestId, details: { acr: claims.acr } });
    ctx.redirect(home);
  }

  async function logout(ctx: Context) {
    const { session } = portal(ctx);
    await deps.sessions.destroy(session.id);
    ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(ctx));
    await deps.audit.record({ type: 'selfservice.logout', ...acting(ctx), userId: portal(ctx).user.id });
    deps.render(ctx, 'selfservice-logged-out');
  }

  async function showAccessPass(ctx: Context) {
    if ((await deps.factors.listForUser(portal(ctx).user.id)).length || deps.firstFactorEnrolment !== 'access-pass') return ctx.redirect(home);
    deps.render(ctx, 'selfservice-access-pass', { csrf: csrfToken(portal(ctx).session) });
  }

  async function redeemAccessPass(ctx: Context) {
    const { session, user } = portal(ctx);
    const result = await deps.accessPasses.redeem({ userId: user.id, typed: formField(ctx, 'access_pass'), context: acting(ctx) });
    if (!result.ok) {
      const error = text(ctx, result.reason === 'locked' ? 'ss.accessPass.locked' : 'ss.accessPass.invalid');
      return deps.render(ctx, 'selfservice-access-pass', { csrf: csrfToken(session), error });
    }
    await deps.sessions.update({ ...session, accessPassAt: nowSeconds() });
    seeOther(ctx, `${home}?pass=1`);
  }

  async function showCodeViewerForm(ctx: Context) {
    deps.render(ctx, 'selfservice-code-viewer', { csrf: csrfToken(portal(ctx).session), name: '', serial: '' });
  }

  async function bindCodeViewer(ctx: Context) {
    const { session, user } = portal(ctx);
    const name = formField(ctx, 'name').trim();
    const serial = formField(ctx, 'serial');
    const again = (error: string) => deps.render(ctx, 'selfservice-code-viewer', { csrf: csrfToken(session), name, serial, error });
    const checked = checkFactorName({ name });
    if (!checked.ok) return again(nameRefusal(requestState(ctx).language, checked.reason));
    const result = await deps.totp.bindCodeViewer({ userId: user.id, serial, name, code: formField(ctx, 'code'), context: acting(ctx) });
    if (result.ok) return added(ctx, result.token.id);
    return again(bindRefusal(requestState(ctx).language, result));
  }

  const showAuthenticator = async (ctx: Context, enrolment?: AuthenticatorEnrolment, error?: string) => {
    deps.render(ctx, 'selfservice-authenticator', {
      csrf: csrfToken(portal(ctx).session),
      error,
      enrolment: enrolment && {
        id: enrolment.id,
        qrSvg: await qrCodeSvg(enrolment.otpauthUri),
        secretGroups: enrolment.secretBase32.replace(/(.{4})/g, '$1 ').trim(),
      },
    });
  };

  async function showAuthenticatorForm(ctx: Context) {
    await showAuthenticator(ctx);
  }

  async function startAuthenticator(ctx: Context) {
    const { user } = portal(ctx);
    const name = formField(ctx, 'name').trim();
    const checked = checkFactorName({ name });
    if (!checked.ok) return showAuthenticator(ctx, undefined, nameRefusal(requestState(ctx).language, checked.reason));
    await showAuthenticator(ctx, await deps.totp.startAuthenticator({ userId: user.id, username: user.username, name, issuerName: deps.issuerName }));
  }

  async function confirmAuthenticator(ctx: Context) {
    const { user } = portal(ctx);
    const id = formField(ctx, 'id');
    const result = await deps.totp.confirmAuthenticator({ userId: user.id, id, code: formField(ctx, 'code'), context: acting(ctx) });
    if (result.ok) return added(ctx, id);
    const pending = await deps.totp.pendingAuthenticator({ userId: user.id, id, username: user.username, issuerName: deps.issuerName });
    await showAuthenticator(ctx, pending, confirmRefusal(requestState(ctx).language, result));
  }

  /**
   * Makes one of the employee's own factors their default, offered first at login. An id that is
   * not one of theirs (another employee's, a removed one) is refused and changes nothing.
   */
  async function makeDefault(ctx: Context) {
    const { user } = portal(ctx);
    const factor = (await deps.factors.listForUser(user.id)).find((candidate) => candidate.id === ctx.params.id);
    if (!factor) throw new IdpError('not_found', { detail: `self-service: factor ${ctx.params.id} is not one of user ${user.id}'s` });
    await deps.users.setDefaultFactor(user.id, factor.id);
    await deps.audit.record({ type: 'factor.default_set', ...acting(ctx), userId: user.id, details: { factorId: factor.id, kind: factor.kind } });
    seeOther(ctx, `${home}?default=1`);
  }

  const portalSteps = { render: deps.render, who: portal, csrfToken, acting };
  const keys = securityKeyPages({ ...portalSteps, keys: deps.securityKeys, added });
  const removal = removalPages({ ...portalSteps, factors: deps.factors, users: deps.users, home });
  const rename = renamePages({ ...portalSteps, factors: deps.factors, home });

  router.get('/', loadSession, showPortal);
  router.get('/history', loadSession, historyPage({ render: deps.render, audit: deps.audit, factors: deps.factors, who: portal }));
  const pairing = pairingPages({ issuer: deps.issuer, devices: deps.devices, render: deps.render, who: portal, csrfToken, acting, noteFirstEnrolment });
  router.get('/device/:kind', loadSession, mayChangeFactors, pairing.showPairing);
  router.post('/device/:kind', forms, loadSession, checkForm, mayChangeFactors, pairing.issueCode);
  router.get('/login', beginLogin);
  router.get('/callback', finishLogin);
  router.post('/logout', forms, loadSession, checkForm, logout);
  router.get('/access-pass', loadSession, showAccessPass);
  router.post('/access-pass', forms, loadSession, checkForm, redeemAccessPass);
  router.get('/code-viewer', loadSession, mayChangeFactors, showCodeViewerForm);
  router.post('/code-viewer', forms, loadSession, checkForm, mayChangeFactors, bindCodeViewer);
  router.get('/authenticator', loadSession, mayChangeFactors, showAuthenticatorForm);
  router.post('/authenticator', forms, loadSession, checkForm, mayChangeFactors, startAuthenticator);
  router.post('/authenticator/confirm', forms, loadSession, checkForm, mayChangeFactors, confirmAuthenticator);
  router.post('/factors/:id/default', forms, loadSession, checkForm, mayChangeFactors, makeDefault);
  if (deps.identity) {
    const verify = identityVerificationPages({ verification: deps.identity, sessions: deps.sessions, render: deps.render, who: portal, csrfToken, acting, hasSecondFactor, home, now: deps.now });
    router.get('/verify', loadSession, verify.showVerification);
    router.post('/verify', forms, loadSession, checkForm, verify.startVerification);
    router.get('/verify/callback', loadSession, verify.finishVerification);
    router.get('/step-up', loadSession, beginStepUp);
  }
  router.get('/security-key', loadSession, mayChangeFactors, keys.showSecurityKeyForm);
  router.post('/security-key', forms, loadSession, checkForm, mayChangeFactors, keys.beginSecurityKey);
  router.post('/security-key/finish', forms, loadSession, checkForm, mayChangeFactors, keys.finishSecurityKey);
  router.get('/factors/:id/delete', loadSession, mayChangeFactors, removal.confirmRemoval);
  router.post('/factors/:id/delete', forms, loadSession, checkForm, mayChangeFactors, removal.removeFactor);
  router.get('/factors/:id/rename', loadSession, mayChangeFactors, rename.showRename);
  router.post('/factors/:id/rename', forms, loadSession, checkForm, mayChangeFactors, rename.saveName);
  return router;
}

/**
 * `/selvbetjening`, the portal's Danish address (the municipal guide's word): every GET under
 * it is a permanent redirect to the same place under `/selfservice`, query included, so the
 * portal's cookies, redirect URI and CSRF stay on one path.
 */
export function createDanishPortalAddress(basePath: string): Router {
  const router = new Router({ prefix: '/selvbetjening' });
  router.get(['/', '/*rest'], (ctx) => {
    const rest = typeof ctx.params.rest === 'string' ? `/${ctx.params.rest}` : '';
    ctx.status = 301;
    ctx.redirect(`${basePath}/selfservice${rest}${ctx.search}`);
  });
  return router;
}
