import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context } from 'koa';

import type { PasswordLogin } from '../auth/password-login.ts';
import type { SessionAuthentication } from '../auth/step-up.ts';
import type { CodeFailure, TotpFactors } from '../factors/totp-factors.ts';
import type { SecondFactor } from '../factors/types.ts';
import { requestState } from '../http/context.ts';
import { formField } from '../http/form.ts';
import type { Csrf } from '../http/csrf.ts';
import { IdpError } from '../http/errors.ts';
import { translate, type MessageKey } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import type { AuthenticationStore } from '../store/authentications.ts';
import type { Flow, FlowProtocol, FlowRegistry } from './flow.ts';
import { flowProgress, loginOutcome } from './progress.ts';

export interface InteractionDeps {
  flows: FlowRegistry;
  passwordLogin: PasswordLogin;
  factors: TotpFactors;
  authentications: AuthenticationStore;
  csrf: Csrf;
  render: Renderer;
  /** Path prefix when mounted (`/idp`), for form actions and links. */
  basePath: string;
  /** The clock, epoch ms. */
  now: () => number;
  /** How long what a login has proven so far is kept (the interaction's lifetime), seconds. */
  flowTtlSeconds: number;
}

interface Loaded {
  flow: Flow;
  protocol: FlowProtocol;
  /** What this login has proven so far, beside the session. */
  proven: SessionAuthentication | undefined;
}

/** Page messages for each way a code can fail. */
const CODE_MESSAGES: Readonly<Record<CodeFailure, MessageKey>> = {
  malformed: 'code.malformed',
  invalid: 'code.invalid',
  replayed: 'code.replayed',
  locked: 'code.locked',
  not_found: 'code.not_found',
};

/**
 * The login pages (ARCHITECTURE.md, "A login, step by step", 2–5): password, second-factor
 * chooser, code, resynchronisation, and the page for a user without a second factor. Each
 * route loads the flow, checks the form, acts, and hands over to `continueFlow`, which asks
 * for whatever is still missing or finishes. Nothing here knows OIDC or SAML.
 */
export function createInteractionRouter(deps: InteractionDeps): Router {
  const router = new Router();
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  const nowSeconds = () => Math.floor(deps.now() / 1000);
  const paths = (flow: Flow) => {
    const base = `${deps.basePath}/interaction/${flow.uid}`;
    return { base, login: `${base}/login`, code: `${base}/code`, resync: `${base}/resync`, cancel: `${base}/cancel`, choose: `${base}/choose` };
  };

  const load = async (ctx: Context): Promise<Loaded> => {
    const loaded = await deps.flows.load(ctx, ctx.params.uid as string);
    if (!loaded) throw new IdpError('interaction_expired');
    requestState(ctx).formTargets = loaded.flow.returnOrigin ? [loaded.flow.returnOrigin] : [];
    return { ...loaded, proven: await deps.authentications.forFlow(loaded.flow.uid) };
  };

  const checkForm = (ctx: Context, flow: Flow) => deps.csrf.verify(ctx, `interaction:${flow.uid}`, formField(ctx, '_csrf'));

  const text = (ctx: Context, key: MessageKey, values?: Record<string, string>) => translate(requestState(ctx).language, key, values);

  /** What every page of a flow shows. */
  const pageBase = (flow: Flow) => ({
    clientName: flow.clientName,
    csrf: deps.csrf.token(`interaction:${flow.uid}`),
    cancelAction: paths(flow).cancel,
  });

  const showLogin = (ctx: Context, flow: Flow, extra: { error?: string; username?: string } = {}) => {
    deps.render(ctx, 'login', { ...pageBase(flow), action: paths(flow).login, username: extra.username ?? '', error: extra.error });
  };

  const showCode = (ctx: Context, flow: Flow, factor: SecondFactor, factors: SecondFactor[], extra: { error?: string; notice?: string; offerResync?: boolean } = {}) => {
    deps.render(ctx, 'code', {
      ...pageBase(flow),
      factor,
      codeAction: paths(flow).code,
      resyncAction: paths(flow).resync,
      chooseHref: factors.length > 1 ? paths(flow).choose : undefined,
      ...extra,
    });
  };

  const formatTime = (ctx: Context, date: Date) =>
    date.toLocaleTimeString(requestState(ctx).language === 'da' ? 'da-DK' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Copenhagen' });

  const codeError = (ctx: Context, reason: CodeFailure, lockedUntil?: Date) =>
    lockedUntil ? text(ctx, 'code.lockedUntil', { time: formatTime(ctx, lockedUntil) }) : text(ctx, CODE_MESSAGES[reason]);

  /** The account whose second factor is asked for: the one this login or the session proved. */
  const accountOf = ({ flow, proven }: Loaded) => (proven ?? flow.requirements.authentication)?.accountId;

  /** Asks for what the login still misses, or finishes it. */
  const continueFlow = async (ctx: Context, loaded: Loaded, choice?: string) => {
    const { flow, protocol } = loaded;
    const { authentication, decision } = flowProgress({ flow, proven: loaded.proven, now: nowSeconds() });
    if (decision.password || !authentication) return showLogin(ctx, flow);
    if (decision.secondFactor) {
      const factors = await deps.factors.listForUser(authentication.accountId);
      if (!factors.length) {
        return deps.render(ctx, 'no-factor', { ...pageBase(flow), selfserviceHref: `${deps.basePath}/selfservice` });
      }
      const chosen = factors.find((factor) => factor.id === choice) ?? (factors.length === 1 ? factors[0] : undefined);
      if (!chosen) {
        return deps.render(ctx, 'choose-factor', {
          ...pageBase(flow),
          factors: factors.map((factor) => ({
            ...factor,
            href: `${paths(flow).choose}/${factor.id}`,
            lastUsed: factor.lastUsedAt ? factor.lastUsedAt.toLocaleDateString('da-DK', { timeZone: 'Europe/Copenhagen' }) : undefined,
            locked: Boolean(factor.lockedUntil),
          })),
        });
      }
      return showCode(ctx, flow, chosen, factors);
    }
    return protocol.complete(ctx, flow, loginOutcome(authentication, flow, nowSeconds()));
  };

  router.get('/interaction/:uid', async (ctx) => {
    const loaded = await load(ctx);
    if (!loaded.flow.needsLogin) return loaded.protocol.proceed(ctx, loaded.flow);
    return continueFlow(ctx, loaded);
  });

  router.get('/interaction/:uid/choose', async (ctx) => continueFlow(ctx, await load(ctx), ''));

  router.get('/interaction/:uid/choose/:factor', async (ctx) => continueFlow(ctx, await load(ctx), ctx.params.factor));

  router.post('/interaction/:uid/login', forms, async (ctx) => {
    const loaded = await load(ctx);
    const { flow } = loaded;
    checkForm(ctx, flow);
    const username = formField(ctx, 'username').trim();
    const password = formField(ctx, 'password');
    if (!username || !password) return showLogin(ctx, flow, { username, error: text(ctx, 'login.missing') });

    const outcome = await deps.passwordLogin.login({ username, password, ip: ctx.ip, clientId: flow.clientId, requestId: requestState(ctx).requestId });
    if (!outcome.ok) return showLogin(ctx, flow, { username, error: text(ctx, 'login.failed') });

    const proven: SessionAuthentication = { accountId: outcome.user.id, passwordAt: nowSeconds() };
    await deps.authentications.saveForFlow(flow.uid, proven, deps.flowTtlSeconds);
    const next = { ...loaded, proven };
    // The second-factor page gets its own URL (post, redirect, get), so a reload asks nothing twice.
    if (flowProgress({ flow, proven, now: nowSeconds() }).decision.secondFactor) {
      ctx.status = 303;
      return ctx.redirect(paths(flow).base);
    }
    return continueFlow(ctx, next);
  });

  /** A posted second-factor form: its flow, and the user's factor it names (if it is theirs). */
  const postedFactor = async (ctx: Context) => {
    const loaded = await load(ctx);
    checkForm(ctx, loaded.flow);
    const accountId = accountOf(loaded);
    const factors = accountId ? await deps.factors.listForUser(accountId) : [];
    const factor = factors.find((candidate) => candidate.id === formField(ctx, 'factor'));
    return { loaded, flow: loaded.flow, accountId, factors, factor };
  };

  router.post('/interaction/:uid/code', forms, async (ctx) => {
    const { loaded, flow, accountId, factors, factor } = await postedFactor(ctx);
    if (!accountId || !factor) return continueFlow(ctx, loaded);

    const result = await deps.factors.verify({ userId: accountId, factorId: factor.id, code: formField(ctx, 'code'), context: actContext(ctx, accountId, flow) });
    if (!result.ok) {
      return showCode(ctx, flow, factor, factors, { error: codeError(ctx, result.reason, result.lockedUntil), offerResync: result.reason === 'invalid' });
    }
    const { authentication } = flowProgress({ flow, proven: loaded.proven, now: nowSeconds() });
    const proven: SessionAuthentication = {
      ...(authentication as SessionAuthentication),
      secondFactorAt: nowSeconds(),
      secondFactorAmr: result.amr,
    };
    await deps.authentications.saveForFlow(flow.uid, proven, deps.flowTtlSeconds);
    return continueFlow(ctx, { ...loaded, proven });
  });

  router.post('/interaction/:uid/resync', forms, async (ctx) => {
    const { loaded, flow, accountId, factors, factor } = await postedFactor(ctx);
    if (!accountId || !factor) return continueFlow(ctx, loaded);

    const result = await deps.factors.resync({
      tokenId: factor.id,
      userId: accountId,
      code1: formField(ctx, 'code1'),
      code2: formField(ctx, 'code2'),
      context: actContext(ctx, accountId, flow),
    });
    if (result.ok) return showCode(ctx, flow, factor, factors, { notice: text(ctx, 'resync.done') });
    const error = result.reason === 'invalid' ? text(ctx, 'resync.failed') : codeError(ctx, result.reason, result.lockedUntil);
    return showCode(ctx, flow, factor, factors, { error, offerResync: result.reason === 'invalid' });
  });

  router.post('/interaction/:uid/cancel', forms, async (ctx) => {
    const { flow, protocol } = await load(ctx);
    checkForm(ctx, flow);
    // A user without a second factor cancels a login that required one: OpenID Connect's
    // "Unmet Authentication Requirements" error tells the relying party why.
    const error = formField(ctx, 'reason') === 'no_factor'
      ? { error: 'unmet_authentication_requirements', description: 'the user has no second factor for the requested level' }
      : { error: 'access_denied', description: 'the user cancelled the login' };
    await protocol.fail(ctx, flow, error);
  });

  return router;
}


function actContext(ctx: Context, accountId: string, flow: Flow) {
  return { actor: `user:${accountId}`, ip: ctx.ip, clientId: flow.clientId, requestId: requestState(ctx).requestId };
}
