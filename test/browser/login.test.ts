import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';

import { DEMO_CLIENT_ID } from '../../src/demo/router.ts';
import { launchChromium, newPage as newChromiumPage } from '../helpers/chromium.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { codeAt, makeCodeViewer, factorsOn, suiteClock } from '../helpers/totp.ts';

const PASSWORD = 'Vinter-i-Viborg-2026';

/**
 * The pages in real Chromium, as an employee meets them: labels, keyboard, language, CSP, and
 * a whole Substantial login through the demo relying party.
 */
describe('login pages in Chromium', function () {
  this.timeout(60_000);
  let backing: Backing;
  let running: RunningIdp;
  let browser: Browser;
  const clock = suiteClock();
  let viewer: ReturnType<typeof makeCodeViewer>;

  before(async function () {
    browser = await launchChromium(this);
    backing = await createBacking();
    running = await startIdp(backing, { now: clock.now, demo: true });
    await running.idp.storage.clients.add({
      metadata: {
        client_id: DEMO_CLIENT_ID,
        client_name: 'Demo',
        redirect_uris: [`${running.issuer}/demo/callback`],
        post_logout_redirect_uris: [`${running.issuer}/demo`],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
      },
      level: 'low',
    });
    const user = await addUser(running.idp, { username: 'ellen', password: PASSWORD, name: 'Ellen Eriksen' });
    viewer = makeCodeViewer();
    await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
    const factors = factorsOn(running.idp.storage, clock.now);
    await factors.bindCodeViewer({ userId: user.id, serial: viewer.serial, name: 'Kodeviser på rådhuset', code: codeAt(viewer, clock.step()), context: { actor: 'test' } });
    clock.advance(30);
  });
  after(async () => {
    await browser?.close();
    await running?.stop();
    await backing?.cleanup();
  });

  /** A fresh page that fails the test on any CSP violation or script error. */
  const newPage = (locale = 'da-DK'): Promise<{ page: Page; problems: string[] }> => newChromiumPage(browser, { locale });

  it('logs in at Substantial: labelled fields, the code page, and the claims back at the demo', async () => {
    const { page, problems } = await newPage();
    await page.goto(`${running.url}/demo`);
    await page.getByRole('link', { name: 'Log ind med 2-faktor (betydelig)' }).click();

    expect(await page.getAttribute('html', 'lang')).to.equal('da');
    await page.getByLabel('Brugernavn').fill('ellen');
    await page.getByLabel('Kodeord').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log ind' }).click();

    const code = page.getByLabel('Kode', { exact: true });
    expect(await code.getAttribute('autocomplete')).to.equal('one-time-code');
    expect(await code.getAttribute('inputmode')).to.equal('numeric');
    expect(await page.evaluate('document.activeElement.id')).to.equal('code');
    await code.fill('000000');
    await page.keyboard.press('Enter');
    expect(await page.getByRole('alert').textContent()).to.include('Koden er forkert');

    await page.getByLabel('Kode', { exact: true }).fill(codeAt(viewer, clock.step()));
    await page.getByRole('button', { name: 'Bekræft' }).click();
    await page.waitForURL(/\/demo\/callback/);
    const claims = await page.locator('dl.claims').first().textContent();
    expect(claims).to.include('https://data.gov.dk/concept/core/nsis/loa/Substantial');
    expect(claims).to.include('mfa');
    await page.screenshot({ path: '/tmp/stepup-demo-claims.png', fullPage: true });
    expect(problems).to.deep.equal([]);
  });

  it('serves English on request, focuses the username, and keeps the skip link first in the keyboard order', async () => {
    const { page, problems } = await newPage('en-GB');
    await page.goto(`${running.url}/demo/login`);
    expect(await page.getAttribute('html', 'lang')).to.equal('en');
    // A string, evaluated in the page: the tests are compiled without the DOM's types.
    const focused = () => page.evaluate('(e => e.id || e.getAttribute("aria-label") || e.textContent)(document.activeElement)');
    expect(await focused()).to.equal('username');
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).to.equal('Skift til dansk');
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).to.equal('Skip to content');
    await page.getByRole('link', { name: 'Skift til dansk' }).click();
    expect(await page.getAttribute('html', 'lang')).to.equal('da');
    expect(await page.getByLabel('Brugernavn').getAttribute('autocomplete')).to.equal('username');
    await page.screenshot({ path: '/tmp/stepup-login.png', fullPage: true });
    expect(problems).to.deep.equal([]);
  });
});
