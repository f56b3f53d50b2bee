import { expect } from 'chai';

import { generatePairingCode, hashPairingCode, normalisePairingCode, PAIRING_CODE_ALPHABET } from './pairing-code.ts';

describe('pairing codes', () => {
  it('are 10 characters of the alphabet in two groups of five', () => {
    for (let i = 0; i < 50; i++) {
      const code = generatePairingCode();
      expect(code).to.match(/^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{5}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{5}$/);
    }
    expect(PAIRING_CODE_ALPHABET).to.not.match(/[01ILO]/);
  });

  it('are typed in any case, with or without spaces and dashes', () => {
    expect(normalisePairingCode('abcde-fghjk')).to.equal('ABCDEFGHJK');
    expect(normalisePairingCode(' ABCDE FGHJK ')).to.equal('ABCDEFGHJK');
    expect(normalisePairingCode('ABCDEFGHJK')).to.equal('ABCDEFGHJK');
  });

  it('are not codes with a wrong length or a character outside the alphabet', () => {
    expect(normalisePairingCode('ABCDE-FGHJ')).to.equal(undefined);
    expect(normalisePairingCode('ABCDE-FGHJKM')).to.equal(undefined);
    expect(normalisePairingCode('ABCDE-FGHJ0')).to.equal(undefined);
    expect(normalisePairingCode('ABCDE-FGHJI')).to.equal(undefined);
  });

  it('are stored as a keyed hash that depends on the key', () => {
    const one = hashPairingCode(Buffer.alloc(32, 1), 'ABCDEFGHJK');
    expect(one).to.equal(hashPairingCode(Buffer.alloc(32, 1), 'ABCDEFGHJK'));
    expect(one).to.not.equal(hashPairingCode(Buffer.alloc(32, 2), 'ABCDEFGHJK'));
    expect(one).to.not.include('ABCDEFGHJK');
  });
});
