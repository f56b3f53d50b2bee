import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { verifyTotp } from '../../totp/verify.ts';
import { parseTokenCsv, readCsvSecret } from './csv.ts';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../../../test/fixtures/tokens/${name}`, import.meta.url), 'utf8');

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const HEADER = 'serial,secret,algorithm,digits,period';
const SEED20_HEX = '3132333435363738393031323334353637383930';

describe('parseTokenCsv', () => {
  it('reads hex and base32 secrets, prefixes, separators in serials and defaults', () => {
    const result = parseTokenCsv({ text: fixture('tokens.csv') });
    expect(result).to.deep.equal({
      ok: true,
      tokens: [
        { where: 'line 2', serial: '2600215704919', secret: ascii('12345678901234567890'), algorithm: 'SHA1', digits: 6, period: 30 },
        { where: 'line 3', serial: '2600215704920', secret: ascii('12345678901234567890'), algorithm: 'SHA1', digits: 6, period: 30 },
        { where: 'line 5', serial: '2600215704921', secret: ascii('12345678901234567890123456789012'), algorithm: 'SHA256', digits: 8, period: 60 },
        { where: 'line 6', serial: '2600215704922', secret: ascii('12345678901234567890'), algorithm: 'SHA512', digits: 6, period: 30 },
      ],
    });
  });

  it('imports a token whose codes verify (RFC 6238 Appendix B, T = 59 s, last 6 digits)', () => {
    const result = parseTokenCsv({ text: fixture('tokens.csv') });
    if (!result.ok) throw new Error('expected tokens');
    const [token] = result.tokens;
    if (!token) throw new Error('expected a token');
    expect(verifyTotp({ ...token, code: '287082', now: 59_000, window: 0, lastStep: null }))
      .to.deep.equal({ verified: true, step: 1, drift: 0 });
  });

  it('accepts semicolons (Danish spreadsheets), CRLF, a byte order mark and quoted fields', () => {
    expect(parseTokenCsv({ text: fixture('tokens-semicolon-crlf.csv') })).to.deep.equal({
      ok: true,
      tokens: [{ where: 'line 2', serial: '2600215704919', secret: ascii('12345678901234567890'), algorithm: 'SHA1', digits: 6, period: 30 }],
    });
    const quoted = `\uFEFF${HEADER}\r\n"2600215704919","${SEED20_HEX}","SHA1","6","30"\r\n`;
    expect(parseTokenCsv({ text: quoted })).to.deep.include({ ok: true });
  });

  it('lets trailing optional columns be left out', () => {
    const result = parseTokenCsv({ text: `${HEADER}\n2600215704919,${SEED20_HEX}\n` });
    expect(result).to.deep.equal({
      ok: true,
      tokens: [{ where: 'line 2', serial: '2600215704919', secret: ascii('12345678901234567890'), algorithm: 'SHA1', digits: 6, period: 30 }],
    });
  });

  it('returns every error of the file and no token when any line is bad', () => {
    const text = [
      HEADER,
      `2600215704919,${SEED20_HEX},,,`, // good
      `26002157049,${SEED20_HEX},,,`, // line 3: 11-digit serial
      `2600-2157-0491-9,${SEED20_HEX},,,`, // line 4: same serial as line 2
      '2600215704925,,,,', // line 5: no secret
      `2600215704926,${SEED20_HEX},MD5,7,45`, // line 6: algorithm, digits, period
      '',
      `2600215704927,${SEED20_HEX},,,,extra`, // line 8: six fields
    ].join('\n');
    const result = parseTokenCsv({ text });
    expect(result.ok).to.equal(false);
    if (result.ok) return;
    expect(result.errors.map(({ where, code }) => `${where}: ${code}`)).to.deep.equal([
      'line 3: serial',
      'line 4: duplicate_serial',
      'line 5: secret',
      'line 6: algorithm',
      'line 6: digits',
      'line 6: period',
      'line 8: format',
    ]);
    expect(result.errors[0]?.message).to.equal('Serienummeret skal være 13 cifre, ikke 11 / The serial number must be 13 digits, not 11');
    expect(result.errors[1]?.message).to.include('(first: line 2)');
    expect(result.errors[3]?.message).to.include('The hash algorithm "MD5" is not supported; use SHA1, SHA256 or SHA512');
  });

  it('refuses a wrong header', () => {
    const result = parseTokenCsv({ text: `serial,seed\n2600215704919,${SEED20_HEX}\n` });
    expect(result).to.deep.equal({
      ok: false,
      errors: [{
        where: 'line 1',
        code: 'format',
        message: 'Første linje skal være overskriften serial,secret,algorithm,digits,period / The first line must be the header serial,secret,algorithm,digits,period',
      }],
    });
  });

  it('refuses a file without tokens', () => {
    for (const text of ['', '\n\n', `${HEADER}\n\n`]) {
      const result = parseTokenCsv({ text });
      expect(result, JSON.stringify(text)).to.deep.include({ ok: false });
      if (!result.ok) expect(result.errors[0]?.message).to.include('The file contains no tokens');
    }
  });
});

describe('readCsvSecret: telling hex from base32', () => {
  const read = (text: string) => {
    const result = readCsvSecret(text);
    return result.ok ? Buffer.from(result.value).toString('hex') : result.message;
  };

  it('reads valid-only-as-hex as hex, and valid-only-as-base32 as base32', () => {
    expect(read(SEED20_HEX)).to.equal(SEED20_HEX);
    expect(read(SEED20_HEX.toUpperCase())).to.equal(SEED20_HEX);
    expect(read('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')).to.equal(SEED20_HEX);
    expect(read('gezdgnbvgy3tqojqgezdgnbvgy3tqojq')).to.equal(SEED20_HEX);
    expect(read('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ')).to.equal(SEED20_HEX);
  });

  it('refuses a secret valid as both, unless prefixed', () => {
    // Only A–F and 2–7: 32 hex digits (16 bytes) or 32 base32 letters (20 bytes).
    const both = 'ABCDEF234567ABCDEF234567ABCDEF23';
    expect(read(both)).to.include('The secret reads as both hex and base32; prefix it with hex: or base32:');
    expect(read(`hex:${both}`)).to.equal(both.toLowerCase());
    expect(read(`BASE32:${both}`)).to.have.length(40); // 20 bytes, as hex
    expect(read(`base32:${both}`)).to.equal(read(`BASE32:${both}`));
  });

  it('refuses what is neither, a prefix that lies, and a secret under 128 bits', () => {
    expect(read('not a secret!')).to.include('The secret is neither hex nor base32');
    expect(read(`base32:${SEED20_HEX}`)).to.include('The secret is not valid base32');
    expect(read('hex:GEZDGNBVGY3TQOJQ')).to.include('The secret is not valid hex');
    expect(read('3132333435363738393')).to.include('neither'); // odd hex length, and 1, 8, 9 are not base32
    expect(read('31323334353637383930')).to.include('The secret is 10 bytes; it must be 16 to 64 bytes (RFC 4226 §4)');
  });
});
