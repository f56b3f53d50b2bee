/**
 * Web Push end to end against a stand-in push service: a local HTTPS server (a self-signed
 * certificate, trusted through the gateway's agent) receives what `createWebPushGateway` sends,
 * checks the VAPID header as a push service does (RFC 8292) and decrypts the body as the browser
 * does (RFC 8291 over RFC 8188), with keys this test made as a browser makes them.
 */
import { once } from 'node:events';
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify, type ECDH } from 'node:crypto';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';

import { expect } from 'chai';
import { pino } from 'pino';
import { generate } from 'selfsigned';

import { deriveVapidKeys } from '../../src/crypto/vapid-keys.ts';
import type { PushMessage, PushSubscription } from '../../src/devices/push-gateway.ts';
import { createWebPushGateway } from '../../src/devices/web-push.ts';
import { TEST_SECRET_KEY } from '../helpers/idp.ts';

const SUBJECT = 'mailto:it-drift@kommune.example';

interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A browser's side of a subscription: its ECDH key pair and auth secret, and the subscription it hands over. */
function browserSubscription(endpoint: string): { subscription: PushSubscription; ecdh: ECDH; auth: Buffer } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return { ecdh, auth, subscription: { endpoint, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } } };
}

const hkdf = (ikm: Buffer, salt: Buffer, info: Buffer, length: number) => Buffer.from(hkdfSync('sha256', ikm, salt, info, length));

/**
 * Decrypts a Web Push message as the user agent does. RFC 8188 §2.1 header: salt (16), rs (4),
 * idlen (1), keyid (the sender's public key, RFC 8291 §4). RFC 8291 §3.4: IKM from the ECDH
 * secret and the auth secret with "WebPush: info\0" || ua_public || as_public; RFC 8188 §2.2-2.3:
 * CEK and NONCE from the salt and IKM. One record here (the message is far below rs), so its
 * padding ends in the last-record delimiter 0x02.
 */
function decryptPush(body: Buffer, browser: { ecdh: ECDH; auth: Buffer }): string {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20] as number;
  const asPublic = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  expect(idLength, 'keyid is the uncompressed sender key').to.equal(65);
  expect(record.length).to.be.at.most(recordSize);

  const uaPublic = browser.ecdh.getPublicKey();
  const secret = browser.ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hkdf(secret, browser.auth, keyInfo, 32);
  const cek = hkdf(ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12);

  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end -= 1;
  expect(padded[end], 'last-record padding delimiter').to.equal(0x02);
  return padded.subarray(0, end).toString('utf8');
}

/** Checks the VAPID Authorization header as a push service does (RFC 8292 §2-3) and returns the JWT claims. */
function checkVapid(header: string | undefined, publicKey: string): Record<string, unknown> {
  const match = /^vapid t=([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+), k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  expect(match, `Authorization: ${header}`).to.not.equal(null);
  const [, head = '', claims = '', signature = '', k = ''] = match as RegExpExecArray;
  expect(k).to.equal(publicKey);
  expect(JSON.parse(Buffer.from(head, 'base64url').toString())).to.include({ alg: 'ES256' });
  const point = Buffer.from(k, 'base64url');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
  const signed = verify('sha256', Buffer.from(`${head}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  expect(signed, 'ES256 signature by the published VAPID key').to.equal(true);
  return JSON.parse(Buffer.from(claims, 'base64url').toString()) as Record<string, unknown>;
}

describe('Web Push gateway', function () {
  const vapid = { subject: SUBJECT, ...deriveVapidKeys(TEST_SECRET_KEY) };
  let server: Server;
  let agent: Agent;
  let origin: string;
  let received: Received[];
  let answer: number;
  let logs: string[];

  before(async () => {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    server = createServer({ key: pems.private, cert: pems.cert }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
        response.statusCode = answer;
        response.end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    agent = new Agent({ ca: pems.cert });
  });
  after(async () => {
    agent?.destroy();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });
  beforeEach(() => {
    received = [];
    answer = 201;
    logs = [];
  });

  const gateway = () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    return createWebPushGateway({ vapid, ttlSeconds: 180, agent, log: pino({ level: 'debug' }, sink) });
  };

  it('posts the message encrypted to the subscription (RFC 8291), signed with VAPID (RFC 8292), urgent and short-lived', async () => {
    const browser = browserSubscription(`${origin}/push/v2/gAAAAABsubscription-capability`);
    const challengeId = randomBytes(16).toString('base64url');
    const result = await gateway().send(browser.subscription, { type: 'challenge', challengeId });
    expect(result).to.deep.equal({ delivered: true, gone: false });

    expect(received).to.have.length(1);
    const [request] = received as [Received];
    expect(request.method).to.equal('POST');
    expect(request.path).to.equal('/push/v2/gAAAAABsubscription-capability');
    expect(request.headers['content-encoding']).to.equal('aes128gcm');
    expect(request.headers.ttl).to.equal('180');
    expect(request.headers.urgency).to.equal('high');

    const claims = checkVapid(request.headers.authorization as string | undefined, vapid.publicKey);
    const now = Math.floor(Date.now() / 1000);
    expect(claims.aud).to.equal(origin);
    expect(claims.sub).to.equal(SUBJECT);
    expect(claims.exp).to.be.a('number').within(now, now + 24 * 3600);

    const plaintext = decryptPush(request.body, browser);
    expect(plaintext).to.equal(`{"type":"challenge","challengeId":"${challengeId}"}`);
  });

  it('sends no member but type and challengeId, whatever the caller adds', async () => {
    const browser = browserSubscription(`${origin}/push/extra`);
    const message = { type: 'challenge', challengeId: 'abc', code: 'K7QX', number: '42' } as PushMessage;
    await gateway().send(browser.subscription, message);
    expect(JSON.parse(decryptPush((received[0] as Received).body, browser))).to.deep.equal({ type: 'challenge', challengeId: 'abc' });
  });

  it('reads 410 and 404 from the push service as a subscription gone (RFC 8030 §7.3)', async () => {
    for (const status of [410, 404]) {
      answer = status;
      const result = await gateway().send(browserSubscription(`${origin}/push/expired`).subscription, { type: 'challenge', challengeId: 'abc' });
      expect(result, String(status)).to.deep.equal({ delivered: false, gone: true });
    }
  });

  it('logs any other failure without the endpoint\'s path or the keys, and never throws', async () => {
    answer = 500;
    const { subscription } = browserSubscription(`${origin}/push/secret-capability-path`);
    expect(await gateway().send(subscription, { type: 'challenge', challengeId: 'abc' })).to.deep.equal({ delivered: false, gone: false });

    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = { ...subscription, endpoint: `https://127.0.0.1:${port}/push/secret-capability-path` };
    expect(await gateway().send(unreachable, { type: 'challenge', challengeId: 'abc' })).to.deep.equal({ delivered: false, gone: false });

    const broken = { ...subscription, keys: { p256dh: 'not-a-point', auth: subscription.keys.auth } };
    expect(await gateway().send(broken, { type: 'challenge', challengeId: 'abc' })).to.deep.equal({ delivered: false, gone: false });

    expect(logs).to.have.length(3);
    const text = logs.join('\n');
    expect(text).to.include(origin).and.include('"status":500').and.include('ECONNREFUSED');
    for (const secret of ['secret-capability-path', subscription.keys.p256dh, subscription.keys.auth, vapid.privateKey]) expect(text).to.not.include(secret);
  });

  it('refuses a VAPID subject that is neither mailto: nor https (RFC 8292 §2.1)', () => {
    for (const subject of ['it-drift@kommune.example', 'http://kommune.example/kontakt']) {
      expect(() => createWebPushGateway({ vapid: { ...vapid, subject }, log: pino({ level: 'silent' }) }), subject).to.throw(/mailto: or https:/);
    }
  });
});
