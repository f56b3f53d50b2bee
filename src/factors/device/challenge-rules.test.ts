import { expect } from 'chai';

import { CHALLENGE_ALPHABET, challengeStatus, decideDeviceAnswer, decideLoginView, generateChallengeCode, generateChallengeId, generateMatchNumber, type ChallengeRecord } from './challenge-rules.ts';

const NOW = 1_800_000_000_000;
const challenge: ChallengeRecord = {
  id: 'c1', userId: 'u1', deviceId: 'd1', flowUid: 'f1', clientName: 'Sagssystem', code: 'K7QX', createdAt: NOW - 10_000, expiresAt: NOW + 170_000,
};

describe('challenge rules', () => {
  it('makes codes, numbers and ids from their alphabets', () => {
    for (let i = 0; i < 200; i += 1) {
      expect([...generateChallengeCode()].every((char) => CHALLENGE_ALPHABET.includes(char))).to.equal(true);
      expect(Number(generateMatchNumber())).to.be.within(10, 99);
    }
    expect(CHALLENGE_ALPHABET).to.not.match(/[01ILO]/);
    expect(generateChallengeId()).to.match(/^[\w-]{22}$/);
  });

  it('is pending until it expires, then expired, unless settled', () => {
    expect(challengeStatus({ challenge, outcome: undefined, now: NOW })).to.equal('pending');
    expect(challengeStatus({ challenge, outcome: undefined, now: challenge.expiresAt })).to.equal('expired');
    expect(challengeStatus({ challenge, outcome: 'rejected', now: NOW })).to.equal('rejected');
  });

  it('lets only the target device answer, once, before expiry', () => {
    expect(decideDeviceAnswer({ challenge, outcome: undefined, deviceId: 'd1', now: NOW })).to.deep.equal({ ok: true });
    expect(decideDeviceAnswer({ challenge, outcome: undefined, deviceId: 'd2', now: NOW })).to.deep.equal({ ok: false, reason: 'not_found' });
    expect(decideDeviceAnswer({ challenge: undefined, outcome: undefined, deviceId: 'd1', now: NOW })).to.deep.equal({ ok: false, reason: 'not_found' });
    expect(decideDeviceAnswer({ challenge, outcome: 'approved', deviceId: 'd1', now: NOW })).to.deep.equal({ ok: false, reason: 'closed' });
    expect(decideDeviceAnswer({ challenge, outcome: 'rejected', deviceId: 'd1', now: NOW })).to.deep.equal({ ok: false, reason: 'closed' });
    expect(decideDeviceAnswer({ challenge, outcome: undefined, deviceId: 'd1', now: challenge.expiresAt + 1 })).to.deep.equal({ ok: false, reason: 'expired' });
  });

  it('shows a challenge only to the login, user and device it was made for', () => {
    const view = (overrides: Partial<{ userId: string; deviceId: string; flowUid: string }>) =>
      decideLoginView({ challenge, outcome: 'approved', userId: 'u1', deviceId: 'd1', flowUid: 'f1', now: NOW, ...overrides });
    expect(view({})).to.equal('approved');
    expect(view({ userId: 'u2' })).to.equal('not_found');
    expect(view({ deviceId: 'd2' })).to.equal('not_found');
    expect(view({ flowUid: 'f2' })).to.equal('not_found');
  });
});
