import { randomBytes } from 'node:crypto';

import { expect } from 'chai';

import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { deviceServiceOf, pairingCodeFor, readEvents, streamEnds, TestDevice } from './device-client.ts';

const unique = (base: string) => `${base}-${randomBytes(3).toString('hex')}`;

interface ErrorBody {
  error: string;
  message: string;
  triesLeft?: number;
  lockedUntil?: string;
}

describe('device API', function () {
  let backing: Backing;
  let node: RunningIdp;

  before(async () => {
    backing = await createBacking();
    node = await startIdp(backing);
  });
  after(async () => {
    await node?.stop();
    await backing?.cleanup();
  });
  // Every test's device sends from 127.0.0.1: give each test the address's whole budget of wrong pairing codes.
  beforeEach(async () => node.idp.storage.shortLived.delete('device-pairing-attempts:127.0.0.1'));

  async function newUser() {
    return addUser(node.idp, { username: unique('medarbejder'), password: 'correct horse battery staple' });
  }

  /** A registered and paired device of a new user. */
  async function pairedDevice(kind: 'desktop' | 'app' = 'desktop') {
    const user = await newUser();
    const code = await pairingCodeFor(node.idp, user, kind);
    const device = new TestDevice(node.url);
    expect((await device.register({ pairingCode: code, kind })).status).to.equal(201);
    expect((await device.pair(code)).status).to.equal(200);
    return { user, device, code };
  }

  const errorOf = async (response: Response) => (await response.json()) as ErrorBody;

  describe('openapi.json', () => {
    it('is an OpenAPI 3.1 document with every call of the contract', async () => {
      const response = await fetch(`${node.url}/api/device/v1/openapi.json`);
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/^application\/json/);
      const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
      expect(document.openapi).to.equal('3.1.0');
      const paths = Object.fromEntries(Object.entries(document.paths).map(([path, item]) => [path, Object.keys(item).filter((key) => key !== 'parameters').sort()]));
      expect(paths).to.deep.equal({
        '/api/device/v1/register': ['post'],
        '/api/device/v1/pair': ['post'],
        '/api/device/v1/events': ['get'],
        '/api/device/v1/challenges': ['get'],
        '/api/device/v1/challenges/{id}': ['get'],
        '/api/device/v1/challenges/{id}/approve': ['post'],
        '/api/device/v1/challenges/{id}/reject': ['post'],
        '/api/device/v1/device': ['delete'],
        '/api/device/v1/push-subscription': ['delete', 'put'],
        '/api/device/v1/push/vapid-public-key': ['get'],
        '/api/device/v1/openapi.json': ['get'],
      });
      expect(document.components.schemas).to.include.keys('RegisterRequest', 'PairRequest', 'ApproveRequest', 'RejectRequest', 'Challenge', 'Error');
    });
  });

  describe('register and pair', () => {
    it('registers a pending device for the code\'s user, pairs it once, and stores only the public key and a PIN hash', async () => {
      const user = await newUser();
      const code = await pairingCodeFor(node.idp, user, 'desktop');
      const device = new TestDevice(node.url);
      const registered = await device.register({ pairingCode: code, kind: 'desktop', name: '  Kontor-pc  ', pin: '2580' });
      expect(registered.status).to.equal(201);
      expect(await registered.json()).to.deep.equal({ deviceId: device.deviceId, status: 'pending' });

      const stored = await node.idp.storage.devices.find(device.deviceId);
      expect(stored).to.include({ userId: user.id, kind: 'desktop', name: 'Kontor-pc', status: 'pending' });
      expect(stored?.publicKey).to.deep.equal(device.key.publicKey);
      expect(stored?.pinHash).to.match(/^\$argon2id\$v=19\$m=8192,t=1,p=1\$/);
      const rows = JSON.stringify(await node.idp.storage.db('pairing_codes').where({ user_id: user.id }));
      expect(rows).to.not.include(code.replace('-', ''));

      const paired = await device.pair(code.toLowerCase());
      expect(paired.status).to.equal(200);
      expect(await paired.json()).to.deep.equal({ deviceId: device.deviceId, status: 'active', userName: user.username });

      const types = (await node.idp.storage.audit.list({ userId: user.id })).map((event) => event.type);
      expect(types).to.include.members(['pairing_code.issued', 'device.registered', 'device.paired']);
    });

    it('consumes a pairing code once: a second device registered with it cannot pair', async () => {
      const user = await newUser();
      const code = await pairingCodeFor(node.idp, user, 'app');
      const [first, second] = [new TestDevice(node.url), new TestDevice(node.url)];
      expect((await first.register({ pairingCode: code, kind: 'app' })).status).to.equal(201);
      expect((await second.register({ pairingCode: code, kind: 'app' })).status).to.equal(201);
      const results = await Promise.all([first.pair(code), second.pair(code)]);
      expect(results.map((r) => r.status).sort()).to.deep.equal([200, 400]);
      const refused = results.find((r) => r.status === 400) as Response;
      expect((await errorOf(refused)).error).to.equal('invalid_pairing_code');
      // And nobody registers with it any more.
      expect((await errorOf(await new TestDevice(node.url).register({ pairingCode: code, kind: 'app' }))).error).to.equal('invalid_pairing_code');
    });

    it('refuses a code of the other kind, a wrong code, a bad proof and a PIN the rule refuses', async () => {
      const user = await newUser();
      const code = await pairingCodeFor(node.idp, user, 'desktop');
      const device = new TestDevice(node.url);
      const cases: Array<[Response, number, string]> = [
        [await device.register({ pairingCode: code, kind: 'app' }), 400, 'invalid_pairing_code'],
        [await device.register({ pairingCode: 'ABCDE-FGHJK', kind: 'desktop' }), 400, 'invalid_pairing_code'],
        [await device.register({ pairingCode: code, kind: 'desktop' }, { proof: 'A'.repeat(86) }), 401, 'invalid_signature'],
        [await device.register({ pairingCode: code, kind: 'desktop', pin: '1234' }), 400, 'pin_rejected'],
        [await device.register({ pairingCode: code, kind: 'desktop', pin: '0000' }), 400, 'pin_rejected'],
        [await device.register({ pairingCode: code, kind: 'desktop', pin: '258091' }), 400, 'pin_rejected'],
      ];
      for (const [response, status, error] of cases) {
        expect(response.status, error).to.equal(status);
        const body = await errorOf(response);
        expect(body.error).to.equal(error);
        expect(body.message).to.be.a('string').with.length.above(0);
      }
      expect(device.deviceId).to.equal('');
    });

    it('answers a body that fails its schema with invalid_request naming the member', async () => {
      const user = await newUser();
      const code = await pairingCodeFor(node.idp, user, 'desktop');
      const device = new TestDevice(node.url);
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ name: 'x'.repeat(61) }, /^\/name must NOT have more than 60 characters$/],
        [{ name: '' }, /^\/name /],
        [{ kind: 'tablet' }, /^\/kind must be one of "desktop", "app"$/],
        [{ publicKey: { ...device.key.publicKey, d: 'secret' } }, /^\/publicKey has an unknown member "d"$/],
        [{ publicKey: { ...device.key.publicKey, crv: 'P-384' } }, /^\/publicKey\/crv must be "P-256"$/],
        [{ extra: 1 }, /^\(body\) has an unknown member "extra"$/],
        [{ pin: 2580 }, /^\/pin must be string$/],
      ];
      for (const [change, message] of cases) {
        const response = await device.register({ pairingCode: code, kind: 'desktop' }, change);
        expect(response.status, JSON.stringify(change)).to.equal(400);
        const body = await errorOf(response);
        expect(body.error).to.equal('invalid_request');
        expect(body.message).to.match(message);
      }
      const missing = await device.send('register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'desktop' }) });
      expect(await errorOf(missing)).to.include({ error: 'invalid_request', message: '(body) must have required property \'pairingCode\'' });
      const notJson = await device.send('register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":' });
      expect(await errorOf(notJson)).to.include({ error: 'invalid_request', message: 'the body is not JSON' });
      const form = await device.send('register', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'kind=desktop' });
      expect(await errorOf(form)).to.include({ error: 'invalid_request' });
      const huge = await device.send('register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(20_000) }) });
      expect(huge.status).to.equal(400);
    });

    it('counts wrong pairing codes per client address: a handful a minute, then 429', async () => {
      const device = new TestDevice(node.url);
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const response = await device.register({ pairingCode: `ABCDE-${'FGHJK'.slice(0, 4)}${'23456789AB'[i % 10]}`, kind: 'desktop' });
        statuses.push(response.status);
        if (response.status === 429) expect((await errorOf(response)).error).to.equal('too_many_requests');
      }
      expect(statuses.slice(0, 10)).to.deep.equal(Array(10).fill(400));
      expect(statuses.slice(10)).to.deep.equal([429, 429]);
      // A right code is refused too while the address's budget is spent.
      const user = await newUser();
      const code = await pairingCodeFor(node.idp, user, 'desktop');
      expect((await new TestDevice(node.url).register({ pairingCode: code, kind: 'desktop' })).status).to.equal(429);
    });
  });

  describe('signed requests', () => {
    it('refuses a replayed request, on any node', async () => {
      const { device } = await pairedDevice();
      const once = device.headers({ method: 'GET', path: '/api/device/v1/events' });
      const opened = await device.send('events', { method: 'GET', headers: once });
      expect(opened.status).to.equal(200);
      await opened.body?.cancel();
      const replayed = await device.send('events', { method: 'GET', headers: once });
      expect(replayed.status).to.equal(401);
      expect(await errorOf(replayed)).to.include({ error: 'replayed' });

      const other = await startIdp(backing);
      try {
        const unregister = device.headers({ method: 'DELETE', path: '/api/device/v1/device' });
        expect((await device.send('device', { method: 'DELETE', headers: unregister })).status).to.equal(200);
        const again = await fetch(`${other.url}/api/device/v1/device`, { method: 'DELETE', headers: unregister });
        expect(await errorOf(again)).to.include({ error: backing.redisUrl ? 'replayed' : 'device_revoked' });
      } finally {
        await other.stop();
      }
    });

    it('refuses a stale or future timestamp', async () => {
      const { device } = await pairedDevice();
      for (const skew of [-121, 121, -3600]) {
        const response = await device.signed('events', { method: 'GET', timestamp: Math.floor(Date.now() / 1000) + skew });
        expect(response.status, String(skew)).to.equal(401);
        expect((await errorOf(response)).error).to.equal('stale_timestamp');
      }
    });

    it('refuses a tampered body, another path or method, another key, and missing headers', async () => {
      const user = await newUser();
      const code = await pairingCodeFor(node.idp, user, 'desktop');
      const device = new TestDevice(node.url);
      await device.register({ pairingCode: code, kind: 'desktop' });
      const body = JSON.stringify({ pairingCode: code });
      const cases = [
        await device.signed('pair', { method: 'POST', body, signed: { body: JSON.stringify({ pairingCode: 'ABCDE-FGHJK' }) } }),
        await device.signed('pair', { method: 'POST', body, signed: { path: '/api/device/v1/device' } }),
        await device.signed('pair', { method: 'POST', body, signed: { method: 'PUT' } }),
        await device.signed('pair', { method: 'POST', body, key: new TestDevice(node.url).key }),
        await device.send('pair', { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
      ];
      for (const response of cases) {
        expect(response.status).to.equal(401);
        expect((await errorOf(response)).error).to.equal('invalid_signature');
      }
      // None of them paired the device; the real one does.
      expect((await device.pair(code)).status).to.equal(200);
    });

    it('refuses an unknown device, and a pending device anything but pairing', async () => {
      const stranger = new TestDevice(node.url);
      stranger.deviceId = '00000000-0000-4000-8000-000000000000';
      expect(await errorOf(await stranger.signed('events', { method: 'GET' }))).to.include({ error: 'unknown_device' });

      const user = await newUser();
      const code = await pairingCodeFor(node.idp, user, 'desktop');
      const pending = new TestDevice(node.url);
      await pending.register({ pairingCode: code, kind: 'desktop' });
      const events = await pending.signed('events', { method: 'GET' });
      expect(events.status).to.equal(401);
      expect(await errorOf(events)).to.include({ error: 'unknown_device', message: 'this device is not paired yet' });
    });

    it('answers unknown paths under the API with JSON, never the HTML page', async () => {
      const response = await fetch(`${node.url}/api/device/v1/nothing-here`, { headers: { accept: 'text/html' } });
      expect(response.status).to.equal(404);
      expect(await errorOf(response)).to.include({ error: 'not_found' });
    });
  });

  describe('event stream', () => {
    it('starts with retry, and ends with closed when the device unregisters; the device is then refused', async () => {
      const { device, user } = await pairedDevice();
      const stream = await device.signed('events', { method: 'GET' });
      expect(stream.status).to.equal(200);
      expect(stream.headers.get('content-type')).to.match(/^text\/event-stream/);
      expect(stream.headers.get('cache-control')).to.equal('no-cache, no-transform');
      expect((await readEvents(stream, (text) => text.includes('\n\n'))).text).to.equal('retry: 3000\n\n');

      const unregistered = await device.signed('device', { method: 'DELETE' });
      expect(unregistered.status).to.equal(200);
      expect(await unregistered.json()).to.deep.equal({ status: 'revoked' });

      const closed = await readEvents(stream, (text) => text.includes('event: closed'));
      expect(closed.text).to.equal('event: closed\ndata: {"reason":"unregistered"}\n\n');
      expect(await streamEnds(stream)).to.equal(true);

      expect(await errorOf(await device.signed('events', { method: 'GET' }))).to.include({ error: 'device_revoked' });
      expect((await node.idp.storage.audit.list({ userId: user.id, type: 'device.unregistered' })).length).to.equal(1);
    });

    it('ends when IT revokes the device', async () => {
      const { device } = await pairedDevice('app');
      const stream = await device.signed('events', { method: 'GET' });
      await readEvents(stream, (text) => text.includes('retry'));
      const revoked = await deviceServiceOf(node.idp).revoke({ deviceId: device.deviceId, context: { actor: 'cli' } });
      expect(revoked).to.deep.include({ changed: true, announced: true });
      const closed = await readEvents(stream, (text) => text.includes('event: closed'));
      expect(closed.text).to.include('data: {"reason":"revoked"}');
      expect(await streamEnds(stream)).to.equal(true);
    });

    it('forwards a challenge published on the device channel', async () => {
      const { device } = await pairedDevice();
      const stream = await device.signed('events', { method: 'GET' });
      await readEvents(stream, (text) => text.includes('retry'));
      const notice = { type: 'challenge', challengeId: 'abc', expiresAt: '2026-11-25T12:03:00.000Z' };
      await node.idp.storage.shortLived.publish(`device.${device.deviceId}`, JSON.stringify(notice));
      const event = await readEvents(stream, (text) => text.includes('event: challenge'));
      expect(event.text).to.equal('event: challenge\ndata: {"challengeId":"abc","expiresAt":"2026-11-25T12:03:00.000Z"}\n\n');
      await stream.body?.cancel();
    });
  });

  describe('PIN check', () => {
    it('counts wrong PINs under the row lock, locks after five, closes the stream, and IT unlocks', async () => {
      const { device, user } = await pairedDevice();
      const service = deviceServiceOf(node.idp);
      const context = { actor: `device:${device.deviceId}` };
      // Every check gets the device as it was read once, before any of them: the ones that find
      // it changed since are judged again, in turn, under its row lock.
      const asRead = (await node.idp.storage.devices.find(device.deviceId))!;
      expect(await service.checkPin({ device: asRead, pin: '2580', context })).to.deep.equal({ ok: true });
      const stream = await device.signed('events', { method: 'GET' });
      await readEvents(stream, (text) => text.includes('retry'));

      const results = await Promise.all(Array.from({ length: 8 }, () => service.checkPin({ device: asRead, pin: '9999', context })));
      const wrong = results.filter((result) => !result.ok && result.reason === 'wrong_pin');
      const locked = results.filter((result) => !result.ok && result.reason === 'locked');
      expect(wrong.map((result) => (result as { triesLeft: number }).triesLeft).sort()).to.deep.equal([1, 2, 3, 4]);
      expect(locked.length).to.equal(4);
      expect(await service.checkPin({ device: asRead, pin: '2580', context })).to.include({ ok: false, reason: 'locked' });

      expect((await readEvents(stream, (text) => text.includes('event: closed'))).text).to.include('{"reason":"locked"}');
      const refused = await device.signed('events', { method: 'GET' });
      expect(refused.status).to.equal(423);
      const body = await errorOf(refused);
      expect(body.error).to.equal('device_locked');
      expect(Date.parse(body.lockedUntil as string) - Date.now()).to.be.within(290_000, 300_000);
      expect((await node.idp.storage.audit.list({ userId: user.id, type: 'device.locked' })).length).to.equal(1);

      expect(await service.unlock({ deviceId: device.deviceId, context: { actor: 'cli' } })).to.deep.include({ changed: true });
      expect(await service.checkPin({ device: (await node.idp.storage.devices.find(device.deviceId))!, pin: '2580', context })).to.deep.equal({ ok: true });
    });
  });

  describe('under a mount prefix', () => {
    let mounted: RunningIdp;
    before(async () => {
      mounted = await startIdp(backing, { mountPath: '/idp' });
    });
    after(async () => mounted?.stop());

    it('verifies the full path the client sent', async () => {
      const user = await addUser(mounted.idp, { username: unique('praefiks'), password: 'correct horse battery staple' });
      const code = await pairingCodeFor(mounted.idp, user, 'desktop');
      const device = new TestDevice(mounted.url);
      expect((await device.register({ pairingCode: code, kind: 'desktop' })).status).to.equal(201);
      const withoutPrefix = await device.signed('pair', { method: 'POST', body: JSON.stringify({ pairingCode: code }), signed: { path: '/api/device/v1/pair' } });
      expect((await errorOf(withoutPrefix)).error).to.equal('invalid_signature');
      expect((await device.pair(code)).status).to.equal(200);
    });
  });
});
