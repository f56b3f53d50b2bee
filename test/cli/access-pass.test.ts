import { randomBytes } from 'node:crypto';

import { expect } from 'chai';

import { createAccessPasses } from '../../src/auth/access-passes.ts';
import { deriveKey } from '../../src/crypto/derived-keys.ts';
import { createAccessPassRepository } from '../../src/store/access-passes.ts';
import { createAuditLog } from '../../src/store/audit.ts';
import { createCliBacking, SECRET_KEY, type CliBacking } from './run.ts';

const unique = (base: string) => `${base}-${randomBytes(3).toString('hex')}`;

describe('stepup user access-pass', function () {
  let backing: CliBacking;

  before(async () => {
    backing = await createCliBacking();
    await backing.migrate();
  });
  after(async () => backing?.cleanup());

  /** Redeems a pass as self-service does, on the suite's database. */
  const redeem = (userId: string, typed: string) => backing.inspect((db) => createAccessPasses({
    passes: createAccessPassRepository(db),
    audit: createAuditLog(db),
    key: deriveKey(SECRET_KEY, 'access-pass'),
    maxFailures: 5,
    now: Date.now,
  }).redeem({ userId, typed, context: { actor: `user:${userId}` } }));

  async function addUser() {
    const username = unique('nyansat');
    const added = await backing.run(['--json', 'user', 'add', username]);
    expect(added.code, added.stderr).to.equal(0);
    return { username, id: (JSON.parse(added.stdout) as { user: { id: string } }).user.id };
  }

  it('prints a pass once, stores only a keyed hash of it, and audits the issue without it', async () => {
    const user = await addUser();
    const result = await backing.run(['--json', 'user', 'access-pass', user.username, '--ttl', '2h']);
    expect(result.code, result.stderr).to.equal(0);
    const issued = JSON.parse(result.stdout) as { accessPass: string; expiresAt: string; userId: string };
    expect(issued.accessPass).to.match(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    expect(issued.userId).to.equal(user.id);
    const hoursLeft = (Date.parse(issued.expiresAt) - Date.now()) / 3_600_000;
    expect(hoursLeft).to.be.within(1.9, 2.01);

    const stored = await backing.inspect(async (db, { events }) => ({
      rows: JSON.stringify(await db('access_passes').where({ user_id: user.id })),
      audit: JSON.stringify(await events('access_pass.issued')),
    }));
    const bare = issued.accessPass.replace(/-/g, '');
    for (const text of [stored.rows, stored.audit]) {
      expect(text).to.not.include(bare);
      expect(text).to.not.include(issued.accessPass);
    }
    expect(stored.audit).to.include(user.id);

    const text = await backing.run(['user', 'access-pass', user.username]);
    expect(text.stdout).to.match(/Temporary access pass for nyansat-\w+: [0-9A-Z-]{19}\n/);
  });

  it('is single use, and a new pass replaces the open one', async () => {
    const user = await addUser();
    const first = JSON.parse((await backing.run(['--json', 'user', 'access-pass', user.username])).stdout) as { accessPass: string };
    const second = JSON.parse((await backing.run(['--json', 'user', 'access-pass', user.username])).stdout) as { accessPass: string };
    expect(await redeem(user.id, first.accessPass)).to.deep.equal({ ok: false, reason: 'invalid' });
    expect(await redeem(user.id, second.accessPass.toLowerCase().replace(/-/g, ' '))).to.deep.equal({ ok: true });
    expect(await redeem(user.id, second.accessPass)).to.deep.equal({ ok: false, reason: 'none' });
  });

  it('refuses an unknown user, a locked one and a ttl out of range, and writes nothing', async () => {
    const missing = await backing.run(['--json', 'user', 'access-pass', 'ingen-saadan']);
    expect(missing.code).to.equal(1);
    expect(JSON.parse(missing.stdout)).to.deep.include({ error: { code: 'not_found', message: 'there is no user "ingen-saadan"' } });

    const user = await addUser();
    for (const ttl of ['8', '1m', '8d', '0h', '2w']) {
      const result = await backing.run(['user', 'access-pass', user.username, '--ttl', ttl]);
      expect(result.code, ttl).to.equal(1);
      expect(result.stderr).to.match(/^stepup: --ttl must/);
    }
    expect((await backing.run(['user', 'lock', user.username])).code).to.equal(0);
    const locked = await backing.run(['user', 'access-pass', user.username]);
    expect(locked.code).to.equal(1);
    expect(locked.stderr).to.match(/is locked/);
    const rows = await backing.inspect((db) => db('access_passes').where({ user_id: user.id }));
    expect(rows).to.have.length(0);
  });
});
