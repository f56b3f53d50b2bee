import { expect } from 'chai';
import * as client from 'openid-client';
import type { Browser, BrowserContext, CDPSession, Page, Request } from 'playwright-core';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { backAtRelyingParty, expectAccessible, launchChromium, newPage } from '../helpers/chromium.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { authorizationRequest, discover, REDIRECT_URI, registerClient } from '../oidc/login-flow.ts';

const PASSWORD = 'Forår-i-Fredericia-2026';

/** A browser context with a CDP virtual authenticator: a USB security key with a PIN, as Chromium's own tests use. */
interface KeyHolder {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
  problems: string[];
}

/**
 * Security keys end to end in real Chromium, with its virtual authenticator (CDP `WebAuthn`):
 * registered in self-service, used for a Substantial login with the ID token checked by
 * openid-client, and the hostile cases: a replayed assertion, another session's challenge,
 * another user's key, a counter that goes backwards, deleting another user's key.
 */
describe('security keys (WebAuthn) in Chromium', function () {
  this.timeout(90_000);
  let backing: Backing;
  let running: RunningIdp;
  let browser: Browser;
  let rp: client.Configuration;

  before(async function () {
    browser = await launchChromium(this);
    backing = await createBacking();
    // WebAuthn's relying-party id must be a domain name: the issuer is http://localhost:PORT.
    running = await startIdp(backing, { host: 'localhost' });
    await registerClient(running.idp, 'sagssystem');
    rp = await discover(running.issuer, 'sagssystem');
  });
  after(async () => {
    await browser?.close();
    await running?.stop();
    await backing?.cleanup();
  });

  /** A fresh context and page that collect script errors and CSP violations, with a virtual key unless `withKey` is false. */
  async function newHolder(options: { locale?: string; withKey?: boolean } = {}): Promise<KeyHolder> {
    const { page, problems } = await newPage(browser, { locale: options.locale ?? 'da-DK' });
    const context = page.context();
    // The relying party's redirect URI answers nothing: the test reads the code from the URL.
    await page.route(`${REDIRECT_URI}**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback' }));
    const cdp = await context.newCDPSession(page);
    let authenticatorId = '';
    if (options.withKey !== false) {
      await cdp.send('WebAuthn.enable');
      ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
      }));
    }
    return { context, page, cdp, authenticatorId, problems };
  }

  async function logInToPortal(page: Page, username: string) {
    await page.goto(`${running.url}/selfservice`);
    await page.getByLabel('Brugernavn').fill(username);
    await page.getByLabel('Kodeord').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log ind' }).click();
    await page.getByRole('heading', { name: 'Selvbetjening' }).waitFor();
  }

  /** A new user who registers a key in self-service in their own context; returns the context and the key's row. */
  async function userWithKey(username: string, keyName = 'YubiKey på nøgleringen') {
    const user = await addUser(running.idp, { username, password: PASSWORD });
    const holder = await newHolder();
    await logInToPortal(holder.page, username);
    await holder.page.getByRole('link', { name: 'Tilføj sikkerhedsnøgle' }).click();
    await holder.page.getByLabel('Navn på klient').fill(keyName);
    await holder.page.getByRole('button', { name: 'Fortsæt' }).click();
    await holder.page.getByRole('button', { name: 'Registrer nøglen' }).click();
    await holder.page.getByText('Enheden er tilknyttet.').waitFor();
    const [key] = await running.idp.storage.webauthnCredentials.listForUser(user.id);
    return { user, holder, key: key! };
  }

  /** Starts a Substantial login at the relying party; `password` types it when the login page comes. */
  async function startLogin(page: Page, username?: string) {
    const request = await authorizationRequest(rp, { acr_values: ACR_VALUES.substantial });
    await page.goto(request.url.href);
    if (username) {
      await page.getByLabel('Brugernavn').fill(username);
      await page.getByLabel('Kodeord').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log ind' }).click();
    }
    await page.getByRole('button', { name: 'Brug sikkerhedsnøgle' }).waitFor();
    return request;
  }

  /**
   * The browser's way back to the relying party, begun before the step that redirects: its request
   * with the code, once the page has settled after it (on the route's answer, or now and then on
   * the refused connection's error page), so the test's next navigation is not cut short by it.
   */
  async function leavingForRelyingParty(page: Page): Promise<Request> {
    const settled = page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame() && !frame.url().startsWith(running.url));
    const [request] = await Promise.all([backAtRelyingParty(page), settled]);
    return request;
  }

  /** The code the browser brought back (`backAtRelyingParty`), exchanged by openid-client: the ID token's claims. */
  async function redeem(leaving: Promise<Request>, request: Awaited<ReturnType<typeof authorizationRequest>>) {
    const callback = new URL((await leaving).url());
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: request.codeVerifier, expectedState: request.state });
    return tokens.claims();
  }

  /**
   * Opens a portal page that needs a fresh second factor. The first visit steps up (the key page,
   * unless the SSO session has the key) and lands on the portal's list; the second shows the page.
   */
  async function openChangePage(page: Page, path: string) {
    await page.goto(`${running.url}${path}`);
    const key = page.getByRole('button', { name: 'Brug sikkerhedsnøgle' });
    const list = page.getByRole('heading', { name: 'Selvbetjening' });
    await key.or(list).first().waitFor();
    if (await key.isVisible()) await key.click();
    await list.waitFor();
    await page.goto(`${running.url}${path}`);
  }

  /** Clicks the key page's button and takes the assertion the page posts, without letting it reach the server. */
  async function takeAssertion(page: Page) {
    const action = `${running.url}${await page.locator('#webauthn-form').getAttribute('action')}`;
    let posted = '';
    await page.route('**/interaction/*/webauthn', async (route) => {
      posted = route.request().postData() ?? '';
      await route.abort();
    });
    await page.getByRole('button', { name: 'Brug sikkerhedsnøgle' }).click();
    while (!posted) await page.waitForTimeout(50);
    await page.unroute('**/interaction/*/webauthn');
    return { action, form: Object.fromEntries(new URLSearchParams(posted)) };
  }

  /** Posts a form in the context's cookie jar, not following the redirect after it. */
  const post = (page: Page, action: string, form: Record<string, string>) => page.request.post(action, { form, maxRedirects: 0, headers: { origin: running.url } });

  const failures = async (userId: string) => (await running.idp.storage.audit.list({ userId, type: 'login.second_factor.failed' })).map((event) => event.details?.reason);

  it('adds a key in self-service and logs in with password and key at Substantial, amr pwd hwk user mfa', async () => {
    const { user, holder, key } = await userWithKey('kirsten');
    const { page } = holder;
    expect(key).to.deep.include({ name: 'YubiKey på nøgleringen', deviceType: 'singleDevice', transports: ['usb'] });
    expect(await page.locator('.factor', { hasText: 'YubiKey på nøgleringen' }).textContent()).to.include('Sikkerhedsnøgle');
    await expectAccessible(page, 'security-key-1');
    const enrolled = await running.idp.storage.audit.list({ userId: user.id, type: 'factor.enrolled' });
    expect(enrolled[0]?.details).to.deep.include({ kind: 'security_key', factorId: key.id, userVerified: true });

    // The portal session proved the password only: a relying party asking for Substantial gets the key page.
    const request = await startLogin(page);
    await expectAccessible(page, 'security-key-2');
    const leaving = leavingForRelyingParty(page);
    await page.getByRole('button', { name: 'Brug sikkerhedsnøgle' }).click();
    const claims = await redeem(leaving, request);
    expect(claims?.acr).to.equal(ACR_VALUES.substantial);
    expect(claims?.amr).to.have.members(['pwd', 'hwk', 'user', 'mfa']);
    expect(claims?.sub).to.equal(user.id);
    const used = await running.idp.storage.webauthnCredentials.findForUser(user.id, key.id);
    expect(used?.counter).to.be.greaterThan(key.counter);
    expect(used?.lastUsedAt).to.be.instanceOf(Date);
    const succeeded = await running.idp.storage.audit.list({ userId: user.id, type: 'login.second_factor.succeeded' });
    expect(succeeded[0]?.details).to.deep.include({ kind: 'security_key', factorId: key.id, userVerified: true });

    // The pages of adding a key pass axe too.
    await openChangePage(page, '/selfservice/security-key');
    await expectAccessible(page, 'security-key-3');
    await page.getByLabel('Navn på klient').fill('Reservenøgle');
    await page.getByRole('button', { name: 'Fortsæt' }).click();
    await page.getByRole('button', { name: 'Registrer nøglen' }).waitFor();
    await expectAccessible(page, 'security-key-4');
    // The authenticator already holds one of the user's keys, which the options exclude.
    await page.getByRole('button', { name: 'Registrer nøglen' }).click();
    expect(await page.locator('#webauthn-error').textContent()).to.equal('Sikkerhedsnøglen er allerede tilknyttet.');
    expect(holder.problems).to.deep.equal([]);
  });

  it('says so when the browser has no WebAuthn, or the user cancels, in Danish and English, with the chooser a link away', async () => {
    const user = await addUser(running.idp, { username: 'lone', password: PASSWORD });
    for (const name of ['Nøgle på kontoret', 'Nøgle derhjemme']) {
      await running.idp.storage.webauthnCredentials.add({ userId: user.id, credentialId: `never-registered-${name.length}-${user.id}`, publicKey: new Uint8Array(77), counter: 0, transports: ['usb'], name, deviceType: 'singleDevice', backedUp: false, now: new Date() });
    }

    const bare = await newHolder({ withKey: false });
    await bare.page.addInitScript('delete window.PublicKeyCredential');
    await bare.page.goto((await authorizationRequest(rp, { acr_values: ACR_VALUES.substantial })).url.href);
    await bare.page.getByLabel('Brugernavn').fill('lone');
    await bare.page.getByLabel('Kodeord').fill(PASSWORD);
    await bare.page.getByRole('button', { name: 'Log ind' }).click();
    await bare.page.getByRole('link', { name: /Nøgle på kontoret/ }).click();
    expect(await bare.page.getByRole('alert').textContent()).to.equal('Din browser kan ikke bruge sikkerhedsnøgler. Brug en anden browser, eller brug en anden enhed.');
    expect(await bare.page.getByRole('button', { name: 'Brug sikkerhedsnøgle' }).isVisible()).to.equal(false);
    await expectAccessible(bare.page, 'security-key-5');
    await bare.page.getByRole('link', { name: 'Brug en anden 2-faktor enhed' }).click();
    await bare.page.getByRole('link', { name: /Nøgle derhjemme/ }).waitFor();

    // A key that is not there: the English page says the ceremony was cancelled, and the button tries again.
    const english = await newHolder({ locale: 'en-GB' });
    await english.page.goto((await authorizationRequest(rp, { acr_values: ACR_VALUES.substantial })).url.href);
    await english.page.getByLabel('Username').fill('lone');
    await english.page.getByLabel('Password').fill(PASSWORD);
    await english.page.getByRole('button', { name: 'Log in' }).click();
    await english.page.getByRole('link', { name: /Nøgle derhjemme/ }).click();
    await english.page.getByRole('button', { name: 'Use security key' }).click();
    // Chromium may refuse at once (no such key here) or wait for one: then the user gives up.
    await english.page.evaluate('SimpleWebAuthnBrowser.WebAuthnAbortService.cancelCeremony()');
    await english.page.getByText('It was cancelled or took too long. Press the button to try again.').waitFor();
    expect(await english.page.getByRole('button', { name: 'Use security key' }).isEnabled()).to.equal(true);
    expect(await english.page.evaluate('document.activeElement.id')).to.equal('webauthn-start');
    await english.page.getByRole('link', { name: 'Use another 2-factor device' }).waitFor();
    expect([...bare.problems, ...english.problems].filter((problem) => !/PublicKeyCredential|cancel/i.test(problem))).to.deep.equal([]);
  });

  it('refuses an assertion posted a second time (replayed)', async () => {
    const { user, holder } = await userWithKey('mette');
    await startLogin(holder.page);
    const { action, form } = await takeAssertion(holder.page);
    const first = await post(holder.page, action, form);
    expect(first.status()).to.equal(303);
    const again = await post(holder.page, action, form);
    expect(await again.text()).to.include('Sikkerhedsnøglen blev ikke godkendt.');
    expect(await failures(user.id)).to.deep.equal(['replayed']);
  });

  it("refuses an assertion made for another session's challenge, and that session can still use it", async () => {
    const { user, holder } = await userWithKey('niels');
    await startLogin(holder.page);
    const fromA = await takeAssertion(holder.page);

    // Session B: the same user with the password, on the key page with a challenge of its own.
    const other = await newHolder({ withKey: false });
    await startLogin(other.page, 'niels');
    const actionB = `${running.url}${await other.page.locator('#webauthn-form').getAttribute('action')}`;
    const csrfB = await other.page.locator('#webauthn-form input[name=_csrf]').inputValue();
    const inB = await post(other.page, actionB, { ...fromA.form, _csrf: csrfB });
    expect(await inB.text()).to.include('Sikkerhedsnøglen blev ikke godkendt.');
    expect(await failures(user.id)).to.deep.equal(['invalid']);

    expect((await post(holder.page, fromA.action, fromA.form)).status()).to.equal(303);
  });

  it("refuses another user's key, even signing the right challenge", async () => {
    const victim = await userWithKey('ole');
    const thief = await userWithKey('pia');
    const [stolen] = (await thief.holder.cdp.send('WebAuthn.getCredentials', { authenticatorId: thief.holder.authenticatorId })).credentials;

    // Ole's password and Pia's key, copied into a browser of its own.
    const attacker = await newHolder();
    await attacker.cdp.send('WebAuthn.addCredential', { authenticatorId: attacker.authenticatorId, credential: { ...stolen!, isResidentCredential: false } });
    await startLogin(attacker.page, 'ole');
    const stolenId = Buffer.from(stolen!.credentialId, 'base64').toString('base64url');
    expect(stolenId).to.equal(thief.key.credentialId);
    // The page asks for Ole's key; the attacker's copy of it asks for Pia's instead.
    await attacker.page.evaluate(`(() => {
      const form = document.getElementById('webauthn-form');
      const options = JSON.parse(form.dataset.options);
      options.allowCredentials = [{ id: ${JSON.stringify(stolenId)}, type: 'public-key' }];
      form.dataset.options = JSON.stringify(options);
    })()`);
    await attacker.page.getByRole('button', { name: 'Brug sikkerhedsnøgle' }).click();
    await attacker.page.getByText('Sikkerhedsnøglen blev ikke godkendt.').waitFor();
    expect(await failures(victim.user.id)).to.deep.equal(['wrong_credential']);
    expect(attacker.page.url()).to.not.match(/127\.0\.0\.1:9/);
  });

  it('refuses a key whose signature counter went backwards, and audits it', async () => {
    const { user, holder, key } = await userWithKey('rasmus');
    // As if a copy of the key had signed 1000 times: this one's next counter is far below.
    await running.idp.storage.db('webauthn_credentials').where({ id: key.id }).update({ counter: 1000 });
    await startLogin(holder.page);
    await holder.page.getByRole('button', { name: 'Brug sikkerhedsnøgle' }).click();
    await holder.page.getByText('Sikkerhedsnøglen blev ikke godkendt.').waitFor();
    expect(await failures(user.id)).to.deep.equal(['counter_regressed']);
    const [regressed] = await running.idp.storage.audit.list({ userId: user.id, type: 'factor.counter_regressed' });
    expect(regressed?.details).to.deep.include({ kind: 'security_key', factorId: key.id, storedCounter: 1000 });
    expect(regressed?.details?.receivedCounter).to.be.below(1000);
    expect((await running.idp.storage.webauthnCredentials.findForUser(user.id, key.id))?.counter).to.equal(1000);
  });

  it("deletes one's own key after a confirmation and a fresh key, and refuses another user's", async () => {
    const owner = await userWithKey('signe');
    const other = await userWithKey('tage');
    const { page } = owner.holder;

    // Another's id: after the step-up with Signe's own key, there is no such device of hers.
    await openChangePage(page, `/selfservice/factors/${other.key.id}/delete`);
    await page.getByText('Siden findes ikke.').waitFor();
    await page.goto(`${running.url}/selfservice`);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const refused = await post(page, `${running.url}/selfservice/factors/${other.key.id}/delete`, { _csrf: csrf });
    expect(refused.status()).to.equal(404);
    expect(await running.idp.storage.webauthnCredentials.findForUser(other.user.id, other.key.id)).to.not.equal(undefined);
    // The 404 page's load is the one error the console saw, as it should.
    owner.holder.problems.length = 0;

    await page.locator('.factor', { hasText: 'YubiKey på nøgleringen' }).getByRole('link', { name: 'Slet' }).click();
    expect(await page.getByText('Vil du slette "YubiKey på nøgleringen"?').count()).to.equal(1);
    await expectAccessible(page, 'security-key-6');
    await page.getByRole('button', { name: 'Ja, slet' }).click();
    await page.getByText('Enheden er slettet.').waitFor();
    expect(await running.idp.storage.webauthnCredentials.listForUser(owner.user.id)).to.deep.equal([]);
    const [removed] = await running.idp.storage.audit.list({ userId: owner.user.id, type: 'factor.removed' });
    expect(removed?.details).to.deep.include({ kind: 'security_key', factorId: owner.key.id, name: 'YubiKey på nøgleringen' });
    expect(owner.holder.problems).to.deep.equal([]);
  });
});
