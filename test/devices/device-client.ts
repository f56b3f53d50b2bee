import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

import type { Idp } from '../../src/app.ts';
import { deriveKey } from '../../src/crypto/derived-keys.ts';
import { createDeviceService, type DeviceService } from '../../src/devices/service.ts';
import { stringToSign } from '../../src/devices/signature.ts';
import type { DeviceKind, DevicePublicKey } from '../../src/store/devices.ts';
import { TEST_SECRET_KEY } from '../helpers/idp.ts';

/** A device's key pair, made here as a device makes it. */
export interface DeviceKey {
  privateKey: KeyObject;
  publicKey: DevicePublicKey;
}

export function makeDeviceKey(): DeviceKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey: publicKey.export({ format: 'jwk' }) as unknown as DevicePublicKey };
}

const p1363 = (key: KeyObject, text: string) => sign('sha256', Buffer.from(text), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');

/** The registration proof: the new key's signature over the code and the key. */
export function registrationProof(key: DeviceKey, pairingCode: string): string {
  return p1363(key.privateKey, `stepup-device-v1-register\n${pairingCode}\n${key.publicKey.x}\n${key.publicKey.y}`);
}

/** The device service of a running IdP, as IT's command and the challenge step use it. */
export function deviceServiceOf(idp: Pick<Idp, 'storage'>, now: () => number = Date.now): DeviceService {
  return createDeviceService({
    devices: idp.storage.devices,
    pairingCodes: idp.storage.pairingCodes,
    users: idp.storage.users,
    audit: idp.storage.audit,
    store: idp.storage.shortLived,
    pairingKey: deriveKey(TEST_SECRET_KEY, 'pairing-code'),
    pinKey: deriveKey(TEST_SECRET_KEY, 'device-pin'),
    limits: { maxFailures: 5, baseSeconds: 300, maxSeconds: 86400 },
    now,
  });
}

/** A pairing code for a user, as `stepup device pair` issues it. */
export async function pairingCodeFor(idp: Pick<Idp, 'storage'>, user: { id: string; username: string }, kind: DeviceKind): Promise<string> {
  const { code } = await deviceServiceOf(idp).issuePairingCode({ userId: user.id, username: user.username, kind, context: { actor: 'cli' } });
  return code;
}

/** A signed request's parts, overridable to build broken ones. */
export interface SignedRequestOptions {
  method: string;
  /** The path as sent (with the mount prefix and query). */
  path: string;
  body?: string;
  timestamp?: number;
  nonce?: string;
  /** Sign as if for another method, path or body. */
  signed?: { method?: string; path?: string; body?: string };
  key?: DeviceKey;
}

/** A device that talks to one IdP at `origin`. */
export class TestDevice {
  deviceId = '';
  readonly key: DeviceKey;
  readonly origin: string;
  readonly prefix: string;

  constructor(url: string, key: DeviceKey = makeDeviceKey()) {
    const parsed = new URL(url);
    this.origin = parsed.origin;
    this.prefix = parsed.pathname.replace(/\/$/, '');
    this.key = key;
  }

  /** The headers of a signed request. */
  headers(options: SignedRequestOptions): Record<string, string> {
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const nonce = options.nonce ?? randomBytes(16).toString('base64url');
    const text = stringToSign({
      method: options.signed?.method ?? options.method,
      path: options.signed?.path ?? options.path,
      timestamp,
      nonce,
      body: Buffer.from(options.signed?.body ?? options.body ?? ''),
    });
    return {
      'stepup-device': this.deviceId,
      'stepup-timestamp': String(timestamp),
      'stepup-nonce': nonce,
      'stepup-signature': p1363((options.key ?? this.key).privateKey, text),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    };
  }

  /** Sends a request to `/api/device/v1/<path>` with the given headers. */
  send(path: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<Response> {
    return fetch(`${this.origin}${this.prefix}/api/device/v1/${path}`, init);
  }

  /** Sends a signed request to `/api/device/v1/<path>`. */
  signed(path: string, options: Omit<SignedRequestOptions, 'path'> & { headers?: Record<string, string> }): Promise<Response> {
    const full = `${this.prefix}/api/device/v1/${path}`;
    const headers = { ...this.headers({ ...options, path: full }), ...options.headers };
    return this.send(path, { method: options.method, headers, ...(options.body !== undefined ? { body: options.body } : {}) });
  }

  /** Registers with a pairing code; remembers the device id when it worked. */
  async register(input: { pairingCode: string; kind: DeviceKind; name?: string; pin?: string }, change: Record<string, unknown> = {}): Promise<Response> {
    const body = {
      pairingCode: input.pairingCode,
      kind: input.kind,
      name: input.name ?? 'Min computer',
      publicKey: this.key.publicKey,
      pin: input.pin ?? (input.kind === 'desktop' ? '2580' : '285091'),
      proof: registrationProof(this.key, input.pairingCode),
      ...change,
    };
    const response = await this.send('register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status === 201) this.deviceId = ((await response.clone().json()) as { deviceId: string }).deviceId;
    return response;
  }

  pair(pairingCode: string): Promise<Response> {
    return this.signed('pair', { method: 'POST', body: JSON.stringify({ pairingCode }) });
  }
}

/** Reads an event stream until `until` matches what has arrived, or the stream ends; returns the text. */
export async function readEvents(response: Response, until: (text: string) => boolean, timeoutMs = 5000): Promise<{ text: string; ended: boolean }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (!until(text)) {
      const left = deadline - Date.now();
      if (left <= 0) return { text, ended: false };
      const chunk = await Promise.race([reader.read(), new Promise<'timeout'>((resolve) => setTimeout(resolve, left, 'timeout'))]);
      if (chunk === 'timeout') return { text, ended: false };
      if (chunk.done) return { text, ended: true };
      text += decoder.decode(chunk.value, { stream: true });
    }
    return { text, ended: false };
  } finally {
    reader.releaseLock();
  }
}

/** Whether the stream has no more to give within `timeoutMs`. */
export async function streamEnds(response: Response, timeoutMs = 3000): Promise<boolean> {
  return (await readEvents(response, () => false, timeoutMs)).ended;
}
