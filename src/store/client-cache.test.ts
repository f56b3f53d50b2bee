import { expect } from 'chai';
import type { ClientMetadata } from 'oidc-provider';

import { createClientCache } from './client-cache.ts';
import { CLIENTS_CHANGED_CHANNEL, type ClientRecord, type ClientRepository } from './clients.ts';
import { createMemoryStore } from './short-lived/memory.ts';

/** A repository that counts its reads and answers from a map the test changes. */
function countingRepository(known: Map<string, ClientMetadata>) {
  const reads = { metadata: 0 };
  // While held, the next read answers what was known when it began, once released.
  let held: Promise<void> | undefined;
  let release = () => {};
  const repository = {
    async findMetadata(clientId: string) {
      reads.metadata += 1;
      const value = known.get(clientId);
      const gate = held;
      held = undefined;
      await gate;
      return value;
    },
    async find(clientId: string) {
      return known.has(clientId) ? ({ clientId } as ClientRecord) : undefined;
    },
  } as unknown as ClientRepository;
  const holdNextRead = () => {
    held = new Promise<void>((resolve) => (release = resolve));
  };
  return { repository, reads, holdNextRead, release: () => release() };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('client cache', () => {
  it('reads a found client once, and asks again for an unknown one each time', async () => {
    const known = new Map([['rp', { client_id: 'rp' }]]);
    const { repository, reads } = countingRepository(known);
    const cache = await createClientCache({ clients: repository, store: createMemoryStore() });
    await cache.findMetadata('rp');
    await cache.findMetadata('rp');
    expect(reads.metadata).to.equal(1);
    await cache.findMetadata('nobody');
    await cache.findMetadata('nobody');
    expect(reads.metadata).to.equal(3);
  });

  it('forgets a client announced on the channel, and only that one', async () => {
    const known = new Map([['rp', { client_id: 'rp', client_name: 'før' }], ['other', { client_id: 'other' }]]);
    const store = createMemoryStore();
    const { repository, reads } = countingRepository(known);
    const cache = await createClientCache({ clients: repository, store });
    await cache.findMetadata('rp');
    await cache.findMetadata('other');
    known.set('rp', { client_id: 'rp', client_name: 'efter' });
    await store.publish(CLIENTS_CHANGED_CHANNEL, 'rp');
    await tick();
    expect((await cache.findMetadata('rp'))?.client_name).to.equal('efter');
    await cache.findMetadata('other');
    expect(reads.metadata).to.equal(3);
  });

  it('does not keep a lookup that was in flight when the change was announced', async () => {
    const known = new Map([['rp', { client_id: 'rp', client_name: 'før' }]]);
    const store = createMemoryStore();
    const reader = countingRepository(known);
    const cache = await createClientCache({ clients: reader.repository, store });
    reader.holdNextRead();
    const inFlight = cache.findMetadata('rp');
    await store.publish(CLIENTS_CHANGED_CHANNEL, 'rp');
    await tick();
    reader.release();
    await inFlight;
    known.set('rp', { client_id: 'rp', client_name: 'efter' });
    expect((await cache.findMetadata('rp'))?.client_name).to.equal('efter');
  });

  it('keeps a client no longer than maxAgeMs without a message', async () => {
    let now = 0;
    const known = new Map([['rp', { client_id: 'rp' }]]);
    const { repository, reads } = countingRepository(known);
    const cache = await createClientCache({ clients: repository, store: createMemoryStore(), maxAgeMs: 60_000, now: () => now });
    await cache.findMetadata('rp');
    now = 59_999;
    await cache.findMetadata('rp');
    now = 60_000;
    await cache.findMetadata('rp');
    expect(reads.metadata).to.equal(2);
  });
});
