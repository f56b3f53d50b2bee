import { expect } from 'chai';

import { CLEARED, countFailure, runningLock, type FailureCount } from './failure-count.ts';

const limits = { maxFailures: 5, baseSeconds: 300, maxSeconds: 86400 };
const now = new Date('2027-01-15T08:00:00Z');

describe('failure count rules', () => {
  it('counts wrong codes and locks on the fifth, starting the count again', () => {
    let count: FailureCount = CLEARED;
    const locks: Array<number | undefined> = [];
    for (let i = 0; i < 5; i += 1) {
      const counted = countFailure({ count, now, limits });
      locks.push(counted.lockNumber);
      count = counted.count;
    }
    expect(locks).to.deep.equal([undefined, undefined, undefined, undefined, 1]);
    expect(count).to.deep.equal({ failureCount: 0, lockCount: 1, lockedUntil: new Date(now.getTime() + 300_000) });
  });

  it('makes each further lock in a row twice as long, up to the maximum', () => {
    const second = countFailure({ count: { failureCount: 4, lockCount: 1, lockedUntil: now }, now, limits });
    expect(second).to.deep.equal({ count: { failureCount: 0, lockCount: 2, lockedUntil: new Date(now.getTime() + 600_000) }, lockNumber: 2 });
    const long = countFailure({ count: { failureCount: 4, lockCount: 30, lockedUntil: null }, now, limits });
    expect(long.count.lockedUntil).to.deep.equal(new Date(now.getTime() + 86_400_000));
  });

  it('sees a lock only while it runs', () => {
    const count = { failureCount: 0, lockCount: 1, lockedUntil: new Date(now.getTime() + 1000) };
    expect(runningLock({ count, now })).to.deep.equal(count.lockedUntil);
    expect(runningLock({ count, now: new Date(now.getTime() + 1000) })).to.equal(undefined);
    expect(runningLock({ count: CLEARED, now })).to.equal(undefined);
  });
});
