import { expect } from 'chai';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import type { User } from '../../src/store/users.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { employeeWithViewer, logInToPortal, portalCsrf, PORTAL_PASSWORD } from '../helpers/portal.ts';
import { codeAt, factorsOn, secretFromBase32, suiteClock } from '../helpers/totp.ts';
import { pairingCodeFor, readEvents, streamEnds, TestDevice } from '../devices/device-client.ts';
import { registerApp, registerDesktop } from '../devices/reference-client.ts';

/** Posts a hand-made form to the portal, as a browser with this session would. */
function post(running: RunningIdp, browser: Browser, path: string, fields: Record<string, string>) {
  return browser.fetch(`${running.url}/selfservice${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
}

/** The portal page's text. */
async function portalPage(running: RunningIdp, browser: Browser, query = ''): Promise<string> {
  return (await browser.follow(`${running.url}/selfservice${query}`)).response.text();
}

/** The list entry of the device named `name` on the portal page: from its name to the next entry. */
function entryOf(html: string, name: string): string {
  const start = html.indexOf(`>${name}</span>`);
  if (start < 0) throw new Error(`no device named ${name} on the page`);
  const end = html.indexOf('</li>', start);
  return html.slice(start, end);
}

/** Issue "Step 6": the device list, and its actions under "Handlinger", for every kind. */
describe('self-service: the device list and its actions', function () {
  this.timeout(60_000);
  let backing: Backing;
  let running: RunningIdp;
  const clock = suiteClock();

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing, { now: clock.now });
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  /** An employee with a code viewer, logged in to the portal with it. */
  async function loggedIn(username: string, name = 'Kodeviser på kontoret') {
    const { user, viewer } = await employeeWithViewer(running, clock, username, name);
    const browser = new Browser();
    await logInToPortal(running, clock, browser, username, viewer);
    const token = (await running.idp.storage.totpTokens.findBySerial(viewer.serial)) as { id: string };
    return { user, viewer, viewerId: token.id, browser };
  }

  /** An authenticator app added for the user with its first code. */
  async function addApp(user: User, name: string) {
    const totp = factorsOn(running.idp.storage, clock.now);
    const started = await totp.startAuthenticator({ userId: user.id, username: user.username, name, issuerName: 'test' });
    const app = { secret: secretFromBase32(started.secretBase32), algorithm: 'SHA1' as const, digits: 6 as const, period: 30 as const };
    const confirmed = await totp.confirmAuthenticator({ userId: user.id, id: started.id, code: codeAt(app, clock.step()), context: { actor: 'cli' } });
    if (!confirmed.ok) throw new Error(`confirming the app failed: ${confirmed.reason}`);
    return started.id;
  }

  /** A security key as a registration would store it (the ceremony itself is the browser suite's). */
  async function addSecurityKey(user: User, name: string) {
    const key = await running.idp.storage.webauthnCredentials.add({
      userId: user.id,
      credentialId: `cred-${user.username}-${name.length}`,
      publicKey: new Uint8Array([1, 2, 3]),
      counter: 0,
      transports: ['usb'],
      name,
      deviceType: 'singleDevice',
      backedUp: false,
      now: new Date(clock.now()),
    });
    return key.id;
  }

  describe('the list', () => {
    it('shows each device\'s name, kind (a code viewer with its serial), when added and last used, and its status', async () => {
      const { user, viewer, viewerId, browser } = await loggedIn('asger');
      const appId = await addApp(user, 'Min telefon');
      await addSecurityKey(user, 'YubiKey');
      await registerDesktop(running.idp, running.url, user, 'Kontor-pc');
      await registerApp(running.idp, running.url, user, 'Arbejdstelefon');
      // Registered but not paired: listed as such, never offered at login.
      const pending = new TestDevice(running.url);
      expect((await pending.register({ pairingCode: await pairingCodeFor(running.idp, user, 'desktop'), kind: 'desktop', name: 'Ny pc' })).status).to.equal(201);
      // Locked after wrong codes, as the login's lockout would leave it.
      const lockedUntil = new Date(clock.now() + 5 * 60_000);
      await running.idp.storage.totpTokens.withTokenLocked(appId, (_token, update) => update({ failureCount: 0, lockCount: 1, lockedUntil }));

      const html = await portalPage(running, browser);
      const viewerEntry = entryOf(html, 'Kodeviser på kontoret');
      expect(viewerEntry).to.include(`Kodeviser · serienummer ${viewer.serial}`);
      expect(viewerEntry).to.match(/Tilføjet<\/dt><dd><time datetime="[^"]+">\d\d\.\d\d\.\d{4}, \d\d\.\d\d<\/time>/);
      // Used for the portal's own login a moment ago.
      expect(viewerEntry).to.match(/Sidst brugt<\/dt><dd><time datetime="[^"]+">/);
      expect(viewerEntry).to.include('<dd class="status-active">Aktiv</dd>');
      expect(viewerId).to.be.a('string');

      const appEntry = entryOf(html, 'Min telefon');
      expect(appEntry).to.include('Authenticator-app').and.include('class="status-locked">Spærret til');
      expect(entryOf(html, 'YubiKey')).to.include('Sikkerhedsnøgle').and.include('Sidst brugt</dt><dd>Aldrig</dd>');
      expect(entryOf(html, 'Kontor-pc')).to.include('Computer eller terminal').and.include('Aktiv');
      expect(entryOf(html, 'Arbejdstelefon')).to.include('Telefon eller tablet');
      const pendingEntry = entryOf(html, 'Ny pc');
      expect(pendingEntry).to.include('class="status-pending">Ikke aktiveret endnu. Den kan ikke bruges til at logge ind.');
      // It can be renamed and deleted, not made the default: it cannot be offered at login.
      expect(pendingEntry).to.include('/rename"').and.include('/delete"').and.not.include('/default"');
      // Every action names its device for a screen reader, under "Handlinger".
      expect(viewerEntry).to.include('Handlinger').and.match(/aria-describedby="factor-[0-9a-f-]+"/);

      const english = await portalPage(running, browser, '?lang=en');
      expect(entryOf(english, 'Kodeviser på kontoret')).to.include(`Code viewer · serial number ${viewer.serial}`).and.include('Last used').and.include('Active');
      expect(entryOf(english, 'Ny pc')).to.include('Not activated yet');

      // The login's chooser offers every device in use, and not the pending one.
      const another = new Browser();
      const start = await another.follow(`${running.url}/selfservice`);
      const login = readForm(await start.response.text(), start.url);
      const chooser = await (await another.submit(login.action, { ...login.fields, username: 'asger', password: PORTAL_PASSWORD })).response.text();
      expect(chooser).to.include('Kontor-pc').and.include('YubiKey').and.not.include('Ny pc');
    });
  });

  describe('renaming ("Gem navn")', () => {
    it('renames one\'s own device of every kind, shown in the list and audited', async () => {
      const { user, viewerId, browser } = await loggedIn('bettina');
      const appId = await addApp(user, 'Telefon');
      const keyId = await addSecurityKey(user, 'Nøgle');
      const desktop = await registerDesktop(running.idp, running.url, user, 'Pc');

      const page = await browser.follow(`${running.url}/selfservice/factors/${viewerId}/rename`);
      const html = await page.response.text();
      expect(html).to.include('<label for="name">Navn på klient</label>').and.include('Gem navn').and.include('value="Kodeviser på kontoret"');
      const form = readForm(html, page.url);
      const saved = await browser.submit(form.action, { ...form.fields, name: '  Kodeviser i tasken ' });
      const list = await saved.response.text();
      expect(list).to.include('Navnet er gemt.').and.include('>Kodeviser i tasken</span>');

      const csrf = await portalCsrf(running, browser);
      for (const [id, name] of [[appId, 'Privat telefon'], [keyId, 'YubiKey på nøgleringen'], [desktop.deviceId, 'Bærbar']] as const) {
        const renamed = await post(running, browser, `/factors/${id}/rename`, { _csrf: csrf, name });
        expect(renamed.status, name).to.equal(303);
      }
      const after = await portalPage(running, browser);
      for (const name of ['Privat telefon', 'YubiKey på nøgleringen', 'Bærbar']) expect(after).to.include(`>${name}</span>`);
      expect((await running.idp.storage.devices.find(desktop.deviceId))?.name).to.equal('Bærbar');

      const events = await running.idp.storage.audit.list({ userId: user.id, type: 'factor.renamed' });
      expect(events).to.have.length(4);
      expect(events.every((event) => event.actor === `user:${user.id}`)).to.equal(true);
      expect(events.map((event) => [event.details?.kind, event.details?.name, event.details?.nameWas])).to.have.deep.members([
        ['code_viewer', 'Kodeviser i tasken', 'Kodeviser på kontoret'],
        ['authenticator', 'Privat telefon', 'Telefon'],
        ['security_key', 'YubiKey på nøgleringen', 'Nøgle'],
        ['desktop', 'Bærbar', 'Pc'],
      ]);
      // The history shows it too.
      expect(await (await browser.follow(`${running.url}/selfservice/history`)).response.text()).to.include('Enhed omdøbt');
    });

    it('refuses an empty, too long or control-character name with a clear message, and changes nothing', async () => {
      const { user, viewerId, browser } = await loggedIn('carsten');
      const csrf = await portalCsrf(running, browser);
      const cases = [
        ['   ', 'Giv enheden et navn.'],
        ['x'.repeat(61), 'Navnet må højst være 60 tegn.'],
        ['Kode\nviser', 'Navnet må ikke indeholde linjeskift eller andre kontroltegn.'],
        ['Kode\u0007viser', 'Navnet må ikke indeholde linjeskift eller andre kontroltegn.'],
      ] as const;
      for (const [name, message] of cases) {
        const refused = await post(running, browser, `/factors/${viewerId}/rename`, { _csrf: csrf, name });
        const html = await refused.text();
        expect(refused.status, JSON.stringify(name)).to.equal(200);
        expect(html).to.include(`<div class="alert" role="alert" id="form-error">${message}</div>`).and.include('aria-invalid="true"');
      }
      const english = await browser.fetch(`${running.url}/selfservice/factors/${viewerId}/rename?lang=en`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf, name: 'x'.repeat(61) }),
      });
      expect(await english.text()).to.include('The name can be at most 60 characters.');
      expect((await running.idp.storage.totpTokens.find(viewerId))?.name).to.equal('Kodeviser på kontoret');
      expect(await running.idp.storage.audit.list({ userId: user.id, type: 'factor.renamed' })).to.deep.equal([]);
    });

    it('holds the same rule when a device is added', async () => {
      const { user, browser } = await loggedIn('cecilie');
      const csrf = await portalCsrf(running, browser);
      const viewer = await post(running, browser, '/code-viewer', { _csrf: csrf, name: 'x'.repeat(61), serial: '5000000000011', code: '123456' });
      expect(await viewer.text()).to.include('Navnet må højst være 60 tegn.');
      const app = await post(running, browser, '/authenticator', { _csrf: csrf, name: 'Min\ttelefon' });
      expect(await app.text()).to.include('Navnet må ikke indeholde linjeskift eller andre kontroltegn.');
      const key = await post(running, browser, '/security-key', { _csrf: csrf, name: ' ' });
      expect(await key.text()).to.include('Giv enheden et navn.');
      expect(await running.idp.storage.totpTokens.listForUser(user.id)).to.have.length(1);
    });

    it('refuses another employee\'s device (404), a post without the CSRF token, and changes nothing', async () => {
      const { browser } = await loggedIn('dagmar');
      const other = await loggedIn('egon', 'Egons kodeviser');
      const othersDesktop = await registerDesktop(running.idp, running.url, other.user, 'Egons pc');
      const othersKey = await addSecurityKey(other.user, 'Egons nøgle');
      const csrf = await portalCsrf(running, browser);

      for (const id of [other.viewerId, othersDesktop.deviceId, othersKey, 'not-a-device']) {
        expect((await browser.fetch(`${running.url}/selfservice/factors/${id}/rename`)).status, id).to.equal(404);
        expect((await post(running, browser, `/factors/${id}/rename`, { _csrf: csrf, name: 'Min nu' })).status, id).to.equal(404);
      }
      const mine = (await running.idp.storage.totpTokens.listForUser((await running.idp.storage.users.findByUsername('dagmar'))?.id as string))[0]?.id as string;
      expect((await post(running, browser, `/factors/${mine}/rename`, { name: 'Uden token' })).status).to.equal(403);

      expect((await running.idp.storage.totpTokens.find(other.viewerId))?.name).to.equal('Egons kodeviser');
      expect((await running.idp.storage.devices.find(othersDesktop.deviceId))?.name).to.equal('Egons pc');
      expect((await running.idp.storage.webauthnCredentials.findForUser(other.user.id, othersKey))?.name).to.equal('Egons nøgle');
      expect((await running.idp.storage.totpTokens.find(mine))?.name).to.equal('Kodeviser på kontoret');
      expect(await running.idp.storage.audit.list({ type: 'factor.renamed', userId: other.user.id })).to.deep.equal([]);
    });
  });

  describe('deleting', () => {
    /** The confirmation page's form for the device, posted with `fields`. */
    async function confirmDelete(browser: Browser, id: string, fields: Record<string, string> = {}) {
      const page = await browser.follow(`${running.url}/selfservice/factors/${id}/delete`);
      const html = await page.response.text();
      const form = readForm(html, page.url);
      // The radio buttons are the employee's to choose: none is posted unless the test chooses.
      const hidden = { ...form.fields };
      delete hidden.reason;
      const done = await browser.submit(form.action, { ...hidden, ...fields });
      return { confirmation: html, result: await done.response.text(), url: done.url };
    }

    it('asks why a code viewer is deleted; given to a colleague, it goes back to stock and a colleague binds it', async () => {
      const { user, viewer, viewerId, browser } = await loggedIn('frida');
      const page = await (await browser.follow(`${running.url}/selfservice/factors/${viewerId}/delete`)).response.text();
      expect(page).to.match(/<fieldset[^>]*>\s*<legend>Hvorfor sletter du enheden\?<\/legend>/);
      for (const label of ['Givet videre til en kollega', 'Mistet eller stjålet', 'I stykker']) expect(page).to.include(label);
      expect(page).to.include('type="radio"').and.include(`serienummer ${viewer.serial}`);

      // No reason chosen: asked again, nothing changed.
      const { result: again } = await confirmDelete(browser, viewerId);
      expect(again).to.include('Vælg, hvorfor du sletter enheden.');
      expect((await running.idp.storage.totpTokens.find(viewerId))?.status).to.equal('assigned');

      const { result } = await confirmDelete(browser, viewerId, { reason: 'given_to_colleague' });
      expect(result).to.include('Enheden er slettet.').and.not.include('Kodeviser på kontoret</span>');
      expect(await running.idp.storage.totpTokens.find(viewerId)).to.deep.include({ status: 'in_stock', userId: null, name: null });
      const [reset] = await running.idp.storage.audit.list({ type: 'code_viewer.reset', userId: user.id });
      expect(reset).to.deep.include({ actor: `user:${user.id}` });
      expect(reset?.details).to.deep.include({ serial: viewer.serial, reason: 'given_to_colleague', statusWas: 'assigned' });

      clock.advance(60);
      const colleague = await addUser(running.idp, { username: 'gustav', password: PORTAL_PASSWORD });
      const bound = await factorsOn(running.idp.storage, clock.now).bindCodeViewer({ userId: colleague.id, serial: viewer.serial, name: 'Fra Frida', code: codeAt(viewer, clock.step()), context: { actor: 'cli' } });
      expect(bound.ok).to.equal(true);
    });

    it('marks a lost code viewer for IT, out of stock, so no colleague can bind it', async () => {
      const { user, viewer, viewerId, browser } = await loggedIn('hanne');
      const { result } = await confirmDelete(browser, viewerId, { reason: 'lost' });
      expect(result).to.include('Enheden er slettet.');
      expect(await running.idp.storage.totpTokens.find(viewerId)).to.deep.include({ status: 'lost' });
      const [marked] = await running.idp.storage.audit.list({ type: 'code_viewer.marked', userId: user.id });
      expect(marked).to.deep.include({ actor: `user:${user.id}` });
      expect(marked?.details).to.deep.include({ serial: viewer.serial, status: 'lost', reason: 'lost' });

      clock.advance(60);
      const colleague = await addUser(running.idp, { username: 'ib', password: PORTAL_PASSWORD });
      const bound = await factorsOn(running.idp.storage, clock.now).bindCodeViewer({ userId: colleague.id, serial: viewer.serial, name: 'Fundet', code: codeAt(viewer, clock.step()), context: { actor: 'cli' } });
      expect(bound).to.deep.include({ ok: false, reason: 'not_in_stock' });
    });

    it('marks a defective code viewer so too, refuses a reason of its own making, and deletes an app and a key outright', async () => {
      const { user, viewerId, browser } = await loggedIn('jens');
      const appId = await addApp(user, 'App');
      const keyId = await addSecurityKey(user, 'Nøgle');
      const csrf = await portalCsrf(running, browser);
      const forged = await post(running, browser, `/factors/${viewerId}/delete`, { _csrf: csrf, reason: 'in_stock' });
      expect(await forged.text()).to.include('Vælg, hvorfor du sletter enheden.');
      expect((await running.idp.storage.totpTokens.find(viewerId))?.status).to.equal('assigned');

      await confirmDelete(browser, viewerId, { reason: 'defective' });
      expect((await running.idp.storage.totpTokens.find(viewerId))?.status).to.equal('defective');
      const { confirmation } = await confirmDelete(browser, appId);
      expect(confirmation).to.not.include('<fieldset');
      expect(await running.idp.storage.totpTokens.find(appId)).to.equal(undefined);
      await confirmDelete(browser, keyId);
      expect(await running.idp.storage.webauthnCredentials.findForUser(user.id, keyId)).to.equal(undefined);
      const removed = await running.idp.storage.audit.list({ type: 'factor.removed', userId: user.id });
      expect(removed.map((event) => event.details?.kind)).to.have.members(['authenticator', 'security_key']);
    });

    it('refuses another employee\'s device (404) and a post without the CSRF token, and changes nothing', async () => {
      const { viewerId, browser } = await loggedIn('karin');
      const other = await loggedIn('lars', 'Lars\' kodeviser');
      const othersApp = await registerApp(running.idp, running.url, other.user, 'Lars\' telefon');
      const csrf = await portalCsrf(running, browser);
      for (const id of [other.viewerId, othersApp.deviceId]) {
        expect((await browser.fetch(`${running.url}/selfservice/factors/${id}/delete`)).status, id).to.equal(404);
        expect((await post(running, browser, `/factors/${id}/delete`, { _csrf: csrf, reason: 'given_to_colleague' })).status, id).to.equal(404);
      }
      expect((await post(running, browser, `/factors/${viewerId}/delete`, { reason: 'lost' })).status).to.equal(403);
      expect((await running.idp.storage.totpTokens.find(other.viewerId))?.status).to.equal('assigned');
      expect((await running.idp.storage.devices.find(othersApp.deviceId))?.status).to.equal('active');
      expect((await running.idp.storage.totpTokens.find(viewerId))?.status).to.equal('assigned');
    });

    it('deleting the default device clears the default', async () => {
      const { user, browser } = await loggedIn('maja');
      const appId = await addApp(user, 'Standardtelefon');
      const csrf = await portalCsrf(running, browser);
      expect((await post(running, browser, `/factors/${appId}/default`, { _csrf: csrf })).status).to.equal(303);
      expect(await running.idp.storage.users.defaultFactorId(user.id)).to.equal(appId);
      await confirmDelete(browser, appId);
      expect(await running.idp.storage.users.defaultFactorId(user.id)).to.equal(null);
    });
  });

  // Last (mocha runs a suite's own tests before its nested ones): it moves the clock a quarter of
  // an hour, past what pairing codes and signed device requests allow.
  describe('with a stale second factor', () => {
    it('steps up first, and renames or deletes nothing', async () => {
      const { user, viewerId, browser } = await loggedIn('nanna');
      const csrf = await portalCsrf(running, browser);
      clock.advance(14 * 60);
      expect((await browser.fetch(`${running.url}/selfservice`)).status).to.equal(200);
      clock.advance(2 * 60);
      for (const [path, fields] of [['rename', { name: 'Nyt navn' }], ['delete', { reason: 'lost' }]] as const) {
        const stale = await post(running, browser, `/factors/${viewerId}/${path}`, { _csrf: csrf, ...fields });
        expect(stale.status, path).to.equal(302);
        const location = new URL(stale.headers.get('location') as string);
        expect(location.searchParams.get('acr_values')).to.equal(ACR_VALUES.substantial);
        expect(location.searchParams.get('max_age')).to.equal('900');
      }
      expect(await running.idp.storage.totpTokens.find(viewerId)).to.deep.include({ status: 'assigned', name: 'Kodeviser på kontoret' });
      expect(await running.idp.storage.audit.list({ userId: user.id, type: 'factor.renamed' })).to.deep.equal([]);
      expect(await running.idp.storage.audit.list({ userId: user.id, type: 'code_viewer.marked' })).to.deep.equal([]);
    });
  });
});

/** Deleting a computer or phone revokes it, and its event stream ends at once wherever it is open. */
describe('self-service: deleting a computer or phone closes its event stream', function () {
  this.timeout(60_000);
  let backing: Backing;
  let nodeA: RunningIdp;
  let nodeB: RunningIdp | undefined;
  const clock = suiteClock();

  before(async () => {
    backing = await createBacking();
    nodeA = await startIdp(backing);
    // In-process stores are one per process: only real Redis and Postgres make two nodes one IdP.
    if (backing.redisUrl && 'url' in backing.database) nodeB = await startIdp(backing, { config: { issuer: nodeA.issuer } });
  });
  after(async () => {
    await nodeB?.stop();
    await nodeA?.stop();
    await backing?.cleanup();
  });

  /** Deletes the device through the portal on node A, after its confirmation page. */
  async function deleteInPortal(browser: Browser, deviceId: string) {
    const page = await browser.follow(`${nodeA.url}/selfservice/factors/${deviceId}/delete`);
    const form = readForm(await page.response.text(), page.url);
    return (await browser.submit(form.action, form.fields)).response.text();
  }

  it('revokes a desktop client, audited with the employee as actor, and its open stream ends at once', async () => {
    const { user, viewer } = await employeeWithViewer(nodeA, clock, 'olga');
    const browser = new Browser();
    await logInToPortal(nodeA, clock, browser, 'olga', viewer);
    const desktop = await registerDesktop(nodeA.idp, nodeA.url, user, 'Olgas pc');
    const stream = await (await desktop.signer(nodeA.url)).signed('events', { method: 'GET' });
    await readEvents(stream, (text) => text.includes('retry'));

    expect(await deleteInPortal(browser, desktop.deviceId)).to.include('Enheden er slettet.');
    // Well before the 15 s heartbeat that would also notice: the notice closed it.
    const closed = await readEvents(stream, (text) => text.includes('event: closed'), 3000);
    expect(closed.text).to.include('data: {"reason":"revoked"}');
    expect(await streamEnds(stream)).to.equal(true);
    expect((await nodeA.idp.storage.devices.find(desktop.deviceId))?.status).to.equal('revoked');
    const [revoked] = await nodeA.idp.storage.audit.list({ userId: user.id, type: 'device.revoked' });
    expect(revoked).to.deep.include({ actor: `user:${user.id}` });
    expect(revoked?.details).to.deep.include({ deviceId: desktop.deviceId, kind: 'desktop' });
  });

  it('ends an app\'s stream open on another node at once', async function () {
    if (!nodeB) this.skip();
    const other = nodeB as RunningIdp;
    const { user, viewer } = await employeeWithViewer(nodeA, clock, 'palle');
    const browser = new Browser();
    await logInToPortal(nodeA, clock, browser, 'palle', viewer);
    const app = await registerApp(nodeA.idp, nodeA.url, user, 'Palles telefon');
    const stream = await (await app.signer(other.url)).signed('events', { method: 'GET' });
    await readEvents(stream, (text) => text.includes('retry'));

    await deleteInPortal(browser, app.deviceId);
    const closed = await readEvents(stream, (text) => text.includes('event: closed'), 3000);
    expect(closed.text).to.include('data: {"reason":"revoked"}');
    expect(await streamEnds(stream)).to.equal(true);
  });
});
