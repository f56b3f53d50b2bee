/**
 * An app's push subscription, free of HTTP: the check of what an app hands over, storing and
 * clearing it (audited), and telling an app by push that a challenge waits for it. The push
 * carries only the challenge's id (`push-gateway.ts`); the app fetches the challenge over the
 * signed device API, so a push service or a forged push learns and gives nothing.
 */
import { createPublicKey } from 'node:crypto';

import type { AuditLog } from '../store/audit.ts';
import type { DevicePushSubscription, DeviceRecord, DeviceRepository } from '../store/devices.ts';
import type { PushGateway, PushMessage } from './push-gateway.ts';
import type { ActContext } from '../store/audit.ts';

/** The outcome of {@link checkPushSubscription}: a sentence naming the member at fault when it fails. */
export type PushSubscriptionCheck = { ok: true } | { ok: false; message: string };

/** Options of {@link checkPushSubscription}. */
export interface PushSubscriptionCheckOptions {
  /** The push services' host names (`PUSH_SERVICE_HOSTS`): the endpoint's host is one of them or below one. */
  serviceHosts: readonly string[];
}

/**
 * Checks what the schema cannot: the endpoint is an https URL (RFC 8030 §8: push messages travel
 * over TLS only) at a known push service on the https port, and `p256dh` is a point on P-256
 * (RFC 8291 §2: the user agent's ECDH key), so a bad subscription is refused when it is handed
 * over rather than at the first login it fails. The IdP posts to the endpoint; without the host
 * rule, a paired app could make it post to any host it reaches, inside the network too (SSRF).
 */
export function checkPushSubscription(subscription: DevicePushSubscription, { serviceHosts }: PushSubscriptionCheckOptions): PushSubscriptionCheck {
  const endpoint = URL.canParse(subscription.endpoint) ? new URL(subscription.endpoint) : undefined;
  if (endpoint?.protocol !== 'https:' || endpoint.username || endpoint.password) {
    return { ok: false, message: '/endpoint must be an https URL' };
  }
  if (endpoint.port || !isPushServiceHost(endpoint.hostname, serviceHosts)) {
    return { ok: false, message: `/endpoint must be at a known push service: its host one of ${serviceHosts.join(', ')} or below one, on port 443 (PUSH_SERVICE_HOSTS)` };
  }
  const point = Buffer.from(subscription.keys.p256dh, 'base64url');
  try {
    if (point.length !== 65 || point[0] !== 0x04) throw new Error('not an uncompressed point');
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
  } catch {
    return { ok: false, message: '/keys/p256dh must be an uncompressed P-256 public key (65 bytes, base64url)' };
  }
  return { ok: true };
}

/**
 * Whether a host is one of the push services' or below one, label by label: `notify.windows.com`
 * covers `wns2-sg2p.notify.windows.com`, not `evilnotify.windows.com` nor `notify.windows.com.evil.example`.
 */
function isPushServiceHost(hostname: string, serviceHosts: readonly string[]): boolean {
  return serviceHosts.some((host) => hostname === host || hostname.endsWith(`.${host}`));
}

/** What a push to a device came to. */
export type PushOutcome = 'delivered' | 'not_delivered' | 'gone' | 'no_subscription';

export interface PushSubscriptions {
  /** Stores an app's subscription (audited `device.push_subscribed` with the push service's origin). */
  subscribe(input: { device: DeviceRecord; subscription: DevicePushSubscription; context: ActContext }): Promise<void>;
  /** Clears an app's subscription (audited `device.push_unsubscribed`); false when it had none. */
  unsubscribe(input: { device: DeviceRecord; context: ActContext }): Promise<boolean>;
  /**
   * Pushes a message to a device that has a subscription. When the push service says the
   * subscription is gone, it is cleared (unless the app subscribed anew meanwhile) and audited.
   * A refusing or unreachable push service resolves, never throws: a login goes on whether or not
   * the push arrived (only a failing database rejects).
   */
  notify(device: DeviceRecord, message: PushMessage): Promise<PushOutcome>;
}

/** Builds the {@link PushSubscriptions} of one IdP instance. */
export function createPushSubscriptions(deps: {
  devices: Pick<DeviceRepository, 'setPushSubscription' | 'clearPushSubscription'>;
  audit: AuditLog;
  gateway: PushGateway;
}): PushSubscriptions {
  const record = (type: 'device.push_subscribed' | 'device.push_unsubscribed', device: DeviceRecord, context: ActContext, details: Record<string, unknown>) =>
    deps.audit.record({ type, actor: context.actor, userId: device.userId, ip: context.ip, requestId: context.requestId, details: { deviceId: device.id, ...details } });
  // The endpoint's path is a capability for pushing to the app: the audit log keeps only the origin.
  const originOf = (subscription: DevicePushSubscription) => new URL(subscription.endpoint).origin;

  return {
    async subscribe({ device, subscription, context }) {
      await deps.devices.setPushSubscription(device.id, { endpoint: subscription.endpoint, keys: { p256dh: subscription.keys.p256dh, auth: subscription.keys.auth } });
      await record('device.push_subscribed', device, context, { pushService: originOf(subscription) });
    },
    async unsubscribe({ device, context }) {
      const cleared = await deps.devices.clearPushSubscription(device.id);
      if (cleared) await record('device.push_unsubscribed', device, context, { reason: 'device' });
      return cleared;
    },
    async notify(device, message) {
      const subscription = device.pushSubscription;
      if (!subscription) return 'no_subscription';
      const sent = await deps.gateway.send(subscription, message);
      if (sent.gone) {
        const cleared = await deps.devices.clearPushSubscription(device.id, subscription.endpoint);
        if (cleared) await record('device.push_unsubscribed', device, { actor: 'system' }, { reason: 'gone', pushService: originOf(subscription) });
        return 'gone';
      }
      return sent.delivered ? 'delivered' : 'not_delivered';
    },
  };
}
