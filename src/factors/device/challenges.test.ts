import { expect } from 'chai';

import { createMemoryStore } from '../../store/short-lived/memory.ts';
import { createChallengeStore } from './challenges.ts';

describe('challenge store: waiting for an outcome', () => {
  const setup = (ttlMs = 60_000) => {
    let now = Date.now();
    const store = createMemoryStore({ now: () => now });
    const challenges = createChallengeStore({ store, maxPending: 2, now: () => now });
    const create = () => challenges.create({ userId: 'u1', deviceId: 'd1', flowUid: 'f1', clientName: 'Sagssystem', numberMatching: false, ttlMs });
    return { challenges, create, advance: (ms: number) => (now += ms) };
  };

  it('hears a settlement made while it waits', async () => {
    const { challenges, create } = setup();
    const challenge = await create();
    const waiting = challenges.awaitOutcome(challenge!, new AbortController().signal);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await challenges.settle(challenge!, 'rejected')).to.equal(true);
    expect(await waiting).to.equal('rejected');
  });

  it('answers at once for one settled before it asked (no race between settling and subscribing)', async () => {
    const { challenges, create } = setup();
    const challenge = await create();
    await challenges.settle(challenge!, 'approved');
    expect(await challenges.awaitOutcome(challenge!, new AbortController().signal)).to.equal('approved');
  });

  it('gives up at expiry and when aborted', async () => {
    const { challenges, create, advance } = setup();
    const challenge = await create();
    advance(60_000);
    expect(await challenges.awaitOutcome(challenge!, new AbortController().signal)).to.equal(undefined);
    const other = await create();
    const stop = new AbortController();
    const waiting = challenges.awaitOutcome(other!, stop.signal);
    stop.abort();
    expect(await waiting).to.equal(undefined);
  });

  it('frees a pending slot when a challenge is settled, and refuses beyond maxPending', async () => {
    const { challenges, create } = setup();
    const first = await create();
    expect(await create()).to.not.equal(undefined);
    expect(await create()).to.equal(undefined);
    await challenges.settle(first!, 'rejected');
    expect(await create()).to.not.equal(undefined);
  });

  it('finds the last challenge a login sent to a device, with its outcome, until it expires', async () => {
    const { challenges, create, advance } = setup();
    expect((await challenges.latestForFlow('f1', 'd1')).challenge).to.equal(undefined);
    const first = await create();
    expect((await challenges.latestForFlow('f1', 'd1')).challenge?.id).to.equal(first!.id);
    const second = await create();
    expect((await challenges.latestForFlow('f1', 'd1')).challenge?.id).to.equal(second!.id);
    expect((await challenges.latestForFlow('f2', 'd1')).challenge).to.equal(undefined);
    expect((await challenges.latestForFlow('f1', 'd2')).challenge).to.equal(undefined);
    await challenges.settle(second!, 'approved');
    expect(await challenges.latestForFlow('f1', 'd1')).to.deep.equal({ challenge: second, outcome: 'approved' });
    advance(60_000);
    expect((await challenges.latestForFlow('f1', 'd1')).challenge).to.equal(undefined);
  });
});
