import { expect } from 'chai';
import { generateSync } from 'otplib';
import { TOTP_DEFAULTS } from './defaults.ts';
import { resyncTotp } from './resync.ts';
import type { TotpToken } from './steps.ts';
import { verifyTotp } from './verify.ts';

const TOKEN: TotpToken = {
  secret: new TextEncoder().encode('12345678901234567890123456789012'),
  algorithm: 'SHA256',
  digits: 6,
  period: 30,
};

function codeAt(step: number): string {
  return generateSync({ secret: TOKEN.secret, algorithm: 'sha256', epoch: step * TOKEN.period, digits: TOKEN.digits });
}

const CURRENT = 56_000_000;
const NOW = CURRENT * 30_000 + 20_000;

describe('resyncTotp', () => {
  it('finds a token 40 steps slow from two consecutive codes, which then verifies with the new drift', () => {
    const slow = CURRENT - 40;
    const result = resyncTotp({ ...TOKEN, code1: codeAt(slow - 1), code2: codeAt(slow), now: NOW, lastStep: null });
    expect(result).to.deep.equal({ resynced: true, drift: -40, lastStep: slow });
    if (!result.resynced) return;

    const next = verifyTotp({ ...TOKEN, code: codeAt(slow + 1), now: NOW + 30_000, drift: result.drift, lastStep: result.lastStep });
    expect(next).to.deep.equal({ verified: true, step: slow + 1, drift: -40 });
  });

  it('centres the search on the stored drift', () => {
    const fast = CURRENT + 100;
    expect(resyncTotp({ ...TOKEN, code1: codeAt(fast), code2: codeAt(fast + 1), now: NOW, lastStep: null }))
      .to.deep.equal({ resynced: false, reason: 'invalid' });
    expect(resyncTotp({ ...TOKEN, code1: codeAt(fast), code2: codeAt(fast + 1), now: NOW, drift: 80, lastStep: null }))
      .to.deep.equal({ resynced: true, drift: 101, lastStep: fast + 1 });
  });

  it(`searches ±${TOTP_DEFAULTS.resyncWindow} steps by default and no further`, () => {
    const w = TOTP_DEFAULTS.resyncWindow;
    expect(resyncTotp({ ...TOKEN, code1: codeAt(CURRENT + w), code2: codeAt(CURRENT + w + 1), now: NOW, lastStep: null }))
      .to.deep.equal({ resynced: true, drift: w + 1, lastStep: CURRENT + w + 1 });
    expect(resyncTotp({ ...TOKEN, code1: codeAt(CURRENT - w), code2: codeAt(CURRENT - w + 1), now: NOW, lastStep: null }))
      .to.deep.equal({ resynced: true, drift: -w + 1, lastStep: CURRENT - w + 1 });
    expect(resyncTotp({ ...TOKEN, code1: codeAt(CURRENT + w + 1), code2: codeAt(CURRENT + w + 2), now: NOW, lastStep: null }))
      .to.deep.equal({ resynced: false, reason: 'invalid' });
    expect(resyncTotp({ ...TOKEN, code1: codeAt(CURRENT - w - 1), code2: codeAt(CURRENT - w), now: NOW, lastStep: null }))
      .to.deep.equal({ resynced: false, reason: 'invalid' });
  });

  it('refuses codes that are not consecutive', () => {
    const step = CURRENT - 30;
    for (const [first, second] of [[step, step + 2], [step + 1, step], [step, step]]) {
      expect(resyncTotp({ ...TOKEN, code1: codeAt(first), code2: codeAt(second), now: NOW, lastStep: null }), `${first - step}, ${second - step}`)
        .to.deep.equal({ resynced: false, reason: 'invalid' });
    }
  });

  it('refuses a pair at or before the last accepted step as replayed', () => {
    const step = CURRENT - 30;
    expect(resyncTotp({ ...TOKEN, code1: codeAt(step), code2: codeAt(step + 1), now: NOW, lastStep: step + 1 }))
      .to.deep.equal({ resynced: false, reason: 'replayed' });
    // The first code was the last one accepted: the pair reuses it.
    expect(resyncTotp({ ...TOKEN, code1: codeAt(step), code2: codeAt(step + 1), now: NOW, lastStep: step }))
      .to.deep.equal({ resynced: false, reason: 'replayed' });
    expect(resyncTotp({ ...TOKEN, code1: codeAt(step), code2: codeAt(step + 1), now: NOW, lastStep: step - 1 }))
      .to.deep.equal({ resynced: true, drift: -29, lastStep: step + 1 });
  });

  it('calls a malformed code malformed, whichever it is', () => {
    expect(resyncTotp({ ...TOKEN, code1: '12345', code2: codeAt(CURRENT), now: NOW, lastStep: null }))
      .to.deep.equal({ resynced: false, reason: 'malformed' });
    expect(resyncTotp({ ...TOKEN, code1: codeAt(CURRENT), code2: '12345x', now: NOW, lastStep: null }))
      .to.deep.equal({ resynced: false, reason: 'malformed' });
  });

  it('throws on a bad window', () => {
    expect(() => resyncTotp({ ...TOKEN, code1: '123456', code2: '123456', now: NOW, window: 2.5, lastStep: null }))
      .to.throw(TypeError, /window/);
  });
});
