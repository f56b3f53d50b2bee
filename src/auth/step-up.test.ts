import { expect } from 'chai';

import { decideStepUp, levelReached, sessionAmr, sessionAssurance, type SessionAuthentication } from './step-up.ts';

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

  it('applies max_age to every factor: only the stale one is asked again', () => {
    const codeLater = { accountId: 'u', passwordAt: minutesAgo(50), secondFactorAt: minutesAgo(10), secondFactorAmr: ['otp'] };
    expect(decideStepUp({ needed: 'substantial', session: codeLater, now: NOW, lifetimes, maxAge: 30 * 60 })).to.deep.equal({ password: true, secondFactor: false });
    expect(decideStepUp({ needed: 'substantial', session: withCode, now: NOW, lifetimes, maxAge: 15 * 60 })).to.deep.equal({ password: true, secondFactor: true });
    expect(decideStepUp({ needed: 'substantial', session: { ...withCode, passwordAt: minutesAgo(5) }, now: NOW, lifetimes, maxAge: 15 * 60 })).to.deep.equal({ password: false, secondFactor: true });
  });

  it('dates an authentication by the oldest factor its level rests on', () => {
    expect(sessionAssurance({ session: withCode, now: NOW, lifetimes })).to.deep.equal({ level: 'substantial', amr: ['pwd', 'otp', 'hwk', 'mfa'], authTime: minutesAgo(30) });
    const passwordLater = { ...withCode, passwordAt: minutesAgo(2) };
    expect(sessionAssurance({ session: passwordLater, now: NOW, lifetimes }).authTime).to.equal(minutesAgo(20));
    expect(sessionAssurance({ session: { ...withCode, secondFactorAt: minutesAgo(61) }, now: NOW, lifetimes })).to.deep.equal({ level: 'low', amr: ['pwd'], authTime: minutesAgo(30) });
    expect(sessionAssurance({ session: withCode, now: NOW, lifetimes, maxAge: 25 * 60 })).to.deep.equal({ level: 'low', amr: [], authTime: undefined });
    expect(sessionAssurance({ session: undefined, now: NOW, lifetimes }).level).to.equal('low');
  });

  it('names the level and amr a session has reached', () => {
    expect(levelReached({ session: passwordOnly, now: NOW, lifetimes })).to.equal('low');
    expect(levelReached({ session: withCode, now: NOW, lifetimes })).to.equal('substantial');
    expect(sessionAmr({ session: passwordOnly, now: NOW, lifetimes })).to.deep.equal(['pwd']);
    expect(sessionAmr({ session: withCode, now: NOW, lifetimes })).to.deep.equal(['pwd', 'otp', 'hwk', 'mfa']);
  });
});
