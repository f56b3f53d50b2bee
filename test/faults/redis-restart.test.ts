import { expect } from 'chai';

import { Browser } from '../helpers/browser.ts';
import { authorizationRequest, openLoginPage } from '../oidc/login-flow.ts';
import { PASSWORD, startFaultBed, type FaultBed } from './bed.ts';
import { attemptLogin, judge, keepLoggingIn, tally, untilLoginWorks, untilStatus } from './logins.ts';
import { outageLog, rowCounts, tokenRequest } from './checks.ts';
import { requireFaultServices, waitFor } from './services.ts';

/**
 * Issue 10's fault battery: Redis (sessions, interactions, counters) dies and comes back, empty,
 * while employees log in. What is in flight fails cleanly, readiness follows Redis, logins work
 * again soon after, and nothing in Postgres is lost.
 */
describe('fault battery: Redis restarts while logins run', function () {
  this.timeout(180_000);
  let bed: FaultBed;
  const employees = ['anna', 'bent', 'carla', 'dorit'];

  before(async function () {
    requireFaultServices(this);
    bed = await startFaultBed();
    for (const username of employees) await bed.addEmployee(username);
  });
  after(async () => {
    await bed?.stop();
  });

  it('fails logins in flight with 503 and Retry-After, follows Redis in /readyz, logs in again soon after, and loses nothing durable', async () => {
    const node = bed.nodes[0]!;
    const earlier = await attemptLogin(bed.rp, 'anna');
    expect(earlier.kind, JSON.stringify(earlier)).to.equal('success');
    const before = await rowCounts(bed.storage.db);

    const load = keepLoggingIn(bed.rp, employees);
    await waitFor('logins before the fault', 30_000, async () => load.attempts.filter((a) => a.kind === 'success').length >= employees.length);

    await bed.redis.kill();
    const notReadyMs = await untilStatus(`${node.url}/readyz`, 503, 10_000);

    // While Redis is out: a new login gets the page, the token endpoint its JSON, both at once.
    const started = Date.now();
    const page = await new Browser().follow((await authorizationRequest(bed.rp)).url);
    const pageMs = Date.now() - started;
    expect(await judge(page.response, page.url)).to.include({ kind: 'unavailable', status: 503 });
    const token = await tokenRequest(bed.rp, { grant_type: 'client_credentials' });
    expect(token.status).to.equal(503);
    expect(token.headers.get('retry-after')).to.equal('5');
    expect(await token.json()).to.deep.equal({ error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable. Try again shortly.' });
    // Let the load meet the outage for a while.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    await bed.redis.start();
    const back = Date.now();
    // The load stops here (what is under way finishes), so the times below are the IdP's, not a
    // busy machine's.
    const stopped = load.stop();
    const readyMs = await untilStatus(`${node.url}/readyz`, 200, 10_000);
    await untilLoginWorks(bed.rp, 'anna', 10_000);
    const loginAfterBackMs = Date.now() - back;
    const attempts = await stopped;

    console.log(`      Redis restart: /readyz 503 after ${notReadyMs} ms, 200 ${readyMs} ms after Redis returned; a login worked ${loginAfterBackMs} ms after; the outage page took ${pageMs} ms; in flight: ${JSON.stringify(tally(attempts))}`);
    expect(attempts.filter((a) => a.kind === 'bad'), JSON.stringify(tally(attempts))).to.deep.equal([]);
    expect(attempts.some((a) => a.kind === 'unavailable'), 'some login met the outage').to.equal(true);
    expect(notReadyMs).to.be.at.most(2000);
    expect(readyMs).to.be.at.most(5000);
    expect(loginAfterBackMs).to.be.at.most(5000);
    expect(pageMs).to.be.at.most(3000);

    // Nothing durable was lost: the rows in Postgres are all there (the refresh token issued
    // before among them), and every completed login was audited. (The refresh token itself no
    // longer works: oidc-provider ends it with the SSO session it belongs to, which was in Redis.)
    const after = await rowCounts(bed.storage.db);
    expect(after.users).to.equal(before.users);
    expect(after.clients).to.equal(before.clients);
    expect(after.signingKeys).to.equal(before.signingKeys);
    expect(after.grants).to.be.at.least(before.grants);
    expect(await bed.storage.db('oidc_payloads').where({ model: 'RefreshToken', id: earlier.refreshToken }).first()).to.not.equal(undefined);
    expect(after.passwordLogins - before.passwordLogins).to.be.at.least(attempts.filter((a) => a.kind === 'success').length + 1);

    // Each outage answer was logged once, at warn, with its request id; nothing logged as an error.
    const logged = outageLog(node.output());
    expect(logged.errors, logged.errors.join('\n')).to.deep.equal([]);
    expect(logged.outages.length).to.be.at.least(attempts.filter((a) => a.kind === 'unavailable').length + 2);
    expect(new Set(logged.outages.map((line) => line.requestId)).size).to.equal(logged.outages.length);
  });

  it('tells a login whose state Redis lost that it expired, never that the system sent a bad request', async () => {
    const node = bed.nodes[0]!;
    const browser = new Browser();
    const { form, pageUrl } = await openLoginPage(browser, (await authorizationRequest(bed.rp)).url);
    const uid = (/\/interaction\/([\w-]+)/.exec(pageUrl) as RegExpExecArray)[1];
    await bed.redis.kill();
    await bed.redis.start();
    await untilStatus(`${node.url}/readyz`, 200, 10_000);

    const posted = await browser.submit(form.action, { ...form.fields, username: 'bent', password: PASSWORD });
    expect(await judge(posted.response, posted.url)).to.include({ kind: 'expired', status: 400 });
    // oidc-provider's own page for the same loss (the return to /auth/:uid), in our words.
    const resumed = await browser.fetch(`${node.url}/auth/${uid}`);
    expect(await judge(resumed, resumed.url)).to.include({ kind: 'expired', status: 400 });
  });
});
