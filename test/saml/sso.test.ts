import { deflateRawSync } from 'node:zlib';

import { SAML, ValidateInResponseTo, type Profile, type SamlConfig } from '@node-saml/node-saml';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { expect } from 'chai';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { DEFAULT_ATTRIBUTES, OIOSAML_ATTRIBUTES } from '../../src/saml/attributes.ts';
import { parseSpMetadata } from '../../src/saml/sp-metadata.ts';
import type { NewServiceProvider } from '../../src/store/service-providers.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { TestClock, codeAt, factorsOn, makeCodeViewer } from '../helpers/totp.ts';
import { discover, logIn, registerClient } from '../oidc/login-flow.ts';

const PASSWORD = 'Forår-i-Esbjerg-2026';
const SP_ENTITY_ID = 'https://sp.example/saml';
const ACS = 'https://sp.example/saml/acs';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';

describe('SAML SSO at /saml/sso, with @node-saml/node-saml as the SP', function () {
  let backing: Backing;
  let running: RunningIdp;
  let idpCert: string;
  // Near the wall clock: node-saml stamps its requests and checks our conditions with it.
  const clock = new TestClock(Date.now());

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing, { now: clock.now });
    const metadata = await (await fetch(`${running.url}/saml/metadata`)).text();
    const root = new DOMParser().parseFromString(metadata, 'text/xml').documentElement as unknown as Element;
    const descriptor = root.getElementsByTagNameNS(MD, 'KeyDescriptor')[0] as Element;
    idpCert = `-----BEGIN CERTIFICATE-----\n${descriptor.getElementsByTagNameNS(DS, 'X509Certificate')[0]?.textContent}\n-----END CERTIFICATE-----\n`;
    await register(sp(), { attributes: [...DEFAULT_ATTRIBUTES] });
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  /** The SP: unsigned requests, persistent NameIDs, checking our signature, audience and InResponseTo. */
  function sp(config: Partial<SamlConfig> = {}): SAML {
    return new SAML({
      issuer: SP_ENTITY_ID,
      callbackUrl: ACS,
      entryPoint: `${running.url}/saml/sso`,
      idpCert,
      audience: SP_ENTITY_ID,
      identifierFormat: PERSISTENT,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      validateInResponseTo: ValidateInResponseTo.always,
      // The IdP's test clock runs a little ahead of the wall clock.
      acceptedClockSkewMs: 5 * 60_000,
      authnContext: [ACR_VALUES.low],
      racComparison: 'minimum',
      ...config,
    });
  }

  /** Registers an SP from node-saml's metadata, as `stepup sp add` does. */
  async function register(saml: SAML, options: Partial<NewServiceProvider> = {}) {
    const metadataXml = saml.generateServiceProviderMetadata(null, null);
    const parsed = parseSpMetadata({ xml: metadataXml, now: new Date() });
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    await running.idp.storage.serviceProviders.add({
      metadataXml,
      metadata: parsed.sp,
      level: 'low',
      nameIdFormat: 'persistent',
      attributes: [...DEFAULT_ATTRIBUTES],
      signResponse: false,
      requireSignedRequests: false,
      ...options,
    });
  }

  /** Follows an SP's Redirect request to the first page the user sees. */
  async function start(browser: Browser, saml: SAML, RelayState = 'relay-1') {
    const url = await saml.getAuthorizeUrlAsync(RelayState, undefined, {});
    const { response, url: pageUrl } = await browser.follow(url);
    return { response, url: pageUrl, html: await response.text() };
  }

  async function submit(browser: Browser, page: { html: string; url: string }, fields: Record<string, string>, index = 0) {
    const form = readForm(page.html, page.url, index);
    const { response, url } = await browser.submit(form.action, { ...form.fields, ...fields });
    return { response, url, html: await response.text() };
  }

  /** The auto-posting page: the form goes to the ACS with the Response and RelayState. */
  function postedResponse(page: { html: string; url: string; response: Response }) {
    expect(page.response.status, page.html).to.equal(200);
    const form = readForm(page.html, page.url);
    expect(form.action).to.equal(ACS);
    expect(page.html).to.match(/<script src="[^"]*\/assets\/saml-post\.js" defer><\/script>/);
    expect(page.response.headers.get('content-security-policy')).to.include(`form-action 'self' https://sp.example`);
    return form.fields as { SAMLResponse: string; RelayState?: string };
  }

  const classRef = (profile: Profile) => /<(?:\w+:)?AuthnContextClassRef>([^<]*)</.exec(profile.getAssertionXml?.() ?? '')?.[1];

  async function userWithCodeViewer(username: string) {
    const user = await addUser(running.idp, { username, password: PASSWORD, name: 'Signe Holm', email: `${username}@viborg.dk` });
    const viewer = makeCodeViewer();
    await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
    const bound = await factorsOn(running.idp.storage, clock.now).bindCodeViewer({ userId: user.id, serial: viewer.serial, name: 'Kodeviser', code: codeAt(viewer, clock.step()), context: { actor: 'test' } });
    expect(bound.ok).to.equal(true);
    clock.advance(30);
    return { user, viewer };
  }

  it('logs in with the password at Low; node-saml accepts the signed Response and reads NameID, level and attributes', async () => {
    const user = await addUser(running.idp, { username: 'anna', password: PASSWORD, name: 'Anna Berg', email: 'anna@viborg.dk' });
    const saml = sp();
    const browser = new Browser();
    const login = await start(browser, saml);
    expect(login.html).to.match(/autocomplete="current-password"/);
    expect(login.url).to.match(/\/interaction\/[\w-]+$/);
    const fields = postedResponse(await submit(browser, login, { username: 'anna', password: PASSWORD }));
    expect(fields.RelayState).to.equal('relay-1');

    const { profile } = await saml.validatePostResponseAsync(fields);
    expect(profile).to.not.equal(null);
    const p = profile as Profile;
    expect(p.nameIDFormat).to.equal(PERSISTENT);
    expect(p.nameID).to.match(/^[\w-]{43}$/);
    expect(p.nameID).to.not.include(user.id);
    expect(classRef(p)).to.equal(ACR_VALUES.low);
    expect(p[OIOSAML_ATTRIBUTES.specVersion]).to.equal('OIO-SAML-3.0');
    expect(p[OIOSAML_ATTRIBUTES.loa]).to.equal(ACR_VALUES.low);
    expect(p[OIOSAML_ATTRIBUTES.email]).to.equal('anna@viborg.dk');
    expect(p[OIOSAML_ATTRIBUTES.fullName]).to.equal('Anna Berg');
    expect(p[OIOSAML_ATTRIBUTES.professionalUuid]).to.equal(user.id);

    // The same user again (SSO, no page): the same persistent NameID.
    const again = postedResponse(await start(browser, saml, 'relay-2'));
    const second = (await saml.validatePostResponseAsync(again)).profile as Profile;
    expect(second.nameID).to.equal(p.nameID);
  });

  it('asks a Substantial request for password and code, and says Substantial', async () => {
    const { viewer } = await userWithCodeViewer('signe');
    const saml = sp({ authnContext: [ACR_VALUES.substantial] });
    const browser = new Browser();
    const login = await start(browser, saml);
    const codePage = await submit(browser, login, { username: 'signe', password: PASSWORD });
    expect(codePage.html).to.match(/autocomplete="one-time-code"/);
    const done = await submit(browser, codePage, { code: codeAt(viewer, clock.step()) });
    const profile = (await saml.validatePostResponseAsync(postedResponse(done))).profile as Profile;
    expect(classRef(profile)).to.equal(ACR_VALUES.substantial);
    expect(profile[OIOSAML_ATTRIBUTES.loa]).to.equal(ACR_VALUES.substantial);
  });

  it('gives SSO after an OIDC login: no password asked', async () => {
    await addUser(running.idp, { username: 'oskar', password: PASSWORD });
    await registerClient(running.idp, 'sso-rp');
    const config = await discover(running.issuer, 'sso-rp');
    const browser = new Browser();
    await logIn(config, browser, { username: 'oskar', password: PASSWORD });

    const saml = sp();
    const page = await start(browser, saml);
    expect(page.html).to.not.match(/autocomplete="current-password"/);
    const profile = (await saml.validatePostResponseAsync(postedResponse(page))).profile as Profile;
    expect(classRef(profile)).to.equal(ACR_VALUES.low);
  });

  it('answers a cancelled login with Responder / AuthnFailed at the ACS', async () => {
    const saml = sp();
    const browser = new Browser();
    const login = await start(browser, saml);
    const cancelIndex = [...login.html.matchAll(/<form\b/g)].length - 1;
    const fields = postedResponse(await submit(browser, login, {}, cancelIndex));
    const xml = Buffer.from(fields.SAMLResponse, 'base64').toString('utf8');
    expect(xml).to.include('urn:oasis:names:tc:SAML:2.0:status:Responder');
    expect(xml).to.include('urn:oasis:names:tc:SAML:2.0:status:AuthnFailed');
    let refused: unknown;
    await saml.validatePostResponseAsync(fields).catch((error: unknown) => {
      refused = error;
    });
    expect(String(refused)).to.include('AuthnFailed');
  });

  describe('refuses hostile requests with an error page and an audit event, and nothing else', () => {
    /** A Redirect request for hand-made XML. */
    const redirectFor = (xml: string) => `${running.url}/saml/sso?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}&RelayState=r`;
    const authnRequest = (options: { id?: string; issueInstant?: string; issuer?: string; prolog?: string } = {}) =>
      `${options.prolog ?? ''}<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${options.id ?? `_${Math.random().toString(16).slice(2)}`}" Version="2.0" IssueInstant="${options.issueInstant ?? new Date(clock.now()).toISOString()}" AssertionConsumerServiceURL="${ACS}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>${options.issuer ?? SP_ENTITY_ID}</saml:Issuer></samlp:AuthnRequest>`;

    async function expectRefused(url: string, reason: string) {
      const before = (await running.idp.storage.audit.list({ type: 'saml.request_refused' })).length;
      const response = await new Browser().fetch(url);
      const html = await response.text();
      expect(response.status, html).to.equal(400);
      expect(response.headers.get('location')).to.equal(null);
      expect(html).to.include('login-forespørgsel, som ikke kan modtages');
      expect(html).to.not.include('sp.example');
      const events = await running.idp.storage.audit.list({ type: 'saml.request_refused' });
      expect(events.length).to.equal(before + 1);
      expect(events[0]?.details).to.include({ reason });
    }

    it('an unknown SP', async () => {
      await expectRefused(await sp({ issuer: 'https://unknown.example/saml' }).getAuthorizeUrlAsync('r', undefined, {}), 'unknown-sp');
    });

    it('an ACS that is not in the metadata', async () => {
      await expectRefused(await sp({ callbackUrl: 'https://evil.example/acs' }).getAuthorizeUrlAsync('r', undefined, {}), 'acs-not-registered');
    });

    it('a replayed request ID', async () => {
      const url = await sp().getAuthorizeUrlAsync('r', undefined, {});
      const first = await new Browser().fetch(url);
      expect(first.status).to.equal(303);
      await expectRefused(url, 'replayed');
    });

    it('a stale IssueInstant', async () => {
      await expectRefused(redirectFor(authnRequest({ issueInstant: new Date(clock.now() - 10 * 60_000).toISOString() })), 'stale');
    });

    it('a DOCTYPE', async () => {
      await expectRefused(redirectFor(authnRequest({ prolog: '<!DOCTYPE x [<!ENTITY e "boom">]>' })), 'xml-doctype');
    });

    it('garbage base64', async () => {
      await expectRefused(`${running.url}/saml/sso?SAMLRequest=not*base64!`, 'decode-base64');
    });
  });
});
