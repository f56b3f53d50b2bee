import { expect } from 'chai';
import { generateSync } from 'otplib';
import { bindTotp } from './bind.ts';
import { TOTP_DEFAULTS } from './defaults.ts';
import type { TotpToken } from './steps.ts';
import { verifyTotp } from './verify.ts';

const TOKEN: TotpToken = {
  secret: new TextEncoder().encode('12345678901234567890'),
  algorithm: 'SHA1',
  digits: 6,
  period: 30,
};

function codeAt(step: number): string {
  return generateSync({ secret: TOKEN.secret, epoch: step * TOKEN.period, digits: TOKEN.digits });
}

const CURRENT = 56_000_000;
const NOW = CURRENT * 30_000 + 12_000;

describe('bindTotp', () => {
  it('finds the drift of a code viewer running 3 steps fast, which then verifies with window ±1', () => {
    const bound = bindTotp({ ...TOKEN, code: codeAt(CURRENT + 3), now: NOW });
    expect(bound).to.deep.equal({ verified: true, step: CURRENT + 3, drift: 3 });
    if (!bound.verified) return;

    // Ten minutes later the token is still 3 steps fast.
    const later = CURRENT + 20;
    const laterNow = later * 30_000 + 3_000;
    for (const offset of [-1, 0, 1]) {
      const result = verifyTotp({
        ...TOKEN, code: codeAt(later + 3 + offset), now: laterNow, drift: bound.drift, window: 1, lastStep: bound.step,
      });
      expect(result, `offset ${offset}`).to.deep.equal({ verified: true, step: later + 3 + offset, drift: 3 + offset });
    }
    for (const offset of [-2, 2]) {
      const result = verifyTotp({
        ...TOKEN, code: codeAt(later + 3 + offset), now: laterNow, drift: bound.drift, window: 1, lastStep: bound.step,
      });
      expect(result, `offset ${offset}`).to.deep.equal({ verified: false, reason: 'invalid' });
    }
  });

  it(`searches ±${TOTP_DEFAULTS.bindWindow} steps by default and no further`, () => {
    const w = TOTP_DEFAULTS.bindWindow;
    expect(bindTotp({ ...TOKEN, code: codeAt(CURRENT - w), now: NOW })).to.deep.equal({ verified: true, step: CURRENT - w, drift: -w });
    expect(bindTotp({ ...TOKEN, code: codeAt(CURRENT + w), now: NOW })).to.deep.equal({ verified: true, step: CURRENT + w, drift: w });
    expect(bindTotp({ ...TOKEN, code: codeAt(CURRENT + w + 1), now: NOW })).to.deep.equal({ verified: false, reason: 'invalid' });
    expect(bindTotp({ ...TOKEN, code: codeAt(CURRENT - w - 1), now: NOW })).to.deep.equal({ verified: false, reason: 'invalid' });
  });

  it('takes another window when asked', () => {
    expect(bindTotp({ ...TOKEN, code: codeAt(CURRENT + 15), now: NOW, window: 15 }))
      .to.deep.equal({ verified: true, step: CURRENT + 15, drift: 15 });
  });

  it('refuses a malformed code', () => {
    expect(bindTotp({ ...TOKEN, code: 'abcdef', now: NOW })).to.deep.equal({ verified: false, reason: 'malformed' });
  });

  it('refuses a code already used when the token had a last step', () => {
    expect(bindTotp({ ...TOKEN, code: codeAt(CURRENT), now: NOW, lastStep: CURRENT }))
      .to.deep.equal({ verified: false, reason: 'replayed' });
  });
});
