import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';

import { expect } from 'chai';
import * as client from 'openid-client';

import { Browser } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { discover, logIn, openLoginPage, authorizationRequest, registerClient } from '../oidc/login-flow.ts';

const PASSWORD = 'Hedens-Metrik-2026';

/** Issue "Step 7": Prometheus metrics on the management listener. */
describe('metrics on the management listener', function () {
  let backing: Backing;
  let running: RunningIdp;
  let management: Server;
  let scrapeUrl: string;

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing);
    management = running.idp.management.listen(0, '127.0.0.1');
    await once(management, 'listening');
    scrapeUrl = `http://127.0.0.1:${(management.address() as AddressInfo).port}`;
    await addUser(running.idp, { username: 'mikkel.metrik', password: PASSWORD });
    await registerClient(running.idp, 'metrics-rp');
  });
  after(async () => {
    management?.close();
    await running?.stop();
    await backing?.cleanup();
  });

  const scrape = async () => (await fetch(`${scrapeUrl}/metrics`)).text();
  /** A sample's value, 0 when the series is not there yet. */
  const sample = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"+.]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

  it('counts a login by outcome and level, the password checks by outcome, and the grants by type', async () => {
    const before = await scrape();
    const config = await discover(running.issuer, 'metrics-rp');
    const browser = new Browser();
    const wrong = await openLoginPage(browser, (await authorizationRequest(config)).url);
    await browser.submit(wrong.form.action, { ...wrong.form.fields, username: 'mikkel.metrik', password: 'forkert' });
    await logIn(config, browser, { username: 'mikkel.metrik', password: PASSWORD }, { prompt: 'login' });
    await client.clientCredentialsGrant(config, { scope: 'openid' });
    const after = await scrape();

    const delta = (series: string) => sample(after, series) - sample(before, series);
    expect(delta('stepup_logins_total{outcome="success",level="low"}')).to.equal(1);
    expect(delta('stepup_password_checks_total{outcome="wrong_password"}')).to.equal(1);
    expect(delta('stepup_password_checks_total{outcome="success"}')).to.equal(1);
    expect(delta('stepup_token_grants_total{grant_type="authorization_code"}')).to.equal(1);
    expect(delta('stepup_token_grants_total{grant_type="client_credentials"}')).to.equal(1);
    expect(delta('stepup_http_request_duration_seconds_count{route="/interaction/:uid/login",method="POST"}')).to.be.at.least(2);
  });

  it('carries no username, address or client in any label, and reports the stores and the pool', async () => {
    const text = await scrape();
    expect(text).to.not.include('mikkel.metrik');
    expect(text).to.not.include('127.0.0.1');
    expect(text).to.not.include('metrics-rp');
    expect(sample(text, 'stepup_store_up{store="database"}')).to.equal(1);
    expect(sample(text, 'stepup_store_up{store="short_lived"}')).to.equal(1);
    expect(text).to.match(/^stepup_db_pool_connections\{state="free"\} \d+$/m);
    expect(text).to.match(/^process_cpu_seconds_total /m);
  });

  it('serves /healthz and /readyz there too, and /metrics nowhere on the public port', async () => {
    expect((await fetch(`${scrapeUrl}/healthz`)).status).to.equal(200);
    expect((await fetch(`${scrapeUrl}/readyz`)).status).to.equal(200);
    expect((await fetch(`${running.url}/metrics`)).status).to.equal(404);
    expect((await fetch(`${running.url}/readyz`)).status).to.equal(200);
  });
});
