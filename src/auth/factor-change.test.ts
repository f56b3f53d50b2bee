import { expect } from 'chai';

import { decideFactorChange } from './factor-change.ts';

const NOW = 1_800_000_000;
const maxAge = 15 * 60;
const base = { now: NOW, maxAge, secondFactorAt: undefined, accessPassAt: undefined, identityVerifiedAt: undefined, identityHold: 600, firstFactorEnrolment: 'access-pass' as const };

describe('who may change second factors', () => {
  it('asks an employee who has a factor to prove one within the window', () => {
    expect(decideFactorChange({ ...base, hasSecondFactor: true, secondFactorAt: NOW - 60 })).to.deep.equal({ allowed: true, via: 'second-factor' });
    expect(decideFactorChange({ ...base, hasSecondFactor: true, secondFactorAt: NOW - maxAge - 1 })).to.deep.equal({ allowed: false, need: 'step-up' });
    expect(decideFactorChange({ ...base, hasSecondFactor: true })).to.deep.equal({ allowed: false, need: 'step-up' });
  });

  it('does not let an access pass or the password stand in for a factor the employee has', () => {
    expect(decideFactorChange({ ...base, hasSecondFactor: true, accessPassAt: NOW - 10 })).to.deep.equal({ allowed: false, need: 'step-up' });
    expect(decideFactorChange({ ...base, hasSecondFactor: true, firstFactorEnrolment: 'password' })).to.deep.equal({ allowed: false, need: 'step-up' });
  });

  it('lets the first factor in with a fresh access pass, or the password where that is configured', () => {
    expect(decideFactorChange({ ...base, hasSecondFactor: false })).to.deep.equal({ allowed: false, need: 'access-pass' });
    expect(decideFactorChange({ ...base, hasSecondFactor: false, accessPassAt: NOW - 60 })).to.deep.equal({ allowed: true, via: 'access-pass' });
    expect(decideFactorChange({ ...base, hasSecondFactor: false, accessPassAt: NOW - maxAge - 1 })).to.deep.equal({ allowed: false, need: 'access-pass' });
    expect(decideFactorChange({ ...base, hasSecondFactor: false, firstFactorEnrolment: 'password' })).to.deep.equal({ allowed: true, via: 'password' });
  });

  it('does not trust a time in the future', () => {
    expect(decideFactorChange({ ...base, hasSecondFactor: true, secondFactorAt: NOW + 3600 })).to.deep.equal({ allowed: false, need: 'step-up' });
  });
});

describe('who may change second factors with FIRST_FACTOR_ENROLMENT=identity', () => {
  const identity = { ...base, firstFactorEnrolment: 'identity' as const };

  it('lets the first factor in with a verification within the hold, and not after', () => {
    expect(decideFactorChange({ ...identity, hasSecondFactor: false })).to.deep.equal({ allowed: false, need: 'identity' });
    expect(decideFactorChange({ ...identity, hasSecondFactor: false, identityVerifiedAt: NOW - 600 })).to.deep.equal({ allowed: true, via: 'identity' });
    expect(decideFactorChange({ ...identity, hasSecondFactor: false, identityVerifiedAt: NOW - 601 })).to.deep.equal({ allowed: false, need: 'identity' });
  });

  it('counts a fresh verification like a fresh factor for an employee who has one (a lost phone)', () => {
    expect(decideFactorChange({ ...identity, hasSecondFactor: true, identityVerifiedAt: NOW - 60 })).to.deep.equal({ allowed: true, via: 'identity' });
    expect(decideFactorChange({ ...identity, hasSecondFactor: true, secondFactorAt: NOW - 60, identityVerifiedAt: NOW - 60 })).to.deep.equal({ allowed: true, via: 'second-factor' });
    expect(decideFactorChange({ ...identity, hasSecondFactor: true, secondFactorAt: NOW - 60 })).to.deep.equal({ allowed: true, via: 'second-factor' });
    expect(decideFactorChange({ ...identity, hasSecondFactor: true, identityVerifiedAt: NOW - 601 })).to.deep.equal({ allowed: false, need: 'identity' });
  });

  it('does not let an access pass stand in for a verification, nor a verification count where identity is not configured', () => {
    expect(decideFactorChange({ ...identity, hasSecondFactor: false, accessPassAt: NOW - 10 })).to.deep.equal({ allowed: false, need: 'identity' });
    expect(decideFactorChange({ ...identity, hasSecondFactor: true, accessPassAt: NOW - 10 })).to.deep.equal({ allowed: false, need: 'identity' });
    expect(decideFactorChange({ ...base, hasSecondFactor: false, identityVerifiedAt: NOW - 10 })).to.deep.equal({ allowed: false, need: 'access-pass' });
    expect(decideFactorChange({ ...base, hasSecondFactor: true, identityVerifiedAt: NOW - 10 })).to.deep.equal({ allowed: false, need: 'step-up' });
  });

  it('does not trust a verification in the future', () => {
    expect(decideFactorChange({ ...identity, hasSecondFactor: false, identityVerifiedAt: NOW + 60 })).to.deep.equal({ allowed: false, need: 'identity' });
  });
});
