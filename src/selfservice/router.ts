import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ClientMetadata } from 'oidc-provider';
import QRCode from 'qrcode';

import { ACR_VALUES, levelOfAcr, type Level } from '../auth/levels.ts';
import type { ActContext, AuthenticatorEnrolment, TotpFactors } from '../factors/totp-factors.ts';
import { requestState } from '../http/context.ts';
import { formField } from '../http/form.ts';
import type { Csrf } from '../http/csrf.ts';
import { translate, type MessageKey } from '../http/i18n.ts';
import { createOwnClient } from '../http/own-client.ts';
import type { Renderer } from '../http/render.ts';
import type { User, UserRepository } from '../store/users.ts';

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
  };
}

const SESSION_COOKIE = 'stepup_selfservice';
/** A self-service session is short: it adds the factors that protect every other system. */
const SESSION_MS = 15 * 60 * 1000;

interface SelfServiceSession {
  sub: string;
  level: Level;
  exp: number;
}

/**
 * The self-service portal ("selvbetjening"), first part: an employee logs in here as to any
 * system, sees their 2-factor devices, binds a code viewer from IT's stock with its serial and a
 * code, and adds an authenticator app by scanning a QR code. Someone who already has a second
 * factor must use it to get in, so a stolen password cannot add an attacker's device; identity
 * verification with MitID for the first device comes with the full portal.
 */
export function createSelfServiceRouter(deps: {
  issuer: string;
  basePath: string;
  render: Renderer;
  csrf: Csrf;
  factors: TotpFactors;
  users: UserRepository;
  /** Shown as the issuer in authenticator apps. */
  issuerName: string;
}): Router {
  const router = new Router({ prefix: '/selfservice' });
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  const rp = createOwnClient({ issuer: deps.issuer, clientId: SELFSERVICE_CLIENT_ID, path: '/selfservice' });
  const home = `${deps.basePath}/selfservice`;
  const cookieOptions = (ctx: Context) => ({ httpOnly: true, sameSite: 'lax' as const, signed: true, secure: ctx.secure, path: home });
  const text = (ctx: Context, key: MessageKey) => translate(requestState(ctx).language, key);

  /** The logged-in employee, or a redirect to log in. */
  const employee = async (ctx: Context): Promise<User | undefined> => {
    const raw = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    const session = raw ? (JSON.parse(raw) as SelfServiceSession) : undefined;
    const user = session && session.exp > Date.now() ? await deps.users.findById(session.sub) : undefined;
    if (!user || user.status !== 'active') {
      ctx.redirect(`${home}/login`);
      return undefined;
    }
    return user;
  };

  const acting = (ctx: Context, user: User): ActContext => ({ actor: `user:${user.id}`, ip: ctx.ip, requestId: requestState(ctx).requestId });
  const csrfFor = (user: User) => deps.csrf.token(`selfservice:${user.id}`);
  const checkForm = (ctx: Context, user: User) => deps.csrf.verify(ctx, `selfservice:${user.id}`, formField(ctx, '_csrf'));

  const showAuthenticator = async (ctx: Context, user: User, enrolment?: AuthenticatorEnrolment, error?: string) => {
    deps.render(ctx, 'selfservice-authenticator', {
      csrf: csrfFor(user),
      error,
      enrolment: enrolment && {
        id: enrolment.id,
        qrSvg: await QRCode.toString(enrolment.otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
        secretGroups: enrolment.secretBase32.replace(/(.{4})/g, '$1 ').trim(),
      },
    });
  };

  router.get('/', async (ctx) => {
    const user = await employee(ctx);
    if (!user) return;
    deps.render(ctx, 'selfservice', {
      csrf: csrfFor(user),
      userName: user.displayName ?? user.username,
      factors: await deps.factors.listForUser(user.id),
      notice: ctx.query.added === '1' ? text(ctx, 'ss.added') : undefined,
    });
  });

  router.get('/login', async (ctx) => {
    await rp.begin(ctx, { acr_values: ACR_VALUES[ctx.query.level === 'substantial' ? 'substantial' : 'low'] });
  });

  router.get('/callback', async (ctx) => {
    const tokens = await rp.finish(ctx);
    const claims = tokens?.claims();
    if (!claims) return ctx.redirect(`${home}/login`);
    const level = levelOfAcr(String(claims.acr)) ?? 'low';
    // An employee who has a second factor proves it before changing their devices.
    if (level !== 'substantial' && (await deps.factors.listForUser(claims.sub)).length) {
      return rp.begin(ctx, { acr_values: ACR_VALUES.substantial });
    }
    const session: SelfServiceSession = { sub: claims.sub, level, exp: Date.now() + SESSION_MS };
    ctx.cookies.set(SESSION_COOKIE, JSON.stringify(session), { ...cookieOptions(ctx), maxAge: SESSION_MS });
    ctx.redirect(home);
  });

  router.post('/logout', forms, async (ctx) => {
    const user = await employee(ctx);
    if (!user) return;
    checkForm(ctx, user);
    ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(ctx));
    ctx.status = 303;
    ctx.redirect(`${deps.basePath}/`);
  });

  router.get('/code-viewer', async (ctx) => {
    const user = await employee(ctx);
    if (!user) return;
    deps.render(ctx, 'selfservice-code-viewer', { csrf: csrfFor(user), name: '', serial: '' });
  });

  router.post('/code-viewer', forms, async (ctx) => {
    const user = await employee(ctx);
    if (!user) return;
    checkForm(ctx, user);
    const name = formField(ctx, 'name').trim();
    const serial = formField(ctx, 'serial');
    const again = (error: string) => deps.render(ctx, 'selfservice-code-viewer', { csrf: csrfFor(user), name, serial, error });
    if (!name) return again(text(ctx, 'ss.nameMissing'));
    const result = await deps.factors.bindCodeViewer({ userId: user.id, serial, name, code: formField(ctx, 'code'), context: acting(ctx, user) });
    if (result.ok) {
      ctx.status = 303;
      return ctx.redirect(`${home}?added=1`);
    }
    if (result.reason === 'serial') return again(result.message as string);
    if (result.reason === 'not_in_stock') return again(text(ctx, 'ss.notInStock'));
    return again(text(ctx, result.reason === 'replayed' ? 'code.replayed' : result.reason === 'malformed' ? 'code.malformed' : 'code.invalid'));
  });

  router.get('/authenticator', async (ctx) => {
    const user = await employee(ctx);
    if (user) await showAuthenticator(ctx, user);
  });

  router.post('/authenticator', forms, async (ctx) => {
    const user = await employee(ctx);
    if (!user) return;
    checkForm(ctx, user);
    const name = formField(ctx, 'name').trim();
    if (!name) return showAuthenticator(ctx, user, undefined, text(ctx, 'ss.nameMissing'));
    await showAuthenticator(ctx, user, await deps.factors.startAuthenticator({ userId: user.id, username: user.username, name, issuerName: deps.issuerName }));
  });

  router.post('/authenticator/confirm', forms, async (ctx) => {
    const user = await employee(ctx);
    if (!user) return;
    checkForm(ctx, user);
    const id = formField(ctx, 'id');
    const result = await deps.factors.confirmAuthenticator({ userId: user.id, id, code: formField(ctx, 'code'), context: acting(ctx, user) });
    if (result.ok) {
      ctx.status = 303;
      return ctx.redirect(`${home}?added=1`);
    }
    const pending = await deps.factors.pendingAuthenticator({ userId: user.id, id, username: user.username, issuerName: deps.issuerName });
    await showAuthenticator(ctx, user, pending, text(ctx, result.reason === 'replayed' ? 'code.replayed' : 'code.invalid'));
  });

  return router;
}
