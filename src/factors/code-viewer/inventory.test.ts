import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { expect } from 'chai';

import { createBacking, TEST_SECRET_KEY, type Backing } from '../../../test/helpers/idp.ts';
import { codeAt, makeCodeViewer, TestClock } from '../../../test/helpers/totp.ts';
import { configWith } from '../../config/index.ts';
import type { AuditType } from '../../store/audit.ts';
import { openStorage, type Storage } from '../../store/index.ts';
import { createTotpFactors } from '../totp-factors.ts';
import type { TotpToken } from '../totp/index.ts';
import {
  detectTokenFileFormat,
  importCodeViewers,
  listInventory,
  markCodeViewer,
  resetCodeViewer,
  unlockCodeViewer,
  type ImportCodeViewersResult,
} from './inventory.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/tokens/${name}`, import.meta.url), 'utf8');

const HEADER = 'serial,secret,algorithm,digits,period';
const actor = 'test:it';

type Viewer = TotpToken & { serial: string };

/** A CSV line of a viewer, the secret in hex. */
const csvLine = (viewer: Viewer) => `${viewer.serial},hex:${Buffer.from(viewer.secret).toString('hex')},${viewer.algorithm},${viewer.digits},${viewer.period}`;
const csv = (...lines: string[]) => [HEADER, ...lines].join('\n');

/** `where [code]` of each error. */
function problems(result: ImportCodeViewersResult): string[] {
  expect(result.ok, 'the import should be refused').to.equal(false);
  return result.ok ? [] : result.errors.map((error) => `${error.where} [${error.code}]`);
}

describe('code viewer inventory (importCodeViewers and IT acts) on the store', function () {
  let backing: Backing;
  let storage: Storage;
  let clock: TestClock;

  before(async () => {
    backing = await createBacking();
    storage = await openStorage(configWith({ secretKey: TEST_SECRET_KEY, redisUrl: backing.redisUrl }), { database: backing.database, redisKeyPrefix: backing.redisKeyPrefix, migrate: true });
  });
  after(async () => {
    await storage?.close();
    await backing?.cleanup();
  });
  beforeEach(() => {
    clock = new TestClock();
  });

  const factors = () => createTotpFactors({
    tokens: storage.totpTokens,
    audit: storage.audit,
    windows: { verify: 2, bind: 10, resync: 60 },
    limits: { maxFailures: 5, baseSeconds: 300, maxSeconds: 86400 },
    now: clock.now,
  });
  const tokenCount = async () => (await storage.totpTokens.list()).length;
  const events = async (type: AuditType) => (await storage.audit.list({ type, limit: 1000 })).reverse();
  const seedOf = async (serial: string) => {
    const record = await storage.totpTokens.findBySerial(serial);
    return record ? Buffer.from(storage.totpTokens.secretOf(record).secret).toString('hex') : undefined;
  };
  const importText = (text: string, fileName?: string) => importCodeViewers({ storage, text, fileName, actor });

  describe('detectTokenFileFormat', () => {
    it('reads XML content as PSKC whatever the name, a .xml/.pskc name as PSKC, and the rest as CSV; --format wins', () => {
      expect(detectTokenFileFormat({ text: '\uFEFF  \n<?xml version="1.0"?><x/>', fileName: 'batch.csv' })).to.equal('pskc');
      expect(detectTokenFileFormat({ text: 'not xml at all', fileName: 'batch.PSKC' })).to.equal('pskc');
      expect(detectTokenFileFormat({ text: 'not xml at all', fileName: 'batch.xml' })).to.equal('pskc');
      expect(detectTokenFileFormat({ text: `${HEADER}\n`, fileName: 'batch.txt' })).to.equal('csv');
      expect(detectTokenFileFormat({ text: `${HEADER}\n` })).to.equal('csv');
      expect(detectTokenFileFormat({ text: '<KeyContainer/>', format: 'csv' })).to.equal('csv');
    });
  });

  describe('import', () => {
    it('puts every token of a CSV file into stock with its seed, and audits counts without a seed', async () => {
      const viewers = [makeCodeViewer(), makeCodeViewer(), { ...makeCodeViewer(), algorithm: 'SHA256' as const, digits: 8 as const, period: 60 as const }];
      const before = (await events('code_viewer.imported')).length;
      const result = await importText(csv(...viewers.map(csvLine)), 'batch-1.csv');
      expect(result).to.deep.equal({ ok: true, format: 'csv', imported: 3, alreadyImported: 0, importedSerials: viewers.map((v) => v.serial), alreadyImportedSerials: [] });

      for (const viewer of viewers) {
        const record = await storage.totpTokens.findBySerial(viewer.serial);
        expect(record).to.deep.include({ kind: 'code_viewer', status: 'in_stock', userId: null, algorithm: viewer.algorithm, digits: viewer.digits, period: viewer.period });
        expect(await seedOf(viewer.serial)).to.equal(Buffer.from(viewer.secret).toString('hex'));
      }
      const imported = (await events('code_viewer.imported')).slice(before);
      expect(imported).to.have.length(1);
      expect(imported[0]).to.deep.include({ actor, details: { format: 'csv', file: 'batch-1.csv', count: 3, skipped: 0 } });
      for (const viewer of viewers) expect(JSON.stringify(imported[0])).not.to.include(Buffer.from(viewer.secret).toString('hex'));
    });

    it('changes nothing when the same file comes again, and says so', async () => {
      const text = csv(csvLine(makeCodeViewer()), csvLine(makeCodeViewer()));
      expect(await importText(text)).to.deep.include({ ok: true, imported: 2 });
      const [count, audited] = [await tokenCount(), (await events('code_viewer.imported')).length];
      const again = await importText(text);
      expect(again).to.deep.include({ ok: true, imported: 0, alreadyImported: 2, importedSerials: [] });
      expect(await tokenCount()).to.equal(count);
      expect((await events('code_viewer.imported')).length).to.equal(audited);
    });

    it('imports only the new serials of a file that overlaps the stock, counting the others as skipped', async () => {
      const [known, fresh] = [makeCodeViewer(), makeCodeViewer()];
      await importText(csv(csvLine(known)));
      const result = await importText(csv(csvLine(known), csvLine(fresh)), 'batch-2.csv');
      expect(result).to.deep.include({ ok: true, imported: 1, alreadyImported: 1, importedSerials: [fresh.serial], alreadyImportedSerials: [known.serial] });
      expect((await events('code_viewer.imported')).at(-1)?.details).to.deep.equal({ format: 'csv', file: 'batch-2.csv', count: 1, skipped: 1 });
    });

    it('refuses the whole file when a serial is in stock with another seed, naming its line, and writes nothing', async () => {
      const known = makeCodeViewer();
      await importText(csv(csvLine(known)));
      const [count, audited] = [await tokenCount(), (await events('code_viewer.imported')).length];
      const fresh = makeCodeViewer();
      const result = await importText(csv(csvLine(fresh), '', csvLine({ ...known, secret: randomBytes(20) })));
      expect(problems(result)).to.deep.equal(['line 4 [in_inventory]']);
      if (!result.ok) expect(result.errors[0]?.message).to.include(`The serial number ${known.serial} is already in the inventory with a different secret`);
      expect(await storage.totpTokens.findBySerial(fresh.serial)).to.equal(undefined);
      expect(await seedOf(known.serial)).to.equal(Buffer.from(known.secret).toString('hex'));
      expect(await tokenCount()).to.equal(count);
      expect((await events('code_viewer.imported')).length).to.equal(audited);
    });

    it('refuses a serial in stock with the same seed but other parameters (a PSKC file names its KeyPackage)', async () => {
      // tokens.csv and totp-plain.pskc.xml share serial 2600215704919 and its seed; the PSKC says 60 s.
      expect(await importText(fixture('tokens.csv'), 'tokens.csv')).to.deep.include({ ok: true, imported: 4 });
      const result = await importText(fixture('totp-plain.pskc.xml'), 'totp-plain.pskc.xml');
      expect(problems(result)).to.deep.equal([
        'KeyPackage 1 (serial 2600215704919) [in_inventory]',
        'KeyPackage 2 (serial 2600215704920) [in_inventory]',
      ]);
      if (!result.ok) {
        expect(result.format).to.equal('pskc');
        expect(result.errors[0]?.message).to.include('with the same secret but other parameters (SHA1, 6, 30)');
        expect(result.errors[1]?.message).to.include('with a different secret');
      }
      expect((await storage.totpTokens.findBySerial('2600215704919'))?.period).to.equal(30);
    });

    it('writes nothing for a file the parser refuses', async () => {
      const [count, audited] = [await tokenCount(), (await events('code_viewer.imported')).length];
      const good = makeCodeViewer();
      const result = await importText(csv(csvLine(good), `12345,${Buffer.from(randomBytes(20)).toString('hex')},,,`));
      expect(problems(result)).to.deep.equal(['line 3 [serial]']);
      expect(problems(await importText(fixture('xxe.pskc.xml')))).to.deep.equal(['file [doctype]']);
      expect(await storage.totpTokens.findBySerial(good.serial)).to.equal(undefined);
      expect(await tokenCount()).to.equal(count);
      expect((await events('code_viewer.imported')).length).to.equal(audited);
    });

    it('imports an encrypted PSKC file with its pre-shared key, storing the decrypted seed', async () => {
      const psk = new Uint8Array(Buffer.from('12345678901234567890123456789012', 'hex'));
      expect(problems(await importCodeViewers({ storage, text: fixture('totp-figure6.pskc.xml'), actor }))).to.deep.equal(['KeyContainer/EncryptionKey [psk_missing]']);
      const result = await importCodeViewers({ storage, text: fixture('totp-figure6.pskc.xml'), fileName: 'totp-figure6.pskc.xml', psk, actor });
      expect(result).to.deep.include({ ok: true, format: 'pskc', imported: 1, importedSerials: ['9876543210123'] });
      expect(await seedOf('9876543210123')).to.equal(Buffer.from('12345678901234567890').toString('hex'));
    });

    it('stores a file imported twice at the same moment exactly once', async () => {
      const text = csv(...Array.from({ length: 20 }, () => csvLine(makeCodeViewer())));
      const [count, audited] = [await tokenCount(), (await events('code_viewer.imported')).length];
      const results = await Promise.all([importText(text), importText(text)]);
      expect(await tokenCount()).to.equal(count + 20);
      expect((await events('code_viewer.imported')).length).to.equal(audited + 1);
      expect(results.filter((result) => result.ok && result.imported === 20)).to.have.length(1);
      const other = results.find((result) => !result.ok || result.imported === 0);
      // The other one either ran after (nothing new) or collided (refused, nothing written).
      expect(other && (other.ok ? `imported ${other.imported}, already ${other.alreadyImported}` : problems(other).join())).to.be.oneOf(['imported 0, already 20', 'file [concurrent]']);
    });
  });

  describe('IT acts on one code viewer', () => {
    let userId: string;
    let username: string;

    beforeEach(async () => {
      username = `it-${randomBytes(3).toString('hex')}`;
      userId = (await storage.users.add({ username })).id;
    });

    /** A viewer imported and bound to the user at the clock's current step. */
    async function assigned(): Promise<{ viewer: Viewer; id: string }> {
      const viewer = makeCodeViewer();
      await importText(csv(csvLine(viewer)));
      const bound = await factors().bindCodeViewer({ userId, serial: viewer.serial, name: 'Blå kodeviser', code: codeAt(viewer, clock.step()), context: { actor } });
      if (!bound.ok) throw new Error(`bind failed: ${bound.reason}`);
      return { viewer, id: bound.token.id };
    }

    it('finds a serial typed with spaces or dashes, and names an unknown or malformed one', async () => {
      const viewer = makeCodeViewer();
      await importText(csv(csvLine(viewer)));
      const spaced = viewer.serial.replace(/^(\d{4})(\d{4})(\d{4})(\d)$/, '$1 $2-$3 $4');
      expect(await markCodeViewer({ storage, serial: spaced, mark: 'defective', actor })).to.deep.include({ ok: true, changed: true });
      expect(await resetCodeViewer({ storage, serial: '9999999999999', actor })).to.deep.equal({
        ok: false,
        reason: 'not_found',
        message: 'Der er ingen kodeviser med serienummeret 9999999999999 / There is no code viewer with the serial number 9999999999999',
      });
      expect(await unlockCodeViewer({ storage, serial: '12-34', actor })).to.deep.include({ ok: false, reason: 'serial' });
    });

    it('reset: back in stock without user, name or counters, audited with the previous holder; the old codes stay used', async () => {
      const { viewer, id } = await assigned();
      const usedStep = clock.step();
      const result = await resetCodeViewer({ storage, serial: viewer.serial, actor });
      expect(result).to.deep.include({ ok: true, changed: true });
      expect(await storage.totpTokens.find(id)).to.deep.include({ status: 'in_stock', userId: null, name: null, failureCount: 0, lockedUntil: null, assignedAt: null });
      const reset = (await events('code_viewer.reset')).filter((event) => event.details?.tokenId === id);
      expect(reset).to.have.length(1);
      expect(reset[0]).to.deep.include({ actor, userId, username });
      expect(reset[0]?.details).to.deep.include({ serial: viewer.serial, statusWas: 'assigned', nameWas: 'Blå kodeviser' });

      // Again: already in stock, nothing written.
      expect(await resetCodeViewer({ storage, serial: viewer.serial, actor })).to.deep.include({ ok: true, changed: false });
      expect((await events('code_viewer.reset')).filter((event) => event.details?.tokenId === id)).to.have.length(1);

      // A colleague can have it, but not with the code the previous holder used.
      const colleague = (await storage.users.add({ username: `${username}-kollega` })).id;
      expect(await factors().bindCodeViewer({ userId: colleague, serial: viewer.serial, name: 'x', code: codeAt(viewer, usedStep), context: { actor } })).to.deep.include({ ok: false, reason: 'replayed' });
      expect(await factors().bindCodeViewer({ userId: colleague, serial: viewer.serial, name: 'x', code: codeAt(viewer, usedStep + 1), context: { actor } })).to.deep.include({ ok: true });
    });

    it('mark lost: no code is accepted any more, audited once; marking it lost again changes nothing', async () => {
      const { viewer, id } = await assigned();
      expect(await markCodeViewer({ storage, serial: viewer.serial, mark: 'lost', actor })).to.deep.include({ ok: true, changed: true });
      expect((await storage.totpTokens.find(id))?.status).to.equal('lost');
      clock.advance(60);
      expect(await factors().verify({ userId, factorId: id, code: codeAt(viewer, clock.step()), context: { actor } })).to.deep.include({ ok: false, reason: 'not_found' });
      expect(await markCodeViewer({ storage, serial: viewer.serial, mark: 'lost', actor })).to.deep.include({ ok: true, changed: false });
      const marked = (await events('code_viewer.marked')).filter((event) => event.details?.tokenId === id);
      expect(marked).to.have.length(1);
      expect(marked[0]).to.deep.include({ actor, userId, username });
      expect(marked[0]?.details).to.deep.include({ status: 'lost', statusWas: 'assigned' });
    });

    it('unlock: a token locked after wrong codes is listed as locked, then accepts the right code again; audited', async () => {
      const { viewer, id } = await assigned();
      clock.advance(60);
      for (let i = 0; i < 5; i += 1) await factors().verify({ userId, factorId: id, code: codeAt(viewer, clock.step() + 30), context: { actor } });
      const lockedUntil = (await storage.totpTokens.find(id))?.lockedUntil;
      expect(lockedUntil).to.be.instanceOf(Date);
      expect((await listInventory({ storage, status: 'locked', now: clock.now })).map((entry) => entry.serial)).to.include(viewer.serial);
      expect((await listInventory({ storage, status: 'assigned', now: clock.now })).map((entry) => entry.serial)).not.to.include(viewer.serial);
      expect(await factors().verify({ userId, factorId: id, code: codeAt(viewer, clock.step()), context: { actor } })).to.deep.include({ ok: false, reason: 'locked' });

      expect(await unlockCodeViewer({ storage, serial: viewer.serial, actor, now: clock.now })).to.deep.include({ ok: true, changed: true });
      expect(await storage.totpTokens.find(id)).to.deep.include({ status: 'assigned', lockedUntil: null, failureCount: 0, lockCount: 0 });
      expect(await factors().verify({ userId, factorId: id, code: codeAt(viewer, clock.step()), context: { actor } })).to.deep.include({ ok: true });
      const unlocked = (await events('factor.unlocked')).filter((event) => event.details?.tokenId === id);
      expect(unlocked).to.have.length(1);
      expect(unlocked[0]).to.deep.include({ actor, userId, username });
      expect(unlocked[0]?.details).to.deep.include({ lockedUntilWas: lockedUntil?.toISOString(), lockCountWas: 1, statusWas: 'assigned' });
    });

    it('list: holder by username, status filter, never a seed', async () => {
      const { viewer } = await assigned();
      const all = await listInventory({ storage, now: clock.now });
      const entry = all.find((item) => item.serial === viewer.serial);
      expect(entry).to.deep.include({ kind: 'code_viewer', status: 'assigned', username, name: 'Blå kodeviser', drift: 0, lockedUntil: null });
      expect(JSON.stringify(all)).not.to.include(Buffer.from(viewer.secret).toString('hex'));
      expect(Object.keys(entry ?? {})).not.to.include.members(['sealedSecret', 'secret']);
      const inStock = await listInventory({ storage, status: 'in_stock', now: clock.now });
      expect(inStock.length).to.be.greaterThan(0);
      expect(inStock.every((item) => item.status === 'in_stock' && item.username === null)).to.equal(true);
      expect(inStock.map((item) => item.serial)).not.to.include(viewer.serial);
    });
  });
});
