import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';

import { SAML, ValidateInResponseTo, type Profile, type SamlConfig } from '@node-saml/node-saml';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { expect } from 'chai';
import * as client from 'openid-client';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { DEFAULT_ATTRIBUTES, OIOSAML_ATTRIBUTES } from '../../src/saml/attributes.ts';
import { parseSpMetadata } from '../../src/saml/sp-metadata.ts';
import type { NewServiceProvider } from '../../src/store/service-providers.ts';
import { makeSpKeys, type SpKeys } from '../fixtures/saml/sp-keys.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { TestClock, codeAt, factorsOn, makeCodeViewer } from '../helpers/totp.ts';
import { authorizationRequest, discover, logIn, REDIRECT_URI, registerClient } from '../oidc/login-flow.ts';

const PASSWORD = 'Forår-i-Esbjerg-2026';
const SP_ENTITY_ID = 'https://sp.example/saml';
const ACS = 'https://sp.example/saml/acs';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const run = promisify(execFile);

describe('SAML SSO at /saml/sso, with @node-saml/node-saml as the SP', function () {
  let backing: Backing;
  let running: RunningIdp;
  let idpCert: string;
  // Near the wall clock: node-saml stamps its requests and checks our conditions with it. Made
  // when the suite starts, not when the file loads: in a full run that is minutes apart.
  let clock: TestClock;

  before(async () => {
    clock = new TestClock(Date.now());
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

  /** An SP at another host (its own entityID and ACS), e.g. one that signs its requests. */
  const spAt = (host: string, config: Partial<SamlConfig> = {}) => sp({
    issuer: `https://${host}/saml`,
    audience: `https://${host}/saml`,
    callbackUrl: `https://${host}/saml/acs`,
    // node-saml signs with SHA-1 unless told; we accept SHA-256 or stronger only.
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    ...config,
  });

  /**
   * Registers an SP from node-saml's metadata, as `stepup sp add` does; `edit` changes the
   * metadata first (to leave something out, say).
   */
  async function register(saml: SAML, options: Partial<NewServiceProvider> = {}, certs: { signing?: string; decryption?: string; edit?: (xml: string) => string } = {}) {
    const { signing = null, decryption = null, edit = (xml: string) => xml } = certs;
    const metadataXml = edit(saml.generateServiceProviderMetadata(decryption, signing));
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
  function postedResponse(page: { html: string; url: string; response: Response }, acs = ACS) {
    expect(page.response.status, page.html).to.equal(200);
    const form = readForm(page.html, page.url);
    expect(form.action).to.equal(acs);
    expect(page.html).to.match(/<script src="[^"]*\/assets\/saml-post\.js" defer><\/script>/);
    expect(page.response.headers.get('content-security-policy')).to.include(`form-action 'self' ${new URL(acs).origin}`);
    return form.fields as { SAMLResponse: string; RelayState?: string };
  }

  /** A request (a Redirect URL, or a POST's SAMLRequest) is refused with the page, the event, and no redirect. */
  async function expectRefused(request: string | { post: string }, reason: string) {
    const before = (await running.idp.storage.audit.list({ type: 'saml.request_refused' })).length;
    const response = typeof request === 'string'
      ? await new Browser().fetch(request)
      : await new Browser().fetch(`${running.url}/saml/sso`, { method: 'POST', body: new URLSearchParams({ SAMLRequest: request.post }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const html = await response.text();
    expect(response.status, html).to.equal(400);
    expect(response.headers.get('location')).to.equal(null);
    expect(html).to.include('login-forespørgsel, som ikke kan modtages');
    expect(html).to.not.include('sp.example');
    const events = await running.idp.storage.audit.list({ type: 'saml.request_refused' });
    expect(events.length).to.equal(before + 1);
    expect(events[0]?.details).to.include({ reason });
  }

  const classRef = (profile: Profile) => /<(?:\w+:)?AuthnContextClassRef>([^<]*)</.exec(profile.getAssertionXml?.() ?? '')?.[1];

  async function userWithCodeViewer(username: string) {
    const user = await addUser(running.idp, { username, password: PASSWORD, name: 'Signe Holm', email: `${username}@viborg.dk` });
    const viewer = makeCodeViewer();
    await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
    // Bound with the previous step's code (inside the drift window), so the login's code is a
    // later step, not a replay, and the IdP's clock stays near node-saml's wall clock.
    const bound = await factorsOn(running.idp.storage, clock.now).bindCodeViewer({ userId: user.id, serial: viewer.serial, name: 'Kodeviser', code: codeAt(viewer, clock.step() - 1), context: { actor: 'test' } });
    expect(bound.ok).to.equal(true);
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

  it('asks for the password again on ForceAuthn, though the session has one', async () => {
    await addUser(running.idp, { username: 'frida', password: PASSWORD });
    const browser = new Browser();
    const login = await start(browser, sp());
    postedResponse(await submit(browser, login, { username: 'frida', password: PASSWORD }));
    const forced = await start(browser, sp({ forceAuthn: true }));
    expect(forced.html).to.match(/autocomplete="current-password"/);
  });

  it('answers a user without a second factor for Substantial with Responder / NoAuthnContext', async () => {
    await addUser(running.idp, { username: 'nils', password: PASSWORD });
    const browser = new Browser();
    const login = await start(browser, sp({ authnContext: [ACR_VALUES.substantial] }));
    const noFactor = await submit(browser, login, { username: 'nils', password: PASSWORD });
    expect(noFactor.html).to.include('selfservice');
    const cancelIndex = [...noFactor.html.matchAll(/<form\b/g)].length - 1;
    const fields = postedResponse(await submit(browser, noFactor, {}, cancelIndex));
    const xml = Buffer.from(fields.SAMLResponse, 'base64').toString('utf8');
    expect(xml).to.include('urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext');
  });

  it('signs the Response too for an SP registered with --sign-response; node-saml and xmlsec1 verify it', async () => {
    const host = 'signed-response.example';
    const saml = spAt(host, { wantAuthnResponseSigned: true });
    await register(saml, { signResponse: true });
    await addUser(running.idp, { username: 'rasmus', password: PASSWORD });
    const browser = new Browser();
    const login = await start(browser, saml);
    const fields = postedResponse(await submit(browser, login, { username: 'rasmus', password: PASSWORD }), `https://${host}/saml/acs`);
    const profile = (await saml.validatePostResponseAsync(fields)).profile as Profile;
    expect(profile.nameID).to.match(/^[\w-]{43}$/);

    const xml = Buffer.from(fields.SAMLResponse, 'base64').toString('utf8');
    try {
      await run('xmlsec1', ['--version']);
    } catch {
      if (process.env.STEPUP_REQUIRE_SERVICES === '1') throw new Error('STEPUP_REQUIRE_SERVICES=1 but xmlsec1 is not installed');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'stepup-response-'));
    try {
      await writeFile(join(dir, 'cert.pem'), idpCert);
      await writeFile(join(dir, 'response.xml'), xml);
      // xmlsec1 checks the first Signature it meets: the Response's, which covers the signed assertion.
      await run('xmlsec1', ['--verify', '--pubkey-cert-pem', join(dir, 'cert.pem'), '--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:protocol:Response', '--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion', join(dir, 'response.xml')]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  /** The second-level status of a Response posted as `fields`. */
  const subStatus = (fields: { SAMLResponse: string }) =>
    /<samlp:StatusCode Value="[^"]+"><samlp:StatusCode Value="([^"]+)"/.exec(Buffer.from(fields.SAMLResponse, 'base64').toString('utf8'))?.[1];

  describe('answers at the ACS with the status the request earns', () => {
    it('IsPassive: NoPassive when a login would be needed, the assertion when the session suffices', async () => {
      await addUser(running.idp, { username: 'pia', password: PASSWORD });
      const browser = new Browser();
      const refused = await start(browser, sp({ passive: true }));
      expect(refused.html).to.not.match(/autocomplete="current-password"/);
      expect(subStatus(postedResponse(refused))).to.equal('urn:oasis:names:tc:SAML:2.0:status:NoPassive');

      postedResponse(await submit(browser, await start(browser, sp()), { username: 'pia', password: PASSWORD }));
      const saml = sp({ passive: true });
      const profile = (await saml.validatePostResponseAsync(postedResponse(await start(browser, saml)))).profile as Profile;
      expect(classRef(profile)).to.equal(ACR_VALUES.low);
    });

    it('IsPassive at Substantial over a password-only session: NoPassive, no code page', async () => {
      const { user } = await userWithCodeViewer('palle');
      const browser = new Browser();
      postedResponse(await submit(browser, await start(browser, sp()), { username: user.username, password: PASSWORD }));
      const page = await start(browser, sp({ passive: true, authnContext: [ACR_VALUES.substantial] }));
      expect(subStatus(postedResponse(page))).to.equal('urn:oasis:names:tc:SAML:2.0:status:NoPassive');
    });

    it('better than Substantial: NoAuthnContext at once, without a page; the refusal is audited', async () => {
      const page = await start(new Browser(), sp({ authnContext: [ACR_VALUES.substantial], racComparison: 'better' }));
      expect(subStatus(postedResponse(page))).to.equal('urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext');
      const [event] = await running.idp.storage.audit.list({ type: 'saml.error_response_sent' });
      expect(event?.details).to.include({ status: 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext' });
    });

    it('exact Low over a Substantial session: says Low, the one level the SP accepts', async () => {
      const { user, viewer } = await userWithCodeViewer('esther');
      const browser = new Browser();
      const login = await start(browser, sp({ authnContext: [ACR_VALUES.substantial] }));
      const codePage = await submit(browser, login, { username: user.username, password: PASSWORD });
      postedResponse(await submit(browser, codePage, { code: codeAt(viewer, clock.step()) }));
      const saml = sp({ authnContext: [ACR_VALUES.low], racComparison: 'exact' });
      const profile = (await saml.validatePostResponseAsync(postedResponse(await start(browser, saml)))).profile as Profile;
      expect(classRef(profile)).to.equal(ACR_VALUES.low);
      expect(profile[OIOSAML_ATTRIBUTES.loa]).to.equal(ACR_VALUES.low);
    });

    it('an email NameID for a user without an email: RequestDenied, not a server error', async () => {
      const host = 'email-sp.example';
      const saml = spAt(host, { identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' });
      await register(saml, { nameIdFormat: 'email' });
      await addUser(running.idp, { username: 'uden-mail', password: PASSWORD });
      const browser = new Browser();
      const page = await submit(browser, await start(browser, saml), { username: 'uden-mail', password: PASSWORD });
      expect(subStatus(postedResponse(page, `https://${host}/saml/acs`))).to.equal('urn:oasis:names:tc:SAML:2.0:status:RequestDenied');
    });
  });

  describe('one SSO session for both protocols', () => {
    it('SAML at Low, then SAML at Substantial: only the code is asked', async () => {
      const { user, viewer } = await userWithCodeViewer('lene');
      const browser = new Browser();
      postedResponse(await submit(browser, await start(browser, sp()), { username: user.username, password: PASSWORD }));
      const saml = sp({ authnContext: [ACR_VALUES.substantial] });
      const codePage = await start(browser, saml);
      expect(codePage.html).to.not.match(/autocomplete="current-password"/);
      expect(codePage.html).to.match(/autocomplete="one-time-code"/);
      const done = await submit(browser, codePage, { code: codeAt(viewer, clock.step()) });
      expect(classRef((await saml.validatePostResponseAsync(postedResponse(done))).profile as Profile)).to.equal(ACR_VALUES.substantial);
    });

    it('SAML at Substantial, then OIDC at Substantial: no page at all, and the ID token says Substantial', async () => {
      const { user, viewer } = await userWithCodeViewer('mads');
      const browser = new Browser();
      const codePage = await submit(browser, await start(browser, sp({ authnContext: [ACR_VALUES.substantial] })), { username: user.username, password: PASSWORD });
      postedResponse(await submit(browser, codePage, { code: codeAt(viewer, clock.step()) }));

      await registerClient(running.idp, 'after-saml-rp');
      const config = await discover(running.issuer, 'after-saml-rp');
      const request = await authorizationRequest(config, { acr_values: ACR_VALUES.substantial });
      const { url: callback } = await browser.follow(request.url, { stopAt: REDIRECT_URI });
      expect(callback).to.match(/^http:\/\/127\.0\.0\.1:9\/cb\?code=/);
      const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: request.codeVerifier, expectedState: request.state });
      expect(tokens.claims()?.acr).to.equal(ACR_VALUES.substantial);
    });

    it('OIDC at Low, then SAML at Substantial: only the code is asked', async () => {
      const { user, viewer } = await userWithCodeViewer('nora');
      await registerClient(running.idp, 'before-saml-rp');
      const browser = new Browser();
      await logIn(await discover(running.issuer, 'before-saml-rp'), browser, { username: user.username, password: PASSWORD });
      const saml = sp({ authnContext: [ACR_VALUES.substantial] });
      const codePage = await start(browser, saml);
      expect(codePage.html).to.not.match(/autocomplete="current-password"/);
      const done = await submit(browser, codePage, { code: codeAt(viewer, clock.step()) });
      expect(classRef((await saml.validatePostResponseAsync(postedResponse(done))).profile as Profile)).to.equal(ACR_VALUES.substantial);
    });
  });

  describe('an SP whose metadata has an encryption certificate', () => {
    /** Logs `username` in at an SP that decrypts with its own key; the Response as posted, and what node-saml made of it. */
    async function logInEncrypted(host: string, username: string, options: Partial<NewServiceProvider>, edit?: (xml: string) => string) {
      const keys = await makeSpKeys({ commonName: host });
      const saml = spAt(host, { decryptionPvk: keys.privateKey, wantAuthnResponseSigned: options.signResponse ?? false });
      await register(saml, options, { decryption: keys.certificatePem, ...(edit ? { edit } : {}) });
      await addUser(running.idp, { username, password: PASSWORD, name: 'Ida Krogh', email: `${username}@viborg.dk` });
      const browser = new Browser();
      const login = await start(browser, saml);
      const fields = postedResponse(await submit(browser, login, { username, password: PASSWORD }), `https://${host}/saml/acs`);
      const xml = Buffer.from(fields.SAMLResponse, 'base64').toString('utf8');
      const profile = (await saml.validatePostResponseAsync(fields)).profile as Profile;
      return { xml, profile };
    }

    const algorithmOf = (xml: string) => /<xenc:EncryptionMethod Algorithm="([^"]+)"/.exec(xml)?.[1];

    it('encrypts the assertion with AES-256-GCM, which node-saml lists, and node-saml opens and verifies it', async () => {
      const { xml, profile } = await logInEncrypted('encrypting-sp.example', 'ida', {});
      expect(xml).to.include('EncryptedAssertion');
      expect(xml).to.not.match(/<saml:Assertion\b/);
      expect(xml).to.not.include('ida@viborg.dk');
      expect(algorithmOf(xml)).to.equal('http://www.w3.org/2009/xmlenc11#aes256-gcm');
      expect(xml).to.include('http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p');
      expect(profile[OIOSAML_ATTRIBUTES.email]).to.equal('ida@viborg.dk');
      expect(classRef(profile)).to.equal(ACR_VALUES.low);
    });

    it('falls back to AES-256-CBC for an SP that lists no EncryptionMethod, and signs the Response over the encrypted assertion', async () => {
      const { xml, profile } = await logInEncrypted('cbc-sp.example', 'ib', { signResponse: true }, (metadata) => metadata.replace(/<EncryptionMethod [^>]*\/>/g, ''));
      expect(algorithmOf(xml)).to.equal('http://www.w3.org/2001/04/xmlenc#aes256-cbc');
      expect(xml.indexOf('<ds:Signature')).to.be.lessThan(xml.indexOf('EncryptedAssertion'));
      expect(profile.nameID).to.match(/^[\w-]{43}$/);
      expect(profile[OIOSAML_ATTRIBUTES.email]).to.equal('ib@viborg.dk');
    });
  });

  it('takes an unsigned request over HTTP-POST', async () => {
    await addUser(running.idp, { username: 'petra', password: PASSWORD });
    const saml = sp({ authnRequestBinding: 'HTTP-POST', skipRequestCompression: true });
    const message = await saml.getAuthorizeMessageAsync('relay-post', undefined, {});
    const browser = new Browser();
    const { response, url } = await browser.submit(`${running.url}/saml/sso`, { SAMLRequest: String(message.SAMLRequest), RelayState: 'relay-post' });
    const login = { response, url, html: await response.text() };
    expect(login.html).to.match(/autocomplete="current-password"/);
    const fields = postedResponse(await submit(browser, login, { username: 'petra', password: PASSWORD }));
    expect(fields.RelayState).to.equal('relay-post');
    expect(((await saml.validatePostResponseAsync(fields)).profile as Profile).nameID).to.be.a('string');
  });

  describe('an SP whose metadata says AuthnRequestsSigned', () => {
    const host = 'signing-sp.example';
    let keys: SpKeys;
    let otherKeys: SpKeys;

    before(async () => {
      keys = await makeSpKeys({ commonName: host });
      otherKeys = await makeSpKeys({ commonName: host });
      await register(spAt(host, { privateKey: keys.privateKey }), {}, { signing: keys.certificatePem });
      await addUser(running.idp, { username: 'svend', password: PASSWORD });
    });

    it('is served for a signed Redirect request', async () => {
      const saml = spAt(host, { privateKey: keys.privateKey });
      const login = await start(new Browser(), saml);
      expect(login.html).to.match(/autocomplete="current-password"/);
    });

    it('is served for a signed POST request', async () => {
      const saml = spAt(host, { privateKey: keys.privateKey, authnRequestBinding: 'HTTP-POST', skipRequestCompression: true });
      const message = await saml.getAuthorizeMessageAsync('r', undefined, {});
      const { response } = await new Browser().submit(`${running.url}/saml/sso`, { SAMLRequest: String(message.SAMLRequest) });
      expect(await response.text()).to.match(/autocomplete="current-password"/);
    });

    it('refuses its unsigned request, one signed with another key, and a wrapped one', async () => {
      await expectRefused(await spAt(host).getAuthorizeUrlAsync('r', undefined, {}), 'signature-required');
      await expectRefused(await spAt(host, { privateKey: otherKeys.privateKey }).getAuthorizeUrlAsync('r', undefined, {}), 'signature-invalid');

      // The signed request moved into a new root that names another ACS (signature wrapping).
      const saml = spAt(host, { privateKey: keys.privateKey, authnRequestBinding: 'HTTP-POST', skipRequestCompression: true });
      const signed = Buffer.from(String((await saml.getAuthorizeMessageAsync('r', undefined, {})).SAMLRequest), 'base64').toString('utf8').replace(/^<\?xml[^>]*\?>/, '');
      const wrapped = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_evil" Version="2.0" IssueInstant="${new Date(clock.now()).toISOString()}" AssertionConsumerServiceURL="https://evil.example/acs"><saml:Issuer>https://${host}/saml</saml:Issuer><samlp:Extensions>${signed}</samlp:Extensions></samlp:AuthnRequest>`;
      await expectRefused({ post: Buffer.from(wrapped).toString('base64') }, 'signature-not-child-of-root');
    });
  });

  describe('refuses hostile requests with an error page and an audit event, and nothing else', () => {
    /** A Redirect request for hand-made XML. */
    const redirectFor = (xml: string) => `${running.url}/saml/sso?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}&RelayState=r`;
    const authnRequest = (options: { id?: string; issueInstant?: string; issuer?: string; prolog?: string; destination?: string } = {}) =>
      `${options.prolog ?? ''}<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${options.id ?? `_${Math.random().toString(16).slice(2)}`}" Version="2.0" IssueInstant="${options.issueInstant ?? new Date(clock.now()).toISOString()}"${options.destination ? ` Destination="${options.destination}"` : ''} AssertionConsumerServiceURL="${ACS}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>${options.issuer ?? SP_ENTITY_ID}</saml:Issuer></samlp:AuthnRequest>`;


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

    it('a request addressed to another endpoint (Destination)', async () => {
      await expectRefused(redirectFor(authnRequest({ destination: 'https://other-idp.example/saml/sso' })), 'destination');
    });

    it('a DOCTYPE', async () => {
      await expectRefused(redirectFor(authnRequest({ prolog: '<!DOCTYPE x [<!ENTITY e "boom">]>' })), 'xml-doctype');
    });

    it('a deflate bomb: 8 MiB of XML in a few KiB of query, stopped at 64 KiB', async () => {
      const bomb = deflateRawSync(Buffer.from(authnRequest({ prolog: `<?xml version="1.0"?>${' '.repeat(8 * 1024 * 1024)}` })));
      expect(bomb.length).to.be.lessThan(12 * 1024);
      await expectRefused(`${running.url}/saml/sso?SAMLRequest=${encodeURIComponent(bomb.toString('base64'))}`, 'decode-too-large');
    });

    it('an oversized POST request, audited when it fits the form limit and refused by size beyond it', async () => {
      const oversized = authnRequest({ prolog: `<?xml version="1.0"?>${' '.repeat(65 * 1024)}` });
      await expectRefused({ post: Buffer.from(oversized).toString('base64') }, 'decode-too-large');
      const huge = Buffer.from(' '.repeat(200 * 1024)).toString('base64');
      const response = await new Browser().fetch(`${running.url}/saml/sso`, { method: 'POST', body: new URLSearchParams({ SAMLRequest: huge }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(response.status).to.equal(413);
      expect(response.headers.get('location')).to.equal(null);
    });

    it('garbage base64', async () => {
      await expectRefused(`${running.url}/saml/sso?SAMLRequest=not*base64!`, 'decode-base64');
    });
  });
});
