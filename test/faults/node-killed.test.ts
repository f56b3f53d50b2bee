import { once } from 'node:events';

import { expect } from 'chai';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { addUser } from '../helpers/idp.ts';
import { readEvents } from '../devices/device-client.ts';
import { DESKTOP_PIN, registerDesktop } from '../devices/reference-client.ts';
import { PASSWORD as WAITING_PASSWORD, pressContinue, toWaitingPage } from '../devices/waiting-page.ts';
import { openLoginPage, authorizationRequest, REDIRECT_URI } from '../oidc/login-flow.ts';
import type { ServerProcess } from '../server/spawn.ts';
import { PASSWORD, startFaultBed, type FaultBed } from './bed.ts';
import { tokenRequest } from './checks.ts';
import { NodeBrowser } from './logins.ts';
import { requireFaultServices } from './services.ts';

/** SIGKILLs a node, as a crashed host or an OOM killer does: no shutdown, no goodbye. */
async function kill(node: ServerProcess): Promise<void> {
  const exited = once(node.child, 'exit');
  node.child.kill('SIGKILL');
  await exited;
}

/** The claims of an ID token (its signature is openid-client's business elsewhere). */
const claimsOf = (idToken: string) => JSON.parse(Buffer.from(idToken.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;

/**
 * Issue 10's fault battery: two nodes of one IdP on one Postgres and Redis, and one of them dies
 * mid-login. Nothing a login needs lives in a node, so the browser's next request, sent by the
 * load balancer to the other node, carries on; a device challenge the dead node was streaming
 * reaches the device when it reconnects to the other.
 */
describe('fault battery: one of two nodes is killed mid-login', function () {
  this.timeout(180_000);
  let bed: FaultBed;

  before(async function () {
    requireFaultServices(this);
    bed = await startFaultBed({ nodes: 2 });
  });
  // Each test kills node A; it comes back before the next, as an orchestrator restarts it.
  beforeEach(async () => {
    if (bed.nodes[0]?.child.signalCode) await bed.restartNode(0);
  });
  after(async () => {
    await bed?.stop();
  });

  it('finishes a password login on the other node after the one that showed the page was killed', async () => {
    const [nodeA, nodeB] = bed.nodes as [ServerProcess, ServerProcess];
    await bed.addEmployee('jens');
    const browser = new NodeBrowser(nodeA.url, nodeA.url);
    const request = await authorizationRequest(bed.rp);
    const { form } = await openLoginPage(browser, request.url);

    await kill(nodeA);
    browser.node = nodeB.url;
    const back = await browser.submit(form.action, { ...form.fields, username: 'jens', password: PASSWORD }, { stopAt: REDIRECT_URI });
    expect(back.url, await back.response.text()).to.match(/code=/);
    const token = await tokenRequest(bed.rp, { grant_type: 'authorization_code', code: new URL(back.url).searchParams.get('code') as string, redirect_uri: REDIRECT_URI, code_verifier: request.codeVerifier }, nodeB.url);
    expect(token.status, await token.clone().text()).to.equal(200);
    const user = await bed.storage.users.findByUsername('jens');
    expect(claimsOf(((await token.json()) as { id_token: string }).id_token)).to.include({ iss: nodeA.url, sub: user?.id });
  });

  it("delivers a challenge pending on the dead node's stream when the device reconnects to the other", async () => {
    const [nodeA, nodeB] = bed.nodes as [ServerProcess, ServerProcess];
    const user = await addUser(bed, { username: 'karen', password: WAITING_PASSWORD });
    const device = await registerDesktop(bed, nodeA.url, user);
    const [onA, onB] = [await device.signer(nodeA.url), await device.signer(nodeB.url)];

    // The device listens on A; the browser is sent to A and waits there for the approval.
    const streamOnA = await onA.signed('events', { method: 'GET' });
    expect(streamOnA.status).to.equal(200);
    const browser = new NodeBrowser(nodeA.url, nodeA.url);
    const { request, page } = await toWaitingPage(bed.rp, browser, 'karen');
    const challengeId = /name="challenge" value="([^"]+)"/.exec(page.html)?.[1] as string;
    expect(challengeId).to.be.a('string');
    expect((await readEvents(streamOnA, (text) => text.includes(challengeId))).text).to.include('event: challenge');

    await kill(nodeA);
    // Cut off mid-stream, the device's read fails (or ends): either way, it has to reconnect.
    const ended = await readEvents(streamOnA, () => false, 3000).then((read) => read.ended, () => true);
    expect(ended, 'the stream on A ended with A').to.equal(true);

    // The device reconnects, the load balancer sends it to B, and B tells it what is pending.
    const streamOnB = await onB.signed('events', { method: 'GET' });
    expect(streamOnB.status).to.equal(200);
    expect((await readEvents(streamOnB, (text) => text.includes(challengeId))).text).to.include('event: challenge');
    const approved = await onB.signed(`challenges/${challengeId}/approve`, { method: 'POST', body: JSON.stringify({ pin: DESKTOP_PIN }) });
    expect(approved.status, await approved.clone().text()).to.equal(200);
    await streamOnB.body?.cancel();

    // The browser, sent to B now, continues from its waiting page and the login completes.
    browser.node = nodeB.url;
    const done = await pressContinue(browser, page);
    expect(done.url).to.match(/code=/);
    const token = await tokenRequest(bed.rp, { grant_type: 'authorization_code', code: new URL(done.url).searchParams.get('code') as string, redirect_uri: REDIRECT_URI, code_verifier: request.codeVerifier }, nodeB.url);
    expect(token.status, await token.clone().text()).to.equal(200);
    expect(claimsOf(((await token.json()) as { id_token: string }).id_token)).to.include({ acr: ACR_VALUES.substantial });
  });
});

