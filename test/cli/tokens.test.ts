import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';
import type { Knex } from 'knex';

import { configWith } from '../../src/config/index.ts';
import { deriveKey } from '../../src/crypto/derived-keys.ts';
import { createSecretBox } from '../../src/crypto/secret-box.ts';
import { createTotpFactors } from '../../src/factors/totp-factors.ts';
import type { TotpToken } from '../../src/factors/totp/index.ts';
import { createAuditLog } from '../../src/store/audit.ts';
import { createTotpTokenRepository, type TotpTokenRecord } from '../../src/store/totp-tokens.ts';
import { codeAt, makeCodeViewer } from '../helpers/totp.ts';
import { createCliBacking, SECRET_KEY, type CliBacking, type RunResult } from './run.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/tokens/', import.meta.url));
const HEADER = 'serial,secret,algorithm,digits,period';
/** RFC 6030 Figure 6's pre-shared key, which totp-figure6.pskc.xml is encrypted with. */
const RFC_PSK_HEX = '12345678901234567890123456789012';
/** What the CLI's configuration gives the factor service (the defaults). */
const config = configWith({ secretKey: SECRET_KEY });

type Viewer = TotpToken & { serial: string };

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
/** RFC 4648 base32 without padding. */
function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of bytes) bits += byte.toString(2).padStart(8, '0');
  return (bits.match(/.{1,5}/g) ?? []).map((chunk) => alphabet[parseInt(chunk.padEnd(5, '0'), 2)]).join('');
}

const csvLine = (viewer: Viewer, secret = `hex:${hex(viewer.secret)}`) => `${viewer.serial},${secret},${viewer.algorithm},${viewer.digits},${viewer.period}`;

/** The current 30-second step of the real clock, which the child process uses too. */
const stepNow = () => Math.floor(Date.now() / 30_000);

/** Waits, if needed, so the next few seconds stay in one time step (the child process reads the clock itself). */
async function freshStep(margin = 8000): Promise<void> {
  const into = Date.now() % 30_000;
  if (into > 30_000 - margin) await new Promise((resolve) => setTimeout(resolve, 30_000 - into + 200));
}

/**
 * A PSKC file (RFC 6030) of TOTP keys: plain values, or, with `psk`, encrypted as §6.1 says:
 * AES-128-CBC with the IV prepended, and an HMAC-SHA1 `ValueMAC` under a MAC key that is
 * itself encrypted with the pre-shared key.
 */
function pskc(keys: Viewer[], options: { psk?: Buffer; tamperMac?: boolean } = {}): string {
  const macKey = randomBytes(20);
  const encrypt = (plaintext: Uint8Array, key: Buffer) => {
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-128-cbc', key, iv);
    return Buffer.concat([iv, cipher.update(plaintext), cipher.final()]);
  };
  const secret = (bytes: Uint8Array) => {
    if (!options.psk) return `<PlainValue>${Buffer.from(bytes).toString('base64')}</PlainValue>`;
    const data = encrypt(bytes, options.psk);
    const mac = createHmac('sha1', macKey).update(data).digest();
    if (options.tamperMac) mac[0] = (mac[0] ?? 0) ^ 1;
    return `<EncryptedValue><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
          <xenc:CipherData><xenc:CipherValue>${data.toString('base64')}</xenc:CipherValue></xenc:CipherData></EncryptedValue>
        <ValueMAC>${mac.toString('base64')}</ValueMAC>`;
  };
  const protection = options.psk
    ? `<EncryptionKey><ds:KeyName>Leverandør batch</ds:KeyName></EncryptionKey>
  <MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"><MACKey>
    <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
    <xenc:CipherData><xenc:CipherValue>${encrypt(macKey, options.psk).toString('base64')}</xenc:CipherValue></xenc:CipherData>
  </MACKey></MACMethod>`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">
  ${protection}${keys.map((key) => `
  <KeyPackage>
    <DeviceInfo><Manufacturer>Test</Manufacturer><SerialNo>${key.serial}</SerialNo></DeviceInfo>
    <Key Id="${key.serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
      <AlgorithmParameters><Suite>HMAC-${key.algorithm}</Suite><ResponseFormat Length="${key.digits}" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret>${secret(key.secret)}</Secret>
        <TimeInterval><PlainValue>${key.period}</PlainValue></TimeInterval>
      </Data>
    </Key>
  </KeyPackage>`).join('')}
</KeyContainer>
`;
}

describe('stepup tokens', function () {
  // Each test runs the command several times, a process each (about 1.5 s apiece on a quiet machine).
  this.timeout(60_000);
  let backing: CliBacking;
  let dir: string;

  before(async () => {
    backing = await createCliBacking();
    await backing.migrate();
    dir = await mkdtemp(join(tmpdir(), 'stepup-tokens-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await backing?.cleanup();
  });

  /** Writes a token file for a run and returns its path. */
  const file = async (name: string, text: string) => {
    const path = join(dir, `${randomBytes(3).toString('hex')}-${name}`);
    await writeFile(path, text);
    return path;
  };

  /** The repositories the command uses, on the suite's database. */
  const stores = (db: Knex) => {
    const tokens = createTotpTokenRepository(db, createSecretBox(deriveKey(SECRET_KEY, 'at-rest')));
    const audit = createAuditLog(db);
    /** The factor service as the server runs it, on the real clock. */
    const factors = createTotpFactors({ tokens, audit, windows: config.totpWindows, limits: config.factorLockout, now: Date.now });
    return { tokens, audit, factors };
  };
  const tokenOf = (serial: string) => backing.inspect(async (db) => stores(db).tokens.findBySerial(serial));
  const seedOf = (serial: string) => backing.inspect(async (db) => {
    const { tokens } = stores(db);
    const record = await tokens.findBySerial(serial);
    return record ? hex(tokens.secretOf(record).secret) : undefined;
  });
  /** How many tokens and import events there are: a refused file changes neither. */
  const inventoryState = () => backing.inspect(async (db, { events }) => ({
    tokens: (await stores(db).tokens.list()).length,
    imports: (await events('code_viewer.imported')).length,
  }));
  const addUser = async (base: string) => {
    const username = `${base}-${randomBytes(3).toString('hex')}`;
    const result = await backing.run(['user', 'add', username]);
    expect(result.code, result.stderr).to.equal(0);
    return username;
  };
  const userIdOf = (username: string) => backing.inspect(async (_db, { users }) => (await users.findByUsername(username))?.id);
  /** Imports viewers through the command (CSV) and checks it worked. */
  const stock = async (...viewers: Viewer[]) => {
    const result = await backing.run(['tokens', 'import', await file('stock.csv', [HEADER, ...viewers.map((viewer) => csvLine(viewer))].join('\n'))]);
    expect(result.code, result.stderr).to.equal(0);
  };
  /** A new code viewer in stock. */
  const stockedViewer = async () => {
    const viewer = makeCodeViewer();
    await stock(viewer);
    return viewer;
  };
  /** Assigns a stocked viewer with the code it shows now. */
  const assign = async (viewer: Viewer, username: string, name = 'Kodeviser') => {
    await freshStep();
    const result = await backing.run(['tokens', 'assign', viewer.serial, username, '--name', name, '--code', codeAt(viewer, stepNow())]);
    expect(result.code, result.stderr).to.equal(0);
    return result;
  };
  const expectNoSecretIn = (result: RunResult, ...secrets: string[]) => {
    for (const secret of secrets) {
      expect(result.stdout).not.to.include(secret);
      expect(result.stderr).not.to.include(secret);
    }
  };

  describe('import', () => {
    it('imports a CSV file with hex and base32 secrets into stock, and audits it', async () => {
      const before = await inventoryState();
      const result = await backing.run(['tokens', 'import', join(FIXTURES, 'tokens.csv')]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal('Imported 4 code viewers into stock from tokens.csv (csv).\n');
      expect(result.stderr).to.equal('');

      // Line 2 hex, line 3 base32 (unprefixed), line 5 base32: with a prefix and in groups.
      const seed20 = hex(Buffer.from('12345678901234567890'));
      expect(await seedOf('2600215704919')).to.equal(seed20);
      expect(await seedOf('2600215704920')).to.equal(seed20);
      expect(await seedOf('2600215704921')).to.equal(hex(Buffer.from('12345678901234567890123456789012')));
      expect(await seedOf('2600215704922')).to.equal(seed20);
      expect(await tokenOf('2600215704921')).to.deep.include({ status: 'in_stock', algorithm: 'SHA256', digits: 8, period: 60 });
      expect(await inventoryState()).to.deep.equal({ tokens: before.tokens + 4, imports: before.imports + 1 });
      const event = await backing.inspect(async (_db, { events }) => (await events('code_viewer.imported')).at(-1));
      expect(event).to.deep.include({ actor: 'cli', details: { format: 'csv', file: 'tokens.csv', count: 4, skipped: 0 } });
      expect(JSON.stringify(event)).not.to.include(seed20);
    });

    it('says nothing changed when the same file is imported again (exit 0, nothing written)', async () => {
      const before = await inventoryState();
      const result = await backing.run(['tokens', 'import', join(FIXTURES, 'tokens.csv'), '--json']);
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.equal({
        file: 'tokens.csv',
        format: 'csv',
        imported: 0,
        alreadyImported: 4,
        serials: { imported: [], alreadyImported: ['2600215704919', '2600215704920', '2600215704921', '2600215704922'] },
      });
      expect(await inventoryState()).to.deep.equal(before);

      const text = await backing.run(['tokens', 'import', join(FIXTURES, 'tokens.csv')]);
      expect(text.stdout).to.equal('Nothing imported from tokens.csv (csv): all 4 code viewers in it are in the inventory already.\n');
    });

    it('imports a CSV file with generated seeds, hex and base32, whose seeds match', async () => {
      const [a, b] = [makeCodeViewer(), makeCodeViewer()];
      const path = await file('batch.csv', `${HEADER}\r\n${csvLine(a, hex(a.secret).toUpperCase())}\r\n${csvLine(b, `base32:${base32(b.secret)}`)}\r\n`);
      const result = await backing.run(['tokens', 'import', path, '--json']);
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.include({ format: 'csv', imported: 2, alreadyImported: 0 });
      expect(await seedOf(a.serial)).to.equal(hex(a.secret));
      expect(await seedOf(b.serial)).to.equal(hex(b.secret));
      expectNoSecretIn(result, hex(a.secret), base32(b.secret));
    });

    it('imports a plain PSKC file, told apart by its content even when named .csv', async () => {
      const viewers = [makeCodeViewer(), { ...makeCodeViewer(), algorithm: 'SHA256' as const, digits: 8 as const, period: 60 as const }];
      const result = await backing.run(['tokens', 'import', await file('vendor.csv', pskc(viewers))]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^Imported 2 code viewers into stock from [0-9a-f]{6}-vendor\.csv \(pskc\)\.\n$/);
      expect(await tokenOf(viewers[1]?.serial as string)).to.deep.include({ algorithm: 'SHA256', digits: 8, period: 60, status: 'in_stock' });
      expect(await seedOf(viewers[1]?.serial as string)).to.equal(hex(viewers[1]?.secret as Uint8Array));
    });

    it('imports an encrypted PSKC file with --psk-hex (a generated one, and RFC 6030 Figure 6 made TOTP)', async () => {
      const psk = randomBytes(16);
      const viewers = [makeCodeViewer(), makeCodeViewer()];
      const path = await file('encrypted.pskc', pskc(viewers, { psk }));
      const result = await backing.run(['tokens', 'import', path, '--psk-hex', psk.toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:')]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/Imported 2 code viewers .*\(pskc\)/);
      for (const viewer of viewers) expect(await seedOf(viewer.serial)).to.equal(hex(viewer.secret));
      expectNoSecretIn(result, psk.toString('hex'), ...viewers.map((viewer) => hex(viewer.secret)));

      // The RFC's own ciphertext and MAC, with the key read from stdin (`--psk-hex -`).
      const figure6 = await backing.run(['tokens', 'import', join(FIXTURES, 'totp-figure6.pskc.xml'), '--psk-hex', '-'], { stdin: `${RFC_PSK_HEX}\n` });
      expect(figure6.code, figure6.stderr).to.equal(0);
      expect(await seedOf('9876543210123')).to.equal(hex(Buffer.from('12345678901234567890')));
      expect(await tokenOf('9876543210123')).to.deep.include({ digits: 8, period: 30, algorithm: 'SHA1' });
    });

    describe('refuses a file, writing nothing, and prints every error with its row (exit 1)', () => {
      const known = makeCodeViewer();
      before(async () => stock(known));

      const cases: Array<[what: string, make: () => Promise<{ args: string[]; stdin?: string }>, lines: string[], code: string]> = [
        ['a malformed serial', async () => {
          const path = await file('bad-serial.csv', [HEADER, csvLine(makeCodeViewer()), csvLine({ ...makeCodeViewer(), serial: '260021570491' })].join('\n'));
          return { args: [path] };
        }, ['  line 3 [serial]: Serienummeret skal være 13 cifre, ikke 12 / The serial number must be 13 digits, not 12'], 'invalid_input'],
        ['a serial twice in the file', async () => {
          const viewer = makeCodeViewer();
          return { args: [await file('twice.csv', [HEADER, csvLine(viewer), csvLine({ ...viewer, secret: randomBytes(20) })].join('\n'))] };
        }, ['  line 3 [duplicate_serial]: '], 'invalid_input'],
        ['a serial in the inventory with another seed', async () => {
          const path = await file('reused.csv', [HEADER, csvLine(makeCodeViewer()), '', csvLine({ ...known, secret: randomBytes(20) })].join('\n'));
          return { args: [path] };
        }, [`  line 4 [in_inventory]: Serienummeret ${known.serial} findes allerede i beholdningen med en anden hemmelighed / The serial number ${known.serial} is already in the inventory with a different secret`], 'conflict'],
        ['a bad secret, and a second bad line', async () => {
          const path = await file('bad-secret.csv', [HEADER, csvLine(makeCodeViewer(), 'hex:xyz!'), csvLine(makeCodeViewer(), hex(randomBytes(8)))].join('\n'));
          return { args: [path] };
        }, ['  line 2 [secret]: Hemmeligheden er ikke gyldig hex / The secret is not valid hex', '  line 3 [secret]: '], 'invalid_input'],
        ['a wrong ValueMAC', async () => {
          const psk = randomBytes(16);
          const viewer = makeCodeViewer();
          return { args: [await file('tampered.xml', pskc([viewer], { psk, tamperMac: true })), '--psk-hex', psk.toString('hex')] };
        }, ['[mac]: Secret: ValueMAC passer ikke'], 'invalid_input'],
        ['an encrypted file without --psk-hex', async () => ({ args: [await file('encrypted.xml', pskc([makeCodeViewer()], { psk: randomBytes(16) }))] }),
          ['  KeyContainer/EncryptionKey [psk_missing]: Filen er krypteret med den delte nøgle "Leverandør batch"'], 'invalid_input'],
        ['an encrypted file with the wrong key', async () => ({ args: [await file('encrypted.xml', pskc([makeCodeViewer()], { psk: randomBytes(16) })), '--psk-hex', randomBytes(16).toString('hex')] }),
          ['  KeyContainer/MACMethod/MACKey [decryption]: '], 'invalid_input'],
        ['an XML file with a DOCTYPE (XXE)', async () => ({ args: [join(FIXTURES, 'xxe.pskc.xml')] }), ['  file [doctype]: '], 'invalid_input'],
        ['an XML file with entity expansion (billion laughs)', async () => ({ args: [join(FIXTURES, 'billion-laughs.pskc.xml')] }), ['  file [doctype]: '], 'invalid_input'],
      ];
      for (const [what, make, lines, code] of cases) {
        it(what, async () => {
          const { args, stdin } = await make();
          const before = await inventoryState();
          const result = await backing.run(['tokens', 'import', ...args, '--json'], { stdin });
          expect(result.code, result.stderr).to.equal(1);
          const stderr = result.stderr.split('\n');
          expect(stderr[0]).to.match(/^stepup: \S+ \((csv|pskc)\) was not imported, nothing was written: \d+ errors?$/);
          expect(stderr.slice(1, -1)).to.have.length(lines.length);
          lines.forEach((line, index) => expect(stderr[index + 1]).to.include(line));
          expect(JSON.parse(result.stdout)).to.have.nested.property('error.code', code);
          expect(await inventoryState()).to.deep.equal(before);
        });
      }

      it('names every package of a PSKC file that reuses known serials (KeyPackage N (serial …))', async () => {
        // totp-plain.pskc.xml has tokens.csv's first serials: the same seed with 60 s, and another seed.
        const before = await inventoryState();
        const result = await backing.run(['tokens', 'import', join(FIXTURES, 'totp-plain.pskc.xml')]);
        expect(result.code).to.equal(1);
        expect(result.stderr.split('\n').slice(0, 3)).to.deep.equal([
          'stepup: totp-plain.pskc.xml (pskc) was not imported, nothing was written: 2 errors',
          '  KeyPackage 1 (serial 2600215704919) [in_inventory]: Serienummeret 2600215704919 findes allerede i beholdningen med samme hemmelighed men andre parametre (SHA1, 6, 30) / The serial number 2600215704919 is already in the inventory with the same secret but other parameters (SHA1, 6, 30)',
          '  KeyPackage 2 (serial 2600215704920) [in_inventory]: Serienummeret 2600215704920 findes allerede i beholdningen med en anden hemmelighed / The serial number 2600215704920 is already in the inventory with a different secret',
        ]);
        expect(await inventoryState()).to.deep.equal(before);
      });
    });

    it('refuses a missing file, a bad --psk-hex and an unknown --format with one line, exit 1', async () => {
      const missing = await backing.run(['tokens', 'import', join(dir, 'nope.csv')]);
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.equal(`stepup: cannot read "${join(dir, 'nope.csv')}": no such file\n`);
      const badKey = await backing.run(['tokens', 'import', join(FIXTURES, 'totp-figure6.pskc.xml'), '--psk-hex', 'abc123']);
      expect(badKey.code).to.equal(1);
      expect(badKey.stderr).to.equal('stepup: --psk-hex must be 32, 48 or 64 hex digits (an AES-128, -192 or -256 key)\n');
      const format = await backing.run(['tokens', 'import', join(FIXTURES, 'tokens.csv'), '--format', 'xlsx']);
      expect(format.code).to.equal(1);
      expect(format.stderr).to.equal('stepup: --format must be csv or pskc, got "xlsx"\n');
      const usage = await backing.run(['tokens', 'import']);
      expect(usage.code).to.equal(2);
      expect(usage.stderr).to.match(/^stepup: missing <file>\nUsage: stepup tokens import <file>/);
    });
  });

  describe('list', () => {
    it('lists tokens with their holder, filtered by status, as text and JSON, never a seed', async () => {
      const [held, spare] = [makeCodeViewer(), makeCodeViewer()];
      await stock(held, spare);
      const username = await addUser('liste');
      await assign(held, username, 'Kontorets kodeviser');
      const bound = (JSON.parse((await backing.run(['tokens', 'list', '--json'])).stdout) as { tokens: Array<Record<string, unknown>> }).tokens;
      const boundAt = bound.find((token) => token.serial === held.serial)?.last_used_at as string;
      // Binding used a code, so it counts as the first use; a login later moves it on.
      expect(boundAt).to.match(/^\d{4}-\d\d-\d\dT/);
      const login = await backing.inspect(async (db) => {
        const { tokens, factors } = stores(db);
        const record = (await tokens.findBySerial(held.serial)) as TotpTokenRecord;
        return factors.verify({ userId: record.userId as string, factorId: record.id, code: codeAt(held, stepNow() + 1), context: { actor: 'test' } });
      });
      expect(login).to.deep.include({ ok: true });

      const json = await backing.run(['tokens', 'list', '--status', 'assigned', '--json']);
      expect(json.code, json.stderr).to.equal(0);
      const { tokens } = JSON.parse(json.stdout) as { tokens: Array<Record<string, unknown>> };
      expect(tokens.length).to.be.greaterThan(0);
      expect(tokens.every((token) => token.status === 'assigned')).to.equal(true);
      const entry = tokens.find((token) => token.serial === held.serial);
      // The login's code was one step ahead: the measured drift is +1.
      expect(entry).to.deep.include({ kind: 'code_viewer', status: 'assigned', user: username, name: 'Kontorets kodeviser', drift: 1, locked_until: null });
      expect(Date.parse(entry?.last_used_at as string)).to.be.at.least(Date.parse(boundAt));
      expect(Object.keys(entry ?? {}).sort()).to.deep.equal(['drift', 'kind', 'last_used_at', 'locked_until', 'name', 'serial', 'status', 'user']);
      expect(tokens.map((token) => token.serial)).not.to.include(spare.serial);

      const inStock = await backing.run(['tokens', 'list', '--status', 'in_stock', '--json']);
      const stocked = (JSON.parse(inStock.stdout) as { tokens: Array<{ serial: string; status: string; user: unknown }> }).tokens;
      expect(stocked.map((token) => token.serial)).to.include(spare.serial).and.not.include(held.serial);
      expect(stocked.every((token) => token.status === 'in_stock' && token.user === null)).to.equal(true);

      const text = await backing.run(['tokens', 'list']);
      expect(text.code, text.stderr).to.equal(0);
      const lines = text.stdout.trimEnd().split('\n');
      expect(lines[0]).to.match(/^SERIAL +KIND +STATUS +USER +NAME +DRIFT +LAST USED +LOCKED UNTIL$/);
      const line = lines.find((row) => row.startsWith(held.serial));
      expect(line).to.match(new RegExp(`^${held.serial} +code_viewer +assigned +${username} +Kontorets kodeviser +\\+1 +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ +-$`));
      expectNoSecretIn(text, hex(held.secret), hex(spare.secret));
      expectNoSecretIn(json, hex(held.secret), Buffer.from(held.secret).toString('base64'));

      const none = await backing.run(['tokens', 'list', '--status', 'pending']);
      expect(none.stdout).to.equal('No tokens with status pending.\n');
      const wrong = await backing.run(['tokens', 'list', '--status', 'broken']);
      expect(wrong.code).to.equal(1);
      expect(wrong.stderr).to.equal('stepup: --status must be one of in_stock, assigned, locked, lost, defective, pending, got "broken"\n');
    });
  });

  describe('assign', () => {
    it('binds a code viewer from stock with the code it shows now, audited as factor.bound by cli; the code is not printed', async () => {
      const viewer = makeCodeViewer();
      await stock(viewer);
      const username = await addUser('tildel');
      await freshStep();
      const code = codeAt(viewer, stepNow());
      const result = await backing.run(['tokens', 'assign', viewer.serial.replace(/^(\d{4})(\d{4})/, '$1 $2 '), username, '--name', 'Hjemmekontor', '--code', code, '--json']);
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout).token).to.deep.include({ serial: viewer.serial, status: 'assigned', user: username, name: 'Hjemmekontor', drift: 0 });
      expectNoSecretIn(result, code);

      const userId = await userIdOf(username);
      expect(await tokenOf(viewer.serial)).to.deep.include({ status: 'assigned', userId, name: 'Hjemmekontor', drift: 0 });
      const bound = await backing.inspect(async (_db, { events }) => (await events('factor.bound')).filter((event) => event.details?.serial === viewer.serial));
      expect(bound).to.have.length(1);
      expect(bound[0]).to.deep.include({ actor: 'cli', userId });
      expect(JSON.stringify(bound[0])).not.to.include(code);
      const first = await backing.inspect(async (_db, { events }) => (await events('factor.first_enrolled')).filter((event) => event.userId === userId));
      expect(first.map((event) => event.details)).to.deep.equal([{ factorId: (await tokenOf(viewer.serial))?.id, allowedBy: 'it-support' }]);

      // The employee logs in with the next code.
      const next = await backing.inspect(async (db) => stores(db).factors.verify({ userId: userId as string, factorId: (await stores(db).tokens.findBySerial(viewer.serial))?.id as string, code: codeAt(viewer, stepNow() + 1), context: { actor: 'test' } }));
      expect(next).to.deep.include({ ok: true });
    });

    it('refuses a wrong code, an unknown user, a token not in stock and a missing --code, changing nothing', async () => {
      const viewer = makeCodeViewer();
      await stock(viewer);
      const username = await addUser('afvist');
      await freshStep();
      const wrong = await backing.run(['tokens', 'assign', viewer.serial, username, '--name', 'x', '--code', codeAt(viewer, stepNow() + 40)]);
      expect(wrong.code).to.equal(1);
      expect(wrong.stderr).to.equal(`stepup: the code is not one that code viewer ${viewer.serial} shows within ±${config.totpWindows.bind} steps of now; check the serial and read a new code\n`);
      const failed = await backing.inspect(async (_db, { events }) => (await events('factor.bind_failed')).filter((event) => event.details?.serial === viewer.serial));
      expect(failed.map((event) => [event.actor, event.details?.reason])).to.deep.equal([['cli', 'invalid']]);

      const nobody = await backing.run(['tokens', 'assign', viewer.serial, 'nobody-here', '--name', 'x', '--code', codeAt(viewer, stepNow())]);
      expect(nobody.code).to.equal(1);
      expect(nobody.stderr).to.equal('stepup: there is no user "nobody-here"\n');
      const short = await backing.run(['tokens', 'assign', viewer.serial, username, '--name', 'x', '--code', '12345']);
      expect(short.stderr).to.equal('stepup: the code must be 6 digits\n');
      expect((await tokenOf(viewer.serial))?.status).to.equal('in_stock');

      await assign(viewer, username);
      const other = await addUser('anden');
      const taken = await backing.run(['tokens', 'assign', viewer.serial, other, '--name', 'x', '--code', codeAt(viewer, stepNow() + 1), '--json']);
      expect(taken.code).to.equal(1);
      expect(taken.stderr).to.equal(`stepup: code viewer ${viewer.serial} is not in stock (status assigned, ${username}); \`stepup tokens reset ${viewer.serial}\` puts it back\n`);
      expect(JSON.parse(taken.stdout)).to.have.nested.property('error.code', 'conflict');
      expect((await tokenOf(viewer.serial))?.userId).to.equal(await userIdOf(username));

      const usage = await backing.run(['tokens', 'assign', viewer.serial, username, '--name', 'x']);
      expect(usage.code).to.equal(2);
      expect(usage.stderr).to.match(/^stepup: --code is required\nUsage: stepup tokens assign <serial> <username> --name NAME --code CODE/);
    });

    it('counts wrong codes per serial: the fifth locks it, the right code is refused with the time, audited; tokens unlock lifts it', async () => {
      const viewer = await stockedViewer();
      const wrongs = [];
      for (let i = 0; i < 5; i += 1) {
        wrongs.push(await backing.run(['tokens', 'assign', viewer.serial, await addUser('gaet'), '--name', 'x', '--code', codeAt(viewer, stepNow() + 40)]));
      }
      expect(wrongs.map((run) => run.code)).to.deep.equal([1, 1, 1, 1, 1]);
      const username = await addUser('ejer');
      await freshStep();
      const refused = await backing.run(['tokens', 'assign', viewer.serial, username, '--name', 'x', '--code', codeAt(viewer, stepNow()), '--json']);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(new RegExp(`^stepup: code viewer ${viewer.serial} is locked until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z after wrong codes; nothing is bound while it is \\(\`stepup tokens unlock ${viewer.serial}\` lifts the lock\\)\n$`));
      expect(JSON.parse(refused.stdout)).to.have.nested.property('error.code', 'conflict');
      const locks = await backing.inspect(async (_db, { events }) => (await events('factor.locked')).filter((event) => event.details?.serial === viewer.serial));
      expect(locks.map((event) => [event.actor, event.details?.binding])).to.deep.equal([['system', true]]);
      expect((await tokenOf(viewer.serial))?.status).to.equal('in_stock');

      expect((await backing.run(['tokens', 'unlock', viewer.serial])).code).to.equal(0);
      await assign(viewer, username);
    });

    it('counts wrong codes per employee across serials: the fifth locks them out of binding, even with the right code', async () => {
      const username = await addUser('mange');
      for (let i = 0; i < 5; i += 1) {
        const viewer = await stockedViewer();
        expect((await backing.run(['tokens', 'assign', viewer.serial, username, '--name', 'x', '--code', codeAt(viewer, stepNow() + 40)])).code).to.equal(1);
      }
      const viewer = await stockedViewer();
      await freshStep();
      const refused = await backing.run(['tokens', 'assign', viewer.serial, username, '--name', 'x', '--code', codeAt(viewer, stepNow())]);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(new RegExp(`^stepup: ${username} may not bind a code viewer until \\S+Z: too many wrong codes were typed binding code viewers to them\n$`));
      const userId = await userIdOf(username);
      const locked = await backing.inspect(async (_db, { events }) => (await events('factor.enrolment_locked')).filter((event) => event.userId === userId));
      expect(locked.map((event) => [event.actor, event.details?.kind])).to.deep.equal([['system', 'code_viewer']]);
      expect((await tokenOf(viewer.serial))?.status).to.equal('in_stock');
    });
  });

  describe('reset, mark, unlock', () => {
    it('reset puts an assigned code viewer back in stock, audited with its holder; a colleague can have it, not with an old code', async () => {
      const viewer = makeCodeViewer();
      await stock(viewer);
      const [first, colleague] = [await addUser('foerste'), await addUser('kollega')];
      await assign(viewer, first);
      const usedStep = stepNow();

      const result = await backing.run(['tokens', 'reset', viewer.serial]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal(`Code viewer ${viewer.serial} is back in stock; it was assigned, with ${first}.\n`);
      expect(await tokenOf(viewer.serial)).to.deep.include({ status: 'in_stock', userId: null, name: null, failureCount: 0, lockCount: 0, lockedUntil: null });
      const reset = await backing.inspect(async (_db, { events }) => (await events('code_viewer.reset')).filter((event) => event.details?.serial === viewer.serial));
      expect(reset).to.have.length(1);
      expect(reset[0]).to.deep.include({ actor: 'cli', userId: await userIdOf(first), username: first });

      const again = await backing.run(['tokens', 'reset', viewer.serial, '--json']);
      expect(JSON.parse(again.stdout)).to.deep.include({ changed: false, previousUser: null });

      const replay = await backing.run(['tokens', 'assign', viewer.serial, colleague, '--name', 'x', '--code', codeAt(viewer, usedStep)]);
      expect(replay.code).to.equal(1);
      expect(replay.stderr).to.equal('stepup: the code was used already; wait for the next one\n');
      const next = await backing.run(['tokens', 'assign', viewer.serial, colleague, '--name', 'Kollegas', '--code', codeAt(viewer, usedStep + 2)]);
      expect(next.code, next.stderr).to.equal(0);
      expect(await tokenOf(viewer.serial)).to.deep.include({ status: 'assigned', userId: await userIdOf(colleague), name: 'Kollegas' });
    });

    it('mark lost: no code is accepted, it is listed as lost, audited; an unknown serial is not found', async () => {
      const viewer = makeCodeViewer();
      await stock(viewer);
      const username = await addUser('tabt');
      await assign(viewer, username);
      const result = await backing.run(['tokens', 'mark', viewer.serial, 'lost']);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal(`Marked code viewer ${viewer.serial} lost (it was assigned); no code from it is accepted until it is reset.\n`);
      const record = (await tokenOf(viewer.serial)) as TotpTokenRecord;
      expect(record.status).to.equal('lost');
      const login = await backing.inspect(async (db) => stores(db).factors.verify({ userId: record.userId as string, factorId: record.id, code: codeAt(viewer, stepNow() + 1), context: { actor: 'test' } }));
      expect(login).to.deep.equal({ ok: false, reason: 'not_found' });
      const lost = (JSON.parse((await backing.run(['tokens', 'list', '--status', 'lost', '--json'])).stdout) as { tokens: Array<{ serial: string; user: string }> }).tokens;
      expect(lost.find((token) => token.serial === viewer.serial)?.user).to.equal(username);
      const marked = await backing.inspect(async (_db, { events }) => (await events('code_viewer.marked')).filter((event) => event.details?.serial === viewer.serial));
      expect(marked.map((event) => [event.actor, event.username, event.details?.status, event.details?.statusWas])).to.deep.equal([['cli', username, 'lost', 'assigned']]);

      const wrongMark = await backing.run(['tokens', 'mark', viewer.serial, 'stolen']);
      expect(wrongMark.code).to.equal(1);
      expect(wrongMark.stderr).to.equal('stepup: the mark must be lost or defective, got "stolen"\n');
      const unknown = await backing.run(['tokens', 'mark', '9999 9999 9999 9', 'defective', '--json']);
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr).to.equal('stepup: Der er ingen kodeviser med serienummeret 9999999999999 / There is no code viewer with the serial number 9999999999999\n');
      expect(JSON.parse(unknown.stdout)).to.have.nested.property('error.code', 'not_found');
      const malformed = await backing.run(['tokens', 'reset', '12345']);
      expect(malformed.code).to.equal(1);
      expect(malformed.stderr).to.equal('stepup: Serienummeret skal være 13 cifre, ikke 5 / The serial number must be 13 digits, not 5\n');
    });

    it('unlock lifts a lock after wrong codes: listed as locked, then the right code works again; audited', async () => {
      const viewer = makeCodeViewer();
      await stock(viewer);
      const username = await addUser('laast');
      await assign(viewer, username);
      const record = (await tokenOf(viewer.serial)) as TotpTokenRecord;
      await backing.inspect(async (db) => {
        const { factors } = stores(db);
        for (let i = 0; i < config.factorLockout.maxFailures; i += 1) {
          await factors.verify({ userId: record.userId as string, factorId: record.id, code: codeAt(viewer, stepNow() + 30), context: { actor: 'test' } });
        }
      });
      const locked = (JSON.parse((await backing.run(['tokens', 'list', '--status', 'locked', '--json'])).stdout) as { tokens: Array<{ serial: string; locked_until: string | null }> }).tokens;
      const entry = locked.find((token) => token.serial === viewer.serial);
      expect(Date.parse(entry?.locked_until ?? '')).to.be.greaterThan(Date.now());
      const verify = (step: number) => backing.inspect(async (db) => stores(db).factors.verify({ userId: record.userId as string, factorId: record.id, code: codeAt(viewer, step), context: { actor: 'test' } }));
      expect(await verify(stepNow() + 1)).to.deep.include({ ok: false, reason: 'locked' });

      const result = await backing.run(['tokens', 'unlock', viewer.serial]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal(`Unlocked code viewer ${viewer.serial}: its wrong-code counters are cleared.\n`);
      expect(await tokenOf(viewer.serial)).to.deep.include({ status: 'assigned', lockedUntil: null, failureCount: 0, lockCount: 0 });
      const unlocked = await backing.inspect(async (_db, { events }) => (await events('factor.unlocked')).filter((event) => event.details?.serial === viewer.serial));
      expect(unlocked).to.have.length(1);
      expect(unlocked[0]).to.deep.include({ actor: 'cli', username });
      expect(unlocked[0]?.details).to.deep.include({ lockedUntilWas: entry?.locked_until, lockCountWas: 1 });
      expect(await verify(stepNow() + 1)).to.deep.include({ ok: true });

      const again = await backing.run(['tokens', 'unlock', viewer.serial]);
      expect(again.stdout).to.equal(`Code viewer ${viewer.serial} was not locked.\n`);
    });
  });

  describe('resync', () => {
    it('finds a drift of 40 steps from two consecutive codes, audited; the token then verifies there', async () => {
      const viewer = makeCodeViewer();
      await stock(viewer);
      const username = await addUser('drift');
      await assign(viewer, username);
      await freshStep();
      // The drift puts the second code at now (RFC 6238 §6): codes for now + 39 and now + 40.
      const far = stepNow() + 39;
      const [code1, code2] = [codeAt(viewer, far), codeAt(viewer, far + 1)];
      const result = await backing.run(['tokens', 'resync', viewer.serial, code1, code2, '--json']);
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.include({ driftWas: 0 });
      expect(JSON.parse(result.stdout).token).to.deep.include({ serial: viewer.serial, drift: 40 });
      expectNoSecretIn(result, code1, code2);
      const record = (await tokenOf(viewer.serial)) as TotpTokenRecord;
      expect(record.drift).to.equal(40);
      const resynced = await backing.inspect(async (_db, { events }) => (await events('factor.resynced')).filter((event) => event.details?.serial === viewer.serial));
      expect(resynced).to.have.length(1);
      expect(resynced[0]).to.deep.include({ actor: 'cli' });
      expect(resynced[0]?.details).to.deep.include({ driftBefore: 0, drift: 40 });

      const login = await backing.inspect(async (db) => stores(db).factors.verify({ userId: record.userId as string, factorId: record.id, code: codeAt(viewer, far + 2), context: { actor: 'test' } }));
      expect(login).to.deep.include({ ok: true });

      // The login measured the drift again (+41); the text says where the clock is now.
      const text = await backing.run(['tokens', 'resync', viewer.serial, codeAt(viewer, far + 5), codeAt(viewer, far + 6)]);
      expect(text.code, text.stderr).to.equal(0);
      expect(text.stdout).to.match(new RegExp(`^Resynchronised code viewer ${viewer.serial}: its clock is 4[45] steps fast \\(was 41 steps fast\\)\\.\\n$`));
    });

    it('refuses codes that are not consecutive, and a code viewer in stock, changing nothing', async () => {
      const viewer = makeCodeViewer();
      await stock(viewer);
      const inStock = await backing.run(['tokens', 'resync', viewer.serial, codeAt(viewer, stepNow()), codeAt(viewer, stepNow() + 1)]);
      expect(inStock.code).to.equal(1);
      expect(inStock.stderr).to.equal(`stepup: code viewer ${viewer.serial} is not in use (status in_stock); only an assigned code viewer can be resynchronised\n`);

      await assign(viewer, await addUser('ikke-i-raekke'));
      const far = stepNow() + 40;
      const gap = await backing.run(['tokens', 'resync', viewer.serial, codeAt(viewer, far), codeAt(viewer, far + 2)]);
      expect(gap.code).to.equal(1);
      expect(gap.stderr).to.match(/^stepup: the codes are not two consecutive codes of code viewer \d{13} within ±60 steps of its clock/);
      expect((await tokenOf(viewer.serial))?.drift).to.equal(0);
    });
  });

  it('shows the group\'s commands on `stepup tokens --help`, and a usage error for a missing argument', async () => {
    const help = await backing.run(['tokens', '--help']);
    expect(help.code).to.equal(0);
    for (const command of ['import <file>', 'list', 'assign <serial> <username>', 'resync <serial> <code1> <code2>', 'reset <serial>', 'mark <serial> lost|defective', 'unlock <serial>']) {
      expect(help.stdout).to.include(`stepup tokens ${command}`);
    }
    expect(help.stdout).not.to.include('stepup user add');
    const missing = await backing.run(['tokens', 'mark', '2600215704919']);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/^stepup: missing <lost\|defective>\nUsage: stepup tokens mark <serial> lost\|defective/);
  });
});
