import { expect } from 'chai';
import * as client from 'openid-client';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { authorizationRequest, discover, logIn, openLoginPage, POST_LOGOUT_URI, REDIRECT_URI, registerClient } from './login-flow.ts';

const PASSWORD = 'Sommer-i-Aarhus-2026';

describe('OIDC login with a password, end to end with openid-client', function () {
  let backing: Backing;
  let running: RunningIdp;
  let config: client.Configuration;
  let userId: string;

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing);
    userId = (await addUser(running.idp, { username: 'Anna.Hansen', password: PASSWORD, name: 'Anna Hansen', email: 'anna@kommune.dk' })).id;
    await registerClient(running.idp, 'sagssystem');
    config = await discover(running.issuer, 'sagssystem');
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  it('publishes discovery with PKCE S256 only, the levels and the endpoints', () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).to.equal(running.issuer);
    expect(metadata.code_challenge_methods_supported).to.deep.equal(['S256']);
    expect(metadata.acr_values_supported).to.deep.equal([ACR_VALUES.low, ACR_VALUES.substantial]);
    expect(metadata.response_types_supported).to.deep.equal(['code']);
    for (const endpoint of ['userinfo_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint', 'jwks_uri']) {
      expect(metadata[endpoint], endpoint).to.be.a('string');
    }
  });

  it('shows a login page with the standard autocomplete fields, a CSRF token and a strict CSP', async () => {
    const browser = new Browser();
    const { url } = await authorizationRequest(config);
    const { response } = await browser.follow(url);
    const html = await response.text();
    expect(html).to.match(/<html lang="da">/);
    expect(html).to.match(/autocomplete="username"/);
    expect(html).to.match(/autocomplete="current-password"/);
    expect(html).to.include('Sagssystem');
    expect(readForm(html, running.issuer).fields._csrf).to.match(/^[\w-]{43}$/);
    const csp = response.headers.get('content-security-policy') as string;
    expect(csp).to.include("script-src 'self'");
    expect(csp).to.not.include('unsafe-inline');
    expect(csp).to.include("form-action 'self' http://127.0.0.1:9");
  });

  it('serves the page in English on Accept-Language', async () => {
    const browser = new Browser({ 'accept-language': 'en-GB,en;q=0.9' });
    const { url } = await authorizationRequest(config);
    const { response } = await browser.follow(url);
    const html = await response.text();
    expect(html).to.match(/<html lang="en">/);
    expect(html).to.include('Password');
  });

  it('logs in: code + PKCE, an ES256 ID token checked against the JWKS, acr Low and amr pwd', async () => {
    const { tokens } = await logIn(config, new Browser(), { username: 'anna.hansen', password: PASSWORD });
    const claims = tokens.claims();
    expect(claims?.sub).to.equal(userId);
    expect(claims?.sub).to.not.include('anna');
    expect(claims?.acr).to.equal(ACR_VALUES.low);
    expect(claims?.amr).to.deep.equal(['pwd']);
    const header = JSON.parse(Buffer.from((tokens.id_token as string).split('.')[0] as string, 'base64url').toString()) as { alg: string; kid: string };
    expect(header.alg).to.equal('ES256');
    const jwks = (await (await fetch(config.serverMetadata().jwks_uri as string)).json()) as { keys: Array<{ kid: string; d?: string }> };
    expect(jwks.keys.map((key) => key.kid)).to.include(header.kid);
    expect(jwks.keys.every((key) => key.d === undefined)).to.equal(true);

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, userId);
    expect(userinfo).to.deep.include({ sub: userId, name: 'Anna Hansen', email: 'anna@kommune.dk', preferred_username: 'Anna.Hansen' });
  });

  it('refuses a token request without the PKCE verifier', async () => {
    const browser = new Browser();
    const request = await authorizationRequest(config);
    const { form } = await openLoginPage(browser, request.url);
    const { url: callback } = await browser.submit(form.action, { ...form.fields, username: 'anna.hansen', password: PASSWORD }, { stopAt: REDIRECT_URI });
    const error = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: request.state })
      .then(() => undefined, (caught: unknown) => caught as { error?: string });
    expect(error?.error).to.equal('invalid_grant');
  });

  it('rotates refresh tokens, introspects and revokes', async () => {
    const { tokens } = await logIn(config, new Browser(), { username: 'anna.hansen', password: PASSWORD });
    expect(tokens.refresh_token).to.be.a('string');
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(refreshed.refresh_token).to.be.a('string').and.not.equal(tokens.refresh_token);
    expect(refreshed.claims()?.sub).to.equal(userId);

    const reused = await client.refreshTokenGrant(config, tokens.refresh_token as string).then(() => undefined, (caught: unknown) => caught as { error?: string });
    expect(reused?.error).to.equal('invalid_grant');

    const fresh = await logIn(config, new Browser(), { username: 'anna.hansen', password: PASSWORD });
    expect((await client.tokenIntrospection(config, fresh.tokens.access_token)).active).to.equal(true);
    await client.tokenRevocation(config, fresh.tokens.access_token);
    expect((await client.tokenIntrospection(config, fresh.tokens.access_token)).active).to.equal(false);
    await client.tokenRevocation(config, fresh.tokens.refresh_token as string);
    const revoked = await client.refreshTokenGrant(config, fresh.tokens.refresh_token as string).then(() => undefined, (caught: unknown) => caught as { error?: string });
    expect(revoked?.error).to.equal('invalid_grant');
  });

  it('issues client_credentials tokens to the client itself', async () => {
    const tokens = await client.clientCredentialsGrant(config, { scope: 'openid' });
    expect(tokens.access_token).to.be.a('string');
    expect(tokens.id_token).to.equal(undefined);
  });

  it('keeps the SSO session until RP-initiated logout, then asks for the password again', async () => {
    const browser = new Browser();
    const { tokens } = await logIn(config, browser, { username: 'anna.hansen', password: PASSWORD });
    // The session is there: a second authorization request goes straight back with a code.
    const second = await authorizationRequest(config);
    expect((await browser.follow(second.url, { stopAt: REDIRECT_URI })).url).to.match(/^http:\/\/127\.0\.0\.1:9\/cb\?code=/);

    const logoutUrl = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token as string, post_logout_redirect_uri: POST_LOGOUT_URI });
    const { response, url: pageUrl } = await browser.follow(logoutUrl);
    const html = await response.text();
    expect(html).to.include('Log ud');
    const form = readForm(html, pageUrl);
    const done = await browser.submit(form.action, { ...form.fields, logout: 'yes' }, { stopAt: POST_LOGOUT_URI });
    expect(done.url).to.equal(POST_LOGOUT_URI);

    const third = await authorizationRequest(config);
    const after = await browser.follow(third.url, { stopAt: REDIRECT_URI });
    expect(await after.response.text()).to.match(/autocomplete="current-password"/);
    const events = await running.idp.storage.audit.list({ type: 'logout' });
    expect(events.some((event) => event.userId === userId)).to.equal(true);
  });

  it('cancelling returns access_denied to the relying party', async () => {
    const browser = new Browser();
    const { url } = await authorizationRequest(config);
    const { html, pageUrl } = await openLoginPage(browser, url);
    const cancel = readForm(html, pageUrl, 1);
    const { url: callback } = await browser.submit(cancel.action, cancel.fields, { stopAt: REDIRECT_URI });
    expect(new URL(callback).searchParams.get('error')).to.equal('access_denied');
  });

  it('refuses a login form posted without the CSRF token, and from another origin', async () => {
    const browser = new Browser();
    const { url } = await authorizationRequest(config);
    const { form } = await openLoginPage(browser, url);
    const missing = await browser.submit(form.action, { username: 'anna.hansen', password: PASSWORD });
    expect(missing.response.status).to.equal(403);
    const foreign = await browser.submit(form.action, { ...form.fields, username: 'anna.hansen', password: PASSWORD }, { origin: 'https://evil.example' });
    expect(foreign.response.status).to.equal(403);
  });

  it('gives one generic error for a wrong password and an unknown user, and audits both', async () => {
    const pages: string[] = [];
    for (const username of ['anna.hansen', 'no.such.user']) {
      const browser = new Browser();
      const { url } = await authorizationRequest(config);
      const { form } = await openLoginPage(browser, url);
      const { response } = await browser.submit(form.action, { ...form.fields, username, password: 'Forkert-Kode-123' });
      const html = await response.text();
      expect(html).to.include('role="alert"');
      pages.push(/<div class="alert"[^>]*>([^<]*)</.exec(html)?.[1] ?? '');
    }
    expect(pages[0]).to.equal(pages[1]).and.not.equal('');
    const failures = await running.idp.storage.audit.list({ type: 'login.password.failed', limit: 2 });
    expect(failures.map((event) => event.details?.reason).sort()).to.deep.equal(['unknown-user', 'wrong-password']);
  });

  it('rehashes a password stored with older argon2 parameters at the next login', async () => {
    const { hashPassword } = await import('../../src/auth/password-hash.ts');
    const old = await running.idp.storage.users.add({ username: 'gammel', passwordHash: await hashPassword(PASSWORD, { memoryCost: 8192, timeCost: 1, parallelism: 1 }) });
    await logIn(config, new Browser(), { username: 'gammel', password: PASSWORD });
    const after = await running.idp.storage.users.findById(old.id);
    expect(after?.passwordHash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('never writes the password to a log line', () => {
    expect(running.logs.length).to.be.greaterThan(10);
    expect(running.logs.filter((line) => line.includes(PASSWORD) || line.includes('Forkert-Kode-123'))).to.deep.equal([]);
  });
});
