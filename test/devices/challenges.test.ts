import { expect } from 'chai';
import * as client from 'openid-client';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { discover, REDIRECT_URI, registerClient } from '../oidc/login-flow.ts';
import { readEvents, streamEnds } from './device-client.ts';
import { registerDesktop, type ReferenceDevice } from './reference-client.ts';
import { eventsUrl, PASSWORD, pressContinue, toWaitingPage } from './waiting-page.ts';

/** The IdP's clock: the wall clock (devices sign with it) plus an offset the tests move. */
class OffsetClock {
  offsetMs = 0;
  now = (): number => Date.now() + this.offsetMs;
}

describe('device challenges end to end: the reference desktop client approves a login', function () {
  this.timeout(60_000);
  let backing: Backing;
  let running: RunningIdp;
  let config: client.Configuration;
  const clock = new OffsetClock();

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing, { now: clock.now, heartbeatMs: 200 });
    await registerClient(running.idp, 'sag-rp');
    config = await discover(running.issuer, 'sag-rp');
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });
  afterEach(() => {
    clock.offsetMs = 0;
  });

  async function employeeWithDesktop(username: string): Promise<{ user: { id: string; username: string }; device: ReferenceDevice }> {
    const user = await addUser(running.idp, { username, password: PASSWORD });
    return { user, device: await registerDesktop(running.idp, running.url, user) };
  }

  it('password, then straight to the only device; approving with the PIN gives Substantial with amr pwd, pin, swk, mfa', async () => {
    const { device } = await employeeWithDesktop('anne');
    const browser = new Browser();
    const { request, page } = await toWaitingPage(config, browser, 'anne');
    expect(page.html).to.include('Kontor-pc');
    const code = /id="challenge-code">([^<]+)</.exec(page.html)?.[1] as string;
    expect(code).to.match(/^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}$/);
    expect(page.html).to.not.include('id="challenge-number"');
    expect(page.html).to.match(/aria-live="polite"/);
    expect(page.html).to.match(/<script src="[^"]*\/assets\/wait\.js" defer><\/script>/);

    const early = await pressContinue(browser, page);
    expect(early.html).to.include('Anmodningen er ikke godkendt endnu');

    const approved = await device.approveNext();
    expect(approved.code, approved.stderr).to.equal(0);
    // The device showed the same code and the relying party's name.
    expect(approved.stdout).to.include(code).and.include('Sagssystem');

    const done = await pressContinue(browser, early);
    expect(done.url).to.match(/^http:\/\/127\.0\.0\.1:9\/cb\?code=/);
    const tokens = await client.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: request.codeVerifier, expectedState: request.state });
    expect(tokens.claims()).to.deep.include({ acr: ACR_VALUES.substantial, amr: ['pwd', 'pin', 'swk', 'mfa'] });

    const stored = await running.idp.storage.devices.find(device.deviceId);
    expect(stored?.lastUsedAt).to.be.an.instanceOf(Date);
    const sent = await running.idp.storage.audit.list({ type: 'challenge.sent' });
    expect(sent.map((event) => event.details)).to.deep.include.members([{ kind: 'desktop', deviceId: device.deviceId, challengeId: readForm(page.html, page.url).fields.challenge, numberMatching: false }]);
    expect(await running.idp.storage.audit.list({ type: 'challenge.approved' })).to.have.length.greaterThan(0);
  });

  it('shows the same challenge on every reload and sends it once; only "send again" sends a new one', async () => {
    const { user, device } = await employeeWithDesktop('gunnar');
    const browser = new Browser();
    const { page } = await toWaitingPage(config, browser, 'gunnar');
    const shown = (html: string) => ({ code: /id="challenge-code">([^<]+)</.exec(html)?.[1], challenge: /name="challenge" value="([^"]+)"/.exec(html)?.[1] });
    const first = shown(page.html);
    expect(first.code).to.be.a('string');
    const sent = async () => (await running.idp.storage.audit.list({ userId: user.id, type: 'challenge.sent' })).map((event) => event.details?.challengeId);

    // Reloading the login page (one device: straight to waiting) and the chosen device's page.
    const again = await browser.follow(page.url);
    const chosen = await browser.follow(`${page.url}/choose/${device.deviceId}`);
    for (const reload of [again, chosen]) {
      expect(reload.response.status).to.equal(200);
      expect(shown(await reload.response.text())).to.deep.equal(first);
    }
    expect(await sent()).to.deep.equal([first.challenge]);
    const signer = await device.signer(running.url);
    const pending = (await (await signer.signed('challenges', { method: 'GET' })).json()) as { challenges: Array<{ id: string }> };
    expect(pending.challenges.map((challenge) => challenge.id)).to.deep.equal([first.challenge]);

    const form = readForm(page.html, page.url, 1);
    expect(form.action).to.match(new RegExp(`/choose/${device.deviceId}$`));
    const resent = await browser.submit(form.action, form.fields);
    const second = shown(await resent.response.text());
    expect(second.challenge).to.be.a('string').and.not.equal(first.challenge);
    expect(await sent()).to.have.members([first.challenge, second.challenge]);
    // The old request is withdrawn: the device has one request for this login.
    const after = (await (await signer.signed('challenges', { method: 'GET' })).json()) as { challenges: Array<{ id: string }> };
    expect(after.challenges.map((challenge) => challenge.id)).to.deep.equal([second.challenge]);
    // A reload after it shows the new one.
    expect(shown(await (await browser.follow(page.url)).response.text())).to.deep.equal(second);
    expect(await sent()).to.have.length(2);
  });

  it('locks the device after 5 wrong PINs: tries left counted down, then 423 with lockedUntil, an audit event, and its stream closed', async () => {
    const { device } = await employeeWithDesktop('bent');
    const browser = new Browser();
    const { page } = await toWaitingPage(config, browser, 'bent');
    const signer = await device.signer(running.url);
    const stream = await signer.signed('events', { method: 'GET' });
    expect(stream.status).to.equal(200);
    expect((await readEvents(stream, (text) => text.includes('event: challenge'))).text).to.include(readForm(page.html, page.url).fields.challenge);

    for (const left of [4, 3, 2, 1]) {
      const wrong = await device.approveNext('1357');
      expect(wrong.code).to.equal(1);
      expect(wrong.stderr).to.include(`wrong_pin, ${left} ${left === 1 ? 'try' : 'tries'} left`);
    }
    const fifth = await device.approveNext('1357');
    expect(fifth.code).to.equal(1);
    expect(fifth.stderr).to.include('device_locked');
    const rest = await readEvents(stream, (text) => text.includes('event: closed'));
    expect(rest.text).to.include('"reason":"locked"');

    const refused = await signer.signed('challenges', { method: 'GET' });
    expect(refused.status).to.equal(423);
    const body = (await refused.json()) as { error: string; lockedUntil: string };
    expect(body.error).to.equal('device_locked');
    expect(new Date(body.lockedUntil).getTime()).to.be.closeTo(clock.now() + 300_000, 10_000);
    const locked = await running.idp.storage.audit.list({ type: 'device.locked' });
    expect(locked.map((event) => event.details?.deviceId)).to.include(device.deviceId);
    // Even the right PIN is refused while locked.
    expect((await device.approveNext()).stderr).to.include('device_locked');
  });

  it('says on the waiting page when the device rejected, and the live stream says so first', async () => {
    const { device } = await employeeWithDesktop('cecilie');
    const browser = new Browser();
    const { page } = await toWaitingPage(config, browser, 'cecilie');
    const live = await browser.fetch(eventsUrl(page), { headers: { accept: 'text/event-stream' } });
    expect(live.headers.get('content-type')).to.match(/^text\/event-stream/);

    const rejected = await device.rejectNext();
    expect(rejected.code, rejected.stderr).to.equal(0);
    const events = await readEvents(live, (text) => text.includes('event: settled'));
    expect(events.text).to.include('data: {"status":"rejected"}');

    const explained = await pressContinue(browser, page);
    expect(explained.html).to.include('Anmodningen blev afvist på enheden');
    expect(explained.html).to.not.include('name="challenge"');
    expect(explained.html).to.include('Send en ny anmodning');
  });

  it('keeps the waiting page\'s stream alive with heartbeats until the device answers, then ends it', async () => {
    const { device } = await employeeWithDesktop('hjalte');
    const browser = new Browser();
    const { page } = await toWaitingPage(config, browser, 'hjalte');
    const live = await browser.fetch(eventsUrl(page), { headers: { accept: 'text/event-stream' } });
    const quiet = await readEvents(live, (text) => text.includes(': heartbeat'));
    expect(quiet.text).to.match(/^retry: 3000\n\n/).and.not.include('event:');
    expect((await device.approveNext()).code).to.equal(0);
    expect((await readEvents(live, (text) => text.includes('event: settled'))).text).to.include('"status":"approved"');
    expect(await streamEnds(live)).to.equal(true);
  });

  it('expires: the waiting page and its stream say so, and the device gets challenge_expired', async () => {
    const { device } = await employeeWithDesktop('dorthe');
    const browser = new Browser();
    const { page } = await toWaitingPage(config, browser, 'dorthe');
    const challengeId = readForm(page.html, page.url).fields.challenge as string;
    clock.offsetMs = 181_000;

    const live = await browser.fetch(eventsUrl(page), { headers: { accept: 'text/event-stream' } });
    expect((await readEvents(live, (text) => text.includes('event: settled'))).text).to.include('"status":"expired"');
    const explained = await pressContinue(browser, page);
    expect(explained.html).to.include('Anmodningen er udløbet');

    // The device signs with the server's (moved) clock, as a device with a synchronised clock would.
    const signer = await device.signer(running.url);
    const late = await signer.signed(`challenges/${challengeId}/approve`, { method: 'POST', body: JSON.stringify({ pin: '2580' }), timestamp: Math.floor(clock.now() / 1000) });
    expect(late.status).to.equal(409);
    expect(((await late.json()) as { error: string }).error).to.equal('challenge_expired');
  });

  it('number matching for a client that asks for it: the page shows the number, the right one approves, a wrong one rejects', async () => {
    await running.idp.storage.clients.add({
      metadata: { client_id: 'tal-rp', client_name: 'Ydelsessystem', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'] },
      clientSecret: 'tal-rp-secret-that-is-long-enough-to-be-strong',
      level: 'low',
      numberMatching: true,
    });
    const matching = await discover(running.issuer, 'tal-rp');
    const { device } = await employeeWithDesktop('einar');

    const firstBrowser = new Browser();
    const first = await toWaitingPage(matching, firstBrowser, 'einar');
    const number = /id="challenge-number">(\d{2})</.exec(first.page.html)?.[1] as string;
    expect(number).to.match(/^\d{2}$/);
    const signer = await device.signer(running.url);
    const read = await signer.signed(`challenges/${readForm(first.page.html, first.page.url).fields.challenge}`, { method: 'GET' });
    const described = (await read.json()) as Record<string, unknown>;
    expect(described).to.include({ numberMatching: true, clientName: 'Ydelsessystem', status: 'pending' });
    expect(JSON.stringify(described)).to.not.include(`"${number}"`);
    const wrong = await device.approveNext(undefined, ['--number', number === '10' ? '11' : '10']);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.include('wrong_number');
    // A wrong number means the user cannot see this login: the request is rejected outright.
    expect((await pressContinue(firstBrowser, first.page)).html).to.include('Anmodningen blev afvist på enheden');

    const browser = new Browser();
    const second = await toWaitingPage(matching, browser, 'einar');
    const secondNumber = /id="challenge-number">(\d{2})</.exec(second.page.html)?.[1] as string;
    const right = await device.approveNext(undefined, ['--number', secondNumber]);
    expect(right.code, right.stderr).to.equal(0);
    const done = await pressContinue(browser, second.page);
    expect(done.url).to.match(/code=/);
    const tokens = await client.authorizationCodeGrant(matching, new URL(done.url), { pkceCodeVerifier: second.request.codeVerifier, expectedState: second.request.state });
    expect(tokens.claims()).to.deep.include({ acr: ACR_VALUES.substantial, amr: ['pwd', 'pin', 'swk', 'mfa'] });
  });
});
