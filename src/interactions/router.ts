import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context } from 'koa';

import type { PasswordLogin } from '../auth/password-login.ts';
import { requestState } from '../http/context.ts';
import type { Csrf } from '../http/csrf.ts';
import { IdpError } from '../http/errors.ts';
import { translate } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import type { Flow, FlowProtocol, FlowRegistry } from './flow.ts';

export interface InteractionDeps {
  flows: FlowRegistry;
  passwordLogin: PasswordLogin;
  csrf: Csrf;
  render: Renderer;
  /** Path prefix when mounted (`/idp`), for form actions. */
  basePath: string;
}

interface LoadedFlow {
  flow: Flow;
  protocol: FlowProtocol;
}

/**
 * The login pages (ARCHITECTURE.md, "A login, step by step", 2–5). Each route is a short list
 * of steps: load the flow, check the form, act, respond. Nothing here knows OIDC or SAML.
 */
export function createInteractionRouter(deps: InteractionDeps): Router {
  const router = new Router();
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });

  const loadFlow = async (ctx: Context): Promise<LoadedFlow> => {
    const loaded = await deps.flows.load(ctx, ctx.params.uid as string);
    if (!loaded) throw new IdpError('interaction_expired');
    requestState(ctx).formTargets = loaded.flow.returnOrigin ? [loaded.flow.returnOrigin] : [];
    return loaded;
  };

  const checkForm = (ctx: Context, flow: Flow) => deps.csrf.verify(ctx, `interaction:${flow.uid}`, formField(ctx, '_csrf'));

  const showLogin = (ctx: Context, flow: Flow, extra: { error?: string; username?: string } = {}) => {
    const action = `${deps.basePath}/interaction/${flow.uid}`;
    deps.render(ctx, 'login', {
      action: `${action}/login`,
      cancelAction: `${action}/cancel`,
      csrf: deps.csrf.token(`interaction:${flow.uid}`),
      clientName: flow.clientName,
      username: extra.username ?? '',
      error: extra.error,
    });
  };

  router.get('/interaction/:uid', async (ctx) => {
    const { flow, protocol } = await loadFlow(ctx);
    if (!flow.needsLogin) return protocol.proceed(ctx, flow);
    showLogin(ctx, flow);
  });

  router.post('/interaction/:uid/login', forms, async (ctx) => {
    const { flow, protocol } = await loadFlow(ctx);
    checkForm(ctx, flow);
    const { language, requestId } = requestState(ctx);
    const username = formField(ctx, 'username').trim();
    const password = formField(ctx, 'password');
    if (!username || !password) return showLogin(ctx, flow, { username, error: translate(language, 'login.missing') });

    const outcome = await deps.passwordLogin.login({ username, password, ip: ctx.ip, clientId: flow.clientId, requestId });
    if (!outcome.ok) return showLogin(ctx, flow, { username, error: translate(language, 'login.failed') });

    await protocol.complete(ctx, flow, {
      accountId: outcome.user.id,
      level: 'low',
      amr: ['pwd'],
      authTime: Math.floor(Date.now() / 1000),
    });
  });

  router.post('/interaction/:uid/cancel', forms, async (ctx) => {
    const { flow, protocol } = await loadFlow(ctx);
    checkForm(ctx, flow);
    await protocol.fail(ctx, flow, { error: 'access_denied', description: 'the user cancelled the login' });
  });

  return router;
}

/** A posted form field as a string; anything else (absent, repeated) is empty. */
function formField(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}
