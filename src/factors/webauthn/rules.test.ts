import { expect } from 'chai';

import { sessionAmr } from '../../auth/step-up.ts';
import { decideSignCount, relyingPartyOf, securityKeyAmr } from './rules.ts';

describe('security key rules', () => {
  describe('the signature counter (WebAuthn Level 3 §7.2, §6.1.1)', () => {
    it('accepts a counter that moved forward, and stores the new one', () => {
      expect(decideSignCount({ stored: 0, received: 1 })).to.deep.equal({ accepted: true, counter: 1 });
      expect(decideSignCount({ stored: 41, received: 42 })).to.deep.equal({ accepted: true, counter: 42 });
      expect(decideSignCount({ stored: 41, received: 4_000_000_000 })).to.deep.equal({ accepted: true, counter: 4_000_000_000 });
    });

    it('accepts an authenticator that keeps no counter (both zero)', () => {
      expect(decideSignCount({ stored: 0, received: 0 })).to.deep.equal({ accepted: true, counter: 0 });
    });

    it('refuses a counter that goes backwards or stays, once either is non-zero', () => {
      expect(decideSignCount({ stored: 42, received: 41 })).to.deep.equal({ accepted: false, reason: 'counter_regressed' });
      expect(decideSignCount({ stored: 42, received: 42 })).to.deep.equal({ accepted: false, reason: 'counter_regressed' });
      // A key that counted and now says 0 was reset or copied: not the key we know.
      expect(decideSignCount({ stored: 42, received: 0 })).to.deep.equal({ accepted: false, reason: 'counter_regressed' });
    });
  });

  describe('what an assertion proves (RFC 8176 §2)', () => {
    it('is a hardware key, plus user verification when the authenticator did it', () => {
      expect(securityKeyAmr({ userVerified: false, deviceType: 'singleDevice' })).to.deep.equal(['hwk']);
      expect(securityKeyAmr({ userVerified: true, deviceType: 'singleDevice' })).to.deep.equal(['hwk', 'user']);
    });

    it('is a software key for a synced passkey, whose key leaves the hardware', () => {
      expect(securityKeyAmr({ userVerified: true, deviceType: 'multiDevice' })).to.deep.equal(['swk', 'user']);
    });

    it('gives ["pwd","hwk","mfa"] with the password, and "user" beside them when verified', () => {
      const lifetimes = { password: 180 * 60, secondFactor: 60 * 60 };
      const session = (secondFactorAmr: string[]) => ({ accountId: 'u', passwordAt: 1_000, secondFactorAt: 1_010, secondFactorAmr });
      expect(sessionAmr({ session: session(securityKeyAmr({ userVerified: false, deviceType: 'singleDevice' })), now: 1_020, lifetimes })).to.have.members(['pwd', 'hwk', 'mfa']);
      expect(sessionAmr({ session: session(securityKeyAmr({ userVerified: true, deviceType: 'singleDevice' })), now: 1_020, lifetimes })).to.have.members(['pwd', 'hwk', 'user', 'mfa']);
    });
  });

  describe('the relying party from ISSUER', () => {
    it('is the issuer host name, and its origin, whatever the path and port', () => {
      expect(relyingPartyOf('https://login.kommune.dk')).to.deep.equal({ id: 'login.kommune.dk', origin: 'https://login.kommune.dk' });
      expect(relyingPartyOf('https://intra.kommune.dk:8443/idp')).to.deep.equal({ id: 'intra.kommune.dk', origin: 'https://intra.kommune.dk:8443' });
      expect(relyingPartyOf('http://localhost:3000')).to.deep.equal({ id: 'localhost', origin: 'http://localhost:3000' });
    });
  });
});
