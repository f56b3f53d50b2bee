import { expect } from 'chai';

import { HISTORY_LIMIT } from '../../src/selfservice/history.ts';
import { Browser } from '../helpers/browser.ts';
import { useIdp } from '../helpers/idp.ts';
import { employeeWithViewer as employee, logInToPortal } from '../helpers/portal.ts';
import { suiteClock } from '../helpers/totp.ts';

/** Issue "Step 6": the employee's own history, from the audit log, in self-service. */
describe('self-service: your history', function () {
  const clock = suiteClock();
  const suite = useIdp(() => ({ now: clock.now }));

  const employeeWithViewer = (username: string, name: string) => employee(suite.running, clock, username, name);
  const logIn = (browser: Browser, username: string, viewer: Parameters<typeof logInToPortal>[4], options?: { wrongFirst?: boolean }) =>
    logInToPortal(suite.running, clock, browser, username, viewer, options);

  it('lists the wrong password, the login and the device added, with the device\'s name and where from; no one else\'s', async () => {
    const { viewer } = await employeeWithViewer('hanne', 'Kodeviser på kontoret');
    const other = await employeeWithViewer('otto', 'Ottos kodeviser');
    await logIn(new Browser(), 'otto', other.viewer);

    const browser = new Browser();
    await logIn(browser, 'hanne', viewer, { wrongFirst: true });
    const { response: portalResponse } = await browser.follow(`${suite.running.url}/selfservice`);
    expect(await portalResponse.text()).to.include('href="/selfservice/history"');
    // A page that hands back to no one still names where its forms may go: only here.
    expect(portalResponse.headers.get('content-security-policy')).to.match(/form-action 'self'(;|$)/);
    const { response } = await browser.follow(`${suite.running.url}/selfservice/history`);
    const html = await response.text();
    expect(response.status).to.equal(200);
    const whats = [...html.matchAll(/<p class="history-what"><strong>([^<]+)<\/strong>/g)].map((match) => match[1]);
    expect(whats).to.deep.equal(['Login med enhed', 'Login med adgangskode', 'Forkert adgangskode', 'Enhed tilføjet']);
    expect(html).to.include('Kodeviser på kontoret').and.include('127.0.0.1').and.include('stepup-selfservice');
    expect(html).to.not.include('Ottos kodeviser');
  });

  it('shows the last 50 only', async () => {
    const { user, viewer } = await employeeWithViewer('bente', 'Kodeviser');
    for (let i = 0; i < HISTORY_LIMIT + 5; i += 1) {
      await suite.running.idp.storage.audit.record({ type: 'login.password.failed', actor: 'anonymous', userId: user.id, ip: '192.0.2.7' });
    }
    const browser = new Browser();
    await logIn(browser, 'bente', viewer);
    const html = await (await browser.follow(`${suite.running.url}/selfservice/history`)).response.text();
    expect([...html.matchAll(/class="history-event"/g)]).to.have.length(HISTORY_LIMIT);
  });

  it('answers at the Danish address too: /selvbetjening redirects to the same page under /selfservice', async () => {
    for (const [from, to] of [['/selvbetjening', '/selfservice'], ['/selvbetjening/', '/selfservice'], ['/selvbetjening/history?lang=en', '/selfservice/history?lang=en']]) {
      const response = await new Browser().fetch(`${suite.running.url}${from}`);
      expect(response.status, from).to.equal(301);
      expect(response.headers.get('location'), from).to.equal(to);
    }
  });

  it('is not shown without a portal session', async () => {
    const { response, url } = await new Browser().follow(`${suite.running.url}/selfservice/history`);
    const html = await response.text();
    expect(html).to.not.include('history-event');
    expect(html).to.match(/autocomplete="current-password"/);
    expect(url).to.not.include('/selfservice/history');
  });
});
