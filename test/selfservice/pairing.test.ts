import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { Browser, readForm } from '../helpers/browser.ts';
import { useIdp } from '../helpers/idp.ts';
import { employeeWithViewer, logInToPortal, portalCsrf } from '../helpers/portal.ts';
import { runDevice } from '../helpers/stepup-device.ts';
import { suiteClock } from '../helpers/totp.ts';

/** Issue "Step 6": adding a computer or a phone in self-service with a pairing code. */
describe('self-service: adding a computer or a phone', function () {
  const clock = suiteClock();
  const suite = useIdp(() => ({ now: clock.now }));

  /** Asks for a code on the pairing page of `kind` (`computer` or `phone`): the page that shows it. */
  async function pairingCode(browser: Browser, kind: string) {
    const start = await browser.follow(`${suite.running.url}/selfservice/device/${kind}`);
    const form = readForm(await start.response.text(), start.url);
    const { response } = await browser.submit(form.action, form.fields);
    const html = await response.text();
    const code = /<code>([A-Z0-9]{5}-[A-Z0-9]+)<\/code>/.exec(html)?.[1];
    return { html, code, status: response.status };
  }

  it('shows a pairing code that the reference desktop client pairs with, and the computer is listed', async () => {
    const { viewer } = await employeeWithViewer(suite.running, clock, 'karen', 'Kodeviser');
    const browser = new Browser();
    await logInToPortal(suite.running, clock, browser, 'karen', viewer);
    const { html, code } = await pairingCode(browser, 'computer');
    expect(code, html).to.be.a('string');
    expect(html).to.include('Aktiver enhed');

    const state = join(await mkdtemp(join(tmpdir(), 'stepup-device-')), 'device.json');
    const registered = await runDevice(['register', '--server', suite.running.url, '--kind', 'desktop', '--name', 'Karens pc', '--pairing-code', code as string, '--pin-stdin', '--state', state], '2580\n');
    expect(registered.code, registered.stderr).to.equal(0);
    const portal = await (await browser.follow(`${suite.running.url}/selfservice`)).response.text();
    expect(portal).to.include('Karens pc');

    const again = await runDevice(['register', '--server', suite.running.url, '--kind', 'desktop', '--name', 'Anden pc', '--pairing-code', code as string, '--pin-stdin', '--state', join(state, '..', 'other.json')], '2580\n');
    expect(again.code, 'a pairing code pairs once').to.not.equal(0);
  });

  it('gives a phone the code and a QR code of the pairing link, the code in no URL the server sees', async () => {
    const { viewer } = await employeeWithViewer(suite.running, clock, 'lars');
    const browser = new Browser();
    await logInToPortal(suite.running, clock, browser, 'lars', viewer);
    const { html, code } = await pairingCode(browser, 'phone');
    expect(code).to.be.a('string');
    expect(html).to.match(/<div class="qr" role="img" aria-label="[^"]+"><svg/);
    expect([...html.matchAll(/(?:href|action|src)="([^"]*)"/g)].map((match) => match[1]).join(' ')).to.not.include(code as string);
    const [event] = await suite.running.idp.storage.audit.list({ type: 'pairing_code.issued' });
    expect(event?.details).to.include({ kind: 'app' });
    expect(JSON.stringify(event)).to.not.include(code as string);
  });

  it('refuses a kind it does not know, a post without the form token, and a visitor without a session', async () => {
    const { viewer } = await employeeWithViewer(suite.running, clock, 'mette');
    const browser = new Browser();
    await logInToPortal(suite.running, clock, browser, 'mette', viewer);
    expect((await browser.fetch(`${suite.running.url}/selfservice/device/printer`)).status).to.equal(404);
    const issued = (await suite.running.idp.storage.audit.list({ type: 'pairing_code.issued' })).length;
    const forged = await browser.fetch(`${suite.running.url}/selfservice/device/computer`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: 'forged' }) });
    expect(forged.status).to.equal(403);
    const anonymous = await new Browser().fetch(`${suite.running.url}/selfservice/device/computer`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: await portalCsrf(suite.running, browser) }) });
    expect(anonymous.status).to.not.equal(200);
    expect((await suite.running.idp.storage.audit.list({ type: 'pairing_code.issued' })).length).to.equal(issued);
  });

  it('asks for the second factor again when it is older than the self-service window, and issues nothing', async () => {
    const { viewer } = await employeeWithViewer(suite.running, clock, 'niels');
    const browser = new Browser();
    await logInToPortal(suite.running, clock, browser, 'niels', viewer);
    // The portal session is kept alive (15 minutes idle) while the code grows older than 15 minutes.
    clock.advance(10 * 60);
    const csrf = await portalCsrf(suite.running, browser);
    clock.advance(6 * 60);
    const issued = (await suite.running.idp.storage.audit.list({ type: 'pairing_code.issued' })).length;
    const stale = await browser.fetch(`${suite.running.url}/selfservice/device/computer`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf }) });
    expect(stale.status).to.be.oneOf([302, 303]);
    expect(await stale.text()).to.not.match(/<code>[A-Z0-9]{5}-/);
    expect((await suite.running.idp.storage.audit.list({ type: 'pairing_code.issued' })).length).to.equal(issued);
  });
});
