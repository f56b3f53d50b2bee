import { expect } from 'chai';

import { configWith } from '../../src/config/index.ts';
import { openStorage, type Storage } from '../../src/store/index.ts';
import { TEST_SECRET_KEY, createBacking, type Backing } from '../helpers/idp.ts';
import { TestClock, codeAt, makeCodeViewer, secretFromBase32, factorsOn } from '../helpers/totp.ts';

const context = { actor: 'test' };

describe('code viewers and authenticator apps (TOTP factors) on the store', function () {
  let backing: Backing;
  let storage: Storage;
  let otherNode: Storage;
  let clock: TestClock;
  let userId: string;

  before(async () => {
    backing = await createBacking();
    const config = configWith({ secretKey: TEST_SECRET_KEY, redisUrl: backing.redisUrl });
    storage = await openStorage(config, { database: backing.database, redisKeyPrefix: backing.redisKeyPrefix, migrate: true });
    // A second pool on the same database stands for a second node.
    otherNode = 'url' in backing.database ? await openStorage(config, { database: backing.database, redisKeyPrefix: backing.redisKeyPrefix }) : storage;
    userId = (await storage.users.add({ username: 'kodeviser.bruger' })).id;
  });
  after(async () => {
    if (otherNode !== storage) await otherNode?.close();
    await storage?.close();
    await backing?.cleanup();
  });
  beforeEach(() => {
    clock = new TestClock();
  });

  async function stocked() {
    const viewer = makeCodeViewer();
    await storage.db.transaction((trx) => storage.totpTokens.addToStock([viewer], trx));
    return viewer;
  }

  it('keeps the seed sealed at rest', async () => {
    const viewer = await stocked();
    const row = (await storage.db('totp_tokens').where({ serial: viewer.serial }).first()) as { secret_sealed: string };
    expect(row.secret_sealed).to.not.include(Buffer.from(viewer.secret).toString('hex'));
    expect(row.secret_sealed).to.not.include(Buffer.from(viewer.secret).toString('base64url'));
    const record = await storage.totpTokens.findBySerial(viewer.serial);
    expect(Buffer.from(storage.totpTokens.secretOf(record!).secret).equals(Buffer.from(viewer.secret))).to.equal(true);
  });

  it('binds a token running 3 steps fast, then verifies around that drift; replay is refused', async () => {
    const factors = factorsOn(storage, clock.now);
    const viewer = await stocked();
    const bound = await factors.bindCodeViewer({ userId, serial: viewer.serial, name: 'Min kodeviser', code: codeAt(viewer, clock.step() + 3), context });
    expect(bound.ok).to.equal(true);
    const token = bound.ok ? bound.token : undefined;
    expect(token).to.deep.include({ drift: 3, status: 'assigned', userId, name: 'Min kodeviser' });

    clock.advance(30 * 20);
    for (const offset of [-1, 1]) {
      clock.advance(30 * 3);
      const result = await factors.verify({ userId, factorId: token!.id, code: codeAt(viewer, clock.step() + 3 + offset), context });
      expect(result, `offset ${offset}`).to.deep.include({ ok: true });
      expect(result.ok && result.factor.kind).to.equal('code_viewer');
    }
    const used = codeAt(viewer, clock.step() + 4);
    expect(await factors.verify({ userId, factorId: token!.id, code: used, context })).to.deep.equal({ ok: false, reason: 'replayed' });
    clock.advance(30 * 3);
    expect(await factors.verify({ userId, factorId: token!.id, code: codeAt(viewer, clock.step() + 3 + 4), context }))
      .to.deep.equal({ ok: false, reason: 'invalid' });
  });

  it('refuses to bind a serial that is not in stock, or a wrong code, and changes nothing', async () => {
    const factors = factorsOn(storage, clock.now);
    const viewer = await stocked();
    expect(await factors.bindCodeViewer({ userId, serial: '1234', name: 'x', code: '123456', context })).to.deep.include({ ok: false, reason: 'serial' });
    expect(await factors.bindCodeViewer({ userId, serial: '9999999999999', name: 'x', code: '123456', context })).to.deep.include({ ok: false, reason: 'not_in_stock' });
    expect(await factors.bindCodeViewer({ userId, serial: viewer.serial, name: 'x', code: codeAt(viewer, clock.step() + 30), context })).to.deep.include({ ok: false, reason: 'invalid' });
    expect((await storage.totpTokens.findBySerial(viewer.serial))?.status).to.equal('in_stock');
  });

  it('accepts the same code sent twice at once, to two nodes, exactly once', async () => {
    const viewer = await stocked();
    const bound = await factorsOn(storage, clock.now).bindCodeViewer({ userId, serial: viewer.serial, name: 'Dobbelt', code: codeAt(viewer, clock.step()), context });
    const id = bound.ok ? bound.token.id : '';
    clock.advance(60);
    const code = codeAt(viewer, clock.step());
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => factorsOn(storage, clock.now).verify({ userId, factorId: id, code, context })),
      ...Array.from({ length: 4 }, () => factorsOn(otherNode, clock.now).verify({ userId, factorId: id, code, context })),
    ]);
    expect(results.filter((result) => result.ok)).to.have.length(1);
    expect(results.filter((result) => !result.ok).map((result) => !result.ok && result.reason)).to.deep.equal(Array(7).fill('replayed'));
  });

  it('locks after 5 wrong codes (even 50 at once check only 5), audits it, and IT unlocks', async () => {
    const factors = factorsOn(storage, clock.now);
    const viewer = await stocked();
    const bound = await factors.bindCodeViewer({ userId, serial: viewer.serial, name: 'Låst', code: codeAt(viewer, clock.step()), context });
    const id = bound.ok ? bound.token.id : '';
    clock.advance(60);
    const wrong = codeAt(viewer, clock.step() + 40);
    const results = await Promise.all(Array.from({ length: 50 }, () => factors.verify({ userId, factorId: id, code: wrong, context })));
    expect(results.filter((result) => !result.ok && result.reason === 'invalid')).to.have.length(4);
    expect(results.filter((result) => !result.ok && result.reason === 'locked')).to.have.length(46);
    expect(await factors.verify({ userId, factorId: id, code: codeAt(viewer, clock.step()), context })).to.deep.include({ ok: false, reason: 'locked' });
    const locks = (await storage.audit.list({ type: 'factor.locked' })).filter((event) => event.details?.tokenId === id);
    expect(locks).to.have.length(1);

    await storage.totpTokens.unlock(id);
    expect(await factors.verify({ userId, factorId: id, code: codeAt(viewer, clock.step()), context })).to.deep.include({ ok: true });
  });

  it('lets a lock run out, and makes the next one longer', async () => {
    const factors = factorsOn(storage, clock.now);
    const viewer = await stocked();
    const bound = await factors.bindCodeViewer({ userId, serial: viewer.serial, name: 'Igen', code: codeAt(viewer, clock.step()), context });
    const id = bound.ok ? bound.token.id : '';
    const wrong = () => codeAt(viewer, clock.step() + 40);
    for (let i = 0; i < 5; i += 1) await factors.verify({ userId, factorId: id, code: wrong(), context });
    const first = await storage.totpTokens.find(id);
    expect(first!.lockedUntil!.getTime() - clock.now()).to.equal(300_000);
    clock.advance(301);
    for (let i = 0; i < 5; i += 1) await factors.verify({ userId, factorId: id, code: wrong(), context });
    const second = await storage.totpTokens.find(id);
    expect(second!.lockedUntil!.getTime() - clock.now()).to.equal(600_000);
  });

  it('resynchronises a token that drifted far with two consecutive codes', async () => {
    const factors = factorsOn(storage, clock.now);
    const viewer = await stocked();
    const bound = await factors.bindCodeViewer({ userId, serial: viewer.serial, name: 'Drift', code: codeAt(viewer, clock.step()), context });
    const id = bound.ok ? bound.token.id : '';
    clock.advance(3600);
    const far = clock.step() - 40;
    expect(await factors.verify({ userId, factorId: id, code: codeAt(viewer, far), context })).to.deep.include({ ok: false, reason: 'invalid' });
    expect(await factors.resync({ tokenId: id, code1: codeAt(viewer, far), code2: codeAt(viewer, far + 1), context })).to.deep.equal({ ok: true, drift: -39 });
    clock.advance(30);
    expect(await factors.verify({ userId, factorId: id, code: codeAt(viewer, clock.step() - 39), context })).to.deep.include({ ok: true });
  });

  it('enrols an authenticator app, confirmed by its first code', async () => {
    const factors = factorsOn(storage, clock.now);
    const enrolment = await factors.startAuthenticator({ userId, username: 'kodeviser.bruger', name: 'Telefon', issuerName: 'Kommunen' });
    expect(enrolment.otpauthUri).to.match(/^otpauth:\/\/totp\/Kommunen:kodeviser\.bruger\?/);
    expect(enrolment.otpauthUri).to.include(`secret=${enrolment.secretBase32}`);
    expect((await factors.listForUser(userId)).some((factor) => factor.id === enrolment.id)).to.equal(false);
    const app = { secret: secretFromBase32(enrolment.secretBase32), algorithm: 'SHA1' as const, digits: 6 as const, period: 30 as const };
    expect(await factors.confirmAuthenticator({ userId, id: enrolment.id, code: codeAt(app, clock.step() + 9), context })).to.deep.equal({ ok: false, reason: 'invalid' });
    expect(await factors.confirmAuthenticator({ userId, id: enrolment.id, code: codeAt(app, clock.step()), context })).to.deep.equal({ ok: true });
    clock.advance(30);
    // The code viewer kind does not accept an app's code: it would claim the app a hardware key.
    expect(await factors.verify({ userId, factorId: enrolment.id, code: codeAt(app, clock.step()), kind: 'code_viewer', context })).to.deep.equal({ ok: false, reason: 'not_found' });
    const verified = await factors.verify({ userId, factorId: enrolment.id, code: codeAt(app, clock.step()), kind: 'authenticator', context });
    expect(verified).to.deep.include({ ok: true });
    expect(verified.ok && verified.factor.kind).to.equal('authenticator');
  });
});
