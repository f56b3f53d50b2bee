/**
 * A device's event stream (Server-Sent Events, WHATWG HTML §9.2): `challenge` events as logins
 * ask the device, a `: heartbeat` comment every 15 s so proxies keep the connection and the
 * client notices a dead one, and `closed` when the device is revoked, unregistered or locked,
 * after which the stream ends. The stream listens on the device's short-lived channel
 * (`notices.ts`), so a revocation on any node, or by `stepup`, ends it at once; each heartbeat
 * also reads the device's status, in case a notice was lost while the store was away.
 */
import { PassThrough } from 'node:stream';

import type { Context } from 'koa';

import { IdpError } from '../http/errors.ts';
import type { DeviceRecord, DeviceRepository } from '../store/devices.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import { deviceChannel, parseDeviceNotice, type ClosedReason, type DeviceNotice } from './notices.ts';
import { effectiveStatus } from './service.ts';

/** How long a client waits before reconnecting (the stream's `retry` field). */
export const RETRY_MS = 3000;

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

const eventText = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** The event streams of one IdP instance. */
export function createEventStreams(deps: EventStreamDeps): EventStreams {
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const open = new Set<() => void>();

  return {
    async open(ctx, device) {
      const stream = new PassThrough();
      let ended = false;
      let unsubscribe: (() => Promise<void>) | undefined;
      const end = (reason?: ClosedReason) => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        open.delete(endQuietly);
        void unsubscribe?.().catch(() => {});
        if (reason) stream.write(eventText('closed', { reason }));
        stream.end();
      };
      const endQuietly = () => end();
      const onNotice = (message: string) => {
        const notice = parseDeviceNotice(message);
        if (notice?.type === 'closed') end(notice.reason);
        else if (notice?.type === 'challenge' && !ended) stream.write(eventText('challenge', { challengeId: notice.challengeId, expiresAt: notice.expiresAt }));
      };
      const checkStatus = async () => {
        const current = await deps.devices.find(device.id).catch(() => device);
        const { status } = effectiveStatus({ device: current ?? { status: 'revoked', lockedUntil: null }, now: new Date(deps.now()) });
        if (status === 'revoked') end('revoked');
        else if (status === 'locked') end('locked');
      };

      const heartbeat = setInterval(() => {
        stream.write(': heartbeat\n\n');
        void checkStatus();
      }, heartbeatMs);
      heartbeat.unref();
      // Subscribed before anything is sent, so nothing published meanwhile is missed.
      try {
        unsubscribe = await deps.store.subscribe(deviceChannel(device.id), onNotice);
      } catch (error) {
        end();
        throw new IdpError('service_unavailable', { detail: 'cannot subscribe to the device channel', cause: error });
      }
      // A notice that ended the stream while the subscription was being made could not unsubscribe it.
      if (ended) void unsubscribe().catch(() => {});
      open.add(endQuietly);
      ctx.res.on('close', endQuietly);
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);

      ctx.status = 200;
      ctx.type = 'text/event-stream';
      ctx.set('Cache-Control', 'no-cache, no-transform');
      // nginx buffers responses unless told not to.
      ctx.set('X-Accel-Buffering', 'no');
      ctx.body = stream;
      stream.write(`retry: ${RETRY_MS}\n\n`);
      for (const challenge of (await deps.pendingChallenges?.(device)) ?? []) {
        stream.write(eventText('challenge', { challengeId: challenge.challengeId, expiresAt: challenge.expiresAt }));
      }
    },
    closeAll() {
      for (const end of [...open]) end();
    },
  };
}
