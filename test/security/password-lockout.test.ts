/**
 * Password lockout (issue "Step 3 · Hardening", 2–4). Reproduced before the fix: a lock's
 * doubling outlived a successful login and could reach 24 hours; the right password on an
 * account IT had locked reset the failure count; the attempt counter folded case in JavaScript
 * and the lookup in Postgres, so "İlknur" and "ilknur" were one account with two counters (ten
 * guesses before a lock); and a failed login for a name matching no user stored what was typed,
 * which is often a password.
 */
import { randomBytes } from 'node:crypto';

import { expect } from 'chai';
import type * as client from 'openid-client';

import { createPasswordLogin } from '../../src/auth/password-login.ts';
import { configWith } from '../../src/config/index.ts';
import { deriveKey } from '../../src/crypto/derived-keys.ts';
import { createMemoryStore } from '../../src/store/short-lived/memory.ts';
import { Browser } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, TEST_SECRET_KEY, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { authorizationRequest, discover, openLoginPage, REDIRECT_URI, registerClient } from '../oidc/login-flow.ts';

const PASSWORD = 'Vinter-i-Aalborg-2026';
const suffix = () => randomBytes(3).toString('hex');

describe('security: password lockout', function () {
  let backing: Backing;
  let running: RunningIdp;
  let config: client.Configuration;

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing);
    await registerClient(running.idp, 'lockout-security-rp');
    config = await discover(running.issuer, 'lockout-security-rp');
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  /** One login attempt through a fresh browser: whether it reached the relying party, and the page's error. */
  async function attempt(username: string, password: string) {
    const browser = new Browser();
    const { url } = await authorizationRequest(config);
    const { form } = await openLoginPage(browser, url);
    const { response, url: landed } = await browser.submit(form.action, { ...form.fields, username, password }, { stopAt: REDIRECT_URI });
    const html = landed.startsWith(REDIRECT_URI) ? '' : await response.text();
    return { ok: landed.startsWith(REDIRECT_URI), error: /<div class="alert" role="alert" id="login-error">([^<]*)<\/div>/.exec(html)?.[1] };
  }

  const failuresOf = async (userId: string) =>
    (await running.idp.storage.audit.list({ type: 'login.password.failed', userId, limit: 1000 })).reverse();

  describe('a lock that cannot keep an employee out for days', () => {
    /** The password step on its own, with a clock the test moves (the memory store expires by it). */
    function loginWithClock() {
      let now = Date.parse('2026-11-25T08:00:00Z');
      const lockout = configWith({ secretKey: TEST_SECRET_KEY }).lockout;
      const login = createPasswordLogin({
        users: running.idp.storage.users,
        store: createMemoryStore({ now: () => now }),
        audit: running.idp.storage.audit,
        argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
        limits: lockout,
        usernameKey: deriveKey(TEST_SECRET_KEY, 'audit-username'),
      });
      return { login, lockout, wait: (seconds: number) => void (now += seconds * 1000) };
    }
    const lockLengths = async (userId: string) =>
      (await running.idp.storage.audit.list({ type: 'user.locked', userId })).reverse().map((event) => event.details?.seconds);

    it('locks for an hour at most by default', async () => {
      const { login, lockout, wait } = loginWithClock();
      expect(lockout.maxSeconds).to.equal(3600);
      const user = await addUser(running.idp, { username: `lang-${suffix()}`, password: PASSWORD });
      for (let lock = 0; lock < 6; lock += 1) {
        for (let i = 0; i < 5; i += 1) await login.login({ username: user.username, password: 'wrong', ip: '192.0.2.10' });
        wait(3601); // past the lock, well within the day the doubling remembers
      }
      expect(await lockLengths(user.id)).to.deep.equal([300, 600, 1200, 2400, 3600, 3600]);
    });

    it('starts the doubling again after a successful login', async () => {
      const { login, wait } = loginWithClock();
      const user = await addUser(running.idp, { username: `igen-${suffix()}`, password: PASSWORD });
      for (let i = 0; i < 5; i += 1) await login.login({ username: user.username, password: 'wrong', ip: '192.0.2.11' });
      wait(301);
      expect(await login.login({ username: user.username, password: PASSWORD, ip: '192.0.2.11' })).to.include({ ok: true });
      for (let i = 0; i < 5; i += 1) await login.login({ username: user.username, password: 'wrong', ip: '192.0.2.11' });
      expect(await lockLengths(user.id)).to.deep.equal([300, 300]);
    });
  });

  describe('an account IT locked', () => {
    it('answers the right password exactly like a wrong one, and counts it towards the lock', async () => {
      const user = await addUser(running.idp, { username: `spaerret-${suffix()}`, password: PASSWORD });
      await running.idp.storage.users.setStatus(user.id, 'locked');

      const wrong = await attempt(user.username, 'wrong');
      for (let i = 0; i < 3; i += 1) await attempt(user.username, 'wrong');
      const right = await attempt(user.username, PASSWORD);
      expect(right).to.deep.equal({ ok: false, error: wrong.error });
      expect(wrong.error).to.match(/kodeord er forkert/);

      // The right password reset nothing: it was the 5th failure, and it locked the account.
      const failures = await failuresOf(user.id);
      expect(failures.map((event) => event.details?.reason)).to.deep.equal(['wrong-password', 'wrong-password', 'wrong-password', 'wrong-password', 'disabled']);
      const shape = ({ id: _id, occurredAt: _at, requestId: _request, details: _details, ...rest }: (typeof failures)[number]) => rest;
      expect(shape(failures[4] as (typeof failures)[number])).to.deep.equal(shape(failures[0] as (typeof failures)[number]));
      expect(Object.keys(failures[4]?.details ?? {})).to.deep.equal(Object.keys(failures[0]?.details ?? {}));
      const locks = await running.idp.storage.audit.list({ type: 'user.locked', userId: user.id });
      expect(locks.map((event) => event.details?.reason)).to.deep.equal(['failed-attempts']);
    });
  });

  describe('one normalisation of usernames', () => {
    it('counts every spelling of one account together, and no other name against it', async () => {
      const tag = suffix();
      const user = await addUser(running.idp, { username: `İlknur-${tag}`, password: PASSWORD });
      // Each of these finds the account: case, decomposed dot, full-width letters.
      const spellings = [`İlknur-${tag}`, `İLKNUR-${tag}`, `i\u0307lknur-${tag}`, `ＩＬＫＮＵＲ-${tag}`.replace('Ｉ', 'İ'), `İlKnUr-${tag}`];
      // A plain "i" is another name (Postgres' lower() under a UTF-8 locale took it for the account).
      const other = `ilknur-${tag}`;
      for (const spelling of spellings) {
        await attempt(other, 'wrong');
        await attempt(spelling, 'wrong');
      }
      expect((await failuresOf(user.id)).map((event) => event.details?.reason)).to.deep.equal(Array(5).fill('wrong-password'));
      expect((await attempt(`İlknur-${tag}`, PASSWORD)).ok).to.equal(false);
      expect((await failuresOf(user.id)).at(-1)?.details?.reason).to.equal('locked');
    });

    it('finds the account by any spelling, and IT unlocks it by any spelling', async () => {
      const tag = suffix();
      const user = await addUser(running.idp, { username: `Åse-${tag}`, password: PASSWORD });
      for (let i = 0; i < 5; i += 1) await attempt(`A\u030Ase-${tag}`, 'wrong');
      expect((await attempt(`åse-${tag}`, PASSWORD)).ok).to.equal(false);
      const unlock = createPasswordLogin({
        users: running.idp.storage.users,
        store: running.idp.storage.shortLived,
        audit: running.idp.storage.audit,
        argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
        limits: configWith({ secretKey: TEST_SECRET_KEY }).lockout,
        usernameKey: deriveKey(TEST_SECRET_KEY, 'audit-username'),
      });
      await unlock.clearLock(`ÅSE-${tag}`);
      expect((await attempt(`ÅSE-${tag}`, PASSWORD)).ok).to.equal(true);
      expect((await running.idp.storage.audit.list({ type: 'login.password.succeeded', userId: user.id }))[0]?.username).to.equal(user.username);
    });
  });

  describe('the audit log', () => {
    it('stores no name that matches no user, only a keyed hash two failures share', async () => {
      const typed = `Hunter2!secret-${suffix()}`;
      for (let i = 0; i < 5; i += 1) await attempt(typed, 'wrong');
      await attempt(typed.toUpperCase(), 'wrong');

      const rows = (await running.idp.storage.db('audit_events').select('*')) as Array<Record<string, unknown>>;
      const text = JSON.stringify(rows).toLowerCase();
      expect(text).not.to.include(typed.toLowerCase());
      expect(text).not.to.include('hunter2');

      const failures = (await running.idp.storage.audit.list({ type: 'login.password.failed', limit: 6 }));
      const hashes = new Set(failures.map((event) => event.details?.usernameHash));
      expect(hashes.size).to.equal(1);
      const [hash] = [...hashes];
      expect(hash).to.match(/^[\w-]{43}$/);
      expect(failures.map((event) => [event.actor, event.username, event.userId])).to.deep.equal(Array(6).fill(['anonymous', null, null]));
      const lock = (await running.idp.storage.audit.list({ type: 'user.locked' })).find((event) => event.details?.usernameHash === hash);
      expect(lock).to.deep.include({ username: null, userId: null });
    });
  });
});
