import type { Context, Middleware, Next } from 'koa';

import { requestState } from '../http/context.ts';
import { API_MESSAGES, RETRY_AFTER_SECONDS } from '../http/errors.ts';
import { storageOutage } from '../store/outage.ts';

/**
 * oidc-provider catches what its endpoints throw (lib/shared/error_handler.js): a page through
 * `renderError` for a browser, which hands an outage to our error handler (`pages.ts`), or JSON
 * `server_error` with status 500, after which it emits `server_error`. For an outage of our
 * storage that JSON is wrong twice: the fault is no server's bug, and a client should try again.
 * {@link noteProviderOutage} hears the event and marks the request; {@link answerProviderOutages}
 * answers it as OAuth says a passing overload is answered (RFC 6749 §4.1.2.1
 * `temporarily_unavailable`), with 503 and `Retry-After`.
 */

/**
 * For oidc-provider's `server_error` event: marks the request when the error is a storage
 * outage, and says whether it was one (else the caller logs it as the server error it is).
 */
export function noteProviderOutage(ctx: Context, error: unknown): boolean {
  const outage = storageOutage(error);
  if (outage) requestState(ctx).outage = outage;
  return outage !== undefined;
}

/** Wraps oidc-provider's mount: a JSON answer to an outage becomes `temporarily_unavailable`, logged once. */
export function answerProviderOutages(): Middleware {
  return async function answerProviderOutage(ctx: Context, next: Next) {
    await next();
    const state = requestState(ctx);
    if (!state.outage) return;
    state.log.warn({ code: 'temporarily_unavailable', store: state.outage.store, outage: state.outage.reason }, 'storage unavailable');
    ctx.status = 503;
    ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error: 'temporarily_unavailable', error_description: API_MESSAGES.service_unavailable };
  };
}
