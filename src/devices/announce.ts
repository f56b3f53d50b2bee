/**
 * How a device learns of a new challenge: a `challenge` notice on its channel, which its event
 * stream carries on whichever node it is open (a desktop client, an app in the foreground), and
 * for an app a push to its subscription, if it has one (an app in the background). The push
 * carries only the challenge id; the app fetches the rest over the signed device API.
 */
import type { Logger } from 'pino';

import type { ChallengeRecord } from '../factors/device/challenge-rules.ts';
import type { DeviceRecord } from '../store/devices.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import { publishDeviceNotice } from './notices.ts';
import type { PushSubscriptions } from './push-subscriptions.ts';

/**
 * Builds the `announce` the device factor kinds call when they send a challenge. Neither path
 * failing stops the login: the waiting page still waits, and a device that polls or reconnects
 * finds the challenge (`GET /challenges`; every event stream starts with the pending ones).
 */
export function createChallengeAnnouncer(deps: { store: ShortLivedStore; push: Pick<PushSubscriptions, 'notify'>; log: Logger }) {
  return async function announceChallenge(challenge: ChallengeRecord, device: DeviceRecord): Promise<void> {
    const published = await publishDeviceNotice(deps.store, device.id, { type: 'challenge', challengeId: challenge.id, expiresAt: new Date(challenge.expiresAt).toISOString() });
    if (!published) deps.log.warn({ deviceId: device.id, challengeId: challenge.id }, 'challenge not announced on the device channel; the device finds it when it polls or reconnects');
    if (device.kind !== 'app') return;
    try {
      await deps.push.notify(device, { type: 'challenge', challengeId: challenge.id });
    } catch (error) {
      deps.log.warn({ err: error, deviceId: device.id, challengeId: challenge.id }, 'push failed; the app finds the challenge when it polls');
    }
  };
}
