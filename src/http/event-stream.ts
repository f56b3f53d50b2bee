import { PassThrough } from 'node:stream';

import type { Context } from 'koa';

/** How long a client waits before reconnecting (the stream's `retry` field). */
export const RETRY_MS = 3000;

/** An open Server-Sent Events response. */
export interface EventStream {
  /** Writes one event; nothing once the stream has ended. */
  send(event: string, data: unknown): void;
  /** Ends the stream (idempotent). */
  end(): void;
  /** Aborted when the stream ends, by us or because the client went away. */
  readonly closed: AbortSignal;
}

/**
 * Answers the request with an event stream (WHATWG HTML §9.2, Server-Sent Events): `retry`
 * first, a `: heartbeat` comment every `heartbeatMs` so proxies keep the connection and the
 * client notices a dead one (`onHeartbeat` runs beside it), no buffering by Koa or nginx, and
 * no socket timeout. The device API's stream and the waiting page's use it alike.
 */
export function openEventStream(ctx: Context, options: { heartbeatMs: number; onHeartbeat?: () => void }): EventStream {
  const stream = new PassThrough();
  const closing = new AbortController();
  const heartbeat = setInterval(() => {
    stream.write(': heartbeat\n\n');
    options.onHeartbeat?.();
  }, options.heartbeatMs);
  heartbeat.unref();
  const end = () => {
    if (closing.signal.aborted) return;
    closing.abort();
    clearInterval(heartbeat);
    stream.end();
  };
  ctx.res.on('close', end);
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.status = 200;
  ctx.type = 'text/event-stream';
  ctx.set('Cache-Control', 'no-cache, no-transform');
  // nginx buffers responses unless told not to.
  ctx.set('X-Accel-Buffering', 'no');
  ctx.body = stream;
  stream.write(`retry: ${RETRY_MS}\n\n`);
  return {
    send(event, data) {
      if (!closing.signal.aborted) stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end,
    closed: closing.signal,
  };
}
