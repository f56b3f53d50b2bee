import { createECDH } from 'node:crypto';

import { expect } from 'chai';

import type { AuditEvent, AuditLog } from '../store/audit.ts';
import type { DevicePushSubscription, DeviceRecord } from '../store/devices.ts';
import type { PushGateway, PushMessage } from './push-gateway.ts';
import { checkPushSubscription, createPushSubscriptions } from './push-subscriptions.ts';

const p256dh = () => {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return ecdh.getPublicKey().toString('base64url');
};
const serviceHosts = ['push.example', 'fcm.googleapis.com', 'notify.windows.com', 'push.apple.com'];
const subscription = (endpoint = 'https://push.example/v2/capability'): DevicePushSubscription => ({ endpoint, keys: { p256dh: p256dh(), auth: 'A'.repeat(22) } });

const app = (pushSubscription: DevicePushSubscription | null): DeviceRecord => ({
  id: '6f1d6f0e-2a2b-4c4d-8e8f-000000000001', userId: 'user-1', kind: 'app', name: 'Telefon', publicKey: { kty: 'EC', crv: 'P-256', x: '', y: '' },
  pinHash: '', status: 'active', pairingCodeId: null, pushSubscription, failureCount: 0, lockCount: 0, lockedUntil: null,
  createdAt: new Date(0), pairedAt: new Date(0), lastUsedAt: null, revokedAt: null,
});

/** Fakes that remember what they were asked. */
function fakes(answer: { delivered: boolean; gone: boolean }) {
  const sent: Array<[DevicePushSubscription, PushMessage]> = [];
  const cleared: Array<[string, string | undefined]> = [];
  const audited: AuditEvent[] = [];
  const gateway: PushGateway = { name: 'fake', send: async (to, message) => (sent.push([to, message]), answer) };
  const audit: AuditLog = { record: async (event) => void audited.push(event), list: async () => [] };
  const devices = {
    setPushSubscription: async () => true,
    clearPushSubscription: async (id: string, endpoint?: string) => (cleared.push([id, endpoint]), true),
  };
  return { sent, cleared, audited, push: createPushSubscriptions({ devices, audit, gateway }) };
}

describe('push subscriptions', () => {
  describe('checkPushSubscription', () => {
    it('accepts an https endpoint at a push service, or below one, with a P-256 key', () => {
      for (const endpoint of ['https://push.example/v2/capability', 'https://fcm.googleapis.com/fcm/send/x', 'https://wns2-sg2p.notify.windows.com/w/?token=x', 'https://web.push.apple.com:443/x']) {
        expect(checkPushSubscription(subscription(endpoint), { serviceHosts }), endpoint).to.deep.equal({ ok: true });
      }
    });

    it('refuses an endpoint at any other host or port, naming the rule (no SSRF through the IdP\'s posts)', () => {
      const endpoints = [
        'https://attacker.example/push', 'https://127.0.0.1/push', 'https://[::1]/push', 'https://localhost/push', 'https://10.0.0.5/push',
        'https://evilnotify.windows.com/x', 'https://notify.windows.com.evil.example/x', 'https://fcm.googleapis.com.evil.example/x',
        'https://googleapis.com/x', 'https://fcm.googleapis.com:8443/x', 'https://fcm.googleapis.com./x',
      ];
      for (const endpoint of endpoints) {
        const checked = checkPushSubscription(subscription(endpoint), { serviceHosts });
        expect(checked, endpoint).to.deep.equal({ ok: false, message: '/endpoint must be at a known push service: its host one of push.example, fcm.googleapis.com, notify.windows.com, push.apple.com or below one, on port 443 (PUSH_SERVICE_HOSTS)' });
      }
    });

    it('refuses an endpoint that is not https (RFC 8030 §8) and a key that is not a point on P-256', () => {
      for (const endpoint of ['http://push.example/x', 'https://user:pw@push.example/x', 'not a url']) {
        expect(checkPushSubscription(subscription(endpoint), { serviceHosts }), endpoint).to.deep.equal({ ok: false, message: '/endpoint must be an https URL' });
      }
      const offCurve = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url');
      const compressed = Buffer.concat([Buffer.from([2]), Buffer.alloc(64, 1)]).toString('base64url');
      for (const key of [offCurve, compressed]) {
        const checked = checkPushSubscription({ ...subscription(), keys: { p256dh: key, auth: 'A'.repeat(22) } }, { serviceHosts });
        expect(checked.ok).to.equal(false);
        expect(checked).to.have.property('message').that.match(/^\/keys\/p256dh/);
      }
    });
  });

  describe('notify', () => {
    it('sends nothing to a device without a subscription', async () => {
      const { sent, push } = fakes({ delivered: true, gone: false });
      expect(await push.notify(app(null), { type: 'challenge', challengeId: 'c1' })).to.equal('no_subscription');
      expect(sent).to.deep.equal([]);
    });

    it('sends the message to the device\'s subscription', async () => {
      const { sent, cleared, push } = fakes({ delivered: true, gone: false });
      const stored = subscription();
      expect(await push.notify(app(stored), { type: 'challenge', challengeId: 'c1' })).to.equal('delivered');
      expect(sent).to.deep.equal([[stored, { type: 'challenge', challengeId: 'c1' }]]);
      expect(cleared).to.deep.equal([]);
    });

    it('clears a subscription the push service calls gone, only if it is still that endpoint, and audits it by origin', async () => {
      const { cleared, audited, push } = fakes({ delivered: false, gone: true });
      const device = app(subscription('https://push.example/v2/capability'));
      expect(await push.notify(device, { type: 'challenge', challengeId: 'c1' })).to.equal('gone');
      expect(cleared).to.deep.equal([[device.id, 'https://push.example/v2/capability']]);
      expect(audited).to.have.length(1);
      expect(audited[0]).to.deep.include({ type: 'device.push_unsubscribed', actor: 'system', userId: 'user-1' });
      expect(audited[0]?.details).to.deep.equal({ deviceId: device.id, reason: 'gone', pushService: 'https://push.example' });
    });

    it('keeps the subscription when a push is only not delivered this time', async () => {
      const { cleared, push } = fakes({ delivered: false, gone: false });
      expect(await push.notify(app(subscription()), { type: 'challenge', challengeId: 'c1' })).to.equal('not_delivered');
      expect(cleared).to.deep.equal([]);
    });
  });
});
