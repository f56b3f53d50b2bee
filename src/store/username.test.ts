import { expect } from 'chai';

import { normaliseUsername } from './username.ts';

describe('username normalisation', () => {
  it('folds letter case beyond ASCII the same in every locale', () => {
    expect(normaliseUsername('ANNA')).to.equal('anna');
    expect(normaliseUsername('ØRSTED')).to.equal('ørsted');
    // Turkish dotted capital I: "i" with a combining dot, never a locale's dotless guess.
    expect(normaliseUsername('İbrahim')).to.equal('i\u0307brahim');
    expect(normaliseUsername('İbrahim')).to.equal(normaliseUsername('i\u0307brahim'));
    expect(normaliseUsername('İbrahim')).not.to.equal(normaliseUsername('ibrahim'));
  });

  it('keeps ß apart from ss (lower case, not case folding) but maps the capital ẞ to ß', () => {
    expect(normaliseUsername('Straße')).to.equal('straße');
    expect(normaliseUsername('STRAẞE')).to.equal('straße');
    expect(normaliseUsername('STRASSE')).to.equal('strasse');
  });

  it('maps full-width and compatibility letters to their plain form', () => {
    expect(normaliseUsername('ＡＮＮＡ')).to.equal('anna');
    expect(normaliseUsername('ﬁn')).to.equal('fin');
    expect(normaliseUsername('\u212Aim')).to.equal('kim'); // KELVIN SIGN
  });

  it('composes combining marks, so a name typed either way is one name', () => {
    expect(normaliseUsername('A\u030Ase')).to.equal('åse');
    expect(normaliseUsername('\u00C5se')).to.equal('åse');
    expect(normaliseUsername('Jose\u0301')).to.equal(normaliseUsername('José'));
  });

  it('changes nothing the second time', () => {
    for (const name of ['İbrahim', 'ＡＮＮＡ', 'A\u030Ase', 'Straße', 'ǅemal', 'ΣΊΣΥΦΟΣ']) {
      expect(normaliseUsername(normaliseUsername(name)), name).to.equal(normaliseUsername(name));
    }
  });
});
