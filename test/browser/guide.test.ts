import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { deriveKey } from '../../src/crypto/derived-keys.ts';
import { createUserAttributes } from '../../src/identity/attributes.ts';
import { identityRedirectUri } from '../../src/selfservice/identity-verification.ts';
import { backAtRelyingParty, expectAccessible, launchChromium, newPage } from '../helpers/chromium.ts';
import { addUser, createBacking, startIdp, TEST_SECRET_KEY, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { accessPassesOf } from '../helpers/portal.ts';
import { runDevice, startDevice } from '../helpers/stepup-device.ts';
import { codeAt, makeCodeViewer, suiteClock } from '../helpers/totp.ts';
import { startUpstream, type RunningUpstream } from '../helpers/upstream-provider.ts';
import { authorizationRequest, discover, registerClient } from '../oidc/login-flow.ts';

const PASSWORD = 'Guiden-i-Lemvig-2026';
const SUBSTANTIAL = ACR_VALUES.substantial;
const DESKTOP_PIN = '2580';

/**
 * The municipal guide (shared/reference/selvbetjening-guide.txt) walked in Chromium, as an
 * employee does (issue "Step 6"): log in to self-service, verify the identity at MitID (a small
 * oidc-provider upstream here), add a code viewer from stock with its code, pair the desktop
 * client, rename, make default, log out, log in to a system with the code viewer and with the
 * desktop client, and delete the code viewer as given to a colleague, after which it is in stock
 * again. Every page on the way passes axe and reflows; a mismatch and an expired verification
 * say so and add nothing.
 */
describe('the self-service guide, walked in Chromium', function () {
  this.timeout(180_000);
  let backing: Backing;
  let running: RunningIdp;
  let upstream: RunningUpstream;
  let browser: Browser;
  const clock = suiteClock();

  before(async function () {
    browser = await launchChromium(this);
    backing = await createBacking();
    upstream = await startUpstream();
    running = await startIdp(backing, {
      now: clock.now,
      config: {
        firstFactorEnrolment: 'identity',
        identity: { issuer: upstream.issuer, clientId: upstream.clientId, clientSecret: upstream.clientSecret, scope: 'openid person', claim: 'person_uuid', userAttribute: 'person-uuid', acrValues: [SUBSTANTIAL], holdSeconds: 600 },
      },
    });
    upstream.register(identityRedirectUri(running.issuer));
    await registerClient(running.idp, 'sagssystem');
  });
  after(async () => {
    await browser?.close();
    await running?.stop();
    await upstream?.stop();
    await backing?.cleanup();
  });

  /** An employee with no device, whose person UUID is on file; MitID will vouch for `vouchedFor`. */
  async function employee(username: string, vouchedFor?: string) {
    const personUuid = randomUUID();
    const user = await addUser(running.idp, { username, password: PASSWORD, name: 'Gitte Guide' });
    await createUserAttributes({ users: running.idp.storage.users, key: deriveKey(TEST_SECRET_KEY, 'user-attribute') }).set({ userId: user.id, name: 'person-uuid', value: personUuid });
    upstream.person = { sub: `mitid-${username}`, acr: SUBSTANTIAL, claims: { person_uuid: vouchedFor ?? personUuid } };
    return user;
  }

  async function logInWithPassword(page: Page, username: string) {
    await page.getByLabel('Brugernavn').fill(username);
    await page.getByLabel('Kodeord').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log ind' }).click();
  }

  /** The names of the devices on the portal page, in order. */
  const listed = (page: Page) => page.locator('.factor-name').allTextContents();

  /** Starts a Substantial login at the system; the request the browser makes back to it ends it. */
  async function systemLogin(page: Page) {
    const config = await discover(running.issuer, 'sagssystem');
    const request = await authorizationRequest(config, { acr_values: SUBSTANTIAL });
    await page.goto(request.url.href);
    return backAtRelyingParty(page);
  }

  it('adds a code viewer after MitID, pairs the desktop client, renames, makes default, logs in with both, and gives the code viewer to a colleague', async () => {
    const user = await employee('gitte');
    const viewer = makeCodeViewer();
    await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
    const { page, problems } = await newPage(browser);

    // 1. Log in to self-service and see the devices (none yet: verify first).
    await page.goto(`${running.url}/selfservice`);
    await logInWithPassword(page, 'gitte');
    expect(await page.textContent('main')).to.include('verificere din identitet med MitID');
    await expectAccessible(page, 'guide-portal-empty');

    // 3. Verify the identity with MitID.
    await page.getByRole('link', { name: 'Verificer identitet' }).first().click();
    await expectAccessible(page, 'guide-verify');
    await page.getByRole('button', { name: 'Verificer identitet' }).click();
    await page.waitForSelector('text=Din identitet er bekræftet');
    await expectAccessible(page, 'guide-verified');

    // 2 and 4. "Tilføj kodeviser": a name ("Navn på klient"), the 13 digits, then the code.
    await page.goto(`${running.url}/selfservice`);
    await page.getByRole('link', { name: 'Tilføj kodeviser' }).click();
    await page.getByLabel('Navn på klient').fill('Kodeviser');
    await page.getByLabel('Serienummer').fill(viewer.serial);
    await page.getByLabel('Kode', { exact: true }).fill(codeAt(viewer, clock.step()));
    await page.getByRole('button', { name: 'Gem' }).click();
    expect(await listed(page)).to.deep.equal(['Kodeviser']);
    await expectAccessible(page, 'guide-portal-code-viewer');

    // The desktop client: "Aktiver enhed" gives the pairing code the client registers with.
    await page.getByRole('link', { name: 'Tilføj computer eller terminal' }).click();
    await page.getByRole('button', { name: 'Aktiver enhed' }).click();
    const pairingCode = await page.locator('.challenge-code code').textContent() as string;
    await expectAccessible(page, 'guide-pairing-code');
    const state = join(await mkdtemp(join(tmpdir(), 'stepup-guide-')), 'device.json');
    const registered = await runDevice(['register', '--server', running.url, '--kind', 'desktop', '--name', 'Min pc', '--pairing-code', pairingCode, '--pin-stdin', '--state', state], `${DESKTOP_PIN}\n`);
    expect(registered.code, registered.stderr).to.equal(0);

    // Rename ("Gem navn") and make default, under "Handlinger".
    await page.goto(`${running.url}/selfservice`);
    expect(await listed(page)).to.have.members(['Kodeviser', 'Min pc']);
    const codeViewerRow = page.locator('.factor').filter({ hasText: 'Kodeviser' });
    await codeViewerRow.getByRole('link', { name: 'Omdøb' }).click();
    await page.getByLabel('Navn på klient').fill('Kodeviser på nøgleringen');
    await page.getByRole('button', { name: 'Gem navn' }).click();
    expect(await listed(page)).to.include('Kodeviser på nøgleringen');
    const renamedRow = page.locator('.factor').filter({ hasText: 'Kodeviser på nøgleringen' });
    if (await renamedRow.getByRole('button', { name: 'Gør til standard' }).count()) {
      await renamedRow.getByRole('button', { name: 'Gør til standard' }).click();
    }
    expect(await page.locator('.factor').filter({ hasText: 'Kodeviser på nøgleringen' }).textContent()).to.include('Standard');
    await expectAccessible(page, 'guide-portal-two-devices');
    await page.getByRole('button', { name: 'Log ud af selvbetjening' }).click();

    // Log in to a system: the default is offered first; its code gives Substantial.
    const other = await newPage(browser);
    const back = systemLogin(other.page);
    await logInWithPassword(other.page, 'gitte');
    await expectAccessible(other.page, 'guide-chooser');
    const choices = await other.page.locator('main a[href*="/choose/"]').allTextContents();
    expect(choices[0]).to.include('Kodeviser på nøgleringen');
    await other.page.getByRole('link', { name: /Kodeviser på nøgleringen/ }).click();
    clock.advance(30);
    await other.page.getByLabel('Kode', { exact: true }).fill(codeAt(viewer, clock.step()));
    await other.page.getByRole('button', { name: 'Bekræft' }).click();
    expect(new URL((await back).url()).searchParams.get('code')).to.be.a('string');

    // And with the desktop client: the waiting page goes on by itself once it is approved.
    const third = await newPage(browser);
    const backAgain = systemLogin(third.page);
    await logInWithPassword(third.page, 'gitte');
    await third.page.getByRole('link', { name: /Min pc/ }).click();
    await expectAccessible(third.page, 'guide-waiting');
    const approving = startDevice(['approve', '--next', '--pin-stdin', '--timeout', '30', '--state', state]);
    approving.child.stdin.end(`${DESKTOP_PIN}\n`);
    expect(await approving.exited, approving.stderr()).to.equal(0);
    expect(new URL((await backAgain).url()).searchParams.get('code')).to.be.a('string');

    // 5 and 6. Delete the code viewer with the cross under "Handlinger": given to a colleague.
    // Logged out of self-service, not of the IdP: the password still counts; a change needs the
    // device again (or MitID again), and the portal offers both.
    await page.goto(`${running.url}/selfservice`);
    await page.getByRole('link', { name: 'Brug din 2-faktor enhed i stedet' }).click();
    await page.getByRole('link', { name: /Kodeviser på nøgleringen/ }).click();
    clock.advance(30);
    await page.getByLabel('Kode', { exact: true }).fill(codeAt(viewer, clock.step()));
    await page.getByRole('button', { name: 'Bekræft' }).click();
    await page.locator('.factor').filter({ hasText: 'Kodeviser på nøgleringen' }).getByRole('link', { name: 'Slet' }).click();
    await expectAccessible(page, 'guide-remove');
    await page.getByLabel('Givet videre til en kollega').check();
    await page.getByRole('button', { name: 'Ja, slet' }).click();
    expect(await page.getByRole('status').textContent()).to.equal('Enheden er slettet.');
    expect(await listed(page)).to.deep.equal(['Min pc']);
    const returned = await running.idp.storage.db('totp_tokens').where({ serial: viewer.serial }).first() as { user_id: string | null; status: string };
    expect(returned.user_id).to.equal(null);
    expect(returned.status).to.equal('in_stock');
    expect([...problems, ...other.problems, ...third.problems]).to.deep.equal([]);
    expect(user.id).to.be.a('string');
  });

  it('says so when MitID vouches for someone else, and when the verification has run out, and adds nothing', async () => {
    await employee('hans', randomUUID());
    const viewer = makeCodeViewer();
    await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
    const { page } = await newPage(browser);
    await page.goto(`${running.url}/selfservice`);
    await logInWithPassword(page, 'hans');
    await page.goto(`${running.url}/selfservice/verify`);
    await page.getByRole('button', { name: 'Verificer identitet' }).click();
    await page.waitForSelector('[role="alert"]');
    expect(await page.getByRole('alert').textContent()).to.include('passer ikke til din brugerkonto');
    await expectAccessible(page, 'guide-verify-mismatch');

    const ingrid = await employee('ingrid');
    const second = await newPage(browser);
    await second.page.goto(`${running.url}/selfservice`);
    await logInWithPassword(second.page, 'ingrid');
    await second.page.goto(`${running.url}/selfservice/verify`);
    await second.page.getByRole('button', { name: 'Verificer identitet' }).click();
    await second.page.waitForSelector('text=Din identitet er bekræftet');
    clock.advance(11 * 60);
    await second.page.goto(`${running.url}/selfservice/code-viewer`);
    expect(await second.page.textContent('main')).to.include('Din verificering af identitet er udløbet');
    const bound = await running.idp.storage.db('totp_tokens').where({ user_id: ingrid.id }).count<{ n: string }[]>('* as n');
    expect(Number(bound[0]?.n)).to.equal(0);
  });
});

/** Issue "Step 6" with step 3's temporary access pass as the first factor, in Chromium. */
describe('a first device with IT\'s temporary access pass, in Chromium', function () {
  this.timeout(120_000);
  let backing: Backing;
  let running: RunningIdp;
  let browser: Browser;
  const clock = suiteClock();

  before(async function () {
    browser = await launchChromium(this);
    backing = await createBacking();
    running = await startIdp(backing, { now: clock.now, config: { firstFactorEnrolment: 'access-pass' } });
  });
  after(async () => {
    await browser?.close();
    await running?.stop();
    await backing?.cleanup();
  });

  /** Logs `username` in to the portal and types `pass` on the access pass page; the page's text after. */
  async function redeem(page: Page, username: string, pass: string) {
    await page.goto(`${running.url}/selfservice`);
    if (await page.getByLabel('Brugernavn').count()) {
      await page.getByLabel('Brugernavn').fill(username);
      await page.getByLabel('Kodeord').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log ind' }).click();
    }
    await page.getByRole('link', { name: 'Indtast midlertidig adgangskode' }).click();
    await page.getByLabel('Midlertidig adgangskode').fill(pass);
    await page.getByRole('button', { name: 'Fortsæt' }).click();
    return page.textContent('main');
  }

  it('lets an employee with no device add one with the pass; a used pass, and an expired one, do not', async () => {
    const jens = await addUser(running.idp, { username: 'jens', password: PASSWORD });
    const { pass } = await accessPassesOf(running, clock.now).issue({ userId: jens.id, username: 'jens', ttlSeconds: 3600, context: { actor: 'cli' } });
    const viewer = makeCodeViewer();
    await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
    const { page } = await newPage(browser);
    expect(await redeem(page, 'jens', pass)).to.include('Adgangskoden er godkendt');
    await page.getByRole('link', { name: 'Tilføj kodeviser' }).click();
    await page.getByLabel('Navn på klient').fill('Første kodeviser');
    await page.getByLabel('Serienummer').fill(viewer.serial);
    await page.getByLabel('Kode', { exact: true }).fill(codeAt(viewer, clock.step()));
    await page.getByRole('button', { name: 'Gem' }).click();
    expect(await page.locator('.factor-name').allTextContents()).to.deep.equal(['Første kodeviser']);

    const kirsten = await addUser(running.idp, { username: 'kirsten', password: PASSWORD });
    const issued = await accessPassesOf(running, clock.now).issue({ userId: kirsten.id, username: 'kirsten', ttlSeconds: 3600, context: { actor: 'cli' } });
    const other = await newPage(browser);
    expect(await redeem(other.page, 'kirsten', pass)).to.include('Adgangskoden er forkert eller udløbet');
    clock.advance(3601);
    expect(await redeem(other.page, 'kirsten', issued.pass)).to.include('Adgangskoden er forkert eller udløbet');
    await expectAccessible(other.page, 'access-pass-refused');
    const bound = await running.idp.storage.db('totp_tokens').where({ user_id: kirsten.id }).count<{ n: string }[]>('* as n');
    expect(Number(bound[0]?.n)).to.equal(0);
  });
});
