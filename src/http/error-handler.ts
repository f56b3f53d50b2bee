import type { Context, Middleware, Next } from 'koa';

import { storageOutage } from '../store/outage.ts';
import { requestState } from './context.ts';
import { API_MESSAGES, IdpError, RETRY_AFTER_SECONDS } from './errors.ts';
import type { Renderer } from './render.ts';

/**
 * The one place errors become responses: a page for browsers, JSON for API callers (every path
 * under `/api/`, whatever it accepts, and whoever asks for JSON). Only an `IdpError`'s code, its
 * explanation and public fields reach the client; everything else is logged with the request id
 * and shown as `server_error` with that id as the reference. An outage of Postgres or Redis is
 * `service_unavailable` (503, `Retry-After`): "temporarily unavailable, try again", logged once
 * with its reason only.
 */
export function errorHandler(render: Renderer): Middleware {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new IdpError('not_found');
    } catch (caught) {
      const outage = caught instanceof IdpError ? undefined : storageOutage(caught);
      const error = caught instanceof IdpError ? caught
        : outage ? new IdpError('service_unavailable', { cause: caught, detail: outage.reason })
          : clientError(caught) ?? new IdpError('server_error', { cause: caught });
      const { log, requestId } = requestState(ctx);
      if (outage) log.warn({ code: error.code, store: outage.store, outage: outage.reason }, 'storage unavailable');
      else if (error.status >= 500) log.error({ err: error.cause ?? error, code: error.code }, 'request failed');
      else log.warn({ code: error.code, detail: error.detail }, 'request refused');
      if (error.code === 'service_unavailable') ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
      if (ctx.path.startsWith('/api/') || ctx.accepts('html', 'json') === 'json') {
        ctx.status = error.status;
        ctx.body = { ...error.fields, error: error.code, message: error.explanation ?? API_MESSAGES[error.code], request_id: requestId };
        return;
      }
      render(ctx, 'error', { code: error.code }, error.status);
    }
  };
}

/**
 * A request Koa's own middleware refused (http-errors with a 4xx status the thrower exposed: a
 * body over the parser's limit, a malformed body) is the client's error, not ours.
 */
function clientError(caught: unknown): IdpError | undefined {
  if (!(caught instanceof Error) || !('status' in caught) || !('expose' in caught) || caught.expose !== true) return undefined;
  const { status } = caught;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  return new IdpError(status === 413 ? 'payload_too_large' : 'invalid_request', { detail: caught.message });
}
