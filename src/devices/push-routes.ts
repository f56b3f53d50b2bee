/**
 * The device API's push routes, added to the device router through its `extensions`:
 *
 * | route                          | steps                                                                                    |
 * | ------------------------------ | ---------------------------------------------------------------------------------------- |
 * | GET    push/vapid-public-key   | showVapidPublicKey                                                                       |
 * | PUT    push-subscription       | readRawBody, signedBy(active), onlyApps, jsonBody(PushSubscriptionRequest), checkKeys, subscribe |
 * | DELETE push-subscription       | readRawBody, signedBy(active, locked), onlyApps, unsubscribe                             |
 *
 * The signature binds the call to the device that signed it: a device changes only its own
 * subscription, and there is no device id in the path or body to point elsewhere.
 */
import type Router from '@koa/router';
import type { Context, Next } from 'koa';

import { IdpError } from '../http/errors.ts';
import { checkPushSubscription, type PushSubscriptions } from './push-subscriptions.ts';
import { actContext, bodyOf, signingDevice, type DeviceApiSteps } from './router.ts';

/** Builds the `extensions` entry that adds the push routes. */
export function pushRoutes(deps: {
  subscriptions: Pick<PushSubscriptions, 'subscribe' | 'unsubscribe'>;
  /** base64url of the uncompressed VAPID public key (`crypto/vapid-keys.ts`). */
  vapidPublicKey: string;
  /** `PUSH_SERVICE_HOSTS`: the hosts a subscription's endpoint may be at. */
  serviceHosts: readonly string[];
}): (router: Router, steps: DeviceApiSteps) => void {
  function showVapidPublicKey(ctx: Context) {
    ctx.body = { publicKey: deps.vapidPublicKey };
  }

  // Only an app is woken by push; a desktop client holds its event stream open.
  async function onlyApps(ctx: Context, next: Next) {
    if (signingDevice(ctx).kind !== 'app') throw new IdpError('invalid_request', { explanation: 'only an app can have a push subscription; a desktop client listens on /events' });
    await next();
  }

  async function checkKeys(ctx: Context, next: Next) {
    const checked = checkPushSubscription(bodyOf(ctx, 'PushSubscriptionRequest'), { serviceHosts: deps.serviceHosts });
    if (!checked.ok) throw new IdpError('invalid_request', { explanation: checked.message });
    await next();
  }

  async function subscribe(ctx: Context) {
    const device = signingDevice(ctx);
    await deps.subscriptions.subscribe({ device, subscription: bodyOf(ctx, 'PushSubscriptionRequest'), context: actContext(ctx, `device:${device.id}`) });
    ctx.body = { status: 'subscribed' };
  }

  async function unsubscribe(ctx: Context) {
    const device = signingDevice(ctx);
    await deps.subscriptions.unsubscribe({ device, context: actContext(ctx, `device:${device.id}`) });
    ctx.body = { status: 'unsubscribed' };
  }

  return function addPushRoutes(router, { readRawBody, jsonBody, signedBy }) {
    router.get('/push/vapid-public-key', showVapidPublicKey);
    router.put('/push-subscription', readRawBody, signedBy(['active']), onlyApps, jsonBody('PushSubscriptionRequest'), checkKeys, subscribe);
    // A locked app may still withdraw its subscription, as it may unregister.
    router.delete('/push-subscription', readRawBody, signedBy(['active', 'locked']), onlyApps, unsubscribe);
  };
}
