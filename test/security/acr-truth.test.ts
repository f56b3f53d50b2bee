import { expect } from 'chai';
import * as client from 'openid-client';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { codeAt, factorsOn, makeCodeViewer, suiteClock } from '../helpers/totp.ts';
import { authorizationRequest, discover, REDIRECT_URI, registerClient } from '../oidc/login-flow.ts';

const PASSWORD = 'Sommer-i-Svendborg-2026';
const SUBSTANTIAL = { acr_values: ACR_VALUES.substantial };
const CODE_VIEWER_AMR = ['pwd', 'otp', 'hwk', 'mfa'];

describe('security: acr and amr tell the truth when a token is issued', function () {
  let backing: Backing;
  let running: RunningIdp;
  /** A relying party whose second factor counts for one minute, its password for ten. */
  let brisk: client.Configuration;
  /** A relying party with the default lifetimes (60 and 180 minutes). */
  let relaxed: client.Configuration;
  const clock = suiteClock();
  const epoch = () => Math.floor(clock.now() / 1000);

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing, { now: clock.now });
    await registerClient(running.idp, 'relaxed-rp');
    await running.idp.storage.clients.add({
      metadata: { client_id: 'brisk-rp', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'] },
      clientSecret: 'brisk-rp-secret-that-is-long-enough-to-be-strong',
      level: 'low',
      passwordMaxAgeSeconds: 10 * 60,
      secondFactorMaxAgeSeconds: 60,
    });
    brisk = await discover(running.issuer, 'brisk-rp');
    relaxed = await discover(running.issuer, 'relaxed-rp');
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  /** A user with a code viewer bound from stock. */
  async function userWithCodeViewer(username: string) {
    const user = await addUser(running.idp, { username, password: PASSWORD });
    const viewer = makeCodeViewer();
    await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
    const bound = await factorsOn(running.idp.storage, clock.now).bindCodeViewer({ userId: user.id, serial: viewer.serial, name: 'Kodeviser', code: codeAt(viewer, clock.step()), context: { actor: 'test' } });
    expect(bound.ok).to.equal(true);
    clock.advance(30);
    return viewer;
  }

  /** An authorization request followed as far as the browser goes: a page, or the callback. */
  async function start(browser: Browser, rp: client.Configuration, params: Record<string, string> = {}) {
    const request = await authorizationRequest(rp, params);
    const { response, url } = await browser.follow(request.url, { stopAt: REDIRECT_URI });
    return { request, url, html: url.startsWith(REDIRECT_URI) ? '' : await response.text() };
  }

  async function submit(browser: Browser, page: { html: string; url: string }, fields: Record<string, string>) {
    const form = readForm(page.html, page.url);
    const { response, url } = await browser.submit(form.action, { ...form.fields, ...fields }, { stopAt: REDIRECT_URI });
    return { url, html: url.startsWith(REDIRECT_URI) ? '' : await response.text() };
  }

  async function redeem(rp: client.Configuration, started: Awaited<ReturnType<typeof start>>, callback: string) {
    expect(callback).to.match(/^http:\/\/127\.0\.0\.1:9\/cb\?code=/);
    return client.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: started.request.codeVerifier, expectedState: started.request.state });
  }

  /** Logs in at Substantial with password and code at `rp`; returns the browser and the tokens. */
  async function substantialLogin(username: string, rp: client.Configuration) {
    const viewer = await userWithCodeViewer(username);
    const browser = new Browser();
    const first = await start(browser, rp, SUBSTANTIAL);
    const codePage = await submit(browser, first, { username, password: PASSWORD });
    const loggedInAt = epoch();
    const done = await submit(browser, { html: codePage.html, url: first.url }, { code: codeAt(viewer, clock.step()) });
    const tokens = await redeem(rp, first, done.url);
    expect(tokens.claims()).to.deep.include({ acr: ACR_VALUES.substantial, amr: CODE_VIEWER_AMR });
    return { browser, tokens, loggedInAt };
  }

  it('states Low and pwd, not Substantial, for a client whose second-factor lifetime ended, without acr_values', async () => {
    const { browser, loggedInAt } = await substantialLogin('hanne', brisk);
    clock.advance(75);
    const silent = await start(browser, brisk);
    const claims = (await redeem(brisk, silent, silent.url)).claims();
    expect(claims?.acr).to.equal(ACR_VALUES.low);
    expect(claims?.amr).to.deep.equal(['pwd']);
    expect(claims?.auth_time).to.equal(loggedInAt);
  });

  it('keeps Substantial while the second factor counts, and judges each client by its own lifetimes', async () => {
    const { browser } = await substantialLogin('ib', brisk);
    clock.advance(30);
    const within = await start(browser, brisk);
    expect((await redeem(brisk, within, within.url)).claims()).to.deep.include({ acr: ACR_VALUES.substantial, amr: CODE_VIEWER_AMR });
    clock.advance(45);
    // Past brisk-rp's minute, well within the default hour: the same session, two truths.
    const atRelaxed = await start(browser, relaxed);
    expect((await redeem(relaxed, atRelaxed, atRelaxed.url)).claims()).to.deep.include({ acr: ACR_VALUES.substantial, amr: CODE_VIEWER_AMR });
    const atBrisk = await start(browser, brisk);
    expect((await redeem(brisk, atBrisk, atBrisk.url)).claims()).to.deep.include({ acr: ACR_VALUES.low, amr: ['pwd'] });
  });

  it('puts auth_time in every ID token of a client stored in the database, refreshed ones too', async () => {
    const { browser, tokens, loggedInAt } = await substantialLogin('jonna', relaxed);
    expect(tokens.claims()?.auth_time).to.equal(loggedInAt);
    const silent = await start(browser, relaxed);
    expect((await redeem(relaxed, silent, silent.url)).claims()?.auth_time).to.equal(loggedInAt);
    const refreshed = await client.refreshTokenGrant(relaxed, tokens.refresh_token as string);
    expect(refreshed.claims()?.auth_time).to.equal(loggedInAt);
  });

  it('restates a refresh token: Substantial while the second factor counts, then pwd, then no acr or amr', async () => {
    const { tokens, loggedInAt } = await substantialLogin('kaj', brisk);
    clock.advance(30);
    let refreshed = await client.refreshTokenGrant(brisk, tokens.refresh_token as string);
    expect(refreshed.claims()).to.deep.include({ acr: ACR_VALUES.substantial, amr: CODE_VIEWER_AMR, auth_time: loggedInAt });

    clock.advance(45);
    refreshed = await client.refreshTokenGrant(brisk, refreshed.refresh_token as string);
    expect(refreshed.claims()).to.deep.include({ acr: ACR_VALUES.low, amr: ['pwd'], auth_time: loggedInAt });

    clock.advance(10 * 60);
    refreshed = await client.refreshTokenGrant(brisk, refreshed.refresh_token as string);
    const claims = refreshed.claims();
    // OIDC Core §12.2: auth_time stays the original authentication's; nothing is claimed of it.
    expect(claims?.auth_time).to.equal(loggedInAt);
    expect(claims).to.not.have.property('acr');
    expect(claims).to.not.have.property('amr');
    expect(refreshed.access_token).to.be.a('string');
  });
});
