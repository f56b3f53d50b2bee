import { expect } from 'chai';
import { Redis } from 'ioredis';

import { KEYS_CHANGED_CHANNEL } from '../../src/crypto/signing-keys.ts';
import { createCliBacking, type CliBacking } from './run.ts';

interface RotateJson {
  kids: string[];
  published: Array<{ kid: string; alg: string; state: 'current' | 'next' | 'retired' }>;
  nodesNotified: boolean;
}

describe('stepup keys rotate', function () {
  let backing: CliBacking;

  before(async () => {
    backing = await createCliBacking();
    await backing.migrate();
  });
  after(async () => backing?.cleanup());

  const published = () => backing.inspect(async (_db, { signingKeys }) =>
    (await signingKeys.listPublished()).map((key) => ({ kid: key.kid, alg: key.alg, state: key.state })));
  const kidsIn = (keys: Array<{ kid: string; state: string }>, state: string) => keys.filter((key) => key.state === state).map((key) => key.kid);

  it('publishes new keys ahead of use, makes waiting keys sign on the next rotation, keeps old ones published, and audits the kids', async () => {
    // The first keys of a new database sign at once: nothing signs before them.
    const first = await backing.run(['keys', 'rotate', '--json']);
    expect(first.code, first.stderr).to.equal(0);
    const one = JSON.parse(first.stdout) as RotateJson;
    expect(one.kids).to.have.length(2);
    expect(await published()).to.have.deep.members([
      { kid: one.kids[0], alg: 'ES256', state: 'current' },
      { kid: one.kids[1], alg: 'RS256', state: 'current' },
    ]);

    // Later keys wait SIGNING_KEY_LEAD_HOURS (24 by default), published but not signing.
    const second = await backing.run(['keys', 'rotate', '--json']);
    expect(second.code, second.stderr).to.equal(0);
    const two = JSON.parse(second.stdout) as RotateJson;
    expect(two.kids).to.have.length(2);
    expect(two.kids).not.to.have.members(one.kids);
    let keys = await published();
    expect(keys).to.have.length(4);
    expect(kidsIn(keys, 'current')).to.have.members(one.kids);
    expect(kidsIn(keys, 'next')).to.have.members(two.kids);
    expect(two.published.map((key) => key.kid)).to.have.members([...one.kids, ...two.kids]);

    // The next rotation: the waiting keys sign, the first ones retire (still published), new ones wait.
    const third = await backing.run(['keys', 'rotate', '--json']);
    expect(third.code, third.stderr).to.equal(0);
    const three = JSON.parse(third.stdout) as RotateJson;
    keys = await published();
    expect(kidsIn(keys, 'current')).to.have.members(two.kids);
    expect(kidsIn(keys, 'next')).to.have.members(three.kids);
    expect(kidsIn(keys, 'retired')).to.have.members(one.kids);

    const events = await backing.inspect(async (_db, { events }) => events('keys.rotated'));
    expect(events.map((event) => event.details)).to.deep.equal([{ kids: one.kids }, { kids: two.kids }, { kids: three.kids }]);
    expect(events.every((event) => event.actor === 'cli')).to.equal(true);
    // The audit log and the output carry public facts only.
    expect(JSON.stringify(events)).not.to.match(/"d"\s*:/);
    expect(second.stdout).not.to.match(/"d"\s*:/);
  });

  it('tells every running node over Redis pub/sub', async function () {
    if (!backing.redisUrl) return this.skip(); // without REDIS_URL there are no other nodes to tell
    const subscriber = new Redis(backing.redisUrl);
    try {
      const messages: string[] = [];
      subscriber.on('message', (_channel: string, message: string) => messages.push(message));
      // The command publishes under the default key prefix, as the server subscribes.
      await subscriber.subscribe(`stepup:${KEYS_CHANGED_CHANNEL}`);

      const result = await backing.run(['keys', 'rotate', '--json']);
      expect(result.code, result.stderr).to.equal(0);
      const { kids, nodesNotified } = JSON.parse(result.stdout) as RotateJson;
      expect(nodesNotified).to.equal(true);
      for (let wait = 0; wait < 50 && !messages.some((m) => m.includes(kids[0] as string)); wait++) await new Promise((r) => setTimeout(r, 20));
      expect(messages.map((m) => JSON.parse(m) as unknown)).to.deep.include({ kids });
    } finally {
      subscriber.disconnect();
    }
  });

  it('with SIGNING_KEY_LEAD_HOURS=0 the new keys sign at once', async () => {
    const result = await backing.run(['keys', 'rotate', '--json'], { env: { SIGNING_KEY_LEAD_HOURS: '0' } });
    expect(result.code, result.stderr).to.equal(0);
    const { kids } = JSON.parse(result.stdout) as RotateJson;
    expect(kidsIn(await published(), 'current')).to.have.members(kids);
  });

  it('without REDIS_URL rotates and says that a running server must be restarted', async () => {
    const result = await backing.run(['keys', 'rotate'], { env: { REDIS_URL: undefined } });
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^Rotated the signing keys\. New keys, published now:\n {2}ES256 [0-9a-f-]{36} signs from \S+Z\n {2}RS256 [0-9a-f-]{36} signs from \S+Z\nSigning now:\n {2}ES256 [0-9a-f-]{36}\n {2}RS256 [0-9a-f-]{36}\n/);
    expect(result.stderr).to.equal('stepup: note: REDIS_URL is not set, so a running server was not told: restart it to sign with the new keys\n');
  });

  it('changes nothing when Redis does not answer', async () => {
    const before = await published();
    const result = await backing.run(['keys', 'rotate'], { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/^stepup: cannot reach Redis \(REDIS_URL\).*nothing was changed\n$/);
    expect(await published()).to.deep.equal(before);
  });
});
