import { expect } from 'chai';

import { checkPinRule } from './pin.ts';

describe('checkPinRule', () => {
  it('takes 4 digits on a desktop and 6 in an app', () => {
    expect(checkPinRule({ pin: '2580', kind: 'desktop' })).to.deep.equal({ ok: true });
    expect(checkPinRule({ pin: '285091', kind: 'app' })).to.deep.equal({ ok: true });
  });

  it('refuses the wrong length for the kind', () => {
    expect(checkPinRule({ pin: '285091', kind: 'desktop' })).to.include({ ok: false, reason: 'wrong_length' });
    expect(checkPinRule({ pin: '2580', kind: 'app' })).to.include({ ok: false, reason: 'wrong_length' });
    expect(checkPinRule({ pin: '', kind: 'desktop' })).to.include({ ok: false, reason: 'wrong_length' });
  });

  it('refuses anything but ASCII digits', () => {
    for (const pin of ['12a4', ' 258', '２５８０', '25.0', '-258']) {
      expect(checkPinRule({ pin, kind: 'desktop' }), pin).to.include({ ok: false, reason: 'not_digits' });
    }
  });

  it('refuses one digit repeated', () => {
    expect(checkPinRule({ pin: '0000', kind: 'desktop' })).to.include({ ok: false, reason: 'same_digits' });
    expect(checkPinRule({ pin: '777777', kind: 'app' })).to.include({ ok: false, reason: 'same_digits' });
  });

  it('refuses straight runs up and down', () => {
    for (const [pin, kind] of [['1234', 'desktop'], ['4321', 'desktop'], ['012345', 'app'], ['987654', 'app'], ['6789', 'desktop']] as const) {
      expect(checkPinRule({ pin, kind }), pin).to.include({ ok: false, reason: 'sequence' });
    }
  });

  it('does not wrap around, and a run broken once is fine', () => {
    for (const [pin, kind] of [['7890', 'desktop'], ['0987', 'desktop'], ['1235', 'desktop'], ['123465', 'app'], ['1212', 'desktop']] as const) {
      expect(checkPinRule({ pin, kind }), pin).to.deep.equal({ ok: true });
    }
  });

  it('explains a refusal in a sentence', () => {
    expect(checkPinRule({ pin: '123', kind: 'desktop' })).to.include({ message: 'the PIN must be exactly 4 digits' });
  });
});
