import { expect } from 'chai';

import { bindRefusal, confirmRefusal, isVerificationFailure, verificationRefusal } from './messages.ts';

// 13:05 UTC is 14:05 in Copenhagen in winter.
const lockedUntil = new Date('2027-01-15T13:05:00Z');

describe('self-service refusal messages', () => {
  it('names the lock and its end on the clock employees read, in both languages', () => {
    expect(bindRefusal('da', { ok: false, reason: 'locked', lockedUntil })).to.equal(
      'Kodeviseren er spærret efter for mange forkerte koder, til kl. 14.05. Prøv igen derefter, eller kontakt IT-support.',
    );
    expect(bindRefusal('en', { ok: false, reason: 'user_locked', lockedUntil })).to.equal(
      'You have entered too many wrong codes and cannot add a device of this kind until 14:05. Contact IT support if you need help.',
    );
    expect(confirmRefusal('da', { ok: false, reason: 'user_locked', lockedUntil })).to.include('før kl. 14.05');
  });

  it('tells a code\'s failures apart, and sends an expired or dropped app back to the start', () => {
    expect(bindRefusal('en', { ok: false, reason: 'replayed' })).to.equal('That code has already been used. Wait for the next code and enter it.');
    expect(bindRefusal('da', { ok: false, reason: 'not_in_stock' })).to.include('Kodeviseren kan ikke tilknyttes');
    expect(bindRefusal('da', { ok: false, reason: 'serial', message: 'Serienummeret skal være 13 cifre' })).to.equal('Serienummeret skal være 13 cifre');
    expect(confirmRefusal('da', { ok: false, reason: 'expired' })).to.equal('Tilknytningen er udløbet. Start forfra, og scan den nye QR-kode.');
    expect(confirmRefusal('en', { ok: false, reason: 'not_found' })).to.equal('Adding the app has expired. Start again and scan the new QR code.');
    expect(confirmRefusal('en', { ok: false, reason: 'malformed' })).to.equal(bindRefusal('en', { ok: false, reason: 'malformed' }));
  });

  it('says why an identity was not verified, telling a mismatch, an unreachable upstream and a stale callback apart', () => {
    expect(verificationRefusal('da', 'mismatch')).to.match(/^Den identitet, du bekræftede med MitID, passer ikke til din brugerkonto/);
    expect(verificationRefusal('en', 'upstream_unavailable')).to.equal('MitID cannot be reached right now. Try again shortly.');
    expect(verificationRefusal('en', 'replayed')).to.equal(verificationRefusal('en', 'other_session'));
    expect(verificationRefusal('da', 'expired')).to.include('Start forfra');
    expect(isVerificationFailure('mismatch')).to.equal(true);
    expect(isVerificationFailure('toString')).to.equal(false);
    expect(isVerificationFailure(['mismatch'])).to.equal(false);
  });
});
