import { deflateRawSync, inflateRawSync } from 'node:zlib';

import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import { signSamlPost } from '@node-saml/node-saml/lib/saml-post-signing.js';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { expect } from 'chai';
import * as client from 'openid-client';

import { DEFAULT_ATTRIBUTES } from '../../src/saml/attributes.ts';
import { BINDINGS, type SamlBinding } from '../../src/saml/idp-metadata.ts';
import { parseSpMetadata } from '../../src/saml/sp-metadata.ts';
import { SSO_SESSION_COOKIE } from '../../src/sessions/sso-sessions.ts';
import type { SpNameIdFormat } from '../../src/store/service-providers.ts';
import { makeSpKeys, type SpKeys } from '../fixtures/saml/sp-keys.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { TestClock } from '../helpers/totp.ts';
import { authorizationRequest, discover, logIn, POST_LOGOUT_URI, REDIRECT_URI, registerClient } from '../oidc/login-flow.ts';

const PASSWORD = 'Efterår-i-Aarhus-2026';
const NAMEID_FORMAT: Record<SpNameIdFormat, string> = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
};
const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  unknownPrincipal: 'urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal',
};
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const LOGOUT_REQUEST = '/*[local-name(.)="LogoutRequest" and namespace-uri(.)="urn:oasis:names:tc:SAML:2.0:protocol"]';

/** A registered SP: node-saml with its keys, and its SingleLogoutService (ResponseLocation `…/done` for Redirect). */
interface TestSp {
  saml: SAML;
  keys: SpKeys;
  host: string;
  slo: string;
  sloDone: string;
}

/** A page the browser is on. */
interface Page {
  response: Response;
  url: string;
  html: string;
}

describe('SAML single logout at /saml/slo, with @node-saml/node-saml as the SP', function () {
  let backing: Backing;
  let running: RunningIdp;
  let idpCert: string;
  let oidc: client.Configuration;
  // Near the wall clock: node-saml stamps its requests with it (see sso.test.ts).
  let clock: TestClock;
  let users = 0;

  before(async () => {
    clock = new TestClock(Date.now());
    backing = await createBacking();
    running = await startIdp(backing, { now: clock.now });
    const metadata = await (await fetch(`${running.url}/saml/metadata`)).text();
    const root = new DOMParser().parseFromString(metadata, 'text/xml').documentElement as unknown as Element;
    const descriptor = root.getElementsByTagNameNS(MD, 'KeyDescriptor')[0] as Element;
    idpCert = `-----BEGIN CERTIFICATE-----\n${descriptor.getElementsByTagNameNS(DS, 'X509Certificate')[0]?.textContent}\n-----END CERTIFICATE-----\n`;
    await registerClient(running.idp, 'journal');
    oidc = await discover(running.issuer, 'journal');
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  const sloUrl = () => `${running.url}/saml/slo`;

  /** node-saml as the SP at `host`, signing with `keys` when given. */
  function samlAt(host: string, keys: SpKeys | undefined, nameIdFormat: SpNameIdFormat = 'persistent'): SAML {
    return new SAML({
      issuer: `https://${host}/saml`,
      audience: `https://${host}/saml`,
      callbackUrl: `https://${host}/saml/acs`,
      entryPoint: `${running.url}/saml/sso`,
      logoutUrl: sloUrl(),
      idpCert,
      idpIssuer: `${running.url}/saml`,
      identifierFormat: NAMEID_FORMAT[nameIdFormat],
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      // node-saml looks for InResponseTo on a Response root only, so a LogoutResponse over POST
      // would fail `always`; ours carries it, and the tests check it themselves.
      validateInResponseTo: ValidateInResponseTo.ifPresent,
      acceptedClockSkewMs: 5 * 60_000,
      ...(keys ? { privateKey: keys.privateKey, signatureAlgorithm: 'sha256' as const, digestAlgorithm: 'sha256' } : {}),
    });
  }

  /** Registers an SP at `host`, as `stepup sp add` would, with SingleLogoutServices for `bindings`. */
  async function addSp(host: string, options: { bindings?: SamlBinding[]; nameIdFormat?: SpNameIdFormat } = {}): Promise<TestSp> {
    const { bindings = ['redirect', 'post'], nameIdFormat = 'persistent' } = options;
    const keys = await makeSpKeys({ commonName: host });
    const saml = samlAt(host, keys, nameIdFormat);
    const slo = `https://${host}/saml/slo`;
    const sloDone = `${slo}/done`;
    // node-saml's metadata has one HTTP-POST SingleLogoutService at most; these are the SP's own.
    const services = bindings.map((binding) => binding === 'redirect'
      ? `<SingleLogoutService Binding="${BINDINGS.redirect}" Location="${slo}" ResponseLocation="${sloDone}"/>`
      : `<SingleLogoutService Binding="${BINDINGS.post}" Location="${slo}"/>`).join('');
    const metadataXml = saml.generateServiceProviderMetadata(null, keys.certificatePem).replace('<NameIDFormat>', `${services}<NameIDFormat>`);
    const parsed = parseSpMetadata({ xml: metadataXml, now: new Date() });
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    await running.idp.storage.serviceProviders.add({
      metadataXml,
      metadata: parsed.sp,
      level: 'low',
      nameIdFormat,
      attributes: [...DEFAULT_ATTRIBUTES],
      signResponse: false,
      requireSignedRequests: false,
    });
    return { saml, keys, host, slo, sloDone };
  }

  async function newUser() {
    const username = `slo-user-${++users}`;
    await addUser(running.idp, { username, password: PASSWORD });
    return username;
  }

  async function open(browser: Browser, url: string | URL): Promise<Page> {
    const { response, url: at } = await browser.follow(url);
    return { response, url: at, html: await response.text() };
  }

  async function submit(browser: Browser, page: Page, fields: Record<string, string>): Promise<Page> {
    const form = readForm(page.html, page.url);
    const { response, url } = await browser.submit(form.action, { ...form.fields, ...fields });
    return { response, url, html: await response.text() };
  }

  const asksForPassword = (page: Page) => /autocomplete="current-password"/.test(page.html);

  /** The auto-posting page: its form goes to `action`, which CSP form-action allows. */
  function posted(page: Page, action: string): Record<string, string> {
    expect(page.response.status, page.html).to.equal(200);
    const form = readForm(page.html, page.url);
    expect(form.action).to.equal(action);
    expect(page.html).to.match(/<script src="[^"]*\/assets\/saml-post\.js" defer><\/script>/);
    expect(page.response.headers.get('content-security-policy')).to.include(`form-action 'self' ${new URL(action).origin}`);
    return form.fields;
  }

  /** A SAML login at `sp` (with the password when asked); node-saml's profile of the Response. */
  async function samlLogIn(browser: Browser, sp: TestSp, username: string): Promise<Profile> {
    let page = await open(browser, await sp.saml.getAuthorizeUrlAsync('relay-in', undefined, {}));
    if (asksForPassword(page)) page = await submit(browser, page, { username, password: PASSWORD });
    const { profile } = await sp.saml.validatePostResponseAsync(posted(page, `https://${sp.host}/saml/acs`));
    return profile as Profile;
  }

  /** Whether the next SAML login at `sp` asks for the password. */
  async function samlAsksForPassword(browser: Browser, sp: TestSp) {
    return asksForPassword(await open(browser, await sp.saml.getAuthorizeUrlAsync('relay-again', undefined, {})));
  }

  /** Whether the next OIDC login asks for the password (else it went straight back with a code). */
  async function oidcAsksForPassword(browser: Browser) {
    const { url } = await authorizationRequest(oidc);
    const { response, url: at } = await browser.follow(url, { stopAt: REDIRECT_URI });
    return !at.startsWith(REDIRECT_URI) && asksForPassword({ response, url: at, html: await response.text() });
  }

  /** Whether the browser's SSO session is still in the store. */
  async function sessionAlive(browser: Browser) {
    const id = browser.cookies.get(SSO_SESSION_COOKIE);
    return id !== undefined && (await running.idp.storage.shortLived.get(`sso:session:${id}`)) !== null;
  }

  /** A LogoutRequest over HTTP-POST as the SP's page posts it: base64 of the XML, signed enveloped by node-saml's signer. */
  const signedPost = (xml: string, keys: SpKeys) =>
    Buffer.from(signSamlPost(xml, LOGOUT_REQUEST, { privateKey: keys.privateKey, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' })).toString('base64');

  /** A hand-made LogoutRequest. */
  const logoutRequest = (options: { issuer: string; nameId: string; id?: string; issueInstant?: string; destination?: string; prolog?: string }) =>
    `${options.prolog ?? ''}<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${options.id ?? `_${Math.random().toString(16).slice(2)}`}" Version="2.0" IssueInstant="${options.issueInstant ?? new Date(clock.now()).toISOString()}" Destination="${options.destination ?? sloUrl()}"><saml:Issuer>${options.issuer}</saml:Issuer><saml:NameID Format="${NAMEID_FORMAT.persistent}">${options.nameId}</saml:NameID></samlp:LogoutRequest>`;

  /** The LogoutResponse the IdP redirected to the SP with: node-saml checks it (signature, InResponseTo, Issuer); its XML. */
  async function redirectedResponse(sp: TestSp, at: string) {
    expect(at.startsWith(`${sp.sloDone}?`), at).to.equal(true);
    const query = at.slice(at.indexOf('?') + 1);
    const container = Object.fromEntries(new URLSearchParams(query));
    expect(container.SigAlg).to.equal(RSA_SHA256);
    expect(container.Signature).to.be.a('string');
    const xml = inflateRawSync(Buffer.from(container.SAMLResponse as string, 'base64')).toString('utf8');
    return { container, xml, validated: sp.saml.validateRedirectAsync(container, query) };
  }

  describe('an SP-initiated LogoutRequest', () => {
    let sp: TestSp;
    let postOnly: TestSp;
    let transient: TestSp;

    before(async () => {
      sp = await addSp('slo-sp.example');
      postOnly = await addSp('slo-post-sp.example', { bindings: ['post'] });
      transient = await addSp('slo-transient-sp.example', { nameIdFormat: 'transient' });
    });

    it('over HTTP-Redirect ends the session, and node-saml accepts the signed LogoutResponse at the ResponseLocation', async () => {
      const username = await newUser();
      const browser = new Browser();
      const profile = await samlLogIn(browser, sp, username);
      expect(profile.sessionIndex).to.be.a('string');
      expect(await samlAsksForPassword(browser, sp)).to.equal(false);

      const logoutUrl = await sp.saml.getLogoutUrlAsync(profile, 'relay-out', {});
      const requestId = /ID="([^"]+)"/.exec(inflateRawSync(Buffer.from(new URL(logoutUrl).searchParams.get('SAMLRequest') as string, 'base64')).toString('utf8'))?.[1];
      const { response, url: at } = await browser.follow(logoutUrl, { stopAt: sp.sloDone });
      expect(response.status).to.equal(303);
      const { container, xml, validated } = await redirectedResponse(sp, at);
      expect(await validated).to.deep.equal({ profile: null, loggedOut: true });
      expect(container.RelayState).to.equal('relay-out');
      expect(xml).to.include(`InResponseTo="${requestId}"`).and.include(`Destination="${sp.sloDone}"`).and.include(STATUS.success);
      expect(xml).to.not.include('<ds:Signature');

      expect(browser.cookies.has(SSO_SESSION_COOKIE)).to.equal(false);
      expect(await samlAsksForPassword(browser, sp)).to.equal(true);
      expect(await oidcAsksForPassword(browser)).to.equal(true);
      const [event] = await running.idp.storage.audit.list({ type: 'saml.logout' });
      expect(event).to.deep.include({ clientId: `https://${sp.host}/saml` });
      expect(event?.actor).to.match(/^user:/);
    });

    it('over HTTP-POST ends the session once the browser comes back with its cookie, and answers with a signed LogoutResponse posted to the SP', async () => {
      const username = await newUser();
      const browser = new Browser();
      const profile = await samlLogIn(browser, transient, username);
      expect(profile.nameIDFormat).to.equal(NAMEID_FORMAT.transient);

      const request = await transient.saml._generateLogoutRequest(profile);
      // The SP's page posts across sites, where a SameSite=Lax cookie is not sent: no cookies here.
      const crossSite = await fetch(sloUrl(), { method: 'POST', redirect: 'manual', body: new URLSearchParams({ SAMLRequest: signedPost(request, transient.keys), RelayState: 'relay-post' }) });
      expect(crossSite.status).to.equal(303);
      expect(await sessionAlive(browser)).to.equal(true);
      const page = await open(browser, new URL(crossSite.headers.get('location') as string, sloUrl()));
      const fields = posted(page, transient.slo);
      expect(fields.RelayState).to.equal('relay-post');
      expect(await transient.saml.validatePostResponseAsync(fields)).to.deep.equal({ profile: null, loggedOut: true });
      const xml = Buffer.from(fields.SAMLResponse as string, 'base64').toString('utf8');
      expect(xml).to.include(`InResponseTo="${/ID="([^"]+)"/.exec(request)?.[1]}"`).and.include(STATUS.success);

      expect(await sessionAlive(browser)).to.equal(false);
      expect(await samlAsksForPassword(browser, transient)).to.equal(true);
      // The id is used up: the same GET again is refused.
      expect((await browser.fetch(new URL(crossSite.headers.get('location') as string, sloUrl()))).status).to.equal(400);
    });

    it('answers on the other binding when the SP has only that one', async () => {
      const username = await newUser();
      const browser = new Browser();
      const profile = await samlLogIn(browser, postOnly, username);
      const page = await open(browser, await postOnly.saml.getLogoutUrlAsync(profile, 'relay-x', {}));
      const fields = posted(page, postOnly.slo);
      expect(await postOnly.saml.validatePostResponseAsync(fields)).to.deep.include({ loggedOut: true });
      expect(await sessionAlive(browser)).to.equal(false);
    });

    it('ends oidc-provider\'s session too: an OIDC login after it asks for the password', async () => {
      const username = await newUser();
      const browser = new Browser();
      await logIn(oidc, browser, { username, password: PASSWORD });
      const profile = await samlLogIn(browser, sp, username);
      expect(browser.cookies.has('_session')).to.equal(true);
      const { url: at } = await browser.follow(await sp.saml.getLogoutUrlAsync(profile, 'r', {}), { stopAt: sp.sloDone });
      expect(await (await redirectedResponse(sp, at)).validated).to.deep.include({ loggedOut: true });
      expect(browser.cookies.has('_session')).to.equal(false);
      expect(await oidcAsksForPassword(browser)).to.equal(true);
    });

    it('answers Success when the browser has no session any more, and audits it', async () => {
      const username = await newUser();
      const browser = new Browser();
      const profile = await samlLogIn(browser, sp, username);
      const { url: at } = await new Browser().follow(await sp.saml.getLogoutUrlAsync(profile, 'r', {}), { stopAt: sp.sloDone });
      const { xml, validated } = await redirectedResponse(sp, at);
      expect(await validated).to.deep.include({ loggedOut: true });
      expect(xml).to.include(STATUS.success);
      const [event] = await running.idp.storage.audit.list({ type: 'saml.logout' });
      expect(event).to.deep.include({ actor: 'anonymous', clientId: `https://${sp.host}/saml` });
      // Another browser's request ended nothing here.
      expect(await sessionAlive(browser)).to.equal(true);
    });

    it('answers Requester / UnknownPrincipal for a NameID this session did not get, and the session survives', async () => {
      const victim = new Browser();
      await samlLogIn(victim, sp, await newUser());
      const other = await samlLogIn(new Browser(), sp, await newUser());
      const { url: at } = await victim.follow(await sp.saml.getLogoutUrlAsync(other, 'r', {}), { stopAt: sp.sloDone });
      const { xml, validated } = await redirectedResponse(sp, at);
      expect(xml).to.include(STATUS.requester).and.include(STATUS.unknownPrincipal);
      let refused: unknown;
      await validated.catch((error: unknown) => {
        refused = error;
      });
      expect(String(refused)).to.include('Bad status code');
      expect(await sessionAlive(victim)).to.equal(true);
      expect(await samlAsksForPassword(victim, sp)).to.equal(false);
      const [event] = await running.idp.storage.audit.list({ type: 'saml.logout_refused' });
      expect(event?.details).to.include({ reason: 'unknown-principal' });
    });

    it('answers UnknownPrincipal for the NameID given to another SP', async () => {
      const browser = new Browser();
      const username = await newUser();
      await samlLogIn(browser, sp, username);
      const atPostOnly = await samlLogIn(browser, postOnly, username);
      const { url: at } = await browser.follow(await sp.saml.getLogoutUrlAsync(atPostOnly, 'r', {}), { stopAt: sp.sloDone });
      expect((await redirectedResponse(sp, at)).xml).to.include(STATUS.unknownPrincipal);
      expect(await sessionAlive(browser)).to.equal(true);
    });
  });

  describe('refuses hostile requests with an error page and an audit event, and ends nothing', () => {
    let sp: TestSp;
    let browser: Browser;
    let profile: Profile;

    before(async () => {
      sp = await addSp('slo-hostile-sp.example');
      browser = new Browser();
      profile = await samlLogIn(browser, sp, await newUser());
    });

    /** A request (a Redirect URL, or a POST's SAMLRequest) in the logged-in browser is refused with the page, the event, no redirect, and the session alive. */
    async function expectRefused(request: string | { post: string }, reason: string, issuer: string | null = `https://${sp.host}/saml`) {
      const before = (await running.idp.storage.audit.list({ type: 'saml.logout_refused' })).length;
      const response = typeof request === 'string'
        ? await browser.fetch(request)
        : await browser.fetch(sloUrl(), { method: 'POST', body: new URLSearchParams({ SAMLRequest: request.post }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      const html = await response.text();
      expect(response.status, html).to.equal(400);
      expect(response.headers.get('location')).to.equal(null);
      expect(html).to.include('log ud-forespørgsel, som ikke kan modtages');
      expect(html).to.not.include(sp.host);
      const events = await running.idp.storage.audit.list({ type: 'saml.logout_refused' });
      expect(events.length).to.equal(before + 1);
      expect(events[0]?.details).to.include({ reason });
      expect(events[0]?.clientId).to.equal(issuer);
      expect(await sessionAlive(browser), 'the session survives').to.equal(true);
    }

    /** A Redirect request for hand-made XML, unsigned. */
    const redirectFor = (xml: string) => `${sloUrl()}?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}&RelayState=r`;

    it('an unsigned LogoutRequest, though the SP registered no such rule: logout requests must be signed', async () => {
      await expectRefused(await samlAt(sp.host, undefined).getLogoutUrlAsync(profile, 'r', {}), 'signature-required');
      await expectRefused({ post: Buffer.from(await sp.saml._generateLogoutRequest(profile)).toString('base64') }, 'signature-required');
    });

    it('a bad signature: another key\'s, over Redirect and POST', async () => {
      const otherKeys = await makeSpKeys({ commonName: sp.host });
      await expectRefused(await samlAt(sp.host, otherKeys).getLogoutUrlAsync(profile, 'r', {}), 'signature-invalid');
      await expectRefused({ post: signedPost(await sp.saml._generateLogoutRequest(profile), otherKeys) }, 'signature-invalid');
    });

    it('a wrapped signature: the signed request moved inside a root that names another principal', async () => {
      const signed = Buffer.from(signedPost(await sp.saml._generateLogoutRequest(profile), sp.keys), 'base64').toString('utf8').replace(/^<\?xml[^>]*\?>/, '');
      const wrapped = logoutRequest({ issuer: `https://${sp.host}/saml`, nameId: 'someone-else', id: '_evil' })
        .replace('</saml:Issuer>', `</saml:Issuer><samlp:Extensions>${signed}</samlp:Extensions>`);
      await expectRefused({ post: Buffer.from(wrapped).toString('base64') }, 'signature-not-child-of-root');
    });

    it('a replayed request ID', async () => {
      const url = await sp.saml.getLogoutUrlAsync(profile, 'r', {});
      // Another browser without a session uses it first (and is answered Success).
      expect((await new Browser().fetch(url)).status).to.equal(303);
      await expectRefused(url, 'replayed');
    });

    it('a stale IssueInstant, and a Destination that is not ours, though signed', async () => {
      const issuer = `https://${sp.host}/saml`;
      const stale = logoutRequest({ issuer, nameId: profile.nameID, issueInstant: new Date(clock.now() - 10 * 60_000).toISOString() });
      await expectRefused({ post: signedPost(stale, sp.keys) }, 'stale');
      const elsewhere = logoutRequest({ issuer, nameId: profile.nameID, destination: 'https://other-idp.example/saml/slo' });
      await expectRefused({ post: signedPost(elsewhere, sp.keys) }, 'destination');
    });

    it('an unknown SP', async () => {
      await expectRefused(await samlAt('unknown-sp.example', sp.keys).getLogoutUrlAsync(profile, 'r', {}), 'unknown-sp', 'https://unknown-sp.example/saml');
    });

    it('a DOCTYPE', async () => {
      const xml = logoutRequest({ issuer: `https://${sp.host}/saml`, nameId: profile.nameID, prolog: '<!DOCTYPE x [<!ENTITY e "boom">]>' });
      await expectRefused(redirectFor(xml), 'xml-doctype', null);
    });

    it('a LogoutResponse, or an AuthnRequest, sent to the SingleLogoutService', async () => {
      await expectRefused(`${sloUrl()}?SAMLResponse=${encodeURIComponent(deflateRawSync(Buffer.from('<x/>')).toString('base64'))}`, 'unexpected-response', null);
      const authnRequest = await sp.saml.getAuthorizeUrlAsync('r', undefined, {});
      await expectRefused(`${sloUrl()}?${authnRequest.slice(authnRequest.indexOf('?') + 1)}`, 'not-logout-request', null);
    });

    it('a posted logout that is not, or no longer, waiting', async () => {
      const response = await browser.fetch(`${sloUrl()}/${'A'.repeat(22)}`);
      expect(response.status).to.equal(400);
      expect(response.headers.get('location')).to.equal(null);
      expect(await sessionAlive(browser)).to.equal(true);
    });
  });

  it('an OIDC logout at /session/end ends the SSO session for SAML too', async () => {
    const sp = await addSp('slo-after-oidc.example');
    const username = await newUser();
    const browser = new Browser();
    const { tokens } = await logIn(oidc, browser, { username, password: PASSWORD });
    await samlLogIn(browser, sp, username);
    expect(await samlAsksForPassword(browser, sp)).to.equal(false);

    const logoutUrl = client.buildEndSessionUrl(oidc, { id_token_hint: tokens.id_token as string, post_logout_redirect_uri: POST_LOGOUT_URI });
    const confirm = await open(browser, logoutUrl);
    const form = readForm(confirm.html, confirm.url);
    await browser.submit(form.action, { ...form.fields, logout: 'yes' }, { stopAt: POST_LOGOUT_URI });
    expect(await samlAsksForPassword(browser, sp)).to.equal(true);
  });
});
