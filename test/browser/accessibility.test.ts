import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { backAtRelyingParty, expectAccessible, launchChromium, newPage } from '../helpers/chromium.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { codeAt, factorsOn, makeCodeViewer, suiteClock } from '../helpers/totp.ts';
import { authorizationRequest, discover, registerClient } from '../oidc/login-flow.ts';

const PASSWORD = 'Tilgængelig-i-Thisted-2026';

/**
 * Issue "Step 6": every page of the login flow and of the portal passes axe-core at WCAG 2.2 AA
 * with best practices, reflows at 320 CSS px (WCAG 1.4.10), in Chromium; and a login and a
 * device enrolment can be done with the keyboard alone, the focus visible at each step. A
 * screenshot of each page is left in test-artifacts/screenshots.
 */
describe('accessibility of every page, in Chromium', function () {
  this.timeout(90_000);
  let backing: Backing;
  let running: RunningIdp;
  let browser: Browser;
  const clock = suiteClock();

  before(async function () {
    browser = await launchChromium(this);
    backing = await createBacking();
    running = await startIdp(backing, { now: clock.now, config: { firstFactorEnrolment: 'access-pass' } });
    await registerClient(running.idp, 'a11y-rp');
  });
  after(async () => {
    await browser?.close();
    await running?.stop();
    await backing?.cleanup();
  });

  /** An employee with code viewers of the given names, bound with the previous step's code. */
  async function employee(username: string, viewerNames: string[]) {
    const user = await addUser(running.idp, { username, password: PASSWORD, name: 'Tove Thomsen' });
    const viewers = [];
    for (const name of viewerNames) {
      const viewer = makeCodeViewer();
      await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
      const bound = await factorsOn(running.idp.storage, clock.now).bindCodeViewer({ userId: user.id, serial: viewer.serial, name, code: codeAt(viewer, clock.step() - 1), context: { actor: 'test' } });
      if (!bound.ok) throw new Error(`binding failed: ${bound.reason}`);
      viewers.push({ ...viewer, id: bound.token.id });
    }
    return { user, viewers };
  }

  /** Opens a Substantial login at the test relying party. */
  async function startSubstantialLogin(page: Page) {
    const config = await discover(running.issuer, 'a11y-rp');
    await page.goto((await authorizationRequest(config, { acr_values: ACR_VALUES.substantial })).url.href);
  }

  async function typePassword(page: Page, username: string, password = PASSWORD) {
    await page.getByLabel('Brugernavn').fill(username);
    await page.getByLabel('Kodeord').fill(password);
    await page.getByRole('button', { name: 'Log ind' }).click();
  }

  it('the login pages: password (and its error), chooser, code (and its error), no device, error', async () => {
    const { viewers: [first] } = await employee('tove', ['Kodeviser på kontoret', 'Kodeviser derhjemme']);
    await employee('uffe', []);
    const { page, problems } = await newPage(browser);

    await startSubstantialLogin(page);
    await expectAccessible(page, 'login');
    expect(await page.title()).to.equal('Log ind · 2-faktor login');
    await typePassword(page, 'tove', 'forkert-kodeord');
    await expectAccessible(page, 'login-error');
    expect(await page.title()).to.equal('Fejl: Log ind · 2-faktor login');
    await typePassword(page, 'tove');
    await expectAccessible(page, 'chooser');
    await page.getByRole('link', { name: /Kodeviser på kontoret/ }).click();
    await expectAccessible(page, 'code');
    await page.getByLabel('Kode', { exact: true }).fill('000000');
    await page.getByRole('button', { name: 'Bekræft' }).click();
    await expectAccessible(page, 'code-error');
    expect(first).to.not.equal(undefined);

    const other = await newPage(browser);
    await startSubstantialLogin(other.page);
    await typePassword(other.page, 'uffe');
    await expectAccessible(other.page, 'no-factor');

    await other.page.goto(`${running.url}/interaction/no-such-login`);
    await expectAccessible(other.page, 'error');
    expect(await other.page.title()).to.equal('Der opstod en fejl · 2-faktor login');
    await other.page.goto(`${running.url}/no-such-page`);
    await expectAccessible(other.page, 'not-found');
    expect(await other.page.title()).to.equal('Siden findes ikke · 2-faktor login');
    expect([...problems, ...other.problems].filter((problem) => !problem.includes('status of 4'))).to.deep.equal([]);
  });

  it('the login page in English', async () => {
    const { page } = await newPage(browser, { locale: 'en-GB' });
    await startSubstantialLogin(page);
    expect(await page.getAttribute('html', 'lang')).to.equal('en');
    await expectAccessible(page, 'login-en');
  });

  it('the portal: the device list, adding each kind, the history, the access pass, logging out', async () => {
    const { viewers: [viewer] } = await employee('vera', ['Kodeviser']);
    const { page, problems } = await newPage(browser);
    await page.goto(`${running.url}/selfservice`);
    await typePassword(page, 'vera');
    await page.getByLabel('Kode', { exact: true }).fill(codeAt(viewer as NonNullable<typeof viewer>, clock.step()));
    await page.getByRole('button', { name: 'Bekræft' }).click();
    await expectAccessible(page, 'portal');
    expect(await page.title()).to.equal('Dine 2-faktor enheder · Selvbetjening');

    for (const [path, name] of [['code-viewer', 'add-code-viewer'], ['authenticator', 'add-authenticator'], ['device/computer', 'add-computer'], ['device/phone', 'add-phone'], ['history', 'history']]) {
      await page.goto(`${running.url}/selfservice/${path}`);
      await expectAccessible(page, name as string);
    }
    await page.goto(`${running.url}/selfservice/authenticator`);
    await page.getByLabel('Navn på klient').fill('Telefonens app');
    await page.getByRole('button', { name: 'Fortsæt' }).click();
    await expectAccessible(page, 'add-authenticator-qr');
    await page.goto(`${running.url}/selfservice/device/phone`);
    await page.getByRole('button', { name: 'Aktiver enhed' }).click();
    await expectAccessible(page, 'add-phone-code');

    await page.goto(`${running.url}/selfservice`);
    await page.getByRole('button', { name: 'Log ud' }).click();
    await expectAccessible(page, 'portal-logged-out');
    expect(await page.title()).to.equal('Logget ud · Selvbetjening');
    expect(problems).to.deep.equal([]);
  });

  it('the portal\'s device actions: renaming (and its error), deleting a code viewer with its reasons (and its error)', async () => {
    const { viewers: [bound] } = await employee('svend', ['Kodeviser på kontoret']);
    const viewer = bound as NonNullable<typeof bound>;
    const { page, problems } = await newPage(browser);
    await page.goto(`${running.url}/selfservice`);
    await typePassword(page, 'svend');
    await page.getByLabel('Kode', { exact: true }).fill(codeAt(viewer, clock.step()));
    await page.getByRole('button', { name: 'Bekræft' }).click();
    await page.getByRole('link', { name: 'Omdøb' }).click();
    await expectAccessible(page, 'rename');
    await page.getByLabel('Navn på klient').fill('   ');
    await page.getByRole('button', { name: 'Gem navn' }).click();
    await expectAccessible(page, 'rename-error');

    await page.goto(`${running.url}/selfservice/factors/${viewer.id}/delete`);
    await expectAccessible(page, 'remove-code-viewer');
    await page.getByRole('button', { name: 'Ja, slet' }).click();
    await expectAccessible(page, 'remove-code-viewer-error');
    await page.getByLabel('Givet videre til en kollega').check();
    await page.getByRole('button', { name: 'Ja, slet' }).click();
    expect(await page.getByRole('status').textContent()).to.equal('Enheden er slettet.');
    expect(problems).to.deep.equal([]);
  });

  it('the access pass page, for an employee with no device', async () => {
    await employee('william', []);
    const { page } = await newPage(browser);
    await page.goto(`${running.url}/selfservice`);
    await typePassword(page, 'william');
    await page.goto(`${running.url}/selfservice/access-pass`);
    await expectAccessible(page, 'access-pass');
  });

  /**
   * Tabs until the element matching `selector` has the focus (if it has not already), checking
   * that every element it stops at shows the focus.
   */
  async function tabTo(page: Page, selector: string) {
    for (let stops = 0; stops < 25; stops += 1) {
      if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) return;
      await page.keyboard.press('Tab');
      // Strings, as they run in the page: the project's types have no DOM.
      const focus = (await page.evaluate(`(() => {
        const style = getComputedStyle(document.activeElement);
        return { visible: style.outlineStyle !== 'none' && style.outlineWidth !== '0px', tag: document.activeElement.tagName };
      })()`)) as { visible: boolean; tag: string };
      expect(focus.visible, `focus not visible on ${focus.tag}`).to.equal(true);
    }
    throw new Error(`${selector} never got the focus`);
  }

  /** Types into the field `selector` after tabbing to it. */
  async function typeInto(page: Page, selector: string, text: string) {
    await tabTo(page, selector);
    await page.keyboard.type(text);
  }

  it('a whole login with the keyboard alone, the focus visible at each step', async () => {
    const { viewers: [viewer] } = await employee('xenia', ['Kodeviser']);
    const { page } = await newPage(browser);
    await startSubstantialLogin(page);

    await typeInto(page, 'input[name="username"]', 'xenia');
    await typeInto(page, 'input[name="password"]', PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForSelector('input[name="code"]');
    await typeInto(page, 'input[name="code"]', codeAt(viewer as NonNullable<typeof viewer>, clock.step()));
    const leaving = backAtRelyingParty(page);
    await page.keyboard.press('Enter');
    expect(new URL((await leaving).url()).searchParams.get('code')).to.be.a('string');
  });

  it('a whole device enrolment with the keyboard alone: a code viewer from stock, in the portal', async () => {
    const { viewers: [own] } = await employee('yrsa', ['Kodeviser']);
    const spare = makeCodeViewer();
    await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([spare], trx));
    const { page } = await newPage(browser);
    await page.goto(`${running.url}/selfservice`);
    await typeInto(page, 'input[name="username"]', 'yrsa');
    await typeInto(page, 'input[name="password"]', PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForSelector('input[name="code"]');
    await typeInto(page, 'input[name="code"]', codeAt(own as NonNullable<typeof own>, clock.step()));
    await page.keyboard.press('Enter');
    await page.waitForSelector('a[href$="/selfservice/code-viewer"]');

    await tabTo(page, 'a[href$="/selfservice/code-viewer"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('input[name="serial"]');
    await typeInto(page, 'input[name="name"]', 'Kodeviser i tasken');
    await typeInto(page, 'input[name="serial"]', spare.serial);
    await typeInto(page, 'input[name="code"]', codeAt(spare, clock.step()));
    await page.keyboard.press('Enter');
    await page.waitForSelector('[role="status"]');
    expect(await page.locator('.factor-name').allTextContents()).to.include('Kodeviser i tasken');
  });
});
