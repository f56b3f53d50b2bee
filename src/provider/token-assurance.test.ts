import { expect } from 'chai';

import { ACR_VALUES } from '../auth/levels.ts';
import { refreshTokenAssurance } from './token-assurance.ts';

const lifetimes = { password: 180 * 60, secondFactor: 60 * 60 };
const NOW = 1_800_000_000;
const minutesAgo = (minutes: number) => NOW - minutes * 60;
const substantial = { accountId: 'u', clientId: 'rp', acr: ACR_VALUES.substantial, amr: ['pwd', 'otp', 'hwk', 'mfa'], grantId: 'g' };

describe('refresh token assurance', () => {
  it('keeps a Substantial token whose authentication is younger than the second factor\'s lifetime', () => {
    const payload = { ...substantial, authTime: minutesAgo(59) };
    expect(refreshTokenAssurance({ payload, now: NOW, lifetimes })).to.deep.equal(payload);
  });

  it('states Low and pwd once the second factor\'s lifetime has ended, keeping auth_time (OIDC Core §12.2)', () => {
    const restated = refreshTokenAssurance({ payload: { ...substantial, authTime: minutesAgo(61) }, now: NOW, lifetimes });
    expect(restated).to.deep.include({ acr: ACR_VALUES.low, amr: ['pwd'], authTime: minutesAgo(61), grantId: 'g' });
  });

  it('claims no acr or amr once not even the password counts', () => {
    const restated = refreshTokenAssurance({ payload: { ...substantial, authTime: minutesAgo(181) }, now: NOW, lifetimes });
    expect(restated).to.not.have.any.keys('acr', 'amr');
    expect(restated).to.deep.include({ authTime: minutesAgo(181), accountId: 'u' });
  });

  it('never raises a Low token, and keeps it while the password counts', () => {
    const low = { accountId: 'u', acr: ACR_VALUES.low, amr: ['pwd'], authTime: minutesAgo(5) };
    expect(refreshTokenAssurance({ payload: low, now: NOW, lifetimes })).to.deep.include({ acr: ACR_VALUES.low, amr: ['pwd'] });
  });

  it('claims nothing for a token without a known acr or an auth_time', () => {
    expect(refreshTokenAssurance({ payload: { ...substantial, acr: 'urn:unknown' , authTime: minutesAgo(1) }, now: NOW, lifetimes })).to.not.have.any.keys('acr', 'amr');
    expect(refreshTokenAssurance({ payload: substantial, now: NOW, lifetimes })).to.not.have.any.keys('acr', 'amr');
  });
});
