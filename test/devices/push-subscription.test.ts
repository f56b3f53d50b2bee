import { createECDH, randomBytes } from 'node:crypto';

import { expect } from 'chai';

import { deriveVapidKeys } from '../../src/crypto/vapid-keys.ts';
import { addUser, createBacking, startIdp, TEST_SECRET_KEY, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { pairingCodeFor, TestDevice } from './device-client.ts';

const unique = (base: string) => `${base}-${randomBytes(3).toString('hex')}`;

/** A subscription as a browser's `PushSubscription.toJSON()` gives it. */
function browserSubscription(endpoint = `https://updates.push.services.mozilla.com/wpush/v2/${randomBytes(24).toString('base64url')}`) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { endpoint, expirationTime: null, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } };
}

describe('device API: push subscription', function () {
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
  beforeEach(async () => node.idp.storage.shortLived.delete('device-pairing-attempts:127.0.0.1'));

  /** A registered and paired device of a new user. */
  async function pairedDevice(kind: 'desktop' | 'app') {
    const user = await addUser(node.idp, { username: unique('medarbejder'), password: 'correct horse battery staple' });
    const code = await pairingCodeFor(node.idp, user, kind);
    const device = new TestDevice(node.url);
    expect((await device.register({ pairingCode: code, kind })).status).to.equal(201);
    expect((await device.pair(code)).status).to.equal(200);
    return { user, device };
  }

  const put = (device: TestDevice, body: unknown, options: { key?: TestDevice['key'] } = {}) =>
    device.signed('push-subscription', { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body), ...options });
  const stored = async (device: TestDevice) => (await node.idp.storage.devices.find(device.deviceId))?.pushSubscription;

  it('publishes the VAPID public key, unsigned, for applicationServerKey', async () => {
    const response = await fetch(`${node.url}/api/device/v1/push/vapid-public-key`);
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ publicKey: deriveVapidKeys(TEST_SECRET_KEY).publicKey });
  });

  it('stores a signed app\'s subscription, replaces it, clears it, and audits each by the push service\'s origin only', async () => {
    const { user, device } = await pairedDevice('app');
    const first = browserSubscription();
    const response = await put(device, first);
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ status: 'subscribed' });
    expect(await stored(device)).to.deep.equal({ endpoint: first.endpoint, keys: first.keys });

    const second = browserSubscription('https://web.push.apple.com/3/device/abc');
    expect((await put(device, second)).status).to.equal(200);
    expect(await stored(device)).to.deep.equal({ endpoint: second.endpoint, keys: second.keys });

    const cleared = await device.signed('push-subscription', { method: 'DELETE' });
    expect(cleared.status).to.equal(200);
    expect(await cleared.json()).to.deep.equal({ status: 'unsubscribed' });
    expect(await stored(device)).to.equal(null);

    const events = await node.idp.storage.audit.list({ userId: user.id });
    const push = events.filter((event) => event.type.startsWith('device.push_')).reverse();
    expect(push.map((event) => [event.type, event.actor, event.details])).to.deep.equal([
      ['device.push_subscribed', `device:${device.deviceId}`, { deviceId: device.deviceId, pushService: 'https://updates.push.services.mozilla.com' }],
      ['device.push_subscribed', `device:${device.deviceId}`, { deviceId: device.deviceId, pushService: 'https://web.push.apple.com' }],
      ['device.push_unsubscribed', `device:${device.deviceId}`, { deviceId: device.deviceId, reason: 'device' }],
    ]);
    expect(JSON.stringify(events)).to.not.include(first.endpoint).and.not.include(first.keys.auth);
  });

  it('refuses a desktop client: it listens on its event stream', async () => {
    const { device } = await pairedDevice('desktop');
    for (const response of [await put(device, browserSubscription()), await device.signed('push-subscription', { method: 'DELETE' })]) {
      expect(response.status).to.equal(400);
      expect(await response.json()).to.deep.include({ error: 'invalid_request', message: 'only an app can have a push subscription; a desktop client listens on /events' });
    }
    expect(await stored(device)).to.equal(null);
  });

  it('refuses bodies that are not a subscription, naming the member', async () => {
    const { device } = await pairedDevice('app');
    const good = browserSubscription();
    const offCurve = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url');
    const cases: Array<[unknown, RegExp]> = [
      ['{not json', /not JSON/],
      [{ endpoint: good.endpoint }, /must have required property 'keys'/],
      [{ ...good, endpoint: 'http://push.example/x' }, /^\/endpoint must match pattern/],
      [{ ...good, endpoint: 'https://' }, /^\/endpoint must be an https URL/],
      [{ ...good, endpoint: 'https://169.254.169.254/latest/meta-data/' }, /^\/endpoint must be at a known push service: its host one of fcm\.googleapis\.com, .* \(PUSH_SERVICE_HOSTS\)$/],
      [{ ...good, endpoint: 'https://fcm.googleapis.com.attacker.example/fcm/send/x' }, /^\/endpoint must be at a known push service/],
      [{ ...good, keys: { ...good.keys, auth: 'short' } }, /^\/keys\/auth must match pattern/],
      [{ ...good, keys: { ...good.keys, p256dh: offCurve } }, /^\/keys\/p256dh must be an uncompressed P-256 public key/],
      [{ ...good, userId: 'someone-else' }, /unknown member "userId"/],
    ];
    for (const [body, message] of cases) {
      const response = await put(device, body);
      expect(response.status, JSON.stringify(body)).to.equal(400);
      const error = (await response.json()) as { error: string; message: string };
      expect(error.error).to.equal('invalid_request');
      expect(error.message).to.match(message);
    }
    expect(await stored(device)).to.equal(null);
  });

  it('takes the push services from PUSH_SERVICE_HOSTS: another list lets its hosts in and keeps the public ones out', async () => {
    const own = await startIdp(backing, { config: { pushServiceHosts: ['push.kommune.example'] } });
    try {
      const user = await addUser(own.idp, { username: unique('medarbejder'), password: 'correct horse battery staple' });
      const code = await pairingCodeFor(own.idp, user, 'app');
      const device = new TestDevice(own.url);
      expect((await device.register({ pairingCode: code, kind: 'app' })).status).to.equal(201);
      expect((await device.pair(code)).status).to.equal(200);
      const ours = await put(device, browserSubscription('https://eu.push.kommune.example/v1/abc'));
      expect(ours.status).to.equal(200);
      const elsewhere = await put(device, browserSubscription());
      expect(elsewhere.status).to.equal(400);
      expect(await elsewhere.json()).to.deep.include({ error: 'invalid_request', message: '/endpoint must be at a known push service: its host one of push.kommune.example or below one, on port 443 (PUSH_SERVICE_HOSTS)' });
      expect((await own.idp.storage.devices.find(device.deviceId))?.pushSubscription?.endpoint).to.equal('https://eu.push.kommune.example/v1/abc');
    } finally {
      await own.stop();
    }
  });

  it('changes only the signing device\'s subscription: another device\'s key does not sign for it', async () => {
    const { device: mine } = await pairedDevice('app');
    const { device: other } = await pairedDevice('app');
    const kept = browserSubscription();
    expect((await put(mine, kept)).status).to.equal(200);

    // The other app's key, with my device id: the signature does not verify with my key.
    const forged = await put(mine, browserSubscription('https://attacker.example/push'), { key: other.key });
    expect(forged.status).to.equal(401);
    expect(((await forged.json()) as { error: string }).error).to.equal('invalid_signature');
    // Its own call changes its own subscription only.
    expect((await put(other, browserSubscription('https://fcm.googleapis.com/fcm/send/other'))).status).to.equal(200);
    expect(await stored(mine)).to.deep.equal({ endpoint: kept.endpoint, keys: kept.keys });
    // Unsigned, nothing at all.
    const unsigned = await mine.send('push-subscription', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(kept) });
    expect(unsigned.status).to.equal(401);
  });

  it('clears a subscription the push service called gone only while it is still the one stored', async () => {
    const { device } = await pairedDevice('app');
    const current = browserSubscription();
    expect((await put(device, current)).status).to.equal(200);
    expect(await node.idp.storage.devices.clearPushSubscription(device.deviceId, 'https://push.example/an-older-one')).to.equal(false);
    expect(await stored(device)).to.deep.equal({ endpoint: current.endpoint, keys: current.keys });
    expect(await node.idp.storage.devices.clearPushSubscription(device.deviceId, current.endpoint)).to.equal(true);
    expect(await stored(device)).to.equal(null);
  });
});
