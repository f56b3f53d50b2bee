import { expect } from 'chai';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import type { Idp } from '../../src/app.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { accessPassesOf } from '../helpers/portal.ts';
import { codeAt, factorsOn, makeCodeViewer, secretFromBase32, suiteClock } from '../helpers/totp.ts';

const PASSWORD = 'Efteraar-i-Odense-2026';

/**
 * Issue "Step 3": a password alone never reaches Substantial through self-service. Every change
 * is decided on the request itself; each case below was reproduced on the code before it.
 */
describe('security: self-service changes need a fresh second factor or, for the first, what the configuration allows', function () {
  let backing: Backing;
  let running: RunningIdp;
  const clock = suiteClock();

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing, { now: clock.now, config: { firstFactorEnrolment: 'password' } });
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  /** Logs in to self-service through the IdP's pages; `code` answers a code page if one comes. */
  async function logIn(browser: Browser, on: RunningIdp, username: string, code?: () => string, start = `${on.url}/selfservice`) {
    let page = await browser.follow(start);
    let html = await page.response.text();
    if (html.includes('autocomplete="current-password"')) {
      const login = readForm(html, page.url);
      page = await browser.submit(login.action, { ...login.fields, username, password: PASSWORD });
      html = await page.response.text();
    }
    if (html.includes('one-time-code') && code) {
      const form = readForm(html, page.url);
      page = await browser.submit(form.action, { ...form.fields, code: code() });
      html = await page.response.text();
    }
    return { html, url: page.url };
  }

  /** The CSRF token of the portal page the browser sees. */
  async function portalToken(browser: Browser, on: RunningIdp) {
    const { response } = await browser.follow(`${on.url}/selfservice`);
    return /name="_csrf" value="([^"]+)"/.exec(await response.text())?.[1] as string;
  }

  /** Where a request that may not change anything is sent: the IdP's authorization endpoint, asking for a fresh second factor. */
  function expectStepUp(response: Response, on: RunningIdp) {
    expect(response.status).to.equal(302);
    const location = new URL(response.headers.get('location') as string);
    expect(location.href.startsWith(`${on.issuer}/auth`)).to.equal(true);
    expect(location.searchParams.get('acr_values')).to.equal(ACR_VALUES.substantial);
    expect(location.searchParams.get('max_age')).to.equal('900');
  }

  const pendingApps = async (idp: Idp, userId: string) => (await idp.storage.totpTokens.listForUser(userId)).filter((token) => token.kind === 'authenticator');

  /** Adds an app through the portal with its first code; returns the final page. */
  async function addApp(browser: Browser, on: RunningIdp, name: string) {
    const { response, url } = await browser.follow(`${on.url}/selfservice/authenticator`);
    const nameForm = readForm(await response.text(), url);
    const qr = await browser.submit(nameForm.action, { ...nameForm.fields, name });
    const html = await qr.response.text();
    const secret = (/<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(html)?.[1] as string).replace(/ /g, '');
    const app = { secret: secretFromBase32(secret), algorithm: 'SHA1' as const, digits: 6 as const, period: 30 as const };
    const confirm = readForm(html, qr.url);
    return browser.submit(confirm.action, { ...confirm.fields, code: codeAt(app, clock.step()) });
  }

  it('lets a password-only session add the first factor, and not a second one in the same session', async () => {
    const user = await addUser(running.idp, { username: 'asger', password: PASSWORD });
    const browser = new Browser();
    await logIn(browser, running, 'asger');
    const first = await addApp(browser, running, 'Første telefon');
    expect(await first.response.text()).to.include('Første telefon');
    const [event] = await running.idp.storage.audit.list({ userId: user.id, type: 'factor.first_enrolled' });
    expect(event?.details).to.deep.include({ allowedBy: 'password' });

    expectStepUp(await browser.fetch(`${running.url}/selfservice/authenticator`), running);
    const csrf = await portalToken(browser, running);
    const post = await browser.fetch(`${running.url}/selfservice/authenticator`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, name: 'Angriberens telefon' }),
    });
    expectStepUp(post, running);
    expect(await pendingApps(running.idp, user.id)).to.have.length(1);
  });

  it('looks again after IT binds the first code viewer to a session that began without one', async () => {
    const user = await addUser(running.idp, { username: 'birgit', password: PASSWORD });
    const browser = new Browser();
    await logIn(browser, running, 'birgit');
    const csrf = await portalToken(browser, running);

    const viewer = makeCodeViewer();
    await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
    const bound = await factorsOn(running.idp.storage, clock.now).bindCodeViewer({ userId: user.id, serial: viewer.serial, name: 'Kodeviser', code: codeAt(viewer, clock.step()), context: { actor: 'cli' } });
    expect(bound.ok).to.equal(true);

    const post = await browser.fetch(`${running.url}/selfservice/authenticator`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, name: 'Angriberens app' }),
    });
    expectStepUp(post, running);
    expect(await pendingApps(running.idp, user.id)).to.have.length(0);
  });

  it('counts a second factor for the step-up window only, then asks for it again through the IdP', async () => {
    const user = await addUser(running.idp, { username: 'carsten', password: PASSWORD });
    const viewer = makeCodeViewer();
    await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
    await factorsOn(running.idp.storage, clock.now).bindCodeViewer({ userId: user.id, serial: viewer.serial, name: 'Kodeviser', code: codeAt(viewer, clock.step()), context: { actor: 'cli' } });
    clock.advance(60);

    const browser = new Browser();
    const portal = await logIn(browser, running, 'carsten', () => codeAt(viewer, clock.step()));
    expect(portal.html).to.include('Kodeviser');
    expect((await browser.fetch(`${running.url}/selfservice/authenticator`)).status).to.equal(200);

    // Busy in the portal (the idle timeout restarts), but the code is now 16 minutes old.
    clock.advance(14 * 60);
    expect((await browser.fetch(`${running.url}/selfservice`)).status).to.equal(200);
    clock.advance(2 * 60);
    const stale = await browser.fetch(`${running.url}/selfservice/authenticator`);
    expectStepUp(stale, running);

    // The IdP asks again (max_age covers the password too), and then the portal lets the change through.
    clock.advance(30);
    const again = await logIn(browser, running, 'carsten', () => codeAt(viewer, clock.step()), stale.headers.get('location') as string);
    expect(again.url).to.equal(`${running.url}/selfservice`);
    expect((await browser.fetch(`${running.url}/selfservice/authenticator`)).status).to.equal(200);
  });

  it('ends a session at logout on every node, after 15 idle minutes, and binds the CSRF token to it', async () => {
    await addUser(running.idp, { username: 'ditte', password: PASSWORD });
    const second = await startIdp(backing, { now: clock.now, config: { issuer: running.issuer, firstFactorEnrolment: 'password' } });
    try {
      const browser = new Browser();
      await logIn(browser, running, 'ditte');
      const cookie = browser.cookies.get('stepup_selfservice') as string;
      const csrf = await portalToken(browser, running);

      const other = new Browser();
      await logIn(other, running, 'ditte');
      expect(await portalToken(other, running)).to.not.equal(csrf);
      const crossed = await other.fetch(`${running.url}/selfservice/authenticator`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf, name: 'Andens token' }),
      });
      expect(crossed.status).to.equal(403);

      const logout = await browser.submit(`${running.url}/selfservice/logout`, { _csrf: csrf });
      expect(await logout.response.text()).to.include('Du er logget ud af selvbetjeningen');
      const replay = new Browser();
      replay.cookies.set('stepup_selfservice', cookie);
      for (const node of [running, second]) {
        const response = await replay.fetch(`${node.url}/selfservice`);
        expect(response.status).to.equal(302);
        expect(response.headers.get('location')).to.match(/\/selfservice\/login$/);
      }

      clock.advance(16 * 60);
      const idle = await other.fetch(`${second.url}/selfservice`);
      expect(idle.headers.get('location')).to.match(/\/selfservice\/login$/);
    } finally {
      await second.stop();
    }
  });
});

describe('security: the first factor needs an access pass from IT', function () {
  let backing: Backing;
  let running: RunningIdp;
  const clock = suiteClock();

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing, { now: clock.now, config: { firstFactorEnrolment: 'access-pass' } });
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  const passes = () => accessPassesOf(running, clock.now);

  async function logIn(browser: Browser, username: string) {
    const page = await browser.follow(`${running.url}/selfservice`);
    const login = readForm(await page.response.text(), page.url);
    const portal = await browser.submit(login.action, { ...login.fields, username, password: PASSWORD });
    return portal.response.text();
  }

  async function post(browser: Browser, path: string, fields: Record<string, string>) {
    const { response } = await browser.follow(`${running.url}/selfservice`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await response.text())?.[1] as string;
    return browser.fetch(`${running.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, ...fields }),
    });
  }

  it('refuses a password-only session every way of adding a device, and changes nothing', async () => {
    const user = await addUser(running.idp, { username: 'emil', password: PASSWORD });
    const browser = new Browser();
    const portal = await logIn(browser, 'emil');
    expect(portal).to.include('midlertidige adgangskode');
    expect(portal).to.not.include('/selfservice/authenticator"');

    for (const path of ['/selfservice/authenticator', '/selfservice/code-viewer']) {
      const page = await browser.fetch(`${running.url}${path}`);
      expect(page.headers.get('location'), path).to.match(/\/selfservice\/access-pass$/);
    }
    const start = await post(browser, '/selfservice/authenticator', { name: 'Angriberens app' });
    expect(start.headers.get('location')).to.match(/\/selfservice\/access-pass$/);
    expect(await running.idp.storage.totpTokens.listForUser(user.id)).to.have.length(0);
  });

  it('lets a fresh pass add the first factor once, names the pass in the audit log, and refuses it again', async () => {
    const user = await addUser(running.idp, { username: 'frida', password: PASSWORD });
    const { pass } = await passes().issue({ userId: user.id, username: 'frida', ttlSeconds: 3600, context: { actor: 'cli' } });
    const browser = new Browser();
    await logIn(browser, 'frida');
    const redeemed = await post(browser, '/selfservice/access-pass', { access_pass: pass.toLowerCase() });
    expect(redeemed.status).to.equal(303);

    // Someone else with the password, in another session, gets nothing from the same pass.
    const thief = new Browser();
    await logIn(thief, 'frida');
    const reused = await post(thief, '/selfservice/access-pass', { access_pass: pass });
    expect(reused.status).to.equal(200);
    expect(await reused.text()).to.include('Adgangskoden er forkert eller udløbet');
    expect((await thief.fetch(`${running.url}/selfservice/authenticator`)).headers.get('location')).to.match(/access-pass$/);

    const { response, url } = await browser.follow(`${running.url}/selfservice/authenticator`);
    expect(response.status).to.equal(200);
    const nameForm = readForm(await response.text(), url);
    const qr = await browser.submit(nameForm.action, { ...nameForm.fields, name: 'Frida\'s telefon' });
    const html = await qr.response.text();
    const secret = (/<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(html)?.[1] as string).replace(/ /g, '');
    const confirm = readForm(html, qr.url);
    const app = { secret: secretFromBase32(secret), algorithm: 'SHA1' as const, digits: 6 as const, period: 30 as const };
    await browser.submit(confirm.action, { ...confirm.fields, code: codeAt(app, clock.step()) });
    const [event] = await running.idp.storage.audit.list({ userId: user.id, type: 'factor.first_enrolled' });
    expect(event?.details).to.deep.include({ allowedBy: 'access-pass' });
  });

  it('revokes a pass after five wrong tries, also when they arrive at once', async () => {
    const user = await addUser(running.idp, { username: 'gorm', password: PASSWORD });
    const { pass } = await passes().issue({ userId: user.id, username: 'gorm', ttlSeconds: 3600, context: { actor: 'cli' } });
    const browser = new Browser();
    await logIn(browser, 'gorm');
    const guesses = await Promise.all(Array.from({ length: 12 }, () => post(browser, '/selfservice/access-pass', { access_pass: 'AAAA-BBBB-CCCC-DDDD' })));
    expect(guesses.every((response) => response.status === 200)).to.equal(true);
    const right = await post(browser, '/selfservice/access-pass', { access_pass: pass });
    expect(await right.text()).to.include('Adgangskoden er forkert eller udløbet');
    const failed = await running.idp.storage.audit.list({ userId: user.id, type: 'access_pass.failed' });
    expect(failed.filter((event) => event.details?.reason !== 'none')).to.have.length(5);
    expect(await running.idp.storage.audit.list({ userId: user.id, type: 'access_pass.revoked' })).to.have.length(1);
  });

  it('refuses an expired pass', async () => {
    const user = await addUser(running.idp, { username: 'hanne', password: PASSWORD });
    const { pass } = await passes().issue({ userId: user.id, username: 'hanne', ttlSeconds: 600, context: { actor: 'cli' } });
    clock.advance(601);
    const browser = new Browser();
    await logIn(browser, 'hanne');
    const late = await post(browser, '/selfservice/access-pass', { access_pass: pass });
    expect(await late.text()).to.include('Adgangskoden er forkert eller udløbet');
    expect((await browser.fetch(`${running.url}/selfservice/authenticator`)).headers.get('location')).to.match(/access-pass$/);
  });
});
