import { expect } from 'chai';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, useIdp } from '../helpers/idp.ts';
import { codeAt, factorsOn, makeCodeViewer, suiteClock } from '../helpers/totp.ts';

const PASSWORD = 'Vinter-i-Viborg-2026';

/** Issue "Step 4": an employee makes one of their devices the default, which the chooser offers first. */
describe('self-service: making a device the default', function () {
  const clock = suiteClock();
  const suite = useIdp(() => ({ now: clock.now }));

  /** An employee with a code viewer of each given name, bound in that order; returns the user and their viewers. */
  async function employeeWithViewers(username: string, names: string[]) {
    const user = await addUser(suite.running.idp, { username, password: PASSWORD });
    const viewers = [];
    for (const name of names) {
      const viewer = makeCodeViewer();
      await suite.running.idp.storage.db.transaction((trx) => suite.running.idp.storage.totpTokens.addToStock([viewer], trx));
      const bound = await factorsOn(suite.running.idp.storage, clock.now).bindCodeViewer({ userId: user.id, serial: viewer.serial, name, code: codeAt(viewer, clock.step()), context: { actor: 'cli' } });
      if (!bound.ok) throw new Error(`binding ${name} failed: ${bound.reason}`);
      viewers.push({ ...viewer, id: bound.token.id, name });
    }
    clock.advance(60);
    return { user, viewers };
  }

  /** The factor names in the order a page lists them. */
  const listed = (html: string) => [...html.matchAll(/<span class="factor-name"[^>]*>([^<]+)<\/span>/g)].map((match) => match[1]);

  /**
   * Logs in to self-service: the password, then the chooser (returned as `chooser`), where the
   * factor named `use` is picked and its code typed.
   */
  async function logIn(browser: Browser, username: string, use: { id: string } & Parameters<typeof codeAt>[0]) {
    const start = await browser.follow(`${suite.running.url}/selfservice`);
    const login = readForm(await start.response.text(), start.url);
    const choosing = await browser.submit(login.action, { ...login.fields, username, password: PASSWORD });
    const chooser = await choosing.response.text();
    const href = new RegExp(`href="([^"]*/choose/${use.id})"`).exec(chooser)?.[1] as string;
    const codePage = await browser.follow(new URL(href, choosing.url));
    const form = readForm(await codePage.response.text(), codePage.url);
    const portal = await browser.submit(form.action, { ...form.fields, code: codeAt(use, clock.step()) });
    return { chooser, portal: await portal.response.text(), url: portal.url };
  }

  /** Posts the portal's make-default form for `factorId` (or a hand-made one with the session's token). */
  async function makeDefault(browser: Browser, factorId: string) {
    const { response } = await browser.follow(`${suite.running.url}/selfservice`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await response.text())?.[1] as string;
    return browser.fetch(`${suite.running.url}/selfservice/factors/${factorId}/default`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf }),
    });
  }

  it('makes one\'s own device the default: marked in the portal and offered first, marked, at the next login', async () => {
    const { user, viewers: [first, second] } = await employeeWithViewers('ida', ['Kodeviser på kontoret', 'Kodeviser derhjemme']);
    if (!first || !second) throw new Error('two viewers expected');
    const browser = new Browser();
    const { portal } = await logIn(browser, 'ida', first);
    expect(portal).to.include(`action="/selfservice/factors/${second.id}/default"`).and.include('Gør til standard');
    expect(portal).to.not.include('<strong>Standard</strong>');

    const made = await makeDefault(browser, second.id);
    expect(made.status).to.equal(303);
    expect(made.headers.get('location')).to.match(/\/selfservice\?default=1$/);
    const after = await (await browser.fetch(`${suite.running.url}/selfservice?default=1`)).text();
    expect(after).to.include('Enheden er nu din standard');
    expect(listed(after)).to.deep.equal(['Kodeviser derhjemme', 'Kodeviser på kontoret']);
    expect(after).to.include('<strong>Standard</strong>');
    expect(after).to.not.include(`action="/selfservice/factors/${second.id}/default"`);
    expect(after).to.include(`action="/selfservice/factors/${first.id}/default"`);
    expect(await suite.running.idp.storage.users.defaultFactorId(user.id)).to.equal(second.id);
    const events = await suite.running.idp.storage.audit.list({ userId: user.id, type: 'factor.default_set' });
    expect(events.map((event) => [event.actor, event.details])).to.deep.equal([[`user:${user.id}`, { factorId: second.id, kind: 'code_viewer' }]]);

    // The first was used last, yet the default comes first in the chooser, marked (and in English too).
    clock.advance(60);
    const again = await logIn(new Browser({ 'accept-language': 'en' }), 'ida', first);
    expect(listed(again.chooser)).to.deep.equal(['Kodeviser derhjemme', 'Kodeviser på kontoret']);
    expect(again.chooser).to.match(/Kodeviser derhjemme<\/span>\s*<span class="factor-meta">Code viewer · <strong>Default<\/strong>/);

    // Cleared, the last used comes first again.
    await suite.running.idp.storage.users.setDefaultFactor(user.id, null);
    clock.advance(60);
    expect(listed((await logIn(new Browser(), 'ida', first)).chooser)).to.deep.equal(['Kodeviser på kontoret', 'Kodeviser derhjemme']);
  });

  it('refuses another employee\'s device and changes nothing for either', async () => {
    const { user, viewers: [mine] } = await employeeWithViewers('jonas', ['Min kodeviser', 'Min anden kodeviser']);
    const { user: colleague, viewers: [theirs] } = await employeeWithViewers('karen', ['Karens kodeviser']);
    if (!mine || !theirs) throw new Error('viewers expected');
    const browser = new Browser();
    await logIn(browser, 'jonas', mine);

    for (const id of [theirs.id, 'not-a-factor']) {
      const refused = await makeDefault(browser, id);
      expect(refused.status, id).to.equal(404);
    }
    expect(await suite.running.idp.storage.users.defaultFactorId(user.id)).to.equal(null);
    expect(await suite.running.idp.storage.users.defaultFactorId(colleague.id)).to.equal(null);
    expect(await suite.running.idp.storage.audit.list({ type: 'factor.default_set', userId: user.id })).to.deep.equal([]);
    expect(await suite.running.idp.storage.audit.list({ type: 'factor.default_set', userId: colleague.id })).to.deep.equal([]);
  });

  it('steps up first when the portal session\'s second factor is older than the window, and changes nothing', async () => {
    const { user, viewers: [first, second] } = await employeeWithViewers('lone', ['Kodeviser 1', 'Kodeviser 2']);
    if (!first || !second) throw new Error('two viewers expected');
    const browser = new Browser();
    await logIn(browser, 'lone', first);
    // Busy in the portal (its idle timeout restarts), but the code is now 16 minutes old.
    clock.advance(14 * 60);
    expect((await browser.fetch(`${suite.running.url}/selfservice`)).status).to.equal(200);
    clock.advance(2 * 60);

    const stale = await makeDefault(browser, second.id);
    expect(stale.status).to.equal(302);
    const location = new URL(stale.headers.get('location') as string);
    expect(location.href.startsWith(`${suite.running.issuer}/auth`)).to.equal(true);
    expect(location.searchParams.get('acr_values')).to.equal(ACR_VALUES.substantial);
    expect(location.searchParams.get('max_age')).to.equal('900');
    expect(await suite.running.idp.storage.users.defaultFactorId(user.id)).to.equal(null);
    expect(await suite.running.idp.storage.audit.list({ type: 'factor.default_set', userId: user.id })).to.deep.equal([]);
  });
});
