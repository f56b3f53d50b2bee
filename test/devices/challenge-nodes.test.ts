import { expect } from 'chai';
import * as client from 'openid-client';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { discover, registerClient } from '../oidc/login-flow.ts';
import { readEvents, streamEnds } from './device-client.ts';
import { DESKTOP_PIN, registerDesktop } from './reference-client.ts';
import { eventsUrl, PASSWORD, pressContinue, toWaitingPage } from './waiting-page.ts';

/**
 * Three nodes of one IdP behind a load balancer, sharing Postgres and Redis: the browser waits on
 * node A, the device holds its event stream on node B, its answer lands on node C.
 */
describe('device challenges across three nodes', function () {
  this.timeout(60_000);
  let backing: Backing;
  let nodeA: RunningIdp;
  let nodeB: RunningIdp;
  let nodeC: RunningIdp;
  let config: client.Configuration;

  before(async function () {
    backing = await createBacking();
    // In-process stores are one per process: only real Redis and Postgres make three nodes one IdP.
    if (!backing.redisUrl || !('url' in backing.database)) this.skip();
    nodeA = await startIdp(backing);
    nodeB = await startIdp(backing, { config: { issuer: nodeA.issuer } });
    nodeC = await startIdp(backing, { config: { issuer: nodeA.issuer } });
    await registerClient(nodeA.idp, 'klynge-rp');
    config = await discover(nodeA.issuer, 'klynge-rp');
  });
  after(async () => {
    await nodeA?.stop();
    await nodeB?.stop();
    await nodeC?.stop();
    await backing?.cleanup();
  });

  async function employeeWithDesktop(username: string) {
    const user = await addUser(nodeA.idp, { username, password: PASSWORD });
    const device = await registerDesktop(nodeA.idp, nodeA.url, user);
    return { device, onB: await device.signer(nodeB.url), onC: await device.signer(nodeC.url) };
  }

  it('the browser waits on A, the device streams from B, approves on C, and the login completes', async () => {
    const { onB, onC } = await employeeWithDesktop('lone');
    const browser = new Browser();
    const { request, page } = await toWaitingPage(config, browser, 'lone');
    const challengeId = readForm(page.html, page.url).fields.challenge as string;
    expect(page.url.startsWith(nodeA.url)).to.equal(true);

    const waiting = await browser.fetch(eventsUrl(page), { headers: { accept: 'text/event-stream' } });
    const stream = await onB.signed('events', { method: 'GET' });
    expect((await readEvents(stream, (text) => text.includes(challengeId))).text).to.include('event: challenge');

    const approved = await onC.signed(`challenges/${challengeId}/approve`, { method: 'POST', body: JSON.stringify({ pin: DESKTOP_PIN }) });
    expect(approved.status, await approved.clone().text()).to.equal(200);
    const heard = await readEvents(waiting, (text) => text.includes('event: settled'));
    expect(heard.text).to.include('"status":"approved"');

    const done = await pressContinue(browser, page);
    expect(done.url).to.match(/code=/);
    const tokens = await client.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: request.codeVerifier, expectedState: request.state });
    expect(tokens.claims()).to.deep.include({ acr: ACR_VALUES.substantial, amr: ['pwd', 'pin', 'swk', 'mfa'] });
    await stream.body?.cancel();
  });

  it('a device locked by wrong PINs on C has its stream on B closed at once', async () => {
    const { onB, onC } = await employeeWithDesktop('mads');
    const { page } = await toWaitingPage(config, new Browser(), 'mads');
    const challengeId = readForm(page.html, page.url).fields.challenge as string;
    const stream = await onB.signed('events', { method: 'GET' });
    await readEvents(stream, (text) => text.includes(challengeId));

    for (let i = 0; i < 5; i += 1) {
      await onC.signed(`challenges/${challengeId}/approve`, { method: 'POST', body: JSON.stringify({ pin: '1357' }) });
    }
    const closed = await readEvents(stream, (text) => text.includes('event: closed'), 3000);
    expect(closed.text).to.include('"reason":"locked"');
    expect(await streamEnds(stream)).to.equal(true);
  });
});
