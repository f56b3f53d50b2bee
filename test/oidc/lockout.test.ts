import { expect } from 'chai';
import type * as client from 'openid-client';

import { Browser } from '../helpers/browser.ts';
import { deriveKey } from '../../src/crypto/derived-keys.ts';
import { addUser, createBacking, startIdp, TEST_SECRET_KEY, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { authorizationRequest, discover, openLoginPage, REDIRECT_URI, registerClient } from './login-flow.ts';

const PASSWORD = 'Vinter-i-Odense-2026';

describe('password lockout', function () {
  let backing: Backing;
  let running: RunningIdp;
  let config: client.Configuration;

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing);
    await registerClient(running.idp, 'lockout-rp');
    config = await discover(running.issuer, 'lockout-rp');
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  /** Posts one login attempt through a fresh browser; true if it reached the relying party. */
  async function attempt(username: string, password: string): Promise<boolean> {
    const browser = new Browser();
    const { url } = await authorizationRequest(config);
    const { form } = await openLoginPage(browser, url);
    const { url: landed } = await browser.submit(form.action, { ...form.fields, username, password }, { stopAt: REDIRECT_URI });
    return landed.startsWith(REDIRECT_URI);
  }

  it('locks an account after 5 wrong passwords, so the right one is refused, and audits the lock', async () => {
    await addUser(running.idp, { username: 'bo', password: PASSWORD });
    for (let i = 0; i < 5; i += 1) expect(await attempt('bo', 'wrong')).to.equal(false);
    expect(await attempt('bo', PASSWORD)).to.equal(false);
    const locks = await running.idp.storage.audit.list({ type: 'user.locked' });
    expect(locks.filter((event) => event.username === 'bo')).to.have.length(1);
    expect(locks[0]?.details).to.deep.include({ reason: 'failed-attempts', seconds: 300 });
  });

  it('lets IT lift the lock at once', async () => {
    await running.idp.storage.users.findByUsername('bo');
    const { createPasswordLogin } = await import('../../src/auth/password-login.ts');
    const login = createPasswordLogin({
      users: running.idp.storage.users,
      store: running.idp.storage.shortLived,
      audit: running.idp.storage.audit,
      argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
      limits: { maxFailures: 5, baseSeconds: 300, maxSeconds: 3600, ipMaxFailures: 100, ipWindowSeconds: 900 },
      usernameKey: deriveKey(TEST_SECRET_KEY, 'audit-username'),
    });
    await login.clearLock('bo');
    expect(await attempt('bo', PASSWORD)).to.equal(true);
  });

  it('checks at most 5 of 50 concurrent wrong attempts: the count is atomic', async () => {
    await addUser(running.idp, { username: 'carl', password: PASSWORD });
    const results = await Promise.all(Array.from({ length: 50 }, () => attempt('carl', 'wrong')));
    expect(results.every((ok) => ok === false)).to.equal(true);
    const failures = (await running.idp.storage.audit.list({ type: 'login.password.failed', limit: 500 })).filter((event) => event.username === 'carl');
    expect(failures).to.have.length(50);
    expect(failures.filter((event) => event.details?.reason === 'wrong-password')).to.have.length(5);
    expect(failures.filter((event) => event.details?.reason === 'locked')).to.have.length(45);
    expect(await attempt('carl', PASSWORD)).to.equal(false);
  });

  it('locks an unknown username exactly like a known one (no enumeration)', async () => {
    for (let i = 0; i < 5; i += 1) await attempt('ghost', 'wrong');
    // An unknown name is recorded only as its keyed digest (test/security/password-lockout.test.ts).
    const locks = (await running.idp.storage.audit.list({ type: 'user.locked' })).filter((event) => event.details?.knownUser === false);
    expect(locks).to.have.length(1);
    expect(locks[0]).to.deep.include({ username: null, userId: null });
  });
});
