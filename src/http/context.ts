import { randomUUID } from 'node:crypto';

import type { Context, Middleware, Next } from 'koa';
import type { Logger } from 'pino';

import type { StorageOutage } from '../store/outage.ts';
import { chooseLanguage, isLanguage, type Language } from './i18n.ts';

/** Per-request state, under one name. */
export interface RequestState {
  requestId: string;
  log: Logger;
  language: Language;
  /** Origins a page's forms may submit or be redirected to, beside our own (CSP `form-action`). */
  formTargets: string[];
  /**
   * Why storage failed this request, when oidc-provider caught the outage itself and answered it
   * as its own `server_error` (`provider/outages.ts` answers it again, as an outage).
   */
  outage?: StorageOutage;
}

export function requestState(ctx: Context): RequestState {
  return (ctx.state as { idp: RequestState }).idp;
}

const REQUEST_ID = /^[\w.-]{8,64}$/;
const LANGUAGE_COOKIE = 'stepup_lang';

/**
 * Gives each request an id (a sane incoming `X-Request-Id` from the load balancer, else a new
 * one), a child logger carrying it, and the page language; logs one line when it ends. The line
 * has the path but never the query or body, which can hold codes, tokens and passwords.
 */
export function requestContext(options: { log: Logger; secureCookies: boolean }): Middleware {
  return async (ctx: Context, next: Next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const log = options.log.child({ requestId });
    const chosen = typeof ctx.query.lang === 'string' ? ctx.query.lang : ctx.cookies.get(LANGUAGE_COOKIE);
    if (typeof ctx.query.lang === 'string' && isLanguage(ctx.query.lang)) {
      ctx.cookies.set(LANGUAGE_COOKIE, ctx.query.lang, { httpOnly: true, sameSite: 'lax', secure: options.secureCookies, maxAge: 365 * 24 * 3600 * 1000, signed: false });
    }
    const state: RequestState = {
      requestId,
      log,
      language: chooseLanguage({ chosen, acceptLanguage: ctx.get('accept-language') }),
      formTargets: [],
    };
    (ctx.state as { idp: RequestState }).idp = state;
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) }, 'request');
    }
  };
}
