import { expect } from 'chai';

import { generateAccessPass, normaliseAccessPass } from './access-pass-format.ts';

describe('access pass format', () => {
  it('generates four groups of four from the unambiguous alphabet, each pass new', () => {
    const passes = Array.from({ length: 200 }, generateAccessPass);
    for (const pass of passes) expect(pass).to.match(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(new Set(passes).size).to.equal(passes.length);
  });

  it('reads a pass however it is typed: case, spaces, dashes, and O, I, L for digits', () => {
    expect(normaliseAccessPass('7kq2 m9xd-3htr b6we')).to.equal('7KQ2M9XD3HTRB6WE');
    expect(normaliseAccessPass('O1IL-0000-0000-0000')).to.equal('0111000000000000');
    expect(normaliseAccessPass(generateAccessPass())).to.have.length(16);
  });

  it('refuses what cannot be a pass', () => {
    expect(normaliseAccessPass('')).to.equal(undefined);
    expect(normaliseAccessPass('7KQ2-M9XD-3HTR')).to.equal(undefined);
    expect(normaliseAccessPass('7KQ2-M9XD-3HTR-B6WU')).to.equal(undefined);
    expect(normaliseAccessPass('7KQ2-M9XD-3HTR-B6WE-X')).to.equal(undefined);
  });
});
