import { expect } from 'chai';

import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, useIdp } from '../helpers/idp.ts';
import { codeAt, makeCodeViewer, secretFromBase32, suiteClock } from '../helpers/totp.ts';

const PASSWORD = 'Sommer-i-Skagen-2026';

describe('self-service: binding a code viewer and adding an authenticator app', function () {
  const clock = suiteClock();
  const suite = useIdp(() => ({ now: clock.now }));

  /** Logs in to self-service through the IdP's own login page; returns the portal page. */
  async function logIn(browser: Browser, username: string, code?: () => string) {
    const { response, url } = await browser.follow(`${suite.running.url}/selfservice`);
    let html = await response.text();
    expect(html).to.match(/(Du logger ind på|You are logging in to) <strong>Selvbetjening<\/strong>/);
    const login = readForm(html, url);
    let page = await browser.submit(login.action, { ...login.fields, username, password: PASSWORD });
    html = await page.response.text();
    if (code) {
      expect(html).to.match(/autocomplete="one-time-code"/);
      const form = readForm(html, page.url);
      page = await browser.submit(form.action, { ...form.fields, code: code() });
      html = await page.response.text();
    }
    return { html, url: page.url };
  }

  it('binds a code viewer from stock with its serial and a code, and then asks for it to get back in', async () => {
    await addUser(suite.running.idp, { username: 'anders', password: PASSWORD, name: 'Anders And' });
    const viewer = makeCodeViewer();
    await suite.running.idp.storage.db.transaction((trx) => suite.running.idp.storage.totpTokens.addToStock([viewer], trx));

    const browser = new Browser();
    const portal = await logIn(browser, 'anders');
    expect(portal.html).to.include('Anders And');
    expect(portal.html).to.include('Du har ingen 2-faktor enheder endnu');

    const { response, url } = await browser.follow(`${suite.running.url}/selfservice/code-viewer`);
    const page = await response.text();
    expect(page).to.include('Navn på klient');
    const form = readForm(page, url);
    const spaced = `${viewer.serial.slice(0, 4)} ${viewer.serial.slice(4, 8)} ${viewer.serial.slice(8)}`;

    const wrong = await browser.submit(form.action, { ...form.fields, name: 'Kodeviser', serial: spaced, code: codeAt(viewer, clock.step() + 40) });
    expect(await wrong.response.text()).to.include('Koden er forkert');
    const bound = await browser.submit(form.action, { ...form.fields, name: 'Kodeviser på rådhuset', serial: spaced, code: codeAt(viewer, clock.step() + 3) });
    const list = await bound.response.text();
    expect(list).to.include('Enheden er tilknyttet');
    expect(list).to.include('Kodeviser på rådhuset');
    expect(await suite.running.idp.storage.totpTokens.findBySerial(viewer.serial)).to.deep.include({ status: 'assigned', drift: 3 });

    // A new visit: the password alone no longer opens self-service.
    clock.advance(60);
    const again = await logIn(new Browser(), 'anders', () => codeAt(viewer, clock.step() + 3));
    expect(again.html).to.include('Kodeviser på rådhuset');
  });

  it('refuses a serial that is not 13 digits, with the message employees know', async () => {
    await addUser(suite.running.idp, { username: 'bodil', password: PASSWORD });
    const browser = new Browser();
    await logIn(browser, 'bodil');
    const { response, url } = await browser.follow(`${suite.running.url}/selfservice/code-viewer`);
    const form = readForm(await response.text(), url);
    const result = await browser.submit(form.action, { ...form.fields, name: 'K', serial: '12345', code: '123456' });
    expect(await result.response.text()).to.include('Serienummeret skal være 13 cifre');
  });

  it('adds an authenticator app from a server-rendered QR code and its first code', async () => {
    await addUser(suite.running.idp, { username: 'carla', password: PASSWORD });
    const browser = new Browser();
    await logIn(browser, 'carla');
    const { response, url } = await browser.follow(`${suite.running.url}/selfservice/authenticator`);
    const nameForm = readForm(await response.text(), url);
    const qrPage = await browser.submit(nameForm.action, { ...nameForm.fields, name: 'Min telefon' });
    const html = await qrPage.response.text();
    expect(html).to.match(/<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(qrPage.response.headers.get('content-security-policy')).to.not.include('unsafe-inline');
    const secret = (/<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(html)?.[1] as string).replace(/ /g, '');
    const app = { secret: secretFromBase32(secret), algorithm: 'SHA1' as const, digits: 6 as const, period: 30 as const };

    const confirm = readForm(html, qrPage.url);
    const wrong = await browser.submit(confirm.action, { ...confirm.fields, code: codeAt(app, clock.step() + 20) });
    const retry = await wrong.response.text();
    expect(retry).to.include('Koden er forkert');
    expect(retry).to.include('<svg');
    const done = await browser.submit(confirm.action, { ...confirm.fields, code: codeAt(app, clock.step()) });
    expect(await done.response.text()).to.include('Min telefon');
    const events = await suite.running.idp.storage.audit.list({ type: 'factor.enrolled' });
    expect(events.some((event) => event.details?.name === 'Min telefon')).to.equal(true);
  });

  it('refuses binding after five wrong codes, even the right one, saying until when (Danish and English)', async () => {
    await addUser(suite.running.idp, { username: 'dorte', password: PASSWORD });
    const viewer = makeCodeViewer();
    await suite.running.idp.storage.db.transaction((trx) => suite.running.idp.storage.totpTokens.addToStock([viewer], trx));
    const browser = new Browser();
    await logIn(browser, 'dorte');
    const { response, url } = await browser.follow(`${suite.running.url}/selfservice/code-viewer`);
    const form = readForm(await response.text(), url);
    const tryCode = async (code: string) => (await browser.submit(form.action, { ...form.fields, name: 'K', serial: viewer.serial, code })).response.text();
    for (let i = 0; i < 4; i += 1) expect(await tryCode(codeAt(viewer, clock.step() + 40))).to.include('Koden er forkert');
    expect(await tryCode(codeAt(viewer, clock.step() + 40))).to.match(/Du har indtastet forkerte koder for mange gange og kan ikke tilknytte en enhed af denne slags før kl\. \d\d[.:]\d\d\./);
    expect(await tryCode(codeAt(viewer, clock.step()))).to.include('Du har indtastet forkerte koder for mange gange');
    expect((await suite.running.idp.storage.totpTokens.findBySerial(viewer.serial))?.status).to.equal('in_stock');

    // The serial is locked too: another employee, reading English, is told so.
    await addUser(suite.running.idp, { username: 'edward', password: PASSWORD });
    const english = new Browser({ 'accept-language': 'en' });
    await logIn(english, 'edward');
    const page = await english.follow(`${suite.running.url}/selfservice/code-viewer`);
    const englishForm = readForm(await page.response.text(), page.url);
    const refused = await english.submit(englishForm.action, { ...englishForm.fields, name: 'K', serial: viewer.serial, code: codeAt(viewer, clock.step()) });
    expect(await refused.response.text()).to.match(/The code viewer is locked after too many wrong codes, until \d\d:\d\d\./);
  });

  it('refuses a device form without the CSRF token', async () => {
    await addUser(suite.running.idp, { username: 'dagmar', password: PASSWORD });
    const browser = new Browser();
    await logIn(browser, 'dagmar');
    const result = await browser.submit(`${suite.running.url}/selfservice/authenticator`, { name: 'Fremmed' });
    expect(result.response.status).to.equal(403);
  });

  it('sends a visitor without a session to log in', async () => {
    const response = await new Browser().fetch(`${suite.running.url}/selfservice/code-viewer`);
    expect(response.status).to.equal(302);
    expect(response.headers.get('location')).to.match(/\/selfservice\/login$/);
  });
});
