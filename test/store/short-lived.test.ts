/**
 * The short-lived store's contract, held the same on Redis and in memory: the operations that
 * read several keys at once or decide atomically (issue 10 made them one command each on Redis).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { expect } from 'chai';

import { createRelayStore, ServerMemoryError } from '../../src/store/embedded/notices.ts';
import { createMemoryStore } from '../../src/store/short-lived/memory.ts';
import { createRedisStore } from '../../src/store/short-lived/redis.ts';
import type { ShortLivedStore } from '../../src/store/short-lived/types.ts';
import { testRedisUrl, uniqueRedisPrefix } from '../helpers/services.ts';

const backends: Array<[name: string, open: () => Promise<ShortLivedStore | undefined>]> = [
  ['memory', async () => createMemoryStore()],
  ['redis', async () => {
    const url = await testRedisUrl();
    return url ? createRedisStore({ url, keyPrefix: uniqueRedisPrefix() }) : undefined;
  }],
];

/** Racing calls: enough to interleave on Redis's connection and in the event loop. */
const RACERS = 20;

for (const [name, open] of backends) {
  describe(`short-lived store contract: ${name}`, function () {
    let store: ShortLivedStore;

    before(async function () {
      const opened = await open();
      if (!opened) this.skip();
      store = opened as ShortLivedStore;
    });
    after(async () => store?.close());

    it('reads several keys at once, in their order, null for what is absent', async () => {
      await store.set('many:a', 'A', 60_000);
      await store.set('many:c', 'C');
      expect(await store.getMany('many:a', 'many:b', 'many:c')).to.deep.equal(['A', null, 'C']);
      expect(await store.getMany()).to.deep.equal([]);
      await store.delete('many:a', 'many:c');
    });

    it('counts every one of racing increments, and gives a new counter its expiry once', async () => {
      const counts = await Promise.all(Array.from({ length: RACERS }, () => store.increment('count:race', 60_000)));
      expect([...counts].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: RACERS }, (_, i) => i + 1));
      const ttl = await store.ttl('count:race');
      expect(ttl).to.be.within(50_000, 60_000);
      await store.increment('count:race', 600_000);
      expect(await store.ttl('count:race')).to.be.at.most(60_000);
    });

    it('takes back what was counted, and starts an expired counter again below zero', async () => {
      await store.increment('count:back', 60_000);
      expect(await store.decrement('count:back', 60_000)).to.equal(0);
      expect(await store.decrement('count:fresh', 30_000)).to.equal(-1);
      expect(await store.ttl('count:fresh')).to.be.within(20_000, 30_000);
    });

    it('counts nothing while the guard is there, and counts again once it is gone', async () => {
      expect(await store.incrementUnless('guarded:count', 60_000, 'guarded:lock')).to.equal(1);
      await store.set('guarded:lock', '300', 60_000);
      const refused = await Promise.all(Array.from({ length: RACERS }, () => store.incrementUnless('guarded:count', 60_000, 'guarded:lock')));
      expect(refused).to.deep.equal(Array.from({ length: RACERS }, () => null));
      expect(await store.get('guarded:count')).to.equal('1');
      await store.delete('guarded:lock');
      expect(await store.incrementUnless('guarded:count', 60_000, 'guarded:lock')).to.equal(2);
    });

    it('starts a guarded counter with its expiry', async () => {
      expect(await store.incrementUnless('guarded:new', 45_000, 'guarded:none')).to.equal(1);
      expect(await store.ttl('guarded:new')).to.be.within(35_000, 45_000);
    });

    it('lets exactly one of racing calls store a value alongside its owner, which it expires with', async () => {
      await store.set('owner:a', 'record', 40_000);
      const won = await Promise.all(Array.from({ length: RACERS }, (_, i) => store.setIfAbsentAlongside('owner:a:mark', String(i), 'owner:a', 1_000)));
      expect(won.filter(Boolean)).to.have.length(1);
      expect(await store.get('owner:a:mark')).to.equal(String(won.indexOf(true)));
      expect(await store.ttl('owner:a:mark')).to.be.within(30_000, 40_000);
    });

    it('stores nothing alongside an owner that is not there', async () => {
      expect(await store.setIfAbsentAlongside('owner:none:mark', '1', 'owner:none', 60_000)).to.equal(false);
      expect(await store.get('owner:none:mark')).to.equal(null);
    });

    it('stores alongside an owner that never expires for the given time', async () => {
      await store.set('owner:forever', 'record');
      expect(await store.setIfAbsentAlongside('owner:forever:mark', '1', 'owner:forever', 25_000)).to.equal(true);
      expect(await store.ttl('owner:forever:mark')).to.be.within(15_000, 25_000);
      await store.delete('owner:forever', 'owner:forever:mark');
    });

    it('stores nothing alongside an owner that has expired', async () => {
      await store.set('owner:brief', 'record', 30);
      await sleep(60);
      expect(await store.setIfAbsentAlongside('owner:brief:mark', '1', 'owner:brief', 60_000)).to.equal(false);
    });

    it('lengthens a set\'s life with a member that lives longer, never shortens it', async () => {
      await store.addToSet('set:a', 'one', 20_000);
      expect(await store.ttl('set:a')).to.be.within(10_000, 20_000);
      await store.addToSet('set:a', 'two', 50_000);
      expect(await store.ttl('set:a')).to.be.within(40_000, 50_000);
      await store.addToSet('set:a', 'three', 5_000);
      expect(await store.ttl('set:a')).to.be.within(40_000, 50_000);
      expect((await store.setMembers('set:a')).sort()).to.deep.equal(['one', 'three', 'two']);
    });
  });
}

describe('short-lived store contract: relay', () => {
  it('refuses the new reads, which only the server\'s memory could answer', async () => {
    const relay = createRelayStore({ server: { pid: process.pid, role: 'server', socket: '/nowhere', startedAt: new Date().toISOString() } });
    for (const read of [() => relay.getMany('a'), () => relay.incrementUnless('a', 1, 'b'), () => relay.setIfAbsentAlongside('a', '1', 'b', 1)]) {
      let refused: unknown;
      await read().catch((error: unknown) => (refused = error));
      expect(refused).to.be.instanceOf(ServerMemoryError);
    }
  });
});
