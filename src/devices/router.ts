/**
 * The device API under `/api/device/v1/` (shared contract of step 4): JSON in and out, errors as
 * `{ error, message }` from the one error handler (`http/error-handler.ts`, which answers every
 * `/api/` path in JSON). Each route is a short list of named steps:
 *
 * | route                 | steps                                                        |
 * | --------------------- | ------------------------------------------------------------ |
 * | GET  openapi.json     | showOpenApi                                                  |
 * | POST register         | readRawBody, jsonBody(RegisterRequest), register             |
 * | POST pair             | readRawBody, signedBy(pending), jsonBody(PairRequest), pair  |
 * | GET  events           | readRawBody, signedBy(active), openEvents                    |
 * | DELETE device         | readRawBody, signedBy(any but revoked), unregister           |
 *
 * The challenge routes are added beside these (`extensions`) with the same exported steps.
 * No body parser runs before `readRawBody`: the signature covers the raw bytes.
 */
import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';

import { requestState } from '../http/context.ts';
import { IdpError } from '../http/errors.ts';
import type { DeviceRecord, DeviceRepository, DeviceStatus } from '../store/devices.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import { createEventStreams, type ChallengeAnnouncement, type EventStreams } from './events.ts';
import { DEVICE_API_PREFIX, deviceApiDocument } from './openapi.ts';
import { createBodyValidator, type RequestBodies, type RequestSchemaName } from './schemas.ts';
import type { ActContext } from '../store/audit.ts';
import { effectiveStatus, type DeviceService } from './service.ts';
import { NONCE_TTL_SECONDS, parseSignatureHeaders, verifyRequestSignature } from './signature.ts';

/** The largest request body read: every body of the contract is well under a kilobyte. */
export const MAX_BODY_BYTES = 16 * 1024;

/** What the steps know about a device request, under `ctx.state.device`. */
export interface DeviceRequestState {
  /** The body's bytes as sent (set by `readRawBody`). */
  rawBody: Buffer;
  /** The body once its schema passed (set by `jsonBody`). */
  body?: unknown;
  /** The device that signed the request (set by `signedBy`). */
  device?: DeviceRecord;
}

/** The request's device state. */
export function deviceRequest(ctx: Context): DeviceRequestState {
  return (ctx.state as { device: DeviceRequestState }).device;
}

/** The body a `jsonBody(name)` step accepted. */
export function bodyOf<N extends RequestSchemaName>(ctx: Context, _name: N): RequestBodies[N] {
  return deviceRequest(ctx).body as RequestBodies[N];
}

/** The device a `signedBy` step verified. */
export function signingDevice(ctx: Context): DeviceRecord {
  const { device } = deviceRequest(ctx);
  if (!device) throw new Error('signingDevice: no signedBy step ran');
  return device;
}

/** The audit context of a request: the actor, client address and request id. */
export function actContext(ctx: Context, actor: string): ActContext {
  return { actor, ip: ctx.ip, requestId: requestState(ctx).requestId };
}

/** The steps a device route is built from; the challenge routes use them too. */
export interface DeviceApiSteps {
  /** Reads the raw body (at most {@link MAX_BODY_BYTES}) into the request state. */
  readRawBody: Middleware;
  /** Parses the raw body as JSON and checks it against a request schema; `invalid_request` names the failing member. */
  jsonBody(name: RequestSchemaName): Middleware;
  /**
   * Verifies the request's signature with the device's stored key, refuses a replayed nonce,
   * and lets through only a device in one of `statuses` (a locked one gets `device_locked`).
   */
  signedBy(statuses: readonly DeviceStatus[]): Middleware;
}

export interface DeviceApiDeps {
  issuer: string;
  service: DeviceService;
  devices: Pick<DeviceRepository, 'find'>;
  store: ShortLivedStore;
  /** The clock, epoch ms. */
  now: () => number;
  /** Heartbeat interval of event streams. Defaults to 15 s. */
  heartbeatMs?: number;
  /** A device's pending challenges, sent first on its event stream. Defaults to none. */
  pendingChallenges?: (device: DeviceRecord) => Promise<ChallengeAnnouncement[]>;
  /** Adds more routes (the challenge routes) with the same steps. */
  extensions?: ReadonlyArray<(router: Router, steps: DeviceApiSteps) => void>;
}

export interface DeviceApi {
  /** Answers every path under `/api/device/v1/` (404 `not_found` for unknown ones) and passes others on. */
  middleware: Middleware;
  streams: EventStreams;
  steps: DeviceApiSteps;
}

/** Builds the steps over the instance's store and clock. */
export function createDeviceApiSteps(deps: Pick<DeviceApiDeps, 'devices' | 'store' | 'now'>): DeviceApiSteps {
  const validate = createBodyValidator();

  async function readRawBody(ctx: Context, next: Next) {
    const declared = Number(ctx.get('content-length') || 0);
    if (declared > MAX_BODY_BYTES) throw new IdpError('invalid_request', { explanation: `the body is larger than ${MAX_BODY_BYTES} bytes` });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw new IdpError('invalid_request', { explanation: `the body is larger than ${MAX_BODY_BYTES} bytes` });
      chunks.push(chunk);
    }
    (ctx.state as { device: DeviceRequestState }).device = { rawBody: Buffer.concat(chunks) };
    await next();
  }

  const jsonBody = (name: RequestSchemaName): Middleware => async function checkJsonBody(ctx: Context, next: Next) {
    const state = deviceRequest(ctx);
    if (!ctx.is('application/json')) throw new IdpError('invalid_request', { explanation: 'the body must be application/json' });
    let parsed: unknown;
    try {
      parsed = JSON.parse(state.rawBody.toString('utf8'));
    } catch {
      throw new IdpError('invalid_request', { explanation: 'the body is not JSON' });
    }
    const checked = validate(name, parsed);
    if (!checked.ok) throw new IdpError('invalid_request', { explanation: checked.message });
    state.body = checked.body;
    await next();
  };

  const signedBy = (statuses: readonly DeviceStatus[]): Middleware => async function verifySignedDevice(ctx: Context, next: Next) {
    const state = deviceRequest(ctx);
    const headers = parseSignatureHeaders(ctx.headers);
    if (!headers) throw new IdpError('invalid_signature', { explanation: 'the Stepup-Device, -Timestamp, -Nonce and -Signature headers are missing or malformed' });
    const device = await deps.devices.find(headers.deviceId);
    if (!device) throw new IdpError('unknown_device', { detail: `no device ${headers.deviceId}` });
    // The path as the client sent it: under a mounted prefix, ctx.path has lost the prefix.
    const verified = verifyRequestSignature({ publicKey: device.publicKey, headers: ctx.headers, method: ctx.method, path: ctx.originalUrl, body: state.rawBody, now: deps.now() });
    if (!verified.verified) throw new IdpError(verified.reason, { detail: `device ${device.id}` });
    // Only a verified request spends its nonce, so no stranger can fill the store or burn a device's nonces.
    const fresh = await deps.store.setIfAbsent(`device-nonce:${device.id}:${verified.nonce}`, '1', NONCE_TTL_SECONDS * 1000);
    if (!fresh) throw new IdpError('replayed', { detail: `device ${device.id}` });
    const { status, lockedUntil } = effectiveStatus({ device, now: new Date(deps.now()) });
    if (!statuses.includes(status)) {
      if (status === 'revoked') throw new IdpError('device_revoked');
      if (status === 'locked') throw new IdpError('device_locked', { fields: { lockedUntil: (lockedUntil as Date).toISOString() } });
      if (status === 'pending') throw new IdpError('unknown_device', { explanation: 'this device is not paired yet' });
      throw new IdpError('invalid_request', { explanation: 'this device is already paired' });
    }
    state.device = device;
    await next();
  };

  return { readRawBody, jsonBody, signedBy };
}

/** Builds the device API of one IdP instance. */
export function createDeviceApi(deps: DeviceApiDeps): DeviceApi {
  const steps = createDeviceApiSteps(deps);
  const streams = createEventStreams({ store: deps.store, devices: deps.devices, now: deps.now, heartbeatMs: deps.heartbeatMs, pendingChallenges: deps.pendingChallenges });
  const document = deviceApiDocument({ issuer: deps.issuer });
  const { readRawBody, jsonBody, signedBy } = steps;

  function showOpenApi(ctx: Context) {
    ctx.body = document;
  }

  async function register(ctx: Context) {
    const body = bodyOf(ctx, 'RegisterRequest');
    const result = await deps.service.register({ ...body, name: body.name.trim(), context: actContext(ctx, 'device') });
    if (!result.ok) {
      if (result.reason === 'pin_rejected') throw new IdpError('pin_rejected', { explanation: result.message });
      if (result.reason === 'invalid_proof') throw new IdpError('invalid_signature', { explanation: 'the proof does not verify with the public key' });
      if (result.reason === 'key_taken') throw new IdpError('invalid_request', { explanation: 'this public key is already registered; make a new key pair' });
      throw new IdpError(result.reason);
    }
    ctx.status = 201;
    ctx.body = { deviceId: result.device.id, status: result.device.status };
  }

  async function pair(ctx: Context) {
    const device = signingDevice(ctx);
    const result = await deps.service.pair({ device, pairingCode: bodyOf(ctx, 'PairRequest').pairingCode, context: actContext(ctx, `device:${device.id}`) });
    if (!result.ok) {
      if (result.reason === 'not_pending') throw new IdpError('invalid_request', { explanation: 'this device is already paired' });
      throw new IdpError(result.reason);
    }
    ctx.body = { deviceId: result.device.id, status: result.device.status, userName: result.userName };
  }

  async function openEvents(ctx: Context) {
    await streams.open(ctx, signingDevice(ctx));
  }

  async function unregister(ctx: Context) {
    const device = signingDevice(ctx);
    await deps.service.unregister({ device, context: actContext(ctx, `device:${device.id}`) });
    ctx.body = { status: 'revoked' };
  }

  const router = new Router({ prefix: DEVICE_API_PREFIX });
  router.get('/openapi.json', showOpenApi);
  router.post('/register', readRawBody, jsonBody('RegisterRequest'), register);
  router.post('/pair', readRawBody, signedBy(['pending']), jsonBody('PairRequest'), pair);
  router.get('/events', readRawBody, signedBy(['active']), openEvents);
  router.delete('/device', readRawBody, signedBy(['pending', 'active', 'locked']), unregister);
  for (const extend of deps.extensions ?? []) extend(router, steps);

  const routes = router.routes();
  async function deviceApi(ctx: Context, next: Next) {
    if (ctx.path !== DEVICE_API_PREFIX && !ctx.path.startsWith(`${DEVICE_API_PREFIX}/`)) return next();
    // Nothing under the prefix reaches oidc-provider or the pages.
    await routes(ctx as Parameters<typeof routes>[0], async () => {
      throw new IdpError('not_found');
    });
  }

  return { middleware: deviceApi, streams, steps };
}
