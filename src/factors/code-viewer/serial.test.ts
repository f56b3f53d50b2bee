import { expect } from 'chai';
import { validateSerial } from './serial.ts';

describe('validateSerial', () => {
  it('accepts 13 digits as they are', () => {
    expect(validateSerial({ serial: '2600215704919' })).to.deep.equal({ valid: true, serial: '2600215704919' });
  });

  for (const typed of ['2600 2157 0491 9', '2600-2157-0491-9', ' 260 021 570 4919 ', '2600\u00a02157\u20130491 9']) {
    it(`normalises separators away: ${JSON.stringify(typed)}`, () => {
      expect(validateSerial({ serial: typed })).to.deep.equal({ valid: true, serial: '2600215704919' });
    });
  }

  it('refuses 12 digits, saying so in Danish first and English second', () => {
    const result = validateSerial({ serial: '260021570491' });
    expect(result).to.deep.equal({
      valid: false,
      reason: 'length',
      message: 'Serienummeret skal være 13 cifre, ikke 12 / The serial number must be 13 digits, not 12',
    });
  });

  it('refuses 14 digits', () => {
    expect(validateSerial({ serial: '26002157049190' })).to.include({ valid: false, reason: 'length' });
  });

  it('refuses an empty serial without counting', () => {
    expect(validateSerial({ serial: ' - ' })).to.deep.equal({
      valid: false,
      reason: 'length',
      message: 'Serienummeret skal være 13 cifre / The serial number must be 13 digits',
    });
  });

  for (const typed of ['26002157049A9', '2600.2157.0491.9', '２６００２１５７０４９１９', '+2600215704919']) {
    it(`refuses other characters: ${JSON.stringify(typed)}`, () => {
      const result = validateSerial({ serial: typed });
      expect(result).to.include({ valid: false, reason: 'characters' });
      if (!result.valid) expect(result.message).to.match(/^Serienummeret må kun indeholde cifre.* \/ The serial number may contain only digits/);
    });
  }
});
