// A stand-in for the IdP's device API (the Step 4 contract), strict where a real server must be:
// it checks every signature with WebCrypto (not the node:crypto sign() the client uses, so the
// client's signing is proven against an independent verifier), refuses a stale timestamp and a
// nonce it has seen, and refuses any body that is not exactly the contract's shape.
import { createHash, randomBytes, randomUUID, webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const { subtle } = webcrypto;
const API = '/api/device/v1/';
const MAX_TRIES = 5;

export interface FakeDevice {
  id: string;
  kind: 'desktop' | 'app';
  name: string;
  publicKey: { kty: string; crv: string; x: string; y: string };
  /** Kept in the clear: this is a test double, not a place to learn PIN storage from. */
  pin: string;
  pairingCode: string;
  userName: string;
  status: 'pending' | 'active' | 'revoked';
  triesLeft: number;
}

export interface FakeChallenge {
  id: string;
  deviceId: string;
  clientName: string;
  code: string;
  numberMatching: boolean;
  number: string | undefined;
  createdAt: string;
  expiresAt: string;
  status: 'pending' | 'approved' | 'rejected' | 'expired';
}

/** A request as it arrived, for tests to assert on (and to replay). */
export interface LoggedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  rawBody: string;
  status: number;
}

export interface FakeDeviceServer {
  /** The base URL to give `--server` (with the prefix, if any). */
  url: string;
  devices: Map<string, FakeDevice>;
  challenges: Map<string, FakeChallenge>;
  requests: LoggedRequest[];
  /** How many event streams were opened so far. */
  eventConnections(): number;
  /** Resolves once `count` event streams were opened in all. */
  waitForEventConnections(count: number): Promise<void>;
  /** An open pairing code (in its normal form) for a user and a kind. */
  addPairingCode(code: string, options: { userName: string; kind: 'desktop' | 'app' }): void;
  /** A pending challenge for the device, announced on its open streams. */
  addChallenge(deviceId: string, options: { clientName: string; code: string; number?: string; ttlSeconds?: number }): FakeChallenge;
  /** Ends every open event stream without a `closed` event, as a restart or a proxy would. */
  dropEventStreams(): void;
  /** Sends `closed` with `reason` on the device's streams and ends them. */
  closeEventStreams(deviceId: string, reason: string): void;
  close(): Promise<void>;
}

/** A refusal as the contract writes it: `{ error, message }` plus `triesLeft` or `lockedUntil`. */
class Refusal extends Error {
  readonly status: number;
  readonly code: string;
  readonly extra: object;

  constructor(status: number, code: string, message: string, extra: object = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

/** Starts the fake on 127.0.0.1. `prefix` mounts it as under ISSUER `http://host/idp`. */
export async function startFakeDeviceServer(options: { prefix?: string; retryMs?: number; heartbeatMs?: number } = {}): Promise<FakeDeviceServer> {
  const prefix = options.prefix ?? '';
  const devices = new Map<string, FakeDevice>();
  const challenges = new Map<string, FakeChallenge>();
  const pairingCodes = new Map<string, { userName: string; kind: 'desktop' | 'app'; used: boolean }>();
  const nonces = new Set<string>();
  const requests: LoggedRequest[] = [];
  const streams = new Map<ServerResponse, string>();
  let connections = 0;
  const connectionWaiters: Array<{ count: number; resolve(): void }> = [];

  const server = createServer((request, response) => {
    void handle(request, response);
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const entry: LoggedRequest = {
      method: request.method ?? '',
      path: request.url ?? '',
      headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)])),
      rawBody: raw.toString('utf8'),
      status: 0,
    };
    requests.push(entry);
    try {
      await route(request, response, raw);
      entry.status = response.statusCode;
    } catch (error) {
      const refusal = error instanceof Refusal ? error : new Refusal(500, 'internal', String(error));
      entry.status = refusal.status;
      if (response.headersSent) return void response.end();
      response.writeHead(refusal.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: refusal.code, message: refusal.message, ...refusal.extra }));
    }
  }

  async function route(request: IncomingMessage, response: ServerResponse, raw: Buffer): Promise<void> {
    const path = request.url ?? '';
    if (!path.startsWith(prefix + API)) throw new Refusal(404, 'not_found', 'no such path');
    const route = `${request.method} ${path.slice(prefix.length + API.length)}`;
    if (route === 'POST register') return send(response, 201, await registerDevice(request, raw));
    const device = await verifySigned(request, raw, path);
    if (route === 'POST pair') return send(response, 200, pair(device, body(request, raw, ['pairingCode'])));
    if (device.status !== 'active') throw new Refusal(401, 'unknown_device', 'the device is not active');
    if (route === 'GET events') return openStream(device, response);
    const match = /^(GET|POST) challenges\/([A-Za-z0-9_-]+)(\/approve|\/reject)?$/.exec(route);
    const challenge = match && challenges.get(match[2] as string);
    if (!match || !challenge || challenge.deviceId !== device.id) throw new Refusal(404, 'not_found', 'no such challenge');
    if (match[1] === 'GET' && !match[3]) return send(response, 200, challengeBody(challenge));
    if (match[1] === 'POST' && match[3] === '/approve') return send(response, 200, approve(device, challenge, body(request, raw, ['pin'], ['number'])));
    if (match[1] === 'POST' && match[3] === '/reject') {
      body(request, raw, []);
      return send(response, 200, settle(challenge, 'rejected'));
    }
    throw new Refusal(404, 'not_found', 'no such path');
  }

  async function registerDevice(request: IncomingMessage, raw: Buffer): Promise<object> {
    const { pairingCode, kind, name, publicKey, pin, proof } = body(request, raw, ['pairingCode', 'kind', 'name', 'publicKey', 'pin', 'proof']);
    for (const [field, value] of Object.entries({ pairingCode, kind, name, pin, proof })) {
      if (typeof value !== 'string') throw new Refusal(400, 'invalid_request', `/${field}: must be a string`);
    }
    if (kind !== 'desktop' && kind !== 'app') throw new Refusal(400, 'invalid_request', '/kind: must be desktop or app');
    if ((name as string).length < 1 || (name as string).length > 60) throw new Refusal(400, 'invalid_request', '/name: 1 to 60 characters');
    const jwk = publicKey as Record<string, unknown>;
    if (typeof jwk !== 'object' || jwk === null || Object.keys(jwk).sort().join() !== 'crv,kty,x,y' || jwk.kty !== 'EC' || jwk.crv !== 'P-256'
      || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
      throw new Refusal(400, 'invalid_request', '/publicKey: an EC P-256 JWK with kty, crv, x and y only');
    }
    const key = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
    const proven = await verify(key, proof as string, `stepup-device-v1-register\n${pairingCode}\n${key.x}\n${key.y}`);
    if (!proven) throw new Refusal(401, 'invalid_signature', 'the proof does not verify with the public key');
    const code = pairingCodes.get(pairingCode as string);
    if (!code || code.used || code.kind !== kind) throw new Refusal(400, 'invalid_pairing_code', 'the pairing code is unknown, used, expired or for another kind');
    if (!pinAllowed(kind, pin as string)) throw new Refusal(400, 'pin_rejected', kind === 'desktop' ? 'the PIN must be 4 digits, not all the same or in a row' : 'the PIN must be 6 digits, not all the same or in a row');
    const device: FakeDevice = {
      id: randomUUID(), kind, name: name as string, publicKey: key, pin: pin as string, pairingCode: pairingCode as string,
      userName: code.userName, status: 'pending', triesLeft: MAX_TRIES,
    };
    devices.set(device.id, device);
    return { deviceId: device.id, status: 'pending' };
  }

  /** The contract's "Signed requests", checked in full. */
  async function verifySigned(request: IncomingMessage, raw: Buffer, path: string): Promise<FakeDevice> {
    const header = (name: string) => {
      const value = request.headers[name];
      if (typeof value !== 'string') throw new Refusal(401, 'invalid_signature', `missing ${name}`);
      return value;
    };
    const deviceId = header('stepup-device');
    const timestamp = header('stepup-timestamp');
    const nonce = header('stepup-nonce');
    const signature = header('stepup-signature');
    const device = devices.get(deviceId);
    if (!device) throw new Refusal(401, 'unknown_device', 'no such device');
    if (!/^[0-9]+$/.test(timestamp) || Math.abs(Number(timestamp) - Date.now() / 1000) > 120) throw new Refusal(401, 'stale_timestamp', 'the timestamp is not within 120 s');
    if (!/^[A-Za-z0-9_-]{22}$/.test(nonce) || Buffer.from(nonce, 'base64url').length !== 16) throw new Refusal(401, 'invalid_signature', 'the nonce is not 16 bytes in base64url');
    const bodyHash = createHash('sha256').update(raw).digest('base64url');
    const text = ['stepup-device-v1', request.method, path, timestamp, nonce, bodyHash].join('\n');
    if (!(await verify(device.publicKey, signature, text))) throw new Refusal(401, 'invalid_signature', 'the signature does not verify');
    if (nonces.has(`${deviceId} ${nonce}`)) throw new Refusal(401, 'replayed', 'this nonce was used before');
    nonces.add(`${deviceId} ${nonce}`);
    if (device.status === 'revoked') throw new Refusal(401, 'device_revoked', 'the device was revoked');
    return device;
  }

  function pair(device: FakeDevice, { pairingCode }: Record<string, unknown>): object {
    const code = pairingCodes.get(pairingCode as string);
    if (device.status !== 'pending' || pairingCode !== device.pairingCode || !code || code.used) {
      throw new Refusal(400, 'invalid_pairing_code', 'the pairing code is not open for this device');
    }
    code.used = true;
    device.status = 'active';
    return { deviceId: device.id, status: 'active', userName: device.userName };
  }

  function approve(device: FakeDevice, challenge: FakeChallenge, answer: Record<string, unknown>): object {
    if (typeof answer.pin !== 'string') throw new Refusal(400, 'invalid_request', '/pin: must be a string');
    if (answer.number !== undefined && typeof answer.number !== 'string') throw new Refusal(400, 'invalid_request', '/number: must be a string');
    open(challenge);
    if (device.triesLeft === 0) throw new Refusal(423, 'device_locked', 'the device is locked', { lockedUntil: new Date(Date.now() + 300_000).toISOString() });
    if (challenge.numberMatching && answer.number !== challenge.number) {
      device.triesLeft -= 1;
      throw new Refusal(403, 'wrong_number', 'that is not the number the browser shows', { triesLeft: device.triesLeft });
    }
    if (answer.pin !== device.pin) {
      device.triesLeft -= 1;
      throw new Refusal(403, 'wrong_pin', 'wrong PIN', { triesLeft: device.triesLeft });
    }
    device.triesLeft = MAX_TRIES;
    return settle(challenge, 'approved');
  }

  function open(challenge: FakeChallenge): void {
    if (challenge.status === 'pending' && Date.parse(challenge.expiresAt) <= Date.now()) challenge.status = 'expired';
    if (challenge.status === 'expired') throw new Refusal(409, 'challenge_expired', 'the login waited too long');
    if (challenge.status !== 'pending') throw new Refusal(409, 'challenge_closed', 'the login was already answered');
  }

  function settle(challenge: FakeChallenge, status: 'approved' | 'rejected'): object {
    open(challenge);
    challenge.status = status;
    return { status };
  }

  function openStream(device: FakeDevice, response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.write(`retry: ${options.retryMs ?? 3000}\n\n`);
    for (const challenge of challenges.values()) {
      if (challenge.deviceId === device.id && challenge.status === 'pending') announce(response, challenge);
    }
    streams.set(response, device.id);
    const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), options.heartbeatMs ?? 15_000);
    response.on('close', () => {
      clearInterval(heartbeat);
      streams.delete(response);
    });
    connections += 1;
    for (const waiter of connectionWaiters.filter((candidate) => candidate.count <= connections)) {
      connectionWaiters.splice(connectionWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  function announce(response: ServerResponse, challenge: FakeChallenge): void {
    response.write(`event: challenge\ndata: ${JSON.stringify({ challengeId: challenge.id, expiresAt: challenge.expiresAt })}\n\n`);
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    devices,
    challenges,
    requests,
    eventConnections: () => connections,
    waitForEventConnections: (count) => count <= connections ? Promise.resolve() : new Promise((resolve) => void connectionWaiters.push({ count, resolve })),
    addPairingCode(code, { userName, kind }) {
      pairingCodes.set(code, { userName, kind, used: false });
    },
    addChallenge(deviceId, { clientName, code, number, ttlSeconds = 180 }) {
      const now = Date.now();
      const challenge: FakeChallenge = {
        id: randomBytes(16).toString('base64url'), deviceId, clientName, code, numberMatching: number !== undefined, number,
        createdAt: new Date(now).toISOString(), expiresAt: new Date(now + ttlSeconds * 1000).toISOString(), status: 'pending',
      };
      challenges.set(challenge.id, challenge);
      for (const [response, streamDevice] of streams) if (streamDevice === deviceId) announce(response, challenge);
      return challenge;
    },
    dropEventStreams() {
      for (const response of streams.keys()) response.destroy();
    },
    closeEventStreams(deviceId, reason) {
      for (const [response, streamDevice] of streams) {
        if (streamDevice === deviceId) response.end(`event: closed\ndata: ${JSON.stringify({ reason })}\n\n`);
      }
    },
    async close() {
      for (const response of streams.keys()) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A JSON object body with exactly the `required` keys and at most the `optional` ones. */
function body(request: IncomingMessage, raw: Buffer, required: string[], optional: string[] = []): Record<string, unknown> {
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) throw new Refusal(400, 'invalid_request', 'the body must be JSON');
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new Refusal(400, 'invalid_request', 'the body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Refusal(400, 'invalid_request', '/: must be an object');
  const object = value as Record<string, unknown>;
  for (const key of required) if (!(key in object)) throw new Refusal(400, 'invalid_request', `/${key}: is required`);
  for (const key of Object.keys(object)) {
    if (!required.includes(key) && !optional.includes(key)) throw new Refusal(400, 'invalid_request', `/${key}: is not allowed`);
  }
  return object;
}

/** ECDSA P-256 / SHA-256 over `text`, the signature base64url in IEEE P1363 form, as WebCrypto takes it. */
async function verify(jwk: FakeDevice['publicKey'], signature: string, text: string): Promise<boolean> {
  const bytes = Buffer.from(signature, 'base64url');
  if (bytes.length !== 64 || bytes.toString('base64url') !== signature) return false;
  const key = await subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  return subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, bytes, new TextEncoder().encode(text));
}

/** The contract's PIN rule: 4 digits (desktop) or 6 (app), not all the same, not a straight run up or down. */
function pinAllowed(kind: 'desktop' | 'app', pin: string): boolean {
  if (!new RegExp(`^[0-9]{${kind === 'desktop' ? 4 : 6}}$`).test(pin)) return false;
  const steps = [...pin].slice(1).map((digit, index) => Number(digit) - Number(pin[index]));
  return !steps.every((step) => step === 0) && !steps.every((step) => step === 1) && !steps.every((step) => step === -1);
}

function challengeBody(challenge: FakeChallenge): object {
  const { id, clientName, code, numberMatching, createdAt, expiresAt, status } = challenge;
  return { id, clientName, code, numberMatching, createdAt, expiresAt, status };
}

function send(response: ServerResponse, status: number, value: object): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(value));
}
