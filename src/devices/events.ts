/**
 * A device's event stream (Server-Sent Events, WHATWG HTML §9.2): `challenge` events as logins
 * ask the device, a `: heartbeat` comment every 15 s so proxies keep the connection and the
 * client notices a dead one, and `closed` when the device is revoked, unregistered or locked,
 * after which the stream ends. The stream listens on the device's short-lived channel
 * (`notices.ts`), so a revocation on any node, or by `stepup`, ends it at once; each heartbeat
 * also reads the device's status, in case a notice was lost while the store was away.
 */
import type { Context } from 'koa';

import { requestState } from '../http/context.ts';
import { openEventStream } from '../http/event-stream.ts';
import type { DeviceRecord, DeviceRepository } from '../store/devices.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import { deviceChannel, parseDeviceNotice, type ClosedReason, type DeviceNotice } from './notices.ts';
import { effectiveStatus } from './service.ts';


/** A challenge as the stream announces it. */
export type ChallengeAnnouncement = Extract<DeviceNotice, { type: 'challenge' }>;

export interface EventStreamDeps {
  store: ShortLivedStore;
  devices: Pick<DeviceRepository, 'find'>;
  /** The clock, epoch ms. */
  now: () => number;
  /** Defaults to 15 s. */
  heartbeatMs?: number;
  /** The device's pending challenges, sent first on connect (the challenge step supplies them). Defaults to none. */
  pendingChallenges?: (device: DeviceRecord) => Promise<ChallengeAnnouncement[]>;
}

export interface EventStreams {
  /** Answers the request with the device's event stream. */
  open(ctx: Context, device: DeviceRecord): Promise<void>;
  /** Ends every open stream (the instance is closing); clients reconnect elsewhere. */
  closeAll(): void;
}


/** The event streams of one IdP instance. */
export function createEventStreams(deps: EventStreamDeps): EventStreams {
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const open = new Set<() => void>();

  return {
    async open(ctx, device) {
      const checkStatus = async () => {
        const current = await deps.devices.find(device.id).catch(() => device);
        const { status } = effectiveStatus({ device: current ?? { status: 'revoked', lockedUntil: null }, now: new Date(deps.now()) });
        if (status === 'revoked' || status === 'locked') close(status);
      };
      const stream = openEventStream(ctx, { heartbeatMs, onHeartbeat: () => void checkStatus() });
      const close = (reason: ClosedReason) => {
        stream.send('closed', { reason });
        stream.end();
      };
      const onNotice = (message: string) => {
        const notice = parseDeviceNotice(message);
        if (notice?.type === 'closed') close(notice.reason);
        else if (notice?.type === 'challenge') stream.send('challenge', { challengeId: notice.challengeId, expiresAt: notice.expiresAt });
      };
      open.add(stream.end);

      // Subscribed before the pending challenges are read, so none is missed between the two. Without
      // the store the stream ends at once and the client reconnects after `retry`.
      let unsubscribe: () => Promise<void>;
      try {
        unsubscribe = await deps.store.subscribe(deviceChannel(device.id), onNotice);
      } catch (error) {
        requestState(ctx).log.warn({ err: error }, 'cannot subscribe to the device channel; the stream ends and the device reconnects');
        stream.end();
        return;
      }
      stream.closed.addEventListener('abort', () => {
        open.delete(stream.end);
        void unsubscribe().catch(() => {});
      });
      if (stream.closed.aborted) void unsubscribe().catch(() => {});
      for (const challenge of (await deps.pendingChallenges?.(device)) ?? []) {
        stream.send('challenge', { challengeId: challenge.challengeId, expiresAt: challenge.expiresAt });
      }
    },
    closeAll() {
      for (const end of [...open]) end();
    },
  };
}
