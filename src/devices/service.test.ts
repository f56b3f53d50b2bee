import { expect } from 'chai';

import { hashPassword } from '../auth/password-hash.ts';
import type { AuditEvent, AuditLog } from '../store/audit.ts';
import type { DeviceChanges, DeviceCounters, DeviceRecord, DeviceRepository } from '../store/devices.ts';
import { createMemoryStore } from '../store/short-lived/memory.ts';
import { hashPin } from './pin-hash.ts';
import { createDeviceService, effectiveStatus } from './service.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const LIMITS = { maxFailures: 5, baseSeconds: 300, maxSeconds: 86400 };
const PIN_KEY = Buffer.alloc(32, 7);

describe('effectiveStatus', () => {
  it('keeps a running lock, and reads a lock that ran out as active', () => {
    const until = new Date(NOW + 1000);
    expect(effectiveStatus({ device: { status: 'locked', lockedUntil: until }, now: new Date(NOW) })).to.deep.equal({ status: 'locked', lockedUntil: until });
    expect(effectiveStatus({ device: { status: 'locked', lockedUntil: until }, now: new Date(NOW + 1000) })).to.deep.equal({ status: 'active' });
    expect(effectiveStatus({ device: { status: 'revoked', lockedUntil: until }, now: new Date(NOW) })).to.deep.equal({ status: 'revoked' });
  });
});

describe('checkPin', () => {
  /** One device in memory behind the repository's row lock, and what was audited and published. */
  async function setUp(status: DeviceRecord['status'] = 'active', pinHash?: string) {
    let clock = NOW;
    const device: DeviceRecord = {
      id: '6f1c2a4e-8d0b-4c55-9a7e-3b2d1f0e9c8a', userId: 'u1', kind: 'desktop', name: 'pc', publicKey: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
      pinHash: pinHash ?? (await hashPin('2580', PIN_KEY)), status, pairingCodeId: null, pushSubscription: null, failureCount: 0, lockCount: 0,
      lockedUntil: null, createdAt: new Date(NOW), pairedAt: new Date(NOW), lastUsedAt: null, revokedAt: null,
    };
    const audited: AuditEvent[] = [];
    const store = createMemoryStore();
    const published: string[] = [];
    await store.subscribe(`device.${device.id}`, (message) => published.push(message));
    const locked: string[] = [];
    const devices = {
      async updateIfUnchanged(id: string, expected: DeviceCounters, changes: DeviceChanges) {
        const same = id === device.id && expected.status === device.status && expected.failureCount === device.failureCount
          && expected.lockCount === device.lockCount && expected.lockedUntil?.getTime() === device.lockedUntil?.getTime();
        if (same) Object.assign(device, changes);
        return same;
      },
      async withDeviceLocked(id: string, work: (d: DeviceRecord | undefined, update: (c: DeviceChanges) => Promise<void>) => Promise<unknown>) {
        locked.push(id);
        return work(id === device.id ? { ...device } : undefined, async (changes) => void Object.assign(device, changes));
      },
    } as unknown as DeviceRepository;
    const audit: AuditLog = { record: async (event) => void audited.push(event), list: async () => [] };
    const service = createDeviceService({
      devices, pairingCodes: {} as never, users: {} as never, audit, store, pairingKey: Buffer.alloc(32), pinKey: PIN_KEY, limits: LIMITS, now: () => clock,
    });
    /** A check of the device as it stands now, or as a request read it earlier (`asRead`). */
    const check = (pin: string, asRead: DeviceRecord = { ...device }) => service.checkPin({ device: asRead, pin, context: { actor: 'device' } });
    return { device, audited, published, locked, check, tick: (ms: number) => (clock += ms), close: () => store.close() };
  }

  it('accepts the right PIN and clears the count', async () => {
    const { device, check, close } = await setUp();
    device.failureCount = 3;
    expect(await check('2580')).to.deep.equal({ ok: true });
    expect(device).to.include({ failureCount: 0, lockCount: 0, lockedUntil: null, status: 'active' });
    expect(device.lastUsedAt?.getTime()).to.equal(NOW);
    await close();
  });

  it('replaces a PIN hash stored unkeyed at the password parameters with a keyed one, after a right PIN only', async () => {
    const unkeyed = await hashPassword('2580', { memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const { device, check, close } = await setUp('active', unkeyed);
    expect(await check('1357')).to.deep.include({ ok: false, reason: 'wrong_pin' });
    expect(device.pinHash).to.equal(unkeyed);
    expect(await check('2580')).to.deep.equal({ ok: true });
    expect(device.pinHash).to.match(/^\$argon2id\$v=19\$m=8192,t=1,p=1\$/);
    expect(await check('2580')).to.deep.equal({ ok: true });
    await close();
  });

  it('refuses the right PIN checked with another key: the hash is useless without it', async () => {
    const { check, close } = await setUp('active', await hashPin('2580', Buffer.alloc(32, 8)));
    expect(await check('2580')).to.deep.include({ ok: false, reason: 'wrong_pin' });
    await close();
  });

  it('counts wrong PINs with the tries left, and the fifth locks for 5 minutes, audited and announced', async () => {
    const { device, audited, published, check, close } = await setUp();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await check('9999'));
    expect(results.slice(0, 4)).to.deep.equal([4, 3, 2, 1].map((triesLeft) => ({ ok: false, reason: 'wrong_pin', triesLeft })));
    expect(results[4]).to.deep.equal({ ok: false, reason: 'locked', lockedUntil: new Date(NOW + 300_000) });
    expect(device).to.include({ status: 'locked', failureCount: 0, lockCount: 1 });
    expect(audited.map((event) => event.type)).to.deep.equal(['device.locked']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(published).to.deep.equal(['{"type":"closed","reason":"locked"}']);
    // While locked even the right PIN is refused, and nothing more is counted.
    expect(await check('2580')).to.deep.equal({ ok: false, reason: 'locked', lockedUntil: new Date(NOW + 300_000) });
    await close();
  });

  it('after a lock ran out counts again, and the next lock lasts twice as long', async () => {
    const { device, check, tick, close } = await setUp();
    for (let i = 0; i < 5; i++) await check('9999');
    tick(300_000);
    expect(await check('9999')).to.deep.equal({ ok: false, reason: 'wrong_pin', triesLeft: 4 });
    expect(device.status).to.equal('active');
    for (let i = 0; i < 3; i++) await check('9999');
    expect(await check('9999')).to.deep.equal({ ok: false, reason: 'locked', lockedUntil: new Date(NOW + 300_000 + 600_000) });
    await close();
  });

  it('checks nothing on a device that is not in use', async () => {
    for (const status of ['pending', 'revoked'] as const) {
      const { device, check, close } = await setUp(status);
      expect(await check('2580')).to.deep.equal({ ok: false, reason: 'unusable' });
      expect(device.failureCount).to.equal(0);
      await close();
    }
    const { device, check, close } = await setUp();
    expect(await check('2580', { ...device, status: 'revoked' })).to.deep.equal({ ok: false, reason: 'unusable' });
    await close();
  });

  it('writes in one statement when nothing changed since the device was read, under the row lock only when something did', async () => {
    const { device, locked, check, close } = await setUp();
    expect(await check('9999')).to.deep.equal({ ok: false, reason: 'wrong_pin', triesLeft: 4 });
    expect(locked).to.deep.equal([]);
    const asRead = { ...device };
    for (let i = 0; i < 3; i++) await check('9999');
    // Read before three more failures: judged again on what they wrote, so this is the fifth and locks.
    expect(await check('9999', asRead)).to.deep.include({ ok: false, reason: 'locked' });
    expect(locked).to.deep.equal([device.id]);
    expect(device).to.include({ status: 'locked', failureCount: 0, lockCount: 1 });
    // The right PIN, judged on a read from before the lock, is refused once judged on the lock.
    expect(await check('2580', asRead)).to.deep.include({ ok: false, reason: 'locked' });
    expect(device).to.include({ status: 'locked', lockCount: 1 });
    await close();
  });
});
