/**
 * Guessing at enrolment (issue "Step 3 · Hardening", 1). Reproduced before the fix: 30 wrong
 * codes against an in-stock serial, no lock, then the right code bound it; across the 21 steps
 * binding accepts that is about 48,000 tries to take any code viewer in stock without holding
 * it. Now wrong codes at binding count per serial and per person, and wrong first codes of an
 * app per person, with the lockout of codes at login; pending apps expire and do not pile up.
 */
import { randomBytes } from 'node:crypto';

import { expect } from 'chai';

import { configWith } from '../../src/config/index.ts';
import { resetCodeViewer, unlockCodeViewer } from '../../src/factors/code-viewer/inventory.ts';
import { MAX_PENDING_APPS, PENDING_APP_SECONDS, type BindResult } from '../../src/factors/totp-factors.ts';
import { openStorage, type Storage } from '../../src/store/index.ts';
import { TEST_SECRET_KEY, createBacking, type Backing } from '../helpers/idp.ts';
import { TestClock, codeAt, factorsOn, makeCodeViewer, secretFromBase32 } from '../helpers/totp.ts';

const context = { actor: 'test' };

describe('security: binding and enrolment confirmations have a guess budget', function () {
  let backing: Backing;
  let storage: Storage;
  let otherNode: Storage;
  let clock: TestClock;

  before(async () => {
    backing = await createBacking();
    const config = configWith({ secretKey: TEST_SECRET_KEY, redisUrl: backing.redisUrl });
    storage = await openStorage(config, { database: backing.database, redisKeyPrefix: backing.redisKeyPrefix, migrate: true });
    // A second pool on the same database stands for a second node.
    otherNode = 'url' in backing.database ? await openStorage(config, { database: backing.database, redisKeyPrefix: backing.redisKeyPrefix }) : storage;
  });
  after(async () => {
    if (otherNode !== storage) await otherNode?.close();
    await storage?.close();
    await backing?.cleanup();
  });
  beforeEach(() => {
    clock = new TestClock();
  });

  const factors = (on: Storage = storage) => factorsOn(on, clock.now);
  const person = async () => (await storage.users.add({ username: `gaet-${randomBytes(4).toString('hex')}` })).id;
  async function stocked() {
    const viewer = makeCodeViewer();
    await storage.db.transaction((trx) => storage.totpTokens.addToStock([viewer], trx));
    return viewer;
  }
  /** A code the viewer does not show anywhere in the binding window. */
  const wrongCode = (viewer: ReturnType<typeof makeCodeViewer>) => {
    const shown = new Set(Array.from({ length: 21 }, (_, i) => codeAt(viewer, clock.step() - 10 + i)));
    let code = '000000';
    while (shown.has(code)) code = String(Number(code) + 1).padStart(6, '0');
    return code;
  };
  const bind = (userId: string, viewer: ReturnType<typeof makeCodeViewer>, code: string, on?: Storage) =>
    factors(on).bindCodeViewer({ userId, serial: viewer.serial, name: 'Gæt', code, context });
  const reasons = (results: BindResult[]) => results.map((result) => (result.ok ? 'ok' : result.reason));
  const eventsOf = async (type: Parameters<Storage['audit']['list']>[0] extends infer F ? F extends { type?: infer T } ? T : never : never, match: (details: Record<string, unknown>, userId: string | null | undefined) => boolean) =>
    (await storage.audit.list({ type, limit: 1000 })).filter((event) => match(event.details ?? {}, event.userId));

  it('refuses the right code after 30 wrong ones against an in-stock serial (the reproduction)', async () => {
    const userId = await person();
    const viewer = await stocked();
    const results: BindResult[] = [];
    for (let i = 0; i < 30; i += 1) results.push(await bind(userId, viewer, wrongCode(viewer)));
    expect(reasons(results).slice(0, 5)).to.deep.equal(['invalid', 'invalid', 'invalid', 'invalid', 'user_locked']);
    expect(reasons(results).slice(5)).to.deep.equal(Array(25).fill('user_locked'));

    const right = await bind(userId, viewer, codeAt(viewer, clock.step()));
    expect(right).to.deep.include({ ok: false, reason: 'user_locked' });
    expect((await storage.totpTokens.findBySerial(viewer.serial))?.status).to.equal('in_stock');
  });

  it('counts per serial: five people with one wrong code each lock it, and the holder\'s right code is refused until IT unlocks', async () => {
    const viewer = await stocked();
    const guessers = await Promise.all(Array.from({ length: 5 }, person));
    const results: BindResult[] = [];
    for (const userId of guessers) results.push(await bind(userId, viewer, wrongCode(viewer)));
    expect(reasons(results)).to.deep.equal(['invalid', 'invalid', 'invalid', 'invalid', 'locked']);
    const lockedUntil = new Date(clock.now() + 300_000);
    expect(results[4]).to.deep.include({ lockedUntil });
    const locks = await eventsOf('factor.locked', (details) => details.serial === viewer.serial);
    expect(locks.map((event) => [event.actor, event.details?.binding, event.details?.lockNumber])).to.deep.equal([['system', true, 1]]);

    const holder = await person();
    expect(await bind(holder, viewer, codeAt(viewer, clock.step()))).to.deep.include({ ok: false, reason: 'locked', lockedUntil });
    await unlockCodeViewer({ storage, serial: viewer.serial, actor: 'cli', now: clock.now });
    expect(await bind(holder, viewer, codeAt(viewer, clock.step()))).to.deep.include({ ok: true });
  });

  it('tokens reset clears a serial\'s lock too', async () => {
    const viewer = await stocked();
    for (const userId of await Promise.all(Array.from({ length: 5 }, person))) await bind(userId, viewer, wrongCode(viewer));
    const holder = await person();
    expect(await bind(holder, viewer, codeAt(viewer, clock.step()))).to.deep.include({ reason: 'locked' });
    await resetCodeViewer({ storage, serial: viewer.serial, actor: 'cli' });
    expect(await bind(holder, viewer, codeAt(viewer, clock.step()))).to.deep.include({ ok: true });
  });

  it('counts per person across serials, audits the lock, lets it run out, makes the next one longer, and success clears the count', async () => {
    const userId = await person();
    const viewers = await Promise.all(Array.from({ length: 6 }, stocked));
    const results: BindResult[] = [];
    for (const viewer of viewers.slice(0, 5)) results.push(await bind(userId, viewer, wrongCode(viewer)));
    expect(reasons(results)).to.deep.equal(['invalid', 'invalid', 'invalid', 'invalid', 'user_locked']);
    const target = viewers[5] as ReturnType<typeof makeCodeViewer>;
    expect(await bind(userId, target, codeAt(target, clock.step()))).to.deep.include({ ok: false, reason: 'user_locked', lockedUntil: new Date(clock.now() + 300_000) });
    // Not even whether a serial is in stock is told while the person is locked.
    expect(await factors().bindCodeViewer({ userId, serial: '9999999999999', name: 'x', code: '123456', context })).to.deep.include({ reason: 'user_locked' });
    const locked = await eventsOf('factor.enrolment_locked', (_details, owner) => owner === userId);
    expect(locked.map((event) => [event.actor, event.details?.kind, event.details?.lockNumber])).to.deep.equal([['system', 'code_viewer', 1]]);

    clock.advance(300);
    for (const viewer of viewers.slice(0, 4)) expect(await bind(userId, viewer, wrongCode(viewer))).to.deep.include({ reason: 'invalid' });
    expect(await bind(userId, target, wrongCode(target))).to.deep.include({ reason: 'user_locked', lockedUntil: new Date(clock.now() + 600_000) });

    clock.advance(600);
    expect(await bind(userId, target, codeAt(target, clock.step()))).to.deep.include({ ok: true });
    // The count and the lock history are cleared: four more wrong codes do not lock.
    for (const viewer of viewers.slice(0, 5)) {
      if (viewer === viewers[4]) break;
      expect(await bind(userId, viewer, wrongCode(viewer))).to.deep.include({ reason: 'invalid' });
    }
  });

  it('checks at most 5 of 50 wrong codes sent at once by one person, and 5 of 50 sent by 50 people to two nodes', async () => {
    const userId = await person();
    const viewer = await stocked();
    const alone = reasons(await Promise.all(Array.from({ length: 50 }, () => bind(userId, viewer, wrongCode(viewer)))));
    expect(alone.filter((reason) => reason === 'invalid')).to.have.length(4);
    expect(alone.filter((reason) => reason === 'user_locked')).to.have.length(46);

    const shared = await stocked();
    const crowd = await Promise.all(Array.from({ length: 50 }, person));
    const many = reasons(await Promise.all(crowd.map((id, i) => bind(id, shared, wrongCode(shared), i % 2 ? otherNode : storage))));
    expect(many.filter((reason) => reason === 'invalid')).to.have.length(4);
    expect(many.filter((reason) => reason === 'locked')).to.have.length(46);
    const checked = await eventsOf('factor.bind_failed', (details) => details.serial === shared.serial && details.reason === 'invalid');
    expect(checked).to.have.length(4);
    expect(await eventsOf('factor.locked', (details) => details.serial === shared.serial)).to.have.length(1);
  });

  describe('authenticator apps', () => {
    const start = (userId: string) => factors().startAuthenticator({ userId, username: 'gaet', name: 'Telefon', issuerName: 'Kommunen' });
    const appOf = (secretBase32: string) => ({ secret: secretFromBase32(secretBase32), algorithm: 'SHA1' as const, digits: 6 as const, period: 30 as const });
    const pendingOf = async (userId: string) => (await storage.totpTokens.listForUser(userId)).filter((token) => token.status === 'pending');

    it('counts wrong first codes per person: the fifth locks, the right code is refused until the lock runs out', async () => {
      const userId = await person();
      const enrolment = await start(userId);
      const app = appOf(enrolment.secretBase32);
      const confirm = (code: string) => factors().confirmAuthenticator({ userId, id: enrolment.id, code, context });
      const wrong = codeAt(app, clock.step() + 20);
      const results = [];
      for (let i = 0; i < 5; i += 1) results.push(await confirm(wrong));
      expect(results.map((result) => (result.ok ? 'ok' : result.reason))).to.deep.equal(['invalid', 'invalid', 'invalid', 'invalid', 'user_locked']);
      expect(await confirm(codeAt(app, clock.step()))).to.deep.equal({ ok: false, reason: 'user_locked', lockedUntil: new Date(clock.now() + 300_000) });
      const locked = await eventsOf('factor.enrolment_locked', (_details, owner) => owner === userId);
      expect(locked.map((event) => event.details?.kind)).to.deep.equal(['authenticator']);

      // A code viewer binding is its own budget: an app's wrong codes do not lock it.
      const viewer = await stocked();
      expect(await bind(userId, viewer, codeAt(viewer, clock.step()))).to.deep.include({ ok: true });

      clock.advance(300);
      expect(await confirm(codeAt(app, clock.step()))).to.deep.equal({ ok: true });
    });

    it('checks at most 5 of 50 wrong first codes sent at once', async () => {
      const userId = await person();
      const enrolment = await start(userId);
      const wrong = codeAt(appOf(enrolment.secretBase32), clock.step() + 20);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
        factors(i % 2 ? otherNode : storage).confirmAuthenticator({ userId, id: enrolment.id, code: wrong, context })));
      const counted = results.map((result) => (result.ok ? 'ok' : result.reason));
      expect(counted.filter((reason) => reason === 'invalid')).to.have.length(4);
      expect(counted.filter((reason) => reason === 'user_locked')).to.have.length(46);
    });

    it('cannot confirm an app after its quarter of an hour; it is deleted', async () => {
      const userId = await person();
      const enrolment = await start(userId);
      const app = appOf(enrolment.secretBase32);
      clock.advance(PENDING_APP_SECONDS - 1);
      expect(await factors().pendingAuthenticator({ userId, id: enrolment.id, username: 'gaet', issuerName: 'Kommunen' })).to.not.equal(undefined);
      clock.advance(1);
      expect(await factors().pendingAuthenticator({ userId, id: enrolment.id, username: 'gaet', issuerName: 'Kommunen' })).to.equal(undefined);
      expect(await factors().confirmAuthenticator({ userId, id: enrolment.id, code: codeAt(app, clock.step()), context })).to.deep.equal({ ok: false, reason: 'expired' });
      expect(await storage.totpTokens.find(enrolment.id)).to.equal(undefined);
      expect(await factors().confirmAuthenticator({ userId, id: enrolment.id, code: codeAt(app, clock.step()), context })).to.deep.equal({ ok: false, reason: 'not_found' });
    });

    it(`keeps at most ${MAX_PENDING_APPS} pending apps per person, however many are started, even at once; expired ones are not counted`, async () => {
      const userId = await person();
      const first = await start(userId);
      for (let i = 0; i < 9; i += 1) await start(userId);
      expect(await pendingOf(userId)).to.have.length(MAX_PENDING_APPS);
      expect(await factors().confirmAuthenticator({ userId, id: first.id, code: codeAt(appOf(first.secretBase32), clock.step()), context })).to.deep.include({ ok: false, reason: 'not_found' });

      await Promise.all(Array.from({ length: 20 }, (_, i) => factors(i % 2 ? otherNode : storage).startAuthenticator({ userId, username: 'gaet', name: 'Telefon', issuerName: 'Kommunen' })));
      expect(await pendingOf(userId)).to.have.length(MAX_PENDING_APPS);

      clock.advance(PENDING_APP_SECONDS);
      const fresh = await start(userId);
      expect((await pendingOf(userId)).map((token) => token.id)).to.deep.equal([fresh.id]);
      expect(await factors().confirmAuthenticator({ userId, id: fresh.id, code: codeAt(appOf(fresh.secretBase32), clock.step()), context })).to.deep.equal({ ok: true });
    });
  });
});
