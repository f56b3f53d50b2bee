import type { Logger } from 'pino';

import type { DevicePushSubscription } from '../store/devices.ts';

/** An app's Web Push subscription (the PushSubscription JSON a browser or app hands over, W3C Push API), as stored with the device. */
export type PushSubscription = DevicePushSubscription;

/**
 * What a push carries: only which challenge to fetch. No code, number or name travels through
 * the push service; the app fetches the challenge over the signed device API.
 */
export interface PushMessage {
  type: 'challenge';
  challengeId: string;
}

/** How an app learns of a challenge while it is not holding the event stream. */
export interface PushGateway {
  readonly name: string;
  /** Sends one message; resolves false when the push service refused the subscription for good (gone). */
  send(subscription: PushSubscription, message: PushMessage): Promise<{ delivered: boolean; gone: boolean }>;
}

/** The development gateway: logs that a push would be sent (never the subscription's keys) and delivers nothing. */
export function createLoggingPushGateway(log: Logger): PushGateway {
  return {
    name: 'log',
    async send(subscription, message) {
      log.info({ push: { origin: new URL(subscription.endpoint).origin, type: message.type, challengeId: message.challengeId } }, 'push not sent (development gateway)');
      return { delivered: false, gone: false };
    },
  };
}
