import { expect } from 'chai';

import { checkFactorName, FACTOR_NAME_MAX_LENGTH } from './factor-name.ts';

describe('checkFactorName', () => {
  it('accepts a name and trims it', () => {
    expect(checkFactorName({ name: '  Kodeviser på kontoret ' })).to.deep.equal({ ok: true, name: 'Kodeviser på kontoret' });
    expect(checkFactorName({ name: 'K' })).to.deep.equal({ ok: true, name: 'K' });
  });

  it('refuses an empty name, or one of spaces only', () => {
    for (const name of ['', '   ', '\u00a0\t ']) expect(checkFactorName({ name }), JSON.stringify(name)).to.deep.equal({ ok: false, reason: 'empty' });
  });

  it('allows 60 characters, counted as the user counts them, and refuses 61', () => {
    expect(checkFactorName({ name: 'æ'.repeat(FACTOR_NAME_MAX_LENGTH) }).ok).to.equal(true);
    // 60 emoji are 120 UTF-16 units but 60 characters.
    expect(checkFactorName({ name: '😀'.repeat(FACTOR_NAME_MAX_LENGTH) }).ok).to.equal(true);
    expect(checkFactorName({ name: 'a'.repeat(FACTOR_NAME_MAX_LENGTH + 1) })).to.deep.equal({ ok: false, reason: 'too_long' });
  });

  it('refuses control characters and line breaks inside the name', () => {
    for (const name of ['Kode\nviser', 'Kode\u0000viser', 'Kode\u001bviser', 'Kode\u2028viser', 'Kode\u0085viser', 'Kode\rviser']) {
      expect(checkFactorName({ name }), JSON.stringify(name)).to.deep.equal({ ok: false, reason: 'control' });
    }
  });

  it('trims a line break at either end rather than refusing it', () => {
    expect(checkFactorName({ name: 'Kodeviser\n' })).to.deep.equal({ ok: true, name: 'Kodeviser' });
  });
});
