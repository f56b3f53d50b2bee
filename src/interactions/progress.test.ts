import { expect } from 'chai';

import type { LoginRequirements, SessionAuthentication } from '../auth/step-up.ts';
import type { Flow } from './flow.ts';
import { flowProgress, loginOutcome } from './progress.ts';

const NOW = 1_800_000_000;
const lifetimes = { password: 180 * 60, secondFactor: 60 * 60 };

function flow(requirements: Partial<LoginRequirements>): Flow {
  return {
    protocol: 'test',
    uid: 'uid',
    clientId: 'rp',
    clientName: 'RP',
    returnOrigin: undefined,
    needsLogin: true,
    passive: false,
    requirements: { level: 'substantial', lifetimes, maxAge: undefined, forceLogin: false, ...requirements },
  };
}

describe('login progress', () => {
  const session: SessionAuthentication = { accountId: 'anna', passwordAt: NOW - 600, secondFactorAt: NOW - 300, secondFactorAmr: ['otp', 'hwk'] };

  it('asks for the password first, then the second factor', () => {
    expect(flowProgress({ flow: flow({}), session: undefined, proven: undefined, now: NOW }).decision).to.deep.equal({ password: true, secondFactor: true });
    const proven = { accountId: 'anna', passwordAt: NOW };
    expect(flowProgress({ flow: flow({}), session: undefined, proven, now: NOW }).decision).to.deep.equal({ password: false, secondFactor: true });
  });

  it('keeps the session\'s second factor for the same account, not for another', () => {
    const same = flowProgress({ flow: flow({}), session, proven: { accountId: 'anna', passwordAt: NOW }, now: NOW });
    expect(same.decision).to.deep.equal({ password: false, secondFactor: false });
    expect(same.authentication?.secondFactorAmr).to.deep.equal(['otp', 'hwk']);
    const other = flowProgress({ flow: flow({}), session, proven: { accountId: 'bo', passwordAt: NOW }, now: NOW });
    expect(other.decision).to.deep.equal({ password: false, secondFactor: true });
  });

  it('does not keep it when a fresh login was demanded', () => {
    const fresh = flowProgress({ flow: flow({ forceLogin: true }), session, proven: { accountId: 'anna', passwordAt: NOW }, now: NOW });
    expect(fresh.decision).to.deep.equal({ password: false, secondFactor: true });
  });

  it('reports the level and amr reached', () => {
    expect(loginOutcome({ accountId: 'anna', passwordAt: NOW }, flow({}), NOW)).to.deep.include({ level: 'low', amr: ['pwd'] });
    expect(loginOutcome(session, flow({}), NOW)).to.deep.include({ level: 'substantial', amr: ['pwd', 'otp', 'hwk', 'mfa'] });
  });
});
