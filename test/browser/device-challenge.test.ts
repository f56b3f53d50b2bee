import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { registerDesktop, type ReferenceDevice } from '../devices/reference-client.ts';
import { PASSWORD } from '../devices/waiting-page.ts';
import { launchChromium, newPage as newChromiumPage } from '../helpers/chromium.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { authorizationRequest, discover, REDIRECT_URI, registerClient } from '../oidc/login-flow.ts';

/**
 * The waiting page in real Chromium: with JavaScript it goes on by itself once the desktop
 * client approves (wait.js over the page's event stream, under the strict CSP); without it,
 * the continue button does the same.
 */
describe('the waiting page in Chromium', function () {
  this.timeout(60_000);
  let backing: Backing;
  let running: RunningIdp;
  let browser: Browser;

  before(async function () {
    browser = await launchChromium(this);
    backing = await createBacking();
    running = await startIdp(backing);
    await registerClient(running.idp, 'sag-rp');
  });
  after(async () => {
    await browser?.close();
    await running?.stop();
    await backing?.cleanup();
  });

  /** A page at the relying party's authorization request, its callback answered here; script errors and CSP reports collected. */
  async function newPage(javaScriptEnabled: boolean): Promise<{ page: Page; problems: string[] }> {
    const { page, problems } = await newChromiumPage(browser, { javaScriptEnabled });
    const config = await discover(running.issuer, 'sag-rp');
    const request = await authorizationRequest(config, { acr_values: ACR_VALUES.substantial });
    await page.goto(request.url.href);
    return { page, problems };
  }

  /** Logs in with the password; a user whose only factor is the desktop client lands on the waiting page. */
  async function toWaitingPage(page: Page, username: string): Promise<string> {
    await page.getByLabel('Brugernavn').fill(username);
    await page.getByLabel('Kodeord').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log ind' }).click();
    await page.locator('#challenge-code').waitFor();
    return (await page.locator('#challenge-code').textContent()) ?? '';
  }

  /** The URL the browser is sent back to the relying party with (Chromium refuses to load port 9 itself). */
  async function backAtRelyingParty(page: Page): Promise<string> {
    const request = await page.waitForRequest((candidate) => candidate.url().startsWith(REDIRECT_URI));
    return request.url();
  }

  async function employeeWithDesktop(username: string): Promise<ReferenceDevice> {
    const user = await addUser(running.idp, { username, password: PASSWORD });
    return registerDesktop(running.idp, running.url, user);
  }

  it('goes on by itself when the device approves, saying so in the live region', async () => {
    const device = await employeeWithDesktop('nina');
    const { page, problems } = await newPage(true);
    const code = await toWaitingPage(page, 'nina');
    const status = page.getByRole('status');
    expect(await status.textContent()).to.include('Venter på svar fra enheden');
    expect(await status.getAttribute('aria-live')).to.equal('polite');

    const back = backAtRelyingParty(page);
    const approved = await device.approveNext();
    expect(approved.code, approved.stderr).to.equal(0);
    expect(approved.stdout).to.include(code);
    expect(await back).to.match(/[?&]code=/);
    expect(problems).to.deep.equal([]);
  });

  it('explains a rejection without a reload by hand', async () => {
    const device = await employeeWithDesktop('ole');
    const { page, problems } = await newPage(true);
    await toWaitingPage(page, 'ole');
    expect((await device.rejectNext()).code).to.equal(0);
    await page.getByRole('alert').filter({ hasText: 'Anmodningen blev afvist på enheden' }).waitFor();
    expect(await page.getByRole('button', { name: 'Send en ny anmodning' }).count()).to.equal(1);
    expect(problems).to.deep.equal([]);
  });

  it('works without JavaScript: approve on the device, then press Fortsæt', async () => {
    const device = await employeeWithDesktop('pia');
    const { page } = await newPage(false);
    await toWaitingPage(page, 'pia');
    expect((await device.approveNext()).code).to.equal(0);
    // Nothing happens by itself without a script.
    await page.waitForTimeout(500);
    expect(page.url()).to.include('/interaction/');
    const back = backAtRelyingParty(page);
    await page.getByRole('button', { name: 'Fortsæt' }).click();
    expect(await back).to.match(/[?&]code=/);
  });
});
