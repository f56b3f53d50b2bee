import { DOMParser } from '@xmldom/xmldom';
import { expect } from 'chai';

import { ACR_VALUES } from '../auth/levels.ts';
import type { ServiceProviderRecord } from '../store/service-providers.ts';
import { assuranceRequest, checkAuthnRequest, readAuthnRequest, statedLevel, type AuthnRequest, type Comparison } from './authn-request.ts';
import { HTTP_POST } from './sp-metadata.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');

const sp = (overrides: Partial<ServiceProviderRecord> = {}): ServiceProviderRecord => ({
  entityId: 'https://sp.example/saml',
  metadataXml: '',
  metadata: {
    entityId: 'https://sp.example/saml',
    authnRequestsSigned: false,
    wantAssertionsSigned: true,
    signingCertificates: [],
    encryptionCertificates: [],
    encryptionMethods: [],
    assertionConsumerServices: [
      { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact', location: 'https://sp.example/artifact', index: 0, isDefault: false },
      { binding: HTTP_POST, location: 'https://sp.example/acs', index: 1, isDefault: false },
      { binding: HTTP_POST, location: 'https://sp.example/acs2', index: 2, isDefault: true },
    ],
    singleLogoutServices: [],
    nameIdFormats: [],
  },
  level: 'low',
  nameIdFormat: 'persistent',
  attributes: [],
  signResponse: false,
  requireSignedRequests: false,
  createdAt: new Date(NOW),
  updatedAt: new Date(NOW),
  ...overrides,
});

const request = (overrides: Partial<AuthnRequest> = {}): AuthnRequest => ({
  ID: '_1',
  IssueInstant: '2026-11-25T12:00:00Z',
  Issuer: 'https://sp.example/saml',
  AssertionConsumerServiceURL: 'https://sp.example/acs',
  AssertionConsumerServiceIndex: undefined,
  ProtocolBinding: HTTP_POST,
  ForceAuthn: false,
  IsPassive: false,
  RequestedAuthnContext: undefined,
  Destination: undefined,
  ...overrides,
});

const SSO_URL = 'https://login.viborg.dk/saml/sso';
const check = (req: AuthnRequest, record: ServiceProviderRecord | undefined = sp()) => checkAuthnRequest({ request: req, sp: record, now: NOW, skewSeconds: 120, destination: SSO_URL });

describe('readAuthnRequest', function () {
  const parse = (xml: string) => readAuthnRequest(new DOMParser().parseFromString(xml, 'text/xml'));
  const SAMLP = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';

  it('reads the root\'s attributes, its own Issuer and RequestedAuthnContext', () => {
    const result = parse(`<samlp:AuthnRequest ${SAMLP} ID="_a" Version="2.0" IssueInstant="2026-11-25T12:00:00Z" Destination="https://login.viborg.dk/saml/sso" ForceAuthn="true" AssertionConsumerServiceIndex="2"><saml:Issuer> https://sp.example/saml </saml:Issuer><samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>${ACR_VALUES.substantial}</saml:AuthnContextClassRef></samlp:RequestedAuthnContext></samlp:AuthnRequest>`);
    expect(result).to.deep.equal({
      ok: true,
      request: {
        ID: '_a', IssueInstant: '2026-11-25T12:00:00Z', Issuer: 'https://sp.example/saml', Destination: 'https://login.viborg.dk/saml/sso', AssertionConsumerServiceURL: undefined,
        AssertionConsumerServiceIndex: 2, ProtocolBinding: undefined, ForceAuthn: true, IsPassive: false,
        RequestedAuthnContext: { Comparison: 'minimum', AuthnContextClassRef: [ACR_VALUES.substantial] },
      },
    });
  });

  it('refuses another root, another version, no ID, and an Issuer that is not the root\'s child', () => {
    expect(parse(`<samlp:LogoutRequest ${SAMLP} ID="_a" Version="2.0"/>`)).to.deep.equal({ ok: false, reason: 'not-authn-request' });
    expect(parse(`<samlp:AuthnRequest ${SAMLP} ID="_a" Version="1.1"/>`)).to.deep.equal({ ok: false, reason: 'version' });
    expect(parse(`<samlp:AuthnRequest ${SAMLP} Version="2.0"/>`)).to.deep.equal({ ok: false, reason: 'missing-id' });
    expect(parse(`<samlp:AuthnRequest ${SAMLP} ID="_a" Version="2.0"><samlp:Extensions><saml:Issuer>x</saml:Issuer></samlp:Extensions></samlp:AuthnRequest>`)).to.deep.equal({ ok: false, reason: 'missing-issuer' });
  });

  it('refuses a Comparison the schema does not have', () => {
    const xml = `<samlp:AuthnRequest ${SAMLP} ID="_a" Version="2.0" IssueInstant="2026-11-25T12:00:00Z"><saml:Issuer>https://sp.example/saml</saml:Issuer><samlp:RequestedAuthnContext Comparison="atleast"><saml:AuthnContextClassRef>${ACR_VALUES.low}</saml:AuthnContextClassRef></samlp:RequestedAuthnContext></samlp:AuthnRequest>`;
    expect(parse(xml)).to.deep.equal({ ok: false, reason: 'authn-context-unsupported' });
  });
});

describe('checkAuthnRequest', function () {
  it('answers at the ACS URL only when the metadata has it for HTTP-POST', () => {
    expect(check(request())).to.deep.equal({ ok: true, acs: 'https://sp.example/acs', assurance: { level: 'low', statable: ['low', 'substantial'] } });
    expect(check(request({ AssertionConsumerServiceURL: 'https://evil.example/acs' }))).to.deep.equal({ ok: false, reason: 'acs-not-registered' });
    expect(check(request({ AssertionConsumerServiceURL: 'https://sp.example/artifact' }))).to.deep.equal({ ok: false, reason: 'acs-not-registered' });
  });

  it('takes the index, else the default endpoint (metadata §2.2.3)', () => {
    expect(check(request({ AssertionConsumerServiceURL: undefined, AssertionConsumerServiceIndex: 1 }))).to.include({ acs: 'https://sp.example/acs' });
    expect(check(request({ AssertionConsumerServiceURL: undefined, AssertionConsumerServiceIndex: 0 }))).to.deep.equal({ ok: false, reason: 'acs-not-registered' });
    expect(check(request({ AssertionConsumerServiceURL: undefined }))).to.include({ acs: 'https://sp.example/acs2' });
  });

  it('refuses an unknown SP, an IssueInstant outside the skew or malformed, and another response binding', () => {
    expect(checkAuthnRequest({ request: request(), sp: undefined, now: NOW, skewSeconds: 120, destination: SSO_URL })).to.deep.equal({ ok: false, reason: 'unknown-sp' });
    expect(check(request({ IssueInstant: '2026-11-25T11:57:59Z' }))).to.deep.equal({ ok: false, reason: 'stale' });
    expect(check(request({ IssueInstant: '2026-11-25T12:02:01Z' }))).to.deep.equal({ ok: false, reason: 'stale' });
    expect(check(request({ IssueInstant: '2026-11-25T11:58:00Z' }))).to.include({ ok: true });
    expect(check(request({ IssueInstant: '2026-11-25 12:00:00' }))).to.deep.equal({ ok: false, reason: 'issue-instant' });
    expect(check(request({ ProtocolBinding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact' }))).to.deep.equal({ ok: false, reason: 'binding-unsupported' });
  });

  it('refuses a request addressed to another endpoint (Destination), and takes one addressed to ours or to none', () => {
    expect(check(request({ Destination: 'https://other-idp.example/saml/sso' }))).to.deep.equal({ ok: false, reason: 'destination' });
    expect(check(request({ Destination: SSO_URL }))).to.include({ ok: true });
    expect(check(request({ Destination: undefined }))).to.include({ ok: true });
  });

  it('needs the higher of the requested level and the SP\'s registered one, and has no level for a request none meets', () => {
    const substantial = { Comparison: 'minimum' as const, AuthnContextClassRef: [ACR_VALUES.substantial] };
    expect(check(request({ RequestedAuthnContext: substantial }))).to.deep.include({ assurance: { level: 'substantial', statable: ['substantial'] } });
    expect(check(request(), sp({ level: 'substantial' }))).to.deep.include({ assurance: { level: 'substantial', statable: ['substantial'] } });
    expect(check(request({ RequestedAuthnContext: { Comparison: 'better', AuthnContextClassRef: [ACR_VALUES.substantial] } }))).to.deep.equal({ ok: true, acs: 'https://sp.example/acs', assurance: undefined });
  });
});

describe('assuranceRequest', function () {
  const context = (Comparison: Comparison, ...levels: Array<keyof typeof ACR_VALUES>) => ({ Comparison, AuthnContextClassRef: levels.map((level) => ACR_VALUES[level]) });

  it('leaves the SP\'s minimum when the request names no NSIS level', () => {
    expect(assuranceRequest(undefined, 'low')).to.deep.equal({ level: 'low', statable: ['low', 'substantial'] });
    expect(assuranceRequest({ Comparison: 'exact', AuthnContextClassRef: ['urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'] }, 'substantial'))
      .to.deep.equal({ level: 'substantial', statable: ['substantial'] });
  });

  it('exact: one of the levels named, the weakest enough', () => {
    expect(assuranceRequest(context('exact', 'low'), 'low')).to.deep.equal({ level: 'low', statable: ['low'] });
    expect(assuranceRequest(context('exact', 'substantial', 'low'), 'low')).to.deep.equal({ level: 'low', statable: ['low', 'substantial'] });
    expect(assuranceRequest(context('exact', 'low'), 'substantial')).to.equal(undefined);
  });

  it('minimum: at least the weakest named', () => {
    expect(assuranceRequest(context('minimum', 'low'), 'low')).to.deep.equal({ level: 'low', statable: ['low', 'substantial'] });
    expect(assuranceRequest(context('minimum', 'substantial'), 'low')).to.deep.equal({ level: 'substantial', statable: ['substantial'] });
  });

  it('better: stronger than the strongest named, which past Substantial we cannot be', () => {
    expect(assuranceRequest(context('better', 'low'), 'low')).to.deep.equal({ level: 'substantial', statable: ['substantial'] });
    expect(assuranceRequest(context('better', 'substantial'), 'low')).to.equal(undefined);
  });

  it('maximum: no stronger than the strongest named, and never below the SP\'s minimum', () => {
    expect(assuranceRequest(context('maximum', 'low'), 'low')).to.deep.equal({ level: 'low', statable: ['low'] });
    expect(assuranceRequest(context('maximum', 'substantial'), 'low')).to.deep.equal({ level: 'low', statable: ['low', 'substantial'] });
    expect(assuranceRequest(context('maximum', 'low'), 'substantial')).to.equal(undefined);
  });
});

describe('statedLevel', function () {
  it('is the highest statable level the login reached: a Substantial session answers exact Low with Low', () => {
    expect(statedLevel('substantial', ['low'])).to.equal('low');
    expect(statedLevel('substantial', ['low', 'substantial'])).to.equal('substantial');
    expect(statedLevel('low', ['low', 'substantial'])).to.equal('low');
    expect(statedLevel('low', ['substantial'])).to.equal(undefined);
  });
});
