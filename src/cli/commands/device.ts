import type { IdpConfig } from '../../config/index.ts';
import { deriveKey } from '../../crypto/derived-keys.ts';
import { createDeviceService, effectiveStatus, type DeviceService } from '../../devices/service.ts';
import type { DeviceKind, DeviceRecord } from '../../store/devices.ts';
import type { Storage } from '../../store/index.ts';
import { CliError } from '../errors.ts';
import type { Output } from '../output.ts';
import { checkOneOf, printable } from '../validate.ts';
import { findUser } from './user.ts';

/** The audit actor for everything the command does. */
const ACTOR = 'cli';
const KINDS = ['desktop', 'app'] as const satisfies readonly DeviceKind[];

/** What the storage and configuration a device command needs. */
export interface DeviceCommandDeps {
  storage: Pick<Storage, 'devices' | 'pairingCodes' | 'users' | 'audit' | 'shortLived'>;
  config: Pick<IdpConfig, 'secretKey' | 'factorLockout'>;
}

/** What `stepup` shows of a device: never its key or PIN hash. */
export interface DeviceSummary {
  id: string;
  userId: string;
  username: string | null;
  kind: DeviceKind;
  name: string;
  /** As it stands now: a PIN lock that ran out shows as active. */
  status: DeviceRecord['status'];
  createdAt: string;
  pairedAt: string | null;
  lastUsedAt: string | null;
  lockedUntil: string | null;
  failureCount: number;
}

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

function serviceOf(deps: DeviceCommandDeps): DeviceService {
  return createDeviceService({
    devices: deps.storage.devices,
    pairingCodes: deps.storage.pairingCodes,
    users: deps.storage.users,
    audit: deps.storage.audit,
    store: deps.storage.shortLived,
    pairingKey: deriveKey(deps.config.secretKey, 'pairing-code'),
    pinKey: deriveKey(deps.config.secretKey, 'device-pin'),
    limits: deps.config.factorLockout,
    now: Date.now,
  });
}

async function summary(storage: DeviceCommandDeps['storage'], device: DeviceRecord, usernames = new Map<string, string | null>()): Promise<DeviceSummary> {
  if (!usernames.has(device.userId)) usernames.set(device.userId, (await storage.users.findById(device.userId))?.username ?? null);
  const state = effectiveStatus({ device, now: new Date() });
  return {
    id: device.id,
    userId: device.userId,
    username: usernames.get(device.userId) ?? null,
    kind: device.kind,
    name: device.name,
    status: state.status,
    createdAt: device.createdAt.toISOString(),
    pairedAt: iso(device.pairedAt),
    lastUsedAt: iso(device.lastUsedAt),
    lockedUntil: iso(state.lockedUntil),
    failureCount: device.failureCount,
  };
}

const notFound = (id: string) => new CliError('not_found', `there is no device "${printable(id)}"`);

/**
 * Issues a pairing code (`stepup device pair`): IT reads it to an employee it has identified, who
 * types it into the new desktop client or app. Printed once, stored as an HMAC, single use, for
 * 15 minutes, for one kind of device. Audited as `pairing_code.issued`.
 */
export async function issuePairingCode(deps: DeviceCommandDeps, input: { username: string; kind: string | undefined }, out: Output): Promise<{ code: string; expiresAt: string }> {
  if (input.kind === undefined) throw new CliError('invalid_input', '--kind desktop|app is required');
  const kind = checkOneOf(input.kind, KINDS, '--kind');
  const user = await findUser(deps.storage, input.username);
  if (user.status !== 'active') throw new CliError('invalid_input', `user ${user.username} is locked; unlock them first (stepup user unlock)`);
  const { code, expiresAt } = await serviceOf(deps).issuePairingCode({ userId: user.id, username: user.username, kind, context: { actor: ACTOR } });
  out.line(`Pairing code for ${user.username}'s ${kind === 'app' ? 'app' : 'desktop client'}: ${code}`);
  out.line(`It works once, until ${expiresAt.toISOString()}. It is not shown again.`);
  return { code, expiresAt: expiresAt.toISOString() };
}

/** Lists devices (`stepup device list`), of one employee or all; never a key or PIN hash. */
export async function listDevices(deps: DeviceCommandDeps, input: { username: string | undefined }, out: Output): Promise<{ devices: DeviceSummary[] }> {
  const user = input.username === undefined ? undefined : await findUser(deps.storage, input.username);
  const records = await deps.storage.devices.list(user ? { userId: user.id } : {});
  const usernames = new Map<string, string | null>(user ? [[user.id, user.username]] : []);
  const devices: DeviceSummary[] = [];
  for (const record of records) devices.push(await summary(deps.storage, record, usernames));
  // IT looking at who holds which device is itself an administrative act (issue "Step 4").
  await deps.storage.audit.record({ type: 'device.listed', actor: ACTOR, userId: user?.id, details: { count: devices.length, ...(user ? {} : { scope: 'all' }) } });
  if (devices.length === 0) out.line(user ? `${user.username} has no devices.` : 'No devices.');
  for (const device of devices) {
    const facts = [device.kind, device.status, device.lockedUntil ? `locked until ${device.lockedUntil}` : '', `added ${device.createdAt.slice(0, 10)}`, device.lastUsedAt ? `last used ${device.lastUsedAt.slice(0, 16).replace('T', ' ')}` : ''].filter(Boolean);
    out.line(`${device.id}  ${printable(device.username ?? '-', 40)}  ${printable(device.name, 60)}  (${facts.join(', ')})`);
  }
  return { devices };
}

/**
 * Revokes a device (`stepup device revoke`): it can sign nothing any more, and its event streams
 * on every node end at once. Audited as `device.revoked`.
 */
export async function revokeDevice(deps: DeviceCommandDeps, input: { id: string }, out: Output): Promise<{ device: DeviceSummary; changed: boolean }> {
  const result = await serviceOf(deps).revoke({ deviceId: input.id, context: { actor: ACTOR } });
  if (!result) throw notFound(input.id);
  const device = await summary(deps.storage, result.device);
  if (!result.changed) out.line(`Device ${device.id} was already revoked.`);
  else out.line(`Revoked ${device.username ?? '-'}'s ${device.kind} "${printable(device.name, 60)}" (${device.id}).`);
  if (result.changed && !result.announced) out.notice('the short-lived store did not answer; open event streams of the device end at their next heartbeat (within 15 s)');
  return { device, changed: result.changed };
}

/** Lifts a device's PIN lock at once (`stepup device unlock`), clearing its counters. Audited as `device.unlocked`. */
export async function unlockDevice(deps: DeviceCommandDeps, input: { id: string }, out: Output): Promise<{ device: DeviceSummary; changed: boolean }> {
  const result = await serviceOf(deps).unlock({ deviceId: input.id, context: { actor: ACTOR } });
  if (!result) throw notFound(input.id);
  const device = await summary(deps.storage, result.device);
  out.line(result.changed ? `Unlocked device ${device.id}: its wrong-PIN counters are cleared.` : `Device ${device.id} was not locked.`);
  return { device, changed: result.changed };
}
