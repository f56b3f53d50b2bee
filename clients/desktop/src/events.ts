// Holding the device's event stream (`GET /events`): reconnecting after the server's `retry`,
// treating a silent connection as dead (the server sends `: heartbeat` every 15 s), and handing
// each challenge to the caller as it comes.
import { setTimeout as sleep } from 'node:timers/promises';

import type { DeviceApi, DeviceIdentity } from './api.ts';
import { ApiError, ClientError } from './errors.ts';
import { createSseParser } from './sse.ts';

/** A `challenge` event: a login waits for this device. On connect the server repeats every pending one. */
export interface ChallengeEvent {
  challengeId: string;
  expiresAt: string;
}

/** Options of {@link watchChallenges}. */
export interface WatchOptions {
  api: DeviceApi;
  identity: DeviceIdentity;
  /** Called for every `challenge` event, at once (it must not wait for the person). */
  onChallenge(event: ChallengeEvent): void;
  /** A line worth showing: a lost connection and when it is tried again, an event that made no sense. */
  onNotice(text: string): void;
  /** Ends the watch; {@link watchChallenges} then resolves with `aborted`. */
  signal: AbortSignal;
  /** How long a connection may stay silent, heartbeats included, before it counts as lost. Defaults to 45 000 ms (three heartbeats). */
  silenceTimeoutMs?: number;
  /** The delay before reconnecting until the server sends its own `retry`. Defaults to 3000 ms, the server's. */
  retryMs?: number;
}

/** How one connection ended: the server closed the stream for good, or the connection was lost. */
type Outcome = { closed: string } | { lost: string };

/**
 * Holds the event stream until the server sends `closed` (resolves with its reason: `revoked`,
 * `locked`, `unregistered`) or `signal` aborts (resolves with `aborted`). A lost connection is
 * opened again after the `retry` delay, with a fresh signature. Rejects when nothing answers the
 * first connection (a wrong URL or a server that is down should say so, not wait forever), or
 * the server refuses one (a 4xx other than 429: the device is unknown, revoked or locked, and
 * asking again changes nothing).
 */
export async function watchChallenges(options: WatchOptions): Promise<string> {
  const { signal } = options;
  const silenceTimeoutMs = options.silenceTimeoutMs ?? 45_000;
  let retryMs = options.retryMs ?? 3000;
  let lastEventId: string | undefined;
  let first = true;

  /** One connection, from the signed request until it ends. */
  async function connect(): Promise<Outcome> {
    const connection = new AbortController();
    const abort = () => connection.abort();
    signal.addEventListener('abort', abort, { once: true });
    let silent = false;
    let timer: NodeJS.Timeout | undefined;
    const listen = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent = true;
        connection.abort();
      }, silenceTimeoutMs);
    };
    try {
      listen();
      const response = await options.api.openEvents(options.identity, { signal: connection.signal, lastEventId });
      const type = response.headers.get('content-type') ?? '';
      if (!type.startsWith('text/event-stream')) throw new ClientError('protocol', `the event stream answered with ${type || 'no content type'}, not text/event-stream`);
      if (!response.body) return { lost: 'the server sent no body' };
      const parser = createSseParser({ lastEventId });
      for await (const chunk of response.body) {
        listen();
        for (const item of parser.push(chunk)) {
          if (item.type === 'retry') retryMs = item.milliseconds;
          else if (item.type === 'message' && item.event === 'challenge') handOver(item.data);
          else if (item.type === 'message' && item.event === 'closed') return { closed: closedReason(item.data) };
        }
        if (parser.lastEventId !== '') lastEventId = parser.lastEventId;
      }
      return { lost: 'the server ended the stream' };
    } catch (error) {
      if (signal.aborted) return { lost: 'aborted' };
      if (silent) return { lost: `nothing heard for ${silenceTimeoutMs / 1000} s` };
      if (error instanceof ApiError && error.status !== 429 && error.status < 500) throw error;
      if (first && error instanceof ClientError && error.code === 'unreachable') throw error;
      return { lost: error instanceof ClientError ? error.message : describe(error) };
    } finally {
      first = false;
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
      connection.abort();
    }
  }

  function handOver(data: string): void {
    const event = parseJson(data) as Partial<ChallengeEvent> | undefined;
    if (typeof event?.challengeId !== 'string' || typeof event.expiresAt !== 'string') {
      options.onNotice(`ignored a challenge event without challengeId and expiresAt: ${data.slice(0, 200)}`);
      return;
    }
    options.onChallenge({ challengeId: event.challengeId, expiresAt: event.expiresAt });
  }

  while (!signal.aborted) {
    const outcome = await connect();
    if ('closed' in outcome) return outcome.closed;
    if (signal.aborted) break;
    options.onNotice(`lost the event stream (${outcome.lost}); reconnecting in ${retryMs / 1000} s`);
    await sleep(retryMs, undefined, { signal }).catch(() => {});
  }
  return 'aborted';
}

function closedReason(data: string): string {
  const reason = (parseJson(data) as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' ? reason : 'unknown';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** fetch's stream errors say "terminated"; the socket's reason is in the cause. */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
