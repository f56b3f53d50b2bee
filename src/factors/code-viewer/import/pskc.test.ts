import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { verifyTotp } from '../../totp/verify.ts';
import { parseTokenPskc } from './pskc.ts';
import type { ImportResult } from './types.ts';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../../../test/fixtures/tokens/${name}`, import.meta.url), 'utf8');

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** RFC 6030 Figure 6's pre-shared key. */
const RFC_PSK = new Uint8Array(Buffer.from('12345678901234567890123456789012', 'hex'));

/** `where: code` of each error, for compact assertions. */
function problems(result: ImportResult): string[] {
  expect(result.ok, 'the file should be refused').to.equal(false);
  return result.ok ? [] : result.errors.map(({ where, code }) => `${where}: ${code}`);
}

// ---------------------------------------------------------------------------------------------
// A generator of encrypted PSKC files, written from RFC 6030 §6.1 with node:crypto, so the
// parser's MAC check and decryption run against real AES-CBC and HMAC output.

interface GeneratedKey {
  serial: string;
  secret: Uint8Array;
  digits?: number;
  period?: number;
  suite?: string;
  /** Encrypt TimeInterval too (as ASCII digits), as some vendors do. */
  encryptPeriod?: boolean;
}

interface GenerateOptions {
  psk: Uint8Array;
  keys: GeneratedKey[];
  cipher?: 'aes128-cbc' | 'aes256-cbc';
  mac?: 'hmac-sha1' | 'hmac-sha256';
  macKey?: Uint8Array;
  /** Turns each encrypted value's XML pieces around before they are written (tampering). */
  tamper?: (piece: { cipherValue: string; valueMac: string }, index: number) => { cipherValue: string; valueMac: string };
}

const CIPHER_URI = { 'aes128-cbc': 'http://www.w3.org/2001/04/xmlenc#aes128-cbc', 'aes256-cbc': 'http://www.w3.org/2001/04/xmlenc#aes256-cbc' };
const MAC_URI = { 'hmac-sha1': 'http://www.w3.org/2000/09/xmldsig#hmac-sha1', 'hmac-sha256': 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256' };

function generatePskc(options: GenerateOptions): string {
  const cipher = options.cipher ?? 'aes128-cbc';
  const mac = options.mac ?? 'hmac-sha1';
  const macKey = options.macKey ?? randomBytes(20);
  let encryptedCount = 0;

  /** IV + AES-CBC ciphertext with PKCS#7 padding, base64 (XML Encryption §5.2). */
  const encrypt = (plaintext: Uint8Array): Buffer => {
    const iv = randomBytes(16);
    const encryptor = createCipheriv(cipher.replace(/^aes(\d+)-cbc$/, 'aes-$1-cbc'), options.psk, iv);
    return Buffer.concat([iv, encryptor.update(plaintext), encryptor.final()]);
  };
  const encryptedValue = (plaintext: Uint8Array): string => {
    const data = encrypt(plaintext);
    // RFC 6030 §6.1.1: the MAC is computed over the encrypted value, IV included.
    const valueMac = createHmac(mac === 'hmac-sha1' ? 'sha1' : 'sha256', macKey).update(data).digest('base64');
    const piece = { cipherValue: data.toString('base64'), valueMac };
    const written = options.tamper ? options.tamper(piece, encryptedCount) : piece;
    encryptedCount += 1;
    return `
          <p:EncryptedValue>
            <x:EncryptionMethod Algorithm="${CIPHER_URI[cipher]}"/>
            <x:CipherData><x:CipherValue>${written.cipherValue}</x:CipherValue></x:CipherData>
          </p:EncryptedValue>
          <p:ValueMAC>${written.valueMac}</p:ValueMAC>`;
  };

  const packages = options.keys.map((key) => `
  <p:KeyPackage>
    <p:DeviceInfo><p:Manufacturer>Generated</p:Manufacturer><p:SerialNo>${key.serial}</p:SerialNo></p:DeviceInfo>
    <p:Key Id="${key.serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
      <p:AlgorithmParameters>
        ${key.suite ? `<p:Suite>${key.suite}</p:Suite>` : ''}
        <p:ResponseFormat Length="${key.digits ?? 6}" Encoding="DECIMAL"/>
      </p:AlgorithmParameters>
      <p:Data>
        <p:Secret>${encryptedValue(key.secret)}
        </p:Secret>
        <p:TimeInterval>${key.encryptPeriod
          ? encryptedValue(ascii(String(key.period ?? 30)))
          : `<p:PlainValue>${key.period ?? 30}</p:PlainValue>`}
        </p:TimeInterval>
      </p:Data>
    </p:Key>
  </p:KeyPackage>`).join('');

  return `<?xml version="1.0" encoding="UTF-8"?>
<p:KeyContainer Version="1.0" xmlns:p="urn:ietf:params:xml:ns:keyprov:pskc"
    xmlns:d="http://www.w3.org/2000/09/xmldsig#" xmlns:x="http://www.w3.org/2001/04/xmlenc#">
  <p:EncryptionKey><d:KeyName>Batch 42 key</d:KeyName></p:EncryptionKey>
  <p:MACMethod Algorithm="${MAC_URI[mac]}">
    <p:MACKey>
      <x:EncryptionMethod Algorithm="${CIPHER_URI[cipher]}"/>
      <x:CipherData><x:CipherValue>${encrypt(macKey).toString('base64')}</x:CipherValue></x:CipherData>
    </p:MACKey>
  </p:MACMethod>${packages}
</p:KeyContainer>
`;
}

/** Flips one bit of a base64 value's first byte. */
function flipFirstByte(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

// ---------------------------------------------------------------------------------------------

describe('parseTokenPskc', () => {
  describe('RFC 6030 examples (HOTP, so refused)', () => {
    it('refuses Figure 2: an HOTP key, no serial, a 4-byte secret', () => {
      const result = parseTokenPskc({ xml: fixture('rfc6030-figure2.pskc.xml') });
      expect(problems(result)).to.deep.equal([
        'KeyPackage 1 (no serial): serial',
        'KeyPackage 1 (no serial): token_type',
        'KeyPackage 1 (no serial): secret',
      ]);
      if (!result.ok) {
        expect(result.errors[1]?.message).to.equal(
          'Nøglen er HOTP (hændelsesbaseret); en kodeviser skal være TOTP (tidsbaseret) / The key is HOTP (event-based); a code viewer must be TOTP (time-based)',
        );
        expect(result.errors[2]?.message).to.include('The secret is 4 bytes');
      }
    });

    it('refuses Figure 3: an HOTP key with a 9-digit serial', () => {
      expect(problems(parseTokenPskc({ xml: fixture('rfc6030-figure3.pskc.xml') }))).to.deep.equal([
        'KeyPackage 1 (serial 987654321): serial',
        'KeyPackage 1 (serial 987654321): token_type',
      ]);
    });

    it('refuses Figure 6 for being HOTP, after its MAC and decryption succeed with the RFC key', () => {
      // No mac or decryption error: the RFC's MAC key, ValueMAC and ciphertext check out.
      expect(problems(parseTokenPskc({ xml: fixture('rfc6030-figure6.pskc.xml'), psk: RFC_PSK }))).to.deep.equal([
        'KeyPackage 1 (serial 987654321): serial',
        'KeyPackage 1 (serial 987654321): token_type',
      ]);
    });

    it('asks for the pre-shared key of Figure 6 by its name', () => {
      const result = parseTokenPskc({ xml: fixture('rfc6030-figure6.pskc.xml') });
      expect(problems(result)).to.include('KeyContainer/EncryptionKey: psk_missing');
      if (!result.ok) expect(result.errors[0]?.message).to.include('The file is encrypted with the pre-shared key "Pre-shared-key"; supply that key');
    });
  });

  describe('TOTP files', () => {
    it('reads plain TOTP keys with a prefixed namespace, Suite, ResponseFormat and TimeInterval', () => {
      expect(parseTokenPskc({ xml: fixture('totp-plain.pskc.xml') })).to.deep.equal({
        ok: true,
        tokens: [
          { where: 'KeyPackage 1 (serial 2600215704919)', serial: '2600215704919', secret: ascii('12345678901234567890'), algorithm: 'SHA1', digits: 6, period: 60 },
          { where: 'KeyPackage 2 (serial 2600215704920)', serial: '2600215704920', secret: ascii('12345678901234567890123456789012'), algorithm: 'SHA256', digits: 8, period: 30 },
        ],
      });
    });

    it('imports a key that verifies RFC 6238 Appendix B (SHA256, T = 59 s)', () => {
      const result = parseTokenPskc({ xml: fixture('totp-plain.pskc.xml') });
      const token = result.ok ? result.tokens[1] : undefined;
      if (!token) throw new Error('expected the second token');
      expect(verifyTotp({ ...token, code: '46119246', now: 59_000, window: 0, lastStep: null }))
        .to.deep.equal({ verified: true, step: 1, drift: 0 });
    });

    it('does not care which prefix the namespace has', () => {
      const prefixed = fixture('totp-plain.pskc.xml');
      const unprefixed = prefixed
        .replace('xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc"', 'xmlns="urn:ietf:params:xml:ns:keyprov:pskc"')
        .replace(/(<\/?)pskc:/g, '$1');
      const renamed = prefixed.replace(/(<\/?)pskc:/g, '$1kp:').replace('xmlns:pskc=', 'xmlns:kp=');
      expect(parseTokenPskc({ xml: prefixed }).ok).to.equal(true);
      expect(unprefixed).not.to.include('<pskc:');
      expect(renamed).to.include('<kp:KeyPackage>').and.not.include('<pskc:');
      expect(parseTokenPskc({ xml: unprefixed })).to.deep.equal(parseTokenPskc({ xml: prefixed }));
      expect(parseTokenPskc({ xml: renamed })).to.deep.equal(parseTokenPskc({ xml: prefixed }));
    });

    it('ignores elements of another namespace, even with the right local name', () => {
      const xml = fixture('totp-plain.pskc.xml').replace(
        '<pskc:SerialNo>2600215704919</pskc:SerialNo>',
        '<SerialNo xmlns="urn:example:other">2600215704919</SerialNo>',
      );
      expect(problems(parseTokenPskc({ xml }))).to.deep.equal(['KeyPackage 1 (no serial): serial']);
    });

    it('decrypts Figure 6 made TOTP with the RFC pre-shared key, and the key verifies', () => {
      const result = parseTokenPskc({ xml: fixture('totp-figure6.pskc.xml'), psk: RFC_PSK });
      expect(result).to.deep.equal({
        ok: true,
        tokens: [{ where: 'KeyPackage 1 (serial 9876543210123)', serial: '9876543210123', secret: ascii('12345678901234567890'), algorithm: 'SHA1', digits: 8, period: 30 }],
      });
      const token = result.ok ? result.tokens[0] : undefined;
      if (!token) throw new Error('expected a token');
      expect(verifyTotp({ ...token, code: '94287082', now: 59_000, window: 0, lastStep: null }))
        .to.deep.include({ verified: true, step: 1 });
    });

    it('refuses Figure 6 made TOTP with a wrong pre-shared key, once, at the MAC key', () => {
      const wrong = new Uint8Array(16).fill(7);
      const result = parseTokenPskc({ xml: fixture('totp-figure6.pskc.xml'), psk: wrong });
      expect(problems(result)).to.deep.equal(['KeyContainer/MACMethod/MACKey: decryption']);
      if (!result.ok) expect(result.errors[0]?.message).to.include('is this the right pre-shared key?');
    });

    it('refuses a pre-shared key of the wrong length for AES-128', () => {
      const result = parseTokenPskc({ xml: fixture('totp-figure6.pskc.xml'), psk: new Uint8Array(32) });
      expect(problems(result)).to.deep.equal(['KeyContainer/MACMethod/MACKey: decryption']);
      if (!result.ok) expect(result.errors[0]?.message).to.include('the pre-shared key must be 16 bytes');
    });
  });

  describe('encrypted files generated with node:crypto (RFC 6030 §6.1)', () => {
    const psk = new Uint8Array(randomBytes(16));
    const keys: GeneratedKey[] = [
      { serial: '1000117803294', secret: new Uint8Array(randomBytes(20)) },
      { serial: '1000117803295', secret: new Uint8Array(randomBytes(32)), digits: 8, period: 60, suite: 'HMAC-SHA256', encryptPeriod: true },
    ];
    const expected = [
      { where: 'KeyPackage 1 (serial 1000117803294)', serial: '1000117803294', secret: keys[0]?.secret, algorithm: 'SHA1', digits: 6, period: 30 },
      { where: 'KeyPackage 2 (serial 1000117803295)', serial: '1000117803295', secret: keys[1]?.secret, algorithm: 'SHA256', digits: 8, period: 60 },
    ];

    it('decrypts every secret (and an encrypted TimeInterval) after checking each MAC', () => {
      expect(parseTokenPskc({ xml: generatePskc({ psk, keys }), psk })).to.deep.equal({ ok: true, tokens: expected });
    });

    it('supports AES-256-CBC with HMAC-SHA256', () => {
      const psk256 = new Uint8Array(randomBytes(32));
      const xml = generatePskc({ psk: psk256, keys, cipher: 'aes256-cbc', mac: 'hmac-sha256', macKey: randomBytes(32) });
      expect(parseTokenPskc({ xml, psk: psk256 })).to.deep.equal({ ok: true, tokens: expected });
    });

    it('refuses the same file with one byte of a ValueMAC flipped', () => {
      const xml = generatePskc({
        psk,
        keys,
        tamper: (piece, index) => (index === 0 ? { ...piece, valueMac: flipFirstByte(piece.valueMac) } : piece),
      });
      const result = parseTokenPskc({ xml, psk });
      expect(problems(result)).to.deep.equal(['KeyPackage 1 (serial 1000117803294): mac']);
      if (!result.ok) {
        expect(result.errors[0]?.message).to.equal(
          'Secret: ValueMAC passer ikke; filen er ændret, eller den delte nøgle er forkert / Secret: ValueMAC does not match; the file was altered or the pre-shared key is wrong',
        );
      }
    });

    it('refuses a tampered ciphertext by its MAC, before decrypting', () => {
      const xml = generatePskc({
        psk,
        keys,
        tamper: (piece, index) => (index === 1 ? { ...piece, cipherValue: flipFirstByte(piece.cipherValue) } : piece),
      });
      expect(problems(parseTokenPskc({ xml, psk }))).to.deep.equal(['KeyPackage 2 (serial 1000117803295): mac']);
    });

    it('refuses an encrypted value without a ValueMAC (RFC 6030 §6.1.1)', () => {
      const xml = generatePskc({ psk, keys }).replace(/<p:ValueMAC>[^<]*<\/p:ValueMAC>/, '');
      expect(problems(parseTokenPskc({ xml, psk }))).to.deep.equal(['KeyPackage 1 (serial 1000117803294): mac']);
    });

    it('refuses encrypted values without a MACMethod, once for the file', () => {
      const xml = generatePskc({ psk, keys }).replace(/<p:MACMethod[\s\S]*<\/p:MACMethod>/, '');
      expect(problems(parseTokenPskc({ xml, psk }))).to.deep.equal(['KeyContainer/MACMethod: mac']);
    });

    it('refuses an unsupported encryption scheme', () => {
      const xml = generatePskc({ psk, keys })
        .replace('<d:KeyName>Batch 42 key</d:KeyName>', '<d:X509Data><d:X509Certificate>MIIB</d:X509Certificate></d:X509Data>');
      expect(problems(parseTokenPskc({ xml, psk }))).to.deep.equal(['KeyContainer/EncryptionKey: unsupported']);
    });

    it('asks for the key when none is given, once for the file', () => {
      const result = parseTokenPskc({ xml: generatePskc({ psk, keys }) });
      expect(problems(result)).to.deep.equal(['KeyContainer/EncryptionKey: psk_missing']);
      if (!result.ok) expect(result.errors[0]?.message).to.include('pre-shared key "Batch 42 key"');
    });
  });

  describe('rejections', () => {
    const plain = fixture('totp-plain.pskc.xml');

    it('collects the errors of every KeyPackage and returns no token', () => {
      const xml = plain
        .replace('<pskc:SerialNo>2600215704920</pskc:SerialNo>', '<pskc:SerialNo>2600 2157 0491 9</pskc:SerialNo>')
        .replace('<pskc:Suite>HMAC-SHA256</pskc:Suite>', '<pskc:Suite>HMAC-MD5</pskc:Suite>')
        .replace('Length="8"', 'Length="7"');
      expect(problems(parseTokenPskc({ xml }))).to.deep.equal([
        'KeyPackage 2 (serial 2600 2157 0491 9): duplicate_serial',
        'KeyPackage 2 (serial 2600 2157 0491 9): digits',
        'KeyPackage 2 (serial 2600 2157 0491 9): algorithm',
      ]);
    });

    it('refuses unsupported periods, response encodings and time origins', () => {
      const xml = plain
        .replace('<pskc:PlainValue>60</pskc:PlainValue>', '<pskc:PlainValue>45</pskc:PlainValue>')
        .replace('<pskc:PlainValue>0</pskc:PlainValue>', '<pskc:PlainValue>1000</pskc:PlainValue>')
        .replace('Length="8" Encoding="DECIMAL"', 'Length="8" Encoding="HEXADECIMAL"');
      expect(problems(parseTokenPskc({ xml }))).to.deep.equal([
        'KeyPackage 1 (serial 2600215704919): period',
        'KeyPackage 1 (serial 2600215704919): unsupported',
        'KeyPackage 2 (serial 2600215704920): digits',
      ]);
    });

    it('refuses a secret that is not base64, and a missing secret', () => {
      const xml = plain
        .replace('MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=', 'MTIzNDU2Nzg5MDEy*zQ1Njc4OTA=')
        .replace(/<pskc:Secret>\s*<pskc:PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=<\/pskc:PlainValue>\s*<\/pskc:Secret>/, '');
      const result = parseTokenPskc({ xml });
      expect(problems(result)).to.deep.equal([
        'KeyPackage 1 (serial 2600215704919): secret',
        'KeyPackage 2 (serial 2600215704920): secret',
      ]);
      if (!result.ok) expect(result.errors.map((error) => error.message.split(' / ')[1])).to.deep.equal([
        'Secret/PlainValue is not valid base64',
        'The secret is missing',
      ]);
    });

    it('refuses a key algorithm that is neither TOTP nor HOTP', () => {
      const xml = plain.replace('pskc:totp">', 'pskc:ocra">');
      expect(problems(parseTokenPskc({ xml }))).to.deep.equal(['KeyPackage 1 (serial 2600215704919): token_type']);
    });

    it('refuses what is not a PSKC 1.0 KeyContainer', () => {
      expect(problems(parseTokenPskc({ xml: 'serial,secret\n' }))).to.deep.equal(['file: format']);
      expect(problems(parseTokenPskc({ xml: '<KeyContainer Version="1.0"><KeyPackage>' }))).to.deep.equal(['file: format']);
      expect(problems(parseTokenPskc({ xml: '<KeyContainer Version="1.0"/>' }))).to.deep.equal(['file: format']);
      expect(problems(parseTokenPskc({ xml: '<KeyContainer xmlns="urn:ietf:params:xml:ns:keyprov:pskc:1.0" Version="1.0"/>' })))
        .to.deep.equal(['file: format']);
      expect(problems(parseTokenPskc({ xml: plain.replace('Version="1.0"', 'Version="2.0"') }))).to.deep.equal(['KeyContainer: format']);
      expect(problems(parseTokenPskc({ xml: '<KeyContainer xmlns="urn:ietf:params:xml:ns:keyprov:pskc" Version="1.0"/>' })))
        .to.deep.equal(['KeyContainer: format']);
    });
  });

  describe('XML entity attacks: refused before parsing', () => {
    const DOCTYPE_MESSAGE = 'The file contains a DOCTYPE or ENTITY declaration and is refused';

    it('refuses the XXE file, and nothing of /etc/passwd shows up', () => {
      const result = parseTokenPskc({ xml: fixture('xxe.pskc.xml') });
      expect(problems(result)).to.deep.equal(['file: doctype']);
      expect(JSON.stringify(result)).to.include(DOCTYPE_MESSAGE).and.not.include('root:');
    });

    it('refuses an external entity pointing at a local file, without reading it', () => {
      const directory = mkdtempSync(join(tmpdir(), 'pskc-xxe-'));
      try {
        const secretFile = join(directory, 'secret.txt');
        const marker = `MARKER-${randomBytes(8).toString('hex')}`;
        writeFileSync(secretFile, marker);
        const xml = fixture('totp-plain.pskc.xml').replace(
          '<pskc:KeyContainer',
          `<!DOCTYPE pskc:KeyContainer [ <!ENTITY leak SYSTEM "${pathToFileURL(secretFile).href}"> ]>\n<pskc:KeyContainer`,
        ).replace('<pskc:Issuer>Issuer</pskc:Issuer>', '<pskc:Issuer>&leak;</pskc:Issuer>');
        const result = parseTokenPskc({ xml });
        expect(problems(result)).to.deep.equal(['file: doctype']);
        expect(JSON.stringify(result)).not.to.include(marker);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    });

    it('refuses billion laughs at once', () => {
      const started = process.hrtime.bigint();
      const result = parseTokenPskc({ xml: fixture('billion-laughs.pskc.xml') });
      expect(problems(result)).to.deep.equal(['file: doctype']);
      expect(Number(process.hrtime.bigint() - started) / 1e6).to.be.below(1000);
    });

    it('refuses a DOCTYPE however it is written', () => {
      const plain = fixture('totp-plain.pskc.xml');
      for (const declaration of ['<!doctype KeyContainer>', '<!DocType KeyContainer SYSTEM "x.dtd">', '<! DOCTYPE x>', '<!ENTITY x "y">']) {
        const xml = plain.replace('<pskc:KeyContainer', `${declaration}\n<pskc:KeyContainer`);
        expect(problems(parseTokenPskc({ xml })), declaration).to.deep.equal(['file: doctype']);
      }
    });
  });
});
