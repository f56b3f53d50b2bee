/**
 * What travels on a device's short-lived channel (`device.<id>`) between nodes: an event stream
 * open on node A hears of a revocation made on node B, or by `stepup` on IT's machine, at once.
 * The challenge step publishes `challenge` notices on the same channel.
 */
import type { ShortLivedStore } from '../store/short-lived/types.ts';

/** Why a device's event stream is closed for good. */
export type ClosedReason = 'revoked' | 'locked' | 'unregistered';

export type DeviceNotice =
  | { type: 'closed'; reason: ClosedReason }
  | { type: 'challenge'; challengeId: string; expiresAt: string };

/** The channel of one device. */
export function deviceChannel(deviceId: string): string {
  return `device.${deviceId}`;
}

/** Reads a notice from the channel; undefined for anything else. */
export function parseDeviceNotice(message: string): DeviceNotice | undefined {
  try {
    const notice = JSON.parse(message) as Partial<DeviceNotice>;
    if (notice.type === 'closed' && typeof notice.reason === 'string') return notice as DeviceNotice;
    if (notice.type === 'challenge' && typeof notice.challengeId === 'string' && typeof notice.expiresAt === 'string') return notice as DeviceNotice;
  } catch {
    // Not ours: ignored below.
  }
  return undefined;
}

/**
 * Tells every node about a device. Resolves false when the store cannot be reached; a stream
 * then still ends at its next heartbeat, which reads the device's status from the database.
 */
export async function publishDeviceNotice(store: ShortLivedStore, deviceId: string, notice: DeviceNotice): Promise<boolean> {
  try {
    await store.publish(deviceChannel(deviceId), JSON.stringify(notice));
    return true;
  } catch {
    return false;
  }
}
