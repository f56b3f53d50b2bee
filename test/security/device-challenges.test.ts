import { expect } from 'chai';
import type * as client from 'openid-client';

import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { readEvents } from '../devices/device-client.ts';
import { DESKTOP_PIN, registerDesktop } from '../devices/reference-client.ts';
import { eventsUrl, PASSWORD, pressContinue, toWaitingPage } from '../devices/waiting-page.ts';
import { discover, REDIRECT_URI, registerClient } from '../oidc/login-flow.ts';

/**
 * What a stranger, a second device or a second login cannot do with a challenge: answer one
 * sent to another device, answer twice, spend another login's approval, learn of it, or flood a
 * device with requests.
 */
describe('device challenges: refused answers and logins', function () {
  this.timeout(60_000);
  let backing: Backing;
  let running: RunningIdp;
  let config: client.Configuration;

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing, { config: { challenges: { ttlSeconds: 180, maxPending: 2, numberMatching: false } } });
    await registerClient(running.idp, 'sag-rp');
    config = await discover(running.issuer, 'sag-rp');
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  async function employeeWithDesktop(username: string) {
    const user = await addUser(running.idp, { username, password: PASSWORD });
    const device = await registerDesktop(running.idp, running.url, user);
    return { user, device, signer: await device.signer(running.url) };
  }
  const approve = (signer: Awaited<ReturnType<typeof employeeWithDesktop>>['signer'], challengeId: string) =>
    signer.signed(`challenges/${challengeId}/approve`, { method: 'POST', body: JSON.stringify({ pin: DESKTOP_PIN }) });
  const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;

  it('another device cannot read, approve or reject a challenge: it does not exist for it', async () => {
    await employeeWithDesktop('frede');
    const { signer: stranger } = await employeeWithDesktop('gitte');
    const { page } = await toWaitingPage(config, new Browser(), 'frede');
    const challengeId = readForm(page.html, page.url).fields.challenge as string;

    const read = await stranger.signed(`challenges/${challengeId}`, { method: 'GET' });
    expect([read.status, await errorOf(read)]).to.deep.equal([404, 'not_found']);
    const approved = await approve(stranger, challengeId);
    expect([approved.status, await errorOf(approved)]).to.deep.equal([404, 'not_found']);
    const rejected = await stranger.signed(`challenges/${challengeId}/reject`, { method: 'POST', body: '{}' });
    expect([rejected.status, await errorOf(rejected)]).to.deep.equal([404, 'not_found']);
    const list = await stranger.signed('challenges', { method: 'GET' });
    expect(await list.json()).to.deep.equal({ challenges: [] });
    // No PIN was checked or counted for the stranger's device.
    expect((await running.idp.storage.devices.find(stranger.deviceId))?.failureCount).to.equal(0);
  });

  it('a challenge is answered once: a second approval, or a rejection after it, is challenge_closed', async () => {
    const { signer } = await employeeWithDesktop('hanne');
    const { page } = await toWaitingPage(config, new Browser(), 'hanne');
    const challengeId = readForm(page.html, page.url).fields.challenge as string;

    const answers = await Promise.all([approve(signer, challengeId), approve(signer, challengeId)]);
    expect(answers.map((answer) => answer.status).sort()).to.deep.equal([200, 409]);
    const again = await signer.signed(`challenges/${challengeId}/reject`, { method: 'POST', body: '{}' });
    expect([again.status, await errorOf(again)]).to.deep.equal([409, 'challenge_closed']);
    const events = await running.idp.storage.audit.list({ type: 'challenge.approved' });
    expect(events.filter((event) => event.details?.challengeId === challengeId)).to.have.length(1);
  });

  it('a login cannot continue with, or listen to, another login\'s approved challenge', async () => {
    const { signer } = await employeeWithDesktop('ib');
    const first = new Browser();
    const second = new Browser();
    const one = await toWaitingPage(config, first, 'ib');
    const two = await toWaitingPage(config, second, 'ib');
    const approvedId = readForm(one.page.html, one.page.url).fields.challenge as string;
    expect((await approve(signer, approvedId)).status).to.equal(200);

    // The second login posts the first login's challenge id with its own form and CSRF token.
    const form = readForm(two.page.html, two.page.url);
    const { url, response } = await second.submit(form.action, { ...form.fields, challenge: approvedId }, { stopAt: REDIRECT_URI });
    expect(url).to.not.match(/^http:\/\/127\.0\.0\.1:9\/cb/);
    expect(await response.text()).to.include('Enheden kan ikke bruges');
    // Its event stream, pointed at the first login's challenge, learns nothing of it.
    const foreign = eventsUrl(two.page).replace(encodeURIComponent(readForm(two.page.html, two.page.url).fields.challenge as string), encodeURIComponent(approvedId));
    const stream = await second.fetch(foreign, { headers: { accept: 'text/event-stream' } });
    expect((await readEvents(stream, (text) => text.includes('event: settled'))).text).to.include('"status":"not_found"');
    // Nor can the first login's cookies be left out: without them the stream is refused.
    expect((await fetch(eventsUrl(one.page))).status).to.not.equal(200);

    // The approval still counts for the login it was sent for, once.
    const done = await pressContinue(first, one.page);
    expect(done.url).to.match(/^http:\/\/127\.0\.0\.1:9\/cb\?code=/);
  });

  it('refuses more than CHALLENGE_MAX_PENDING waiting challenges with a clear message', async () => {
    const { user } = await employeeWithDesktop('jens');
    for (let i = 0; i < 2; i += 1) {
      const { page } = await toWaitingPage(config, new Browser(), 'jens');
      expect(page.html).to.include('id="challenge-code"');
    }
    const { page } = await toWaitingPage(config, new Browser(), 'jens');
    expect(page.html).to.include('Der venter allerede for mange anmodninger på dine enheder');
    expect(page.html).to.not.include('id="challenge-code"');
    const sent = await running.idp.storage.audit.list({ type: 'challenge.sent' });
    expect(sent.filter((event) => event.userId === user.id)).to.have.length(2);
  });

  it('sends a new request only by a form post with the login\'s CSRF token', async () => {
    await employeeWithDesktop('karen');
    const browser = new Browser();
    const { page } = await toWaitingPage(config, browser, 'karen');
    const again = readForm(page.html, page.url, 1);
    expect(again.action).to.match(/\/choose\/[^/]+$/);
    const forged = await browser.submit(again.action, { ...again.fields, _csrf: 'forged' });
    expect(forged.response.status).to.equal(403);
    const fresh = await browser.submit(again.action, again.fields);
    const html = await fresh.response.text();
    expect(readForm(html, fresh.url).fields.challenge).to.be.a('string').and.not.equal(readForm(page.html, page.url).fields.challenge);
  });
});
