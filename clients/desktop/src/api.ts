// The device API's calls (/api/device/v1/, described by its openapi.json), over fetch. Every call
// after register is signed; this module is the only one that knows the paths and the JSON shapes.
import type { KeyObject } from 'node:crypto';

import { ApiError, ClientError } from './errors.ts';
import { newNonce, signedHeaders, type PublicJwk } from './signing.ts';

/** A challenge as `GET /challenges/{id}` describes it (the number, if any, is only in the browser). */
export interface Challenge {
  id: string;
  clientName: string;
  code: string;
  numberMatching: boolean;
  createdAt: string;
  expiresAt: string;
  status: 'pending' | 'approved' | 'rejected' | 'expired';
}

/** The body of `POST /register`. */
export interface Registration {
  pairingCode: string;
  kind: 'desktop' | 'app';
  name: string;
  publicKey: PublicJwk;
  pin: string;
  proof: string;
}

/** Who signs: the device's id and its private key. */
export interface DeviceIdentity {
  deviceId: string;
  key: KeyObject;
}

/** The device API of one server, as this device. */
export interface DeviceApi {
  /** Unsigned: creates the device, `pending` until it pairs. */
  register(body: Registration): Promise<{ deviceId: string; status: 'pending' }>;
  pair(identity: DeviceIdentity, pairingCode: string): Promise<{ deviceId: string; status: 'active'; userName: string }>;
  challenge(identity: DeviceIdentity, id: string): Promise<Challenge>;
  approve(identity: DeviceIdentity, id: string, answer: { pin: string; number?: string }): Promise<{ status: 'approved' }>;
  reject(identity: DeviceIdentity, id: string): Promise<{ status: 'rejected' }>;
  /** Opens the event stream; the caller reads `body`. A refusal throws {@link ApiError}. */
  openEvents(identity: DeviceIdentity, options: { signal: AbortSignal; lastEventId?: string }): Promise<Response>;
}

/**
 * The API under `server` (the IdP's base URL, with its path prefix if it is mounted under one).
 * `now` gives the clock in milliseconds; defaults to `Date.now`.
 */
export function createDeviceApi(options: { server: string; now?: () => number }): DeviceApi {
  const base = new URL('api/device/v1/', options.server.endsWith('/') ? options.server : `${options.server}/`);
  const now = options.now ?? Date.now;

  /** One call: the URL, the body's bytes, the signature over exactly those, and the error body on a refusal. */
  async function call(method: string, path: string, init: { identity?: DeviceIdentity; json?: object; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response> {
    const url = new URL(path, base);
    const body = init.json === undefined ? new Uint8Array() : Buffer.from(JSON.stringify(init.json), 'utf8');
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    if (init.identity) {
      Object.assign(headers, signedHeaders(init.identity.key, {
        method,
        // The path as sent, prefix and query included: what the server sees is what was signed.
        path: url.pathname + url.search,
        body,
        deviceId: init.identity.deviceId,
        timestamp: Math.floor(now() / 1000),
        nonce: newNonce(),
      }));
    }
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: init.json === undefined ? undefined : body, signal: init.signal, redirect: 'error' });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      const why = reason(error);
      // `unreachable`: nothing answered there at all (a wrong URL, the server down); otherwise
      // something answered and the connection broke.
      if (CANNOT_CONNECT.has(why)) throw new ClientError('unreachable', `cannot reach ${url.origin}: ${why}`, { cause: error });
      throw new ClientError('connection_lost', `the connection to ${url.origin} broke: ${why}`, { cause: error });
    }
    if (!response.ok) throw await refusal(response);
    return response;
  }

  async function json<T>(method: string, path: string, init: Parameters<typeof call>[2]): Promise<T> {
    const response = await call(method, path, init);
    return (await response.json()) as T;
  }

  return {
    register: (body) => json('POST', 'register', { json: body }),
    pair: (identity, pairingCode) => json('POST', 'pair', { identity, json: { pairingCode } }),
    challenge: (identity, id) => json('GET', `challenges/${encodeURIComponent(id)}`, { identity }),
    approve: (identity, id, answer) => json('POST', `challenges/${encodeURIComponent(id)}/approve`, { identity, json: answer }),
    reject: (identity, id) => json('POST', `challenges/${encodeURIComponent(id)}/reject`, { identity, json: {} }),
    openEvents: (identity, { signal, lastEventId }) => call('GET', 'events', {
      identity,
      signal,
      headers: { accept: 'text/event-stream', 'cache-control': 'no-cache', ...(lastEventId !== undefined && { 'last-event-id': lastEventId }) },
    }),
  };
}

/** The server's `{ error, message }`, or, from something in between (a proxy's HTML page), the status. */
async function refusal(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown; triesLeft?: unknown; lockedUntil?: unknown };
    if (typeof body.error === 'string') {
      return new ApiError(response.status, {
        error: body.error,
        message: typeof body.message === 'string' ? body.message : body.error,
        ...(typeof body.triesLeft === 'number' && { triesLeft: body.triesLeft }),
        ...(typeof body.lockedUntil === 'string' && { lockedUntil: body.lockedUntil }),
      });
    }
  } catch {
    // Not JSON: described by the status below.
  }
  return new ApiError(response.status, { error: `http_${response.status}`, message: `the server answered ${response.status} ${response.statusText}`.trim() });
}

/** Node's codes for a connection that was never made. */
const CANNOT_CONNECT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** fetch says "fetch failed"; the reason (ECONNREFUSED, a TLS error) is in its cause. */
function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
