import { expect } from 'chai';

import { decideAttempt, failureLocks, lockSeconds } from './lockout.ts';

describe('lockout rules', () => {
  it('checks the first maxFailures attempts and refuses the rest', () => {
    const decisions = [1, 2, 3, 4, 5, 6, 50].map((attempt) => decideAttempt({ attempt, maxFailures: 5 }));
    expect(decisions).to.deep.equal(['check', 'check', 'check', 'check', 'check', 'refuse', 'refuse']);
  });

  it('locks on the failure that reaches the limit, not before', () => {
    expect(failureLocks({ attempt: 4, maxFailures: 5 })).to.equal(false);
    expect(failureLocks({ attempt: 5, maxFailures: 5 })).to.equal(true);
  });

  it('doubles each further lock up to the maximum', () => {
    const seconds = [1, 2, 3, 4, 20].map((lockNumber) => lockSeconds({ lockNumber, baseSeconds: 300, maxSeconds: 3600 }));
    expect(seconds).to.deep.equal([300, 600, 1200, 2400, 3600]);
  });
});
