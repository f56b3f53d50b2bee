import { expect } from 'chai';

import { codeAt } from '../../../test/helpers/totp.ts';
import type { TotpAlgorithm } from './defaults.ts';
import type { TotpToken } from './steps.ts';
import { verifyTotp } from './verify.ts';

// RFC 6238 Appendix B: the seeds are the ASCII digits "1234567890" repeated to 20, 32 and 64
// bytes for HMAC-SHA1, -SHA256 and -SHA512.
const SEED: Record<TotpAlgorithm, Uint8Array> = {
  SHA1: new TextEncoder().encode('12345678901234567890'),
  SHA256: new TextEncoder().encode('12345678901234567890123456789012'),
  SHA512: new TextEncoder().encode('1234567890123456789012345678901234567890123456789012345678901234'),
};

// RFC 6238 Appendix B, Table 1: Unix time (s) -> 8-digit TOTP for each hash, X = 30, T0 = 0.
const VECTORS: Array<[number, Record<TotpAlgorithm, string>]> = [
  [59, { SHA1: '94287082', SHA256: '46119246', SHA512: '90693936' }],
  [1111111109, { SHA1: '07081804', SHA256: '68084774', SHA512: '25091201' }],
  [1111111111, { SHA1: '14050471', SHA256: '67062674', SHA512: '99943326' }],
  [1234567890, { SHA1: '89005924', SHA256: '91819424', SHA512: '93441116' }],
  [2000000000, { SHA1: '69279037', SHA256: '90698825', SHA512: '38618901' }],
  [20000000000, { SHA1: '65353130', SHA256: '77737706', SHA512: '47863826' }],
];

const APP: TotpToken = { secret: SEED.SHA1, algorithm: 'SHA1', digits: 6, period: 30 };


/** Epoch milliseconds 7 s into a step. */
function inStep(step: number, period = 30): number {
  return step * period * 1000 + 7000;
}

describe('verifyTotp', () => {
  describe('RFC 6238 Appendix B test vectors', () => {
    for (const [seconds, codes] of VECTORS) {
      for (const algorithm of ['SHA1', 'SHA256', 'SHA512'] as const) {
        it(`${algorithm} at T = ${seconds}s gives ${codes[algorithm]}`, () => {
          const result = verifyTotp({
            secret: SEED[algorithm],
            algorithm,
            digits: 8,
            period: 30,
            code: codes[algorithm],
            now: seconds * 1000,
            window: 0,
            lastStep: null,
          });
          expect(result).to.deep.equal({ verified: true, step: Math.floor(seconds / 30), drift: 0 });
        });
      }
    }

    it('refuses a vector under another hash function', () => {
      const result = verifyTotp({
        secret: SEED.SHA256, algorithm: 'SHA256', digits: 8, period: 30,
        code: '94287082', now: 59_000, window: 0, lastStep: null,
      });
      expect(result).to.deep.equal({ verified: false, reason: 'invalid' });
    });
  });

  describe('code format', () => {
    const now = inStep(56_000_000);
    const code = codeAt(APP, 56_000_000);

    it('ignores spaces typed between digit groups', () => {
      const spaced = `${code.slice(0, 3)} ${code.slice(3)}`;
      const result = verifyTotp({ ...APP, code: ` ${spaced} `, now, lastStep: null });
      expect(result).to.deep.equal({ verified: true, step: 56_000_000, drift: 0 });
    });

    for (const [label, typed] of [
      ['too short', '12345'],
      ['too long', '1234567'],
      ['letters', '12a456'],
      ['a dash', '123-456'],
      ['non-ASCII digits', '１２３４５６'],
      ['nothing', ''],
    ] as const) {
      it(`calls ${label} malformed`, () => {
        const result = verifyTotp({ ...APP, code: typed, now, lastStep: null });
        expect(result).to.deep.equal({ verified: false, reason: 'malformed' });
      });
    }

    it('wants 8 digits from an 8-digit token', () => {
      const result = verifyTotp({ ...APP, digits: 8, code, now, lastStep: null });
      expect(result).to.deep.equal({ verified: false, reason: 'malformed' });
    });
  });

  describe('window', () => {
    const current = 56_000_000;
    const now = inStep(current);

    it('accepts up to two steps either side with the default window of 2', () => {
      expect(verifyTotp({ ...APP, code: codeAt(APP, current - 2), now, lastStep: null }))
        .to.deep.equal({ verified: true, step: current - 2, drift: -2 });
      expect(verifyTotp({ ...APP, code: codeAt(APP, current + 2), now, lastStep: null }))
        .to.deep.equal({ verified: true, step: current + 2, drift: 2 });
    });

    it('refuses three steps away with the default window', () => {
      expect(verifyTotp({ ...APP, code: codeAt(APP, current + 3), now, lastStep: null }))
        .to.deep.equal({ verified: false, reason: 'invalid' });
      expect(verifyTotp({ ...APP, code: codeAt(APP, current - 3), now, lastStep: null }))
        .to.deep.equal({ verified: false, reason: 'invalid' });
    });

    it('accepts only the current step with window 0', () => {
      expect(verifyTotp({ ...APP, code: codeAt(APP, current), now, window: 0, lastStep: null }))
        .to.deep.include({ verified: true, step: current });
      expect(verifyTotp({ ...APP, code: codeAt(APP, current - 1), now, window: 0, lastStep: null }))
        .to.deep.equal({ verified: false, reason: 'invalid' });
    });

    it('uses the 60 s period of the token', () => {
      const token = { ...APP, period: 60 } as const;
      const step = 28_000_000;
      const result = verifyTotp({ ...token, code: codeAt(token, step), now: inStep(step, 60), lastStep: null });
      expect(result).to.deep.equal({ verified: true, step, drift: 0 });
      // The same instant cut into 30 s steps is another step: the 30 s code is not the 60 s one.
      expect(verifyTotp({ ...token, code: codeAt(APP, 2 * step), now: inStep(step, 60), window: 0, lastStep: null }))
        .to.deep.equal({ verified: false, reason: 'invalid' });
    });
  });

  describe('drift', () => {
    // A code viewer whose clock runs 3 steps (90 s) fast.
    const FAST = 3;
    const current = 56_000_000;

    it('verifies around now + drift with the narrow window', () => {
      for (const offset of [-1, 0, 1]) {
        const result = verifyTotp({
          ...APP, code: codeAt(APP, current + FAST + offset), now: inStep(current), drift: FAST, window: 1, lastStep: null,
        });
        expect(result).to.deep.equal({ verified: true, step: current + FAST + offset, drift: FAST + offset });
      }
    });

    it('refuses outside now + drift ± window', () => {
      for (const step of [current + FAST + 2, current + FAST - 2, current]) {
        const result = verifyTotp({
          ...APP, code: codeAt(APP, step), now: inStep(current), drift: FAST, window: 1, lastStep: null,
        });
        expect(result, `step ${step - current}`).to.deep.equal({ verified: false, reason: 'invalid' });
      }
    });

    it('refuses the fast token without its drift', () => {
      const result = verifyTotp({ ...APP, code: codeAt(APP, current + FAST), now: inStep(current), lastStep: null });
      expect(result).to.deep.equal({ verified: false, reason: 'invalid' });
    });
  });

  describe('replay (RFC 6238 §5.2)', () => {
    const current = 56_000_000;
    const now = inStep(current);

    it('refuses the code of the last accepted step as replayed', () => {
      const code = codeAt(APP, current);
      const first = verifyTotp({ ...APP, code, now, lastStep: null });
      expect(first).to.deep.equal({ verified: true, step: current, drift: 0 });
      const second = verifyTotp({ ...APP, code, now: now + 5000, lastStep: current });
      expect(second).to.deep.equal({ verified: false, reason: 'replayed' });
    });

    it('refuses a code older than the last accepted step as replayed', () => {
      const result = verifyTotp({ ...APP, code: codeAt(APP, current - 1), now, lastStep: current });
      expect(result).to.deep.equal({ verified: false, reason: 'replayed' });
    });

    it('accepts the next step after the last accepted one', () => {
      const result = verifyTotp({ ...APP, code: codeAt(APP, current + 1), now, lastStep: current });
      expect(result).to.deep.equal({ verified: true, step: current + 1, drift: 1 });
    });

    it('calls a wrong code invalid, not replayed', () => {
      const wrong = codeAt(APP, current + 50);
      const result = verifyTotp({ ...APP, code: wrong, now, lastStep: current });
      expect(result).to.deep.equal({ verified: false, reason: 'invalid' });
    });

    it('refuses everything when the last accepted step lies beyond the window', () => {
      // A clock moved back after a login: no step of the window is fresh.
      const code = codeAt(APP, current);
      expect(verifyTotp({ ...APP, code, now, lastStep: current + 10 }))
        .to.deep.equal({ verified: false, reason: 'replayed' });
      expect(verifyTotp({ ...APP, code: codeAt(APP, current + 60), now, lastStep: current + 10 }))
        .to.deep.equal({ verified: false, reason: 'invalid' });
    });
  });

  describe('several matching steps', () => {
    // Found by a search over this seed: the 6-digit SHA1 codes of steps 50897033 and 50897035
    // are both 407517. The first assertion keeps the test honest if that ever stops holding.
    const A = 50_897_033;
    const B = 50_897_035;
    const code = '407517';

    it('has the collision it relies on', () => {
      expect(codeAt(APP, A)).to.equal(code);
      expect(codeAt(APP, B)).to.equal(code);
      expect(codeAt(APP, A + 1)).not.to.equal(code);
    });

    it('prefers the step nearest to the expected one', () => {
      expect(verifyTotp({ ...APP, code, now: inStep(A), window: 2, lastStep: null }))
        .to.deep.equal({ verified: true, step: A, drift: 0 });
      expect(verifyTotp({ ...APP, code, now: inStep(B), window: 2, lastStep: null }))
        .to.deep.equal({ verified: true, step: B, drift: 0 });
      expect(verifyTotp({ ...APP, code, now: inStep(A - 1), window: 4, lastStep: null }))
        .to.deep.equal({ verified: true, step: A, drift: 1 });
    });

    it('prefers the later step on a tie, so the code cannot be accepted again', () => {
      const result = verifyTotp({ ...APP, code, now: inStep(A + 1), window: 1, lastStep: null });
      expect(result).to.deep.equal({ verified: true, step: B, drift: 1 });
      expect(verifyTotp({ ...APP, code, now: inStep(A + 1) + 1000, window: 1, lastStep: B }))
        .to.deep.equal({ verified: false, reason: 'replayed' });
    });
  });

  describe('options', () => {
    const base = { ...APP, code: '123456', now: inStep(56_000_000), lastStep: null };

    it('throws on a secret shorter than 128 bits (RFC 4226 §4 R6)', () => {
      expect(() => verifyTotp({ ...base, secret: new Uint8Array(10) })).to.throw(TypeError, /secret must be 16 to 64 bytes/);
    });

    it('throws on unsupported parameters', () => {
      expect(() => verifyTotp({ ...base, algorithm: 'MD5' as never })).to.throw(TypeError, /algorithm/);
      expect(() => verifyTotp({ ...base, digits: 7 as never })).to.throw(TypeError, /digits/);
      expect(() => verifyTotp({ ...base, period: 45 as never })).to.throw(TypeError, /period/);
    });

    it('throws on bad numbers', () => {
      expect(() => verifyTotp({ ...base, now: Number.NaN })).to.throw(TypeError, /now/);
      expect(() => verifyTotp({ ...base, drift: 1.5 })).to.throw(TypeError, /drift/);
      expect(() => verifyTotp({ ...base, window: -1 })).to.throw(TypeError, /window/);
      expect(() => verifyTotp({ ...base, lastStep: -3 })).to.throw(TypeError, /lastStep/);
    });
  });
});
