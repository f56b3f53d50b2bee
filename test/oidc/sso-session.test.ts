import { expect } from 'chai';
import * as client from 'openid-client';

import { SSO_SESSION_LIMITS } from '../../src/sessions/sso-session.ts';
import { SSO_SESSION_COOKIE } from '../../src/sessions/sso-sessions.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, useIdp } from '../helpers/idp.ts';
import { suiteClock } from '../helpers/totp.ts';
import { authorizationRequest, discover, logIn, POST_LOGOUT_URI, REDIRECT_URI, registerClient } from './login-flow.ts';

const PASSWORD = 'Vinter-i-Viborg-2026';

/**
 * The SSO session is ours (`sessions/`), in our cookie, not oidc-provider's (issue "Step 5",
 * "First: an SSO session that belongs to us"): it alone says who is logged in and with what.
 */
describe('the SSO session, ours and protocol-neutral', function () {
  let config: client.Configuration;
  const clock = suiteClock();
  const suite = useIdp(() => ({ now: clock.now }));

  before(async () => {
    await registerClient(suite.running.idp, 'journal');
    config = await discover(suite.running.issuer, 'journal');
  });

  /** Follows a new authorization request: `sso` when it went straight back with a code, else the page's HTML. */
  async function authorize(browser: Browser, rp: client.Configuration = config) {
    const request = await authorizationRequest(rp);
    const { response, url } = await browser.follow(request.url, { stopAt: REDIRECT_URI });
    if (url.startsWith(REDIRECT_URI)) {
      const tokens = await client.authorizationCodeGrant(rp, new URL(url), { pkceCodeVerifier: request.codeVerifier, expectedState: request.state });
      return { sso: true, sub: tokens.claims()?.sub, html: '' };
    }
    return { sso: false, sub: undefined, html: await response.text() };
  }

  /** oidc-provider's own session cookies, without ours. */
  const forgetProviderSession = (browser: Browser) => {
    for (const name of [...browser.cookies.keys()]) if (!name.startsWith(SSO_SESSION_COOKIE)) browser.cookies.delete(name);
  };

  it('sets our own signed, HttpOnly, SameSite=Lax cookie when a login finishes', async () => {
    await addUser(suite.running.idp, { username: 'ida', password: PASSWORD });
    const browser = new Browser();
    const seen: string[] = [];
    const fetch = browser.fetch.bind(browser);
    browser.fetch = async (url, init) => {
      const response = await fetch(url, init);
      seen.push(...response.headers.getSetCookie().filter((line) => line.startsWith(`${SSO_SESSION_COOKIE}=`)));
      return response;
    };
    await logIn(config, browser, { username: 'ida', password: PASSWORD });
    expect(seen).to.have.length(1);
    expect(seen[0]).to.match(/; path=\/; samesite=lax; httponly$/);
    expect(browser.cookies.get(`${SSO_SESSION_COOKIE}.sig`)).to.be.a('string');
  });

  it('gives SSO from our session alone, as a protocol other than OIDC would see it', async () => {
    const user = await addUser(suite.running.idp, { username: 'jens', password: PASSWORD });
    const browser = new Browser();
    await logIn(config, browser, { username: 'jens', password: PASSWORD });
    forgetProviderSession(browser);
    expect(await authorize(browser)).to.deep.include({ sso: true, sub: user.id });
  });

  it('needs ours: oidc-provider\'s session alone asks for the password', async () => {
    await addUser(suite.running.idp, { username: 'karen', password: PASSWORD });
    const browser = new Browser();
    await logIn(config, browser, { username: 'karen', password: PASSWORD });
    browser.cookies.delete(SSO_SESSION_COOKIE);
    browser.cookies.delete(`${SSO_SESSION_COOKIE}.sig`);
    expect((await authorize(browser)).html).to.match(/autocomplete="current-password"/);
  });

  it('ends after its idle time, and at its absolute end however busy', async () => {
    await addUser(suite.running.idp, { username: 'lars', password: PASSWORD });
    const idle = new Browser();
    await logIn(config, idle, { username: 'lars', password: PASSWORD });
    clock.advance(SSO_SESSION_LIMITS.idle - 60);
    expect((await authorize(idle)).sso).to.equal(true);
    clock.advance(SSO_SESSION_LIMITS.idle + 1);
    expect((await authorize(idle)).html).to.match(/autocomplete="current-password"/);


    // Busy all day, a request every hour, at a client whose password counts for a whole day.
    await suite.running.idp.storage.clients.add({
      metadata: { client_id: 'vagtplan', client_name: 'Vagtplan', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'] },
      clientSecret: 'vagtplan-secret-that-is-long-enough-to-be-strong',
      level: 'low',
      passwordMaxAgeSeconds: 24 * 60 * 60,
    });
    const allDay = await discover(suite.running.issuer, 'vagtplan');
    const busy = new Browser();
    await logIn(allDay, busy, { username: 'lars', password: PASSWORD });
    for (let hour = 1; hour * 3600 < SSO_SESSION_LIMITS.absolute; hour++) {
      clock.advance(3600);
      expect((await authorize(busy, allDay)).sso, `hour ${hour}`).to.equal(true);
    }
    clock.advance(3600);
    expect((await authorize(busy, allDay)).html).to.match(/autocomplete="current-password"/);
  });

  it('ends at logout at /session/end, so the next login asks for the password', async () => {
    await addUser(suite.running.idp, { username: 'mette', password: PASSWORD });
    const browser = new Browser();
    const { tokens } = await logIn(config, browser, { username: 'mette', password: PASSWORD });
    const ours = browser.cookies.get(SSO_SESSION_COOKIE) as string;
    expect(await suite.running.idp.storage.shortLived.get(`sso:session:${ours}`)).to.be.a('string');

    const logoutUrl = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token as string, post_logout_redirect_uri: POST_LOGOUT_URI });
    const { response, url: pageUrl } = await browser.follow(logoutUrl);
    const form = readForm(await response.text(), pageUrl);
    await browser.submit(form.action, { ...form.fields, logout: 'yes' }, { stopAt: POST_LOGOUT_URI });

    expect(await suite.running.idp.storage.shortLived.get(`sso:session:${ours}`)).to.equal(null);
    expect(browser.cookies.has(SSO_SESSION_COOKIE)).to.equal(false);
    expect((await authorize(browser)).html).to.match(/autocomplete="current-password"/);
  });

  it('keeps ours when the user logs out of one relying party only ("stay logged in")', async () => {
    const user = await addUser(suite.running.idp, { username: 'niels', password: PASSWORD });
    const browser = new Browser();
    const { tokens } = await logIn(config, browser, { username: 'niels', password: PASSWORD });
    const logoutUrl = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token as string, post_logout_redirect_uri: POST_LOGOUT_URI });
    const { response, url: pageUrl } = await browser.follow(logoutUrl);
    const form = readForm(await response.text(), pageUrl);
    await browser.submit(form.action, form.fields, { stopAt: POST_LOGOUT_URI });
    expect(await authorize(browser)).to.deep.include({ sso: true, sub: user.id });
  });

  it('never shows one browser\'s session to another: two users, two browsers', async () => {
    const olga = await addUser(suite.running.idp, { username: 'olga', password: PASSWORD });
    const peter = await addUser(suite.running.idp, { username: 'peter', password: PASSWORD });
    const first = new Browser();
    const second = new Browser();
    await logIn(config, first, { username: 'olga', password: PASSWORD });
    expect((await authorize(second)).html).to.match(/autocomplete="current-password"/);
    await logIn(config, second, { username: 'peter', password: PASSWORD });
    expect(first.cookies.get(SSO_SESSION_COOKIE)).to.not.equal(second.cookies.get(SSO_SESSION_COOKIE));
    for (let round = 0; round < 2; round++) {
      expect(await authorize(first)).to.deep.include({ sso: true, sub: olga.id });
      expect(await authorize(second)).to.deep.include({ sso: true, sub: peter.id });
    }
  });

  it('refuses a forged cookie: an id without our signature is no session', async () => {
    await addUser(suite.running.idp, { username: 'rasmus', password: PASSWORD });
    const victim = new Browser();
    await logIn(config, victim, { username: 'rasmus', password: PASSWORD });
    const attacker = new Browser();
    attacker.cookies.set(SSO_SESSION_COOKIE, victim.cookies.get(SSO_SESSION_COOKIE) as string);
    expect((await authorize(attacker)).html).to.match(/autocomplete="current-password"/);
  });

  it('ends the session of a user who is locked, at the next request', async () => {
    const user = await addUser(suite.running.idp, { username: 'sofie', password: PASSWORD });
    const browser = new Browser();
    await logIn(config, browser, { username: 'sofie', password: PASSWORD });
    await suite.running.idp.storage.users.setStatus(user.id, 'locked');
    forgetProviderSession(browser);
    expect((await authorize(browser)).html).to.match(/autocomplete="current-password"/);
    await suite.running.idp.storage.users.setStatus(user.id, 'active');
    expect((await authorize(browser)).html).to.match(/autocomplete="current-password"/);
  });
});
