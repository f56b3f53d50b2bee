import { expect } from 'chai';
import * as client from 'openid-client';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, useIdp } from '../helpers/idp.ts';
import { codeAt, makeCodeViewer, secretFromBase32, factorsOn, suiteClock } from '../helpers/totp.ts';
import { authorizationRequest, discover, REDIRECT_URI, registerClient } from './login-flow.ts';

const PASSWORD = 'Forår-i-Esbjerg-2026';
const SUBSTANTIAL = { acr_values: ACR_VALUES.substantial };

describe('step-up to a second factor, end to end with openid-client', function () {
  let config: client.Configuration;
  const clock = suiteClock();
  const suite = useIdp(() => ({ now: clock.now }));

  before(async () => {
    await registerClient(suite.running.idp, 'stepup-rp');
    config = await discover(suite.running.issuer, 'stepup-rp');
  });

  const factors = () => factorsOn(suite.running.idp.storage, clock.now);

  /** A user with a code viewer bound from stock, as self-service would do it. */
  async function userWithCodeViewer(username: string) {
    const user = await addUser(suite.running.idp, { username, password: PASSWORD });
    const viewer = makeCodeViewer();
    await suite.running.idp.storage.db.transaction((trx) => suite.running.idp.storage.totpTokens.addToStock([viewer], trx));
    const bound = await factors().bindCodeViewer({ userId: user.id, serial: viewer.serial, name: 'Kodeviser på kontoret', code: codeAt(viewer, clock.step()), context: { actor: 'test' } });
    expect(bound.ok).to.equal(true);
    clock.advance(30);
    return { user, viewer };
  }

  /** Starts an authorization request and follows it to the first page the user sees. */
  async function start(browser: Browser, params: Record<string, string> = {}, rp: client.Configuration = config) {
    const request = await authorizationRequest(rp, params);
    const { response, url } = await browser.follow(request.url, { stopAt: REDIRECT_URI });
    return { request, url, html: response.status === 200 ? await response.text() : '', status: response.status };
  }

  async function submit(browser: Browser, page: { html: string; url: string }, fields: Record<string, string>, index = 0) {
    const form = readForm(page.html, page.url, index);
    const { response, url } = await browser.submit(form.action, { ...form.fields, ...fields }, { stopAt: REDIRECT_URI });
    return { url, html: url.startsWith(REDIRECT_URI) ? '' : await response.text() };
  }

  async function tokensFor(request: Awaited<ReturnType<typeof start>>['request'], callback: string, rp: client.Configuration = config) {
    return client.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: request.codeVerifier, expectedState: request.state });
  }

  it('asks for password and code for Substantial, and reports acr Substantial with amr pwd, otp, hwk, mfa', async () => {
    const { viewer } = await userWithCodeViewer('signe');
    const browser = new Browser();
    const first = await start(browser, SUBSTANTIAL);
    const codePage = await submit(browser, first, { username: 'signe', password: PASSWORD });
    expect(codePage.html).to.match(/autocomplete="one-time-code"/);
    expect(codePage.html).to.match(/inputmode="numeric"/);
    expect(codePage.html).to.include('Kodeviser på kontoret');
    const code = codeAt(viewer, clock.step());
    const done = await submit(browser, { html: codePage.html, url: first.url }, { code });
    const claims = (await tokensFor(first.request, done.url)).claims();
    expect(claims?.acr).to.equal(ACR_VALUES.substantial);
    expect(claims?.amr).to.deep.equal(['pwd', 'otp', 'hwk', 'mfa']);
    expect(suite.running.logs.filter((line) => line.includes(`"${code}"`) || line.includes(`=${code}`))).to.deep.equal([]);
  });

  it('steps a Low session up with the code alone, and says when a code was already used', async () => {
    const { viewer } = await userWithCodeViewer('tove');
    const browser = new Browser();
    const low = await start(browser);
    const lowDone = await submit(browser, low, { username: 'tove', password: PASSWORD });
    expect((await tokensFor(low.request, lowDone.url)).claims()?.acr).to.equal(ACR_VALUES.low);

    const up = await start(browser, SUBSTANTIAL);
    expect(up.html).to.not.match(/autocomplete="current-password"/);
    expect(up.html).to.match(/autocomplete="one-time-code"/);
    const code = codeAt(viewer, clock.step());
    const done = await submit(browser, up, { code });
    const claims = (await tokensFor(up.request, done.url)).claims();
    expect(claims?.acr).to.equal(ACR_VALUES.substantial);
    expect(claims?.amr).to.deep.equal(['pwd', 'otp', 'hwk', 'mfa']);

    // On another computer, the same code typed again.
    const browser2 = new Browser();
    const second = await start(browser2, SUBSTANTIAL);
    const page = await submit(browser2, second, { username: 'tove', password: PASSWORD });
    const replay = await submit(browser2, { html: page.html, url: second.url }, { code });
    expect(replay.html).to.include('Koden er allerede brugt');
  });

  it('keeps a Substantial session until the second factor\'s lifetime ends, then asks for the code only', async () => {
    const { viewer } = await userWithCodeViewer('ulla');
    const browser = new Browser();
    const first = await start(browser, SUBSTANTIAL);
    const codePage = await submit(browser, first, { username: 'ulla', password: PASSWORD });
    await submit(browser, { html: codePage.html, url: first.url }, { code: codeAt(viewer, clock.step()) });

    clock.advance(30 * 60);
    const within = await start(browser, SUBSTANTIAL);
    expect(within.url).to.match(/^http:\/\/127\.0\.0\.1:9\/cb\?code=/);

    clock.advance(31 * 60);
    const after = await start(browser, SUBSTANTIAL);
    expect(after.html).to.match(/autocomplete="one-time-code"/);
    expect(after.html).to.not.match(/autocomplete="current-password"/);
  });

  it('gives a relying party its own second-factor lifetime', async () => {
    await suite.running.idp.storage.clients.add({
      metadata: { client_id: 'brisk-rp', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'] },
      clientSecret: 'brisk-rp-secret-that-is-long-enough-to-be-strong',
      level: 'substantial',
      secondFactorMaxAgeSeconds: 5 * 60,
    });
    const brisk = await discover(suite.running.issuer, 'brisk-rp');
    const { viewer } = await userWithCodeViewer('viggo');
    const browser = new Browser();
    const first = await start(browser, SUBSTANTIAL);
    const codePage = await submit(browser, first, { username: 'viggo', password: PASSWORD });
    await submit(browser, { html: codePage.html, url: first.url }, { code: codeAt(viewer, clock.step()) });

    clock.advance(6 * 60);
    expect((await start(browser, SUBSTANTIAL)).url).to.match(/^http:\/\/127\.0\.0\.1:9\/cb\?code=/);
    const briskPage = await start(browser, {}, brisk);
    expect(briskPage.html).to.match(/autocomplete="one-time-code"/);
  });

  it('honours prompt=login: the password again, then the code', async () => {
    const { viewer } = await userWithCodeViewer('vera');
    const browser = new Browser();
    const first = await start(browser, SUBSTANTIAL);
    const codePage = await submit(browser, first, { username: 'vera', password: PASSWORD });
    await submit(browser, { html: codePage.html, url: first.url }, { code: codeAt(viewer, clock.step()) });
    clock.advance(30);
    const again = await start(browser, { ...SUBSTANTIAL, prompt: 'login' });
    expect(again.html).to.match(/autocomplete="current-password"/);
    const code = await submit(browser, again, { username: 'vera', password: PASSWORD });
    expect(code.html).to.match(/autocomplete="one-time-code"/);
  });

  it('requires the client\'s minimum level, and an essential acr in the claims parameter', async () => {
    await suite.running.idp.storage.clients.add({
      metadata: { client_id: 'strict-rp', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'] },
      clientSecret: 'strict-rp-secret-that-is-long-enough-to-be-strong',
      level: 'substantial',
    });
    const { viewer } = await userWithCodeViewer('william');
    const strict = await discover(suite.running.issuer, 'strict-rp');
    const browser = new Browser();
    const first = await start(browser, {}, strict);
    const codePage = await submit(browser, first, { username: 'william', password: PASSWORD });
    expect(codePage.html).to.match(/autocomplete="one-time-code"/);
    const done = await submit(browser, { html: codePage.html, url: first.url }, { code: codeAt(viewer, clock.step()) });
    expect((await tokensFor(first.request, done.url, strict)).claims()?.acr).to.equal(ACR_VALUES.substantial);

    const other = new Browser();
    const essential = await start(other, { claims: JSON.stringify({ id_token: { acr: { essential: true, values: [ACR_VALUES.substantial] } } }) });
    const afterPassword = await submit(other, essential, { username: 'william', password: PASSWORD });
    expect(afterPassword.html).to.match(/autocomplete="one-time-code"/);
  });

  it('tells a user without a second factor, and cancelling returns unmet_authentication_requirements', async () => {
    await addUser(suite.running.idp, { username: 'xenia', password: PASSWORD });
    const browser = new Browser();
    const first = await start(browser, SUBSTANTIAL);
    const page = await submit(browser, first, { username: 'xenia', password: PASSWORD });
    expect(page.html).to.include('Du mangler en 2-faktor enhed');
    const cancelled = await submit(browser, { html: page.html, url: first.url }, {});
    expect(new URL(cancelled.url).searchParams.get('error')).to.equal('unmet_authentication_requirements');
  });

  it('locks the code viewer after 5 wrong codes and says so, and offers resynchronisation after a wrong code', async () => {
    const { viewer } = await userWithCodeViewer('yrsa');
    const browser = new Browser();
    const first = await start(browser, SUBSTANTIAL);
    let page = await submit(browser, first, { username: 'yrsa', password: PASSWORD });
    page = await submit(browser, { html: page.html, url: first.url }, { code: codeAt(viewer, clock.step() + 30) });
    expect(page.html).to.include('Koden er forkert');
    expect(page.html).to.include('Synkroniser');
    for (let i = 0; i < 4; i += 1) page = await submit(browser, { html: page.html, url: first.url }, { code: codeAt(viewer, clock.step() + 30) });
    expect(page.html).to.include('spærret');
    page = await submit(browser, { html: page.html, url: first.url }, { code: codeAt(viewer, clock.step()) });
    expect(page.html).to.include('spærret');
    const locks = await suite.running.idp.storage.audit.list({ type: 'factor.locked' });
    expect(locks.length).to.be.greaterThan(0);
  });

  it('lets the user resynchronise a code viewer that drifted far, from the code page', async () => {
    const { viewer } = await userWithCodeViewer('aase');
    clock.advance(30 * 24 * 3600);
    const browser = new Browser();
    const first = await start(browser, SUBSTANTIAL);
    let page = await submit(browser, first, { username: 'aase', password: PASSWORD });
    // A month later the token's clock runs 30 steps (15 minutes) slow: its codes miss the window.
    const slow = () => clock.step() - 30;
    page = await submit(browser, { html: page.html, url: first.url }, { code: codeAt(viewer, slow()) });
    expect(page.html).to.include('Koden er forkert');
    page = await submit(browser, { html: page.html, url: first.url }, { code1: codeAt(viewer, slow()), code2: codeAt(viewer, slow() + 1) }, 1);
    expect(page.html).to.include('Enheden er synkroniseret');
    clock.advance(60);
    const done = await submit(browser, { html: page.html, url: first.url }, { code: codeAt(viewer, slow()) });
    expect((await tokensFor(first.request, done.url)).claims()?.acr).to.equal(ACR_VALUES.substantial);
    const resyncs = await suite.running.idp.storage.audit.list({ type: 'factor.resynced' });
    expect(resyncs.some((event) => event.details?.drift === -29)).to.equal(true);
  });

  it('lets a user with two devices choose, the last used first', async () => {
    const { user, viewer } = await userWithCodeViewer('zacharias');
    const enrolment = await factors().startAuthenticator({ userId: user.id, username: 'zacharias', name: 'Min telefon', issuerName: 'Kommunen' });
    const app = { secret: secretFromBase32(enrolment.secretBase32), algorithm: 'SHA1' as const, digits: 6 as const, period: 30 as const };
    expect(await factors().confirmAuthenticator({ userId: user.id, id: enrolment.id, code: codeAt(app, clock.step()), context: { actor: 'test' } })).to.deep.equal({ ok: true });
    clock.advance(30);
    const browser = new Browser();
    const first = await start(browser, SUBSTANTIAL);
    const chooser = await submit(browser, first, { username: 'zacharias', password: PASSWORD });
    expect(chooser.html.indexOf('Min telefon')).to.be.lessThan(chooser.html.indexOf('Kodeviser på kontoret'));
    const link = /href="([^"]*\/choose\/[^"]*)"[^>]*>\s*<span class="factor-name">Kodeviser på kontoret/.exec(chooser.html)?.[1] as string;
    const { response, url } = await browser.follow(new URL(link.replace(/&amp;/g, '&'), first.url));
    const codePage = await response.text();
    expect(codePage).to.include('Kodeviser på kontoret');
    const done = await submit(browser, { html: codePage, url }, { code: codeAt(viewer, clock.step()) });
    expect((await tokensFor(first.request, done.url)).claims()?.amr).to.deep.equal(['pwd', 'otp', 'hwk', 'mfa']);
  });
});
