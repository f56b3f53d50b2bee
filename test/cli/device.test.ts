import { randomBytes } from 'node:crypto';

import { expect } from 'chai';

import { deriveKey } from '../../src/crypto/derived-keys.ts';
import { hashPairingCode, normalisePairingCode } from '../../src/devices/pairing-code.ts';
import { createDeviceRepository } from '../../src/store/devices.ts';
import { createRedisStore } from '../../src/store/short-lived/redis.ts';
import { createCliBacking, SECRET_KEY, type CliBacking } from './run.ts';

const unique = (base: string) => `${base}-${randomBytes(3).toString('hex')}`;

/** A device row as registration leaves it (the device API's own tests register over HTTP). */
const publicKey = () => ({ kty: 'EC' as const, crv: 'P-256' as const, x: randomBytes(32).toString('base64url'), y: randomBytes(32).toString('base64url') });

describe('stepup device', function () {
  let backing: CliBacking;

  before(async () => {
    backing = await createCliBacking();
    await backing.migrate();
  });
  after(async () => backing?.cleanup());

  async function addUser() {
    const username = unique('medarbejder');
    const added = await backing.run(['--json', 'user', 'add', username]);
    expect(added.code, added.stderr).to.equal(0);
    return { username, id: (JSON.parse(added.stdout) as { user: { id: string } }).user.id };
  }

  /** A device of `userId` in `status`, with a lock if given. */
  async function addDevice(userId: string, changes: { status?: 'active' | 'locked'; lockedUntil?: Date; failureCount?: number; lockCount?: number } = {}) {
    return backing.inspect(async (db) => {
      const [code] = (await db('pairing_codes').insert({ user_id: userId, kind: 'desktop', code_hash: randomBytes(16).toString('hex'), created_by: 'cli', expires_at: new Date(Date.now() + 60_000) }).returning('id')) as Array<{ id: string }>;
      const key = publicKey();
      const device = await createDeviceRepository(db).add({ userId, kind: 'desktop', name: 'Kontor-pc', publicKey: key, keyThumbprint: key.x, pinHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', pairingCodeId: (code as { id: string }).id, now: new Date() });
      await db('devices').where({ id: device.id }).update({
        status: changes.status ?? 'active',
        locked_until: changes.lockedUntil ?? null,
        failure_count: changes.failureCount ?? 0,
        lock_count: changes.lockCount ?? 0,
      });
      return device.id;
    });
  }

  describe('pair', () => {
    it('prints a code once as {"code","expiresAt"}, stores only its HMAC bound to user and kind, and audits it', async () => {
      const user = await addUser();
      const result = await backing.run(['--json', 'device', 'pair', user.username, '--kind', 'app']);
      expect(result.code, result.stderr).to.equal(0);
      const issued = JSON.parse(result.stdout) as { code: string; expiresAt: string };
      expect(Object.keys(issued)).to.deep.equal(['code', 'expiresAt']);
      expect(issued.code).to.match(/^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{5}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{5}$/);
      expect((Date.parse(issued.expiresAt) - Date.now()) / 60_000).to.be.within(14.5, 15.01);

      const stored = await backing.inspect(async (db, { events }) => ({
        rows: (await db('pairing_codes').where({ user_id: user.id })) as Array<{ code_hash: string; kind: string; consumed_at: Date | null }>,
        audit: await events('pairing_code.issued'),
      }));
      expect(stored.rows).to.have.length(1);
      expect(stored.rows[0]).to.include({ kind: 'app', consumed_at: null, code_hash: hashPairingCode(deriveKey(SECRET_KEY, 'pairing-code'), normalisePairingCode(issued.code) as string) });
      const audit = JSON.stringify(stored.audit);
      expect(audit).to.include(user.id).and.not.include(issued.code).and.not.include(issued.code.replace('-', ''));

      const text = await backing.run(['device', 'pair', user.username, '--kind', 'desktop']);
      expect(text.stdout).to.match(/^Pairing code for medarbejder-\w+'s desktop client: [0-9A-Z]{5}-[0-9A-Z]{5}\nIt works once, until /);
    });

    it('refuses a missing or wrong --kind, an unknown user and a locked one', async () => {
      const user = await addUser();
      const noKind = await backing.run(['--json', 'device', 'pair', user.username]);
      expect(noKind.code).to.equal(1);
      expect(JSON.parse(noKind.stdout)).to.deep.equal({ error: { code: 'invalid_input', message: '--kind desktop|app is required' } });
      const wrongKind = await backing.run(['--json', 'device', 'pair', user.username, '--kind', 'tablet']);
      expect((JSON.parse(wrongKind.stdout) as { error: { code: string } }).error.code).to.equal('invalid_input');
      const missing = await backing.run(['--json', 'device', 'pair', 'ingen-saadan', '--kind', 'app']);
      expect(JSON.parse(missing.stdout)).to.deep.equal({ error: { code: 'not_found', message: 'there is no user "ingen-saadan"' } });
      expect((await backing.run(['user', 'lock', user.username])).code).to.equal(0);
      const locked = await backing.run(['--json', 'device', 'pair', user.username, '--kind', 'app']);
      expect((JSON.parse(locked.stdout) as { error: { code: string } }).error.code).to.equal('invalid_input');
      const usage = await backing.run(['device', 'pair']);
      expect(usage.code).to.equal(2);
    });
  });

  describe('list, revoke, unlock', () => {
    it('lists one employee\'s devices or all, never a key or PIN hash', async () => {
      const user = await addUser();
      const id = await addDevice(user.id);
      const other = await addUser();
      const otherId = await addDevice(other.id, { status: 'locked', lockedUntil: new Date(Date.now() + 300_000), lockCount: 1 });

      const mine = await backing.run(['--json', 'device', 'list', user.username]);
      expect(mine.code, mine.stderr).to.equal(0);
      const { devices } = JSON.parse(mine.stdout) as { devices: Array<Record<string, unknown>> };
      expect(devices).to.have.length(1);
      expect(devices[0]).to.include({ id, userId: user.id, username: user.username, kind: 'desktop', name: 'Kontor-pc', status: 'active', lockedUntil: null, failureCount: 0 });
      expect(mine.stdout).to.not.include('argon2').and.not.include('publicKey');

      const all = JSON.parse((await backing.run(['--json', 'device', 'list'])).stdout) as { devices: Array<{ id: string; status: string; lockedUntil: string | null }> };
      const locked = all.devices.find((device) => device.id === otherId);
      expect(locked?.status).to.equal('locked');
      expect(locked?.lockedUntil).to.be.a('string');

      const listed = await backing.inspect(async (_db, { events }) => events('device.listed'));
      expect(listed.map((event) => ({ actor: event.actor, userId: event.userId, details: event.details }))).to.deep.equal([
        { actor: 'cli', userId: user.id, details: { count: 1 } },
        { actor: 'cli', userId: null, details: { count: all.devices.length, scope: 'all' } },
      ]);

      const text = await backing.run(['device', 'list', user.username]);
      expect(text.stdout).to.equal(`${id}  ${user.username}  Kontor-pc  (desktop, active, added ${new Date().toISOString().slice(0, 10)})\n`);
      const unknown = await backing.run(['--json', 'device', 'list', 'ingen-saadan']);
      expect((JSON.parse(unknown.stdout) as { error: { code: string } }).error.code).to.equal('not_found');
      expect((await backing.run(['device', 'list', 'a', 'b'])).code).to.equal(2);
    });

    it('revokes a device once, announces it on the device channel, and audits it', async () => {
      const user = await addUser();
      const id = await addDevice(user.id);
      // What every node's event stream of the device listens to (the command uses Redis' default prefix).
      const heard: string[] = [];
      const redis = backing.redisUrl ? createRedisStore({ url: backing.redisUrl }) : undefined;
      const unsubscribe = await redis?.subscribe(`device.${id}`, (message) => heard.push(message));
      const first = await backing.run(['--json', 'device', 'revoke', id]);
      expect(first.code, first.stderr).to.equal(0);
      if (redis) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(heard).to.deep.equal(['{"type":"closed","reason":"revoked"}']);
        await unsubscribe?.();
        await redis.close();
      }
      expect(JSON.parse(first.stdout)).to.deep.include({ changed: true });
      expect((JSON.parse(first.stdout) as { device: { status: string } }).device.status).to.equal('revoked');
      const again = await backing.run(['device', 'revoke', id]);
      expect(again.stdout).to.equal(`Device ${id} was already revoked.\n`);
      const audit = await backing.inspect((_db, { events }) => events('device.revoked'));
      expect(audit.filter((event) => event.userId === user.id)).to.have.length(1);
      const missing = await backing.run(['--json', 'device', 'revoke', '00000000-0000-4000-8000-000000000000']);
      expect(JSON.parse(missing.stdout)).to.deep.equal({ error: { code: 'not_found', message: 'there is no device "00000000-0000-4000-8000-000000000000"' } });
      expect((JSON.parse((await backing.run(['--json', 'device', 'revoke', 'nonsense'])).stdout) as { error: { code: string } }).error.code).to.equal('not_found');
    });

    it('unlocks a locked device at once, clearing its counters, and audits it', async () => {
      const user = await addUser();
      const id = await addDevice(user.id, { status: 'locked', lockedUntil: new Date(Date.now() + 300_000), failureCount: 0, lockCount: 2 });
      const unlocked = await backing.run(['--json', 'device', 'unlock', id]);
      expect(unlocked.code, unlocked.stderr).to.equal(0);
      const result = JSON.parse(unlocked.stdout) as { changed: boolean; device: { status: string; lockedUntil: string | null } };
      expect(result).to.deep.include({ changed: true });
      expect(result.device).to.include({ status: 'active', lockedUntil: null });
      const row = await backing.inspect(async (db) => (await db('devices').where({ id }).first()) as { status: string; lock_count: number; locked_until: Date | null });
      expect(row).to.include({ status: 'active', lock_count: 0, locked_until: null });
      expect((await backing.run(['device', 'unlock', id])).stdout).to.equal(`Device ${id} was not locked.\n`);
      const audit = await backing.inspect((_db, { events }) => events('device.unlocked'));
      expect(audit.filter((event) => event.userId === user.id)).to.have.length(1);
    });
  });
});
