import { expect } from 'chai';

import { createMemoryStore } from '../store/short-lived/memory.ts';
import { createPortalSessions, sessionSecondsLeft } from './sessions.ts';

const limits = { idle: 15 * 60, absolute: 8 * 3600 };
const T = 1_800_000_000;

describe('self-service sessions', () => {
  it('end at the sooner of the idle and the absolute timeout', () => {
    expect(sessionSecondsLeft({ createdAt: T, lastSeenAt: T }, limits, T)).to.equal(15 * 60);
    expect(sessionSecondsLeft({ createdAt: T, lastSeenAt: T }, limits, T + 15 * 60)).to.equal(0);
    expect(sessionSecondsLeft({ createdAt: T, lastSeenAt: T + 8 * 3600 - 60 }, limits, T + 8 * 3600 - 60)).to.equal(60);
    expect(sessionSecondsLeft({ createdAt: T, lastSeenAt: T + 8 * 3600 }, limits, T + 8 * 3600)).to.equal(0);
  });

  it('restart the idle time on each request, never past the absolute end, and end on destroy', async () => {
    let now = T * 1000;
    const store = createMemoryStore({ now: () => now });
    const sessions = createPortalSessions({ store, limits, now: () => now });
    const session = await sessions.create({ userId: 'u', secondFactorAt: T });
    expect(session.id).to.match(/^[\w-]{43}$/);
    for (let minutes = 0; minutes < 8 * 60 - 10; minutes += 10) {
      now += 10 * 60_000;
      expect(await sessions.touch(session.id), `at ${minutes + 10} minutes`).to.include({ userId: 'u' });
    }
    now += 10 * 60_000;
    expect(await sessions.touch(session.id)).to.equal(undefined);

    const other = await sessions.create({ userId: 'v', secondFactorAt: undefined });
    now += 16 * 60_000;
    expect(await sessions.touch(other.id)).to.equal(undefined);

    const third = await sessions.create({ userId: 'w', secondFactorAt: undefined });
    await sessions.destroy(third.id);
    expect(await sessions.touch(third.id)).to.equal(undefined);
    expect(await sessions.touch('not-an-id')).to.equal(undefined);
    await store.close();
  });
});
