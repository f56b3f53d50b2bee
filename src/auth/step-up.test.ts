import { expect } from 'chai';

import { decideStepUp, levelReached, sessionAmr, type SessionAuthentication } from './step-up.ts';

const lifetimes = { password: 180 * 60, secondFactor: 60 * 60 };
const NOW = 1_800_000_000;
const minutesAgo = (minutes: number) => NOW - minutes * 60;

describe('step-up rules', () => {
  const passwordOnly: SessionAuthentication = { accountId: 'u', passwordAt: minutesAgo(10) };
  const withCode: SessionAuthentication = { accountId: 'u', passwordAt: minutesAgo(30), secondFactorAt: minutesAgo(20), secondFactorAmr: ['otp', 'hwk'] };

  it('asks for everything the level needs when there is no session', () => {
    expect(decideStepUp({ needed: 'low', session: undefined, now: NOW, lifetimes })).to.deep.equal({ password: true, secondFactor: false });
    expect(decideStepUp({ needed: 'substantial', session: undefined, now: NOW, lifetimes })).to.deep.equal({ password: true, secondFactor: true });
  });

  it('asks nothing of a session that satisfies the level', () => {
    expect(decideStepUp({ needed: 'low', session: passwordOnly, now: NOW, lifetimes })).to.deep.equal({ password: false, secondFactor: false });
    expect(decideStepUp({ needed: 'substantial', session: withCode, now: NOW, lifetimes })).to.deep.equal({ password: false, secondFactor: false });
  });

  it('steps a Low session up with the second factor only', () => {
    expect(decideStepUp({ needed: 'substantial', session: passwordOnly, now: NOW, lifetimes })).to.deep.equal({ password: false, secondFactor: true });
  });

  it('gives each factor its own lifetime', () => {
    const old = { ...withCode, secondFactorAt: minutesAgo(61) };
    expect(decideStepUp({ needed: 'substantial', session: old, now: NOW, lifetimes })).to.deep.equal({ password: false, secondFactor: true });
    expect(decideStepUp({ needed: 'low', session: old, now: NOW, lifetimes })).to.deep.equal({ password: false, secondFactor: false });
    const stale = { accountId: 'u', passwordAt: minutesAgo(181), secondFactorAt: minutesAgo(5), secondFactorAmr: ['otp'] };
    expect(decideStepUp({ needed: 'substantial', session: stale, now: NOW, lifetimes })).to.deep.equal({ password: true, secondFactor: false });
    expect(decideStepUp({ needed: 'low', session: passwordOnly, now: NOW, lifetimes: { ...lifetimes, password: 5 * 60 } })).to.deep.equal({ password: true, secondFactor: false });
  });

  it('demands a fresh authentication for prompt=login and an exceeded max_age', () => {
    expect(decideStepUp({ needed: 'substantial', session: withCode, now: NOW, lifetimes, forceLogin: true })).to.deep.equal({ password: true, secondFactor: true });
    expect(decideStepUp({ needed: 'low', session: passwordOnly, now: NOW, lifetimes, maxAge: 300 })).to.deep.equal({ password: true, secondFactor: false });
    expect(decideStepUp({ needed: 'low', session: passwordOnly, now: NOW, lifetimes, maxAge: 3600 })).to.deep.equal({ password: false, secondFactor: false });
  });

  it('names the level and amr a session has reached', () => {
    expect(levelReached({ session: passwordOnly, now: NOW, lifetimes })).to.equal('low');
    expect(levelReached({ session: withCode, now: NOW, lifetimes })).to.equal('substantial');
    expect(sessionAmr({ session: passwordOnly, now: NOW, lifetimes })).to.deep.equal(['pwd']);
    expect(sessionAmr({ session: withCode, now: NOW, lifetimes })).to.deep.equal(['pwd', 'otp', 'hwk', 'mfa']);
  });
});
