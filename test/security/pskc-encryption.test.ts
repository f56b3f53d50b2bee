/**
 * Hostile PSKC files (issue "Step 3 · Hardening", 2): once a file declares encryption, or the
 * importer is given a pre-shared key, a secret in the clear is refused, and so is a secret with
 * both a plain and an encrypted value. Reproduced before the fix: a `PlainValue` was imported
 * from a file declaring a pre-shared key without any MAC check, and of `PlainValue` and
 * `EncryptedValue` the plain one won.
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { parseTokenPskc } from '../../src/factors/code-viewer/import/pskc.ts';
import type { ImportResult } from '../../src/factors/code-viewer/import/types.ts';
import { createCliBacking, type CliBacking } from '../cli/run.ts';
import { makeCodeViewer } from '../helpers/totp.ts';

type Viewer = ReturnType<typeof makeCodeViewer>;
/** How each key's secret is written. */
type SecretStyle = 'encrypted' | 'plain' | 'both';

/**
 * A PSKC container as RFC 6030 §6.1 writes it: a named pre-shared key, an HMAC-SHA1 MAC key
 * encrypted under it, and each secret as `style` says. `both` puts the real secret encrypted
 * (with a valid ValueMAC) and an attacker's secret in a `PlainValue` beside it.
 */
function container(psk: Buffer, keys: Array<{ viewer: Viewer; style: SecretStyle; planted?: Uint8Array }>, declare = true): string {
  const macKey = randomBytes(20);
  const encrypt = (plaintext: Uint8Array) => {
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-128-cbc', psk, iv);
    return Buffer.concat([iv, cipher.update(plaintext), cipher.final()]);
  };
  const encrypted = (bytes: Uint8Array) => {
    const data = encrypt(bytes);
    return `<EncryptedValue><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
        <xenc:CipherData><xenc:CipherValue>${data.toString('base64')}</xenc:CipherValue></xenc:CipherData></EncryptedValue>
        <ValueMAC>${createHmac('sha1', macKey).update(data).digest('base64')}</ValueMAC>`;
  };
  const plain = (bytes: Uint8Array) => `<PlainValue>${Buffer.from(bytes).toString('base64')}</PlainValue>`;
  const secret = ({ viewer, style, planted }: { viewer: Viewer; style: SecretStyle; planted?: Uint8Array }) =>
    style === 'encrypted' ? encrypted(viewer.secret) : style === 'plain' ? plain(viewer.secret) : `${plain(planted ?? randomBytes(20))}${encrypted(viewer.secret)}`;
  const protection = declare
    ? `<EncryptionKey><ds:KeyName>Leverandør batch 7</ds:KeyName></EncryptionKey>
  <MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"><MACKey>
    <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
    <xenc:CipherData><xenc:CipherValue>${encrypt(macKey).toString('base64')}</xenc:CipherValue></xenc:CipherData>
  </MACKey></MACMethod>`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">
  ${protection}${keys.map((key) => `
  <KeyPackage>
    <DeviceInfo><Manufacturer>Test</Manufacturer><SerialNo>${key.viewer.serial}</SerialNo></DeviceInfo>
    <Key Id="${key.viewer.serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret>${secret(key)}</Secret>
        <TimeInterval><PlainValue>30</PlainValue></TimeInterval>
      </Data>
    </Key>
  </KeyPackage>`).join('')}
</KeyContainer>
`;
}

/** `where [code]` of each error. */
function refusals(result: ImportResult): string[] {
  expect(result.ok, 'the file should be refused').to.equal(false);
  return result.ok ? [] : result.errors.map(({ where, code }) => `${where} [${code}]`);
}

describe('security: PSKC encryption is not optional once declared', () => {
  const psk = randomBytes(16);

  it('refuses a PlainValue secret in a file that declares a pre-shared key, with the key given', () => {
    const [a, b] = [makeCodeViewer(), makeCodeViewer()];
    const result = parseTokenPskc({ xml: container(psk, [{ viewer: a, style: 'encrypted' }, { viewer: b, style: 'plain' }]), psk });
    expect(refusals(result)).to.deep.equal([`KeyPackage 2 (serial ${b.serial}) [unencrypted]`]);
    if (!result.ok) expect(result.errors[0]?.message).to.include('Secret is in the clear (PlainValue) in an encrypted file');
  });

  it('refuses PlainValue secrets in a file that declares encryption but has no encrypted value, with or without a key', () => {
    const [a, b] = [makeCodeViewer(), makeCodeViewer()];
    const xml = container(psk, [{ viewer: a, style: 'plain' }, { viewer: b, style: 'plain' }]);
    const expected = [`KeyPackage 1 (serial ${a.serial}) [unencrypted]`, `KeyPackage 2 (serial ${b.serial}) [unencrypted]`];
    expect(refusals(parseTokenPskc({ xml }))).to.deep.equal(expected);
    expect(refusals(parseTokenPskc({ xml, psk }))).to.deep.equal(expected);
  });

  it('refuses a plain file when a pre-shared key is given (the operator expected encryption)', () => {
    const viewer = makeCodeViewer();
    const xml = container(psk, [{ viewer, style: 'plain' }], false);
    expect(parseTokenPskc({ xml }).ok, 'without a key the plain file is fine').to.equal(true);
    expect(refusals(parseTokenPskc({ xml, psk }))).to.deep.equal([`KeyPackage 1 (serial ${viewer.serial}) [unencrypted]`]);
  });

  it('refuses a Secret with both a PlainValue and an EncryptedValue, whichever comes first', () => {
    const viewer = makeCodeViewer();
    const xml = container(psk, [{ viewer, style: 'both', planted: randomBytes(20) }]);
    expect(refusals(parseTokenPskc({ xml, psk }))).to.deep.equal([`KeyPackage 1 (serial ${viewer.serial}) [unencrypted]`]);
    const swapped = xml.replace(/(<PlainValue>[^<]*<\/PlainValue>)(<EncryptedValue>[\s\S]*?<\/ValueMAC>)/, '$2$1');
    expect(swapped).to.not.equal(xml);
    expect(refusals(parseTokenPskc({ xml: swapped, psk }))).to.deep.equal([`KeyPackage 1 (serial ${viewer.serial}) [unencrypted]`]);
  });

  it('still imports a file whose secrets are all encrypted, with plain non-secret values beside them', () => {
    const [a, b] = [makeCodeViewer(), makeCodeViewer()];
    const result = parseTokenPskc({ xml: container(psk, [{ viewer: a, style: 'encrypted' }, { viewer: b, style: 'encrypted' }]), psk });
    expect(result.ok).to.equal(true);
    if (result.ok) expect(result.tokens.map((token) => Buffer.from(token.secret).toString('hex'))).to.deep.equal([a, b].map((v) => Buffer.from(v.secret).toString('hex')));
  });

  describe('stepup tokens import', function () {
    let backing: CliBacking;
    let dir: string;

    before(async () => {
      backing = await createCliBacking();
      await backing.migrate();
      dir = await mkdtemp(join(tmpdir(), 'stepup-pskc-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
      await backing?.cleanup();
    });

    const serialsInStock = () => backing.inspect(async (db) => ((await db('totp_tokens').select('serial')) as Array<{ serial: string }>).map((row) => row.serial));

    it('imports nothing from a file with one planted PlainValue among encrypted secrets, naming its KeyPackage', async () => {
      const [a, b, c] = [makeCodeViewer(), makeCodeViewer(), makeCodeViewer()];
      const path = join(dir, 'planted.pskc');
      await writeFile(path, container(psk, [{ viewer: a, style: 'encrypted' }, { viewer: b, style: 'plain' }, { viewer: c, style: 'both' }]));
      const before = await serialsInStock();
      const result = await backing.run(['tokens', 'import', path, '--psk-hex', psk.toString('hex')]);
      expect(result.code, result.stderr).to.equal(1);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines[0]).to.equal('stepup: planted.pskc (pskc) was not imported, nothing was written: 2 errors');
      expect(lines.slice(1).map((line) => line.replace(/\]:.*$/, ']'))).to.deep.equal([
        `  KeyPackage 2 (serial ${b.serial}) [unencrypted]`,
        `  KeyPackage 3 (serial ${c.serial}) [unencrypted]`,
      ]);
      expect(await serialsInStock()).to.deep.equal(before);
      expect(before).to.not.include(a.serial);
    });
  });
});
