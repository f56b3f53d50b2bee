import { DOMParser } from '@xmldom/xmldom';
import { expect } from 'chai';

import type { SessionParticipant } from '../sessions/sso-session.ts';
import { BINDINGS } from './idp-metadata.ts';
import { checkLogoutRequest, issuedInSession, logoutResponseEndpoint, readLogoutRequest, type LogoutRequest } from './logout-request.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const SLO = 'https://idp.example/saml/slo';
const SP = 'https://sp.example/saml';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const NAMESPACES = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';

const request = (overrides: Partial<LogoutRequest> = {}): LogoutRequest => ({
  ID: '_1',
  IssueInstant: '2026-11-25T12:00:00Z',
  Issuer: SP,
  Destination: SLO,
  NotOnOrAfter: undefined,
  NameID: { Format: PERSISTENT, value: 'abc' },
  SessionIndex: [],
  ...overrides,
});

const services = [
  { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:SOAP', location: 'https://sp.example/soap' },
  { binding: BINDINGS.post, location: 'https://sp.example/slo-post' },
  { binding: BINDINGS.redirect, location: 'https://sp.example/slo', responseLocation: 'https://sp.example/slo-done' },
];

const check = (req: LogoutRequest, binding: 'redirect' | 'post' = 'redirect') =>
  checkLogoutRequest({ request: req, binding, singleLogoutServices: services, destination: SLO, now: NOW, skewSeconds: 120 });

describe('readLogoutRequest', function () {
  const parse = (xml: string) => readLogoutRequest(new DOMParser().parseFromString(xml, 'text/xml'));

  it('reads the root\'s attributes, its own Issuer and NameID, and the SessionIndexes', () => {
    const result = parse(`<samlp:LogoutRequest ${NAMESPACES} ID="_a" Version="2.0" IssueInstant="2026-11-25T12:00:00Z" Destination="${SLO}" NotOnOrAfter="2026-11-25T12:05:00Z"><saml:Issuer> ${SP} </saml:Issuer><saml:NameID Format="${TRANSIENT}">_t1</saml:NameID><samlp:SessionIndex>_s1</samlp:SessionIndex><samlp:SessionIndex>_s2</samlp:SessionIndex></samlp:LogoutRequest>`);
    expect(result).to.deep.equal({
      ok: true,
      request: {
        ID: '_a', IssueInstant: '2026-11-25T12:00:00Z', Issuer: SP, Destination: SLO, NotOnOrAfter: '2026-11-25T12:05:00Z',
        NameID: { Format: TRANSIENT, value: '_t1' }, SessionIndex: ['_s1', '_s2'],
      },
    });
  });

  it('takes a NameID without Format and no SessionIndex', () => {
    const result = parse(`<samlp:LogoutRequest ${NAMESPACES} ID="_a" Version="2.0" IssueInstant="2026-11-25T12:00:00Z"><saml:Issuer>${SP}</saml:Issuer><saml:NameID>abc</saml:NameID></samlp:LogoutRequest>`);
    expect(result).to.deep.include({ ok: true });
    expect(result.ok && result.request).to.deep.include({ Destination: undefined, NameID: { Format: undefined, value: 'abc' }, SessionIndex: [] });
  });

  it('refuses another root (a LogoutResponse, an AuthnRequest), another version, no ID, no Issuer of its own', () => {
    expect(parse(`<samlp:LogoutResponse ${NAMESPACES} ID="_a" Version="2.0"/>`)).to.deep.equal({ ok: false, reason: 'not-logout-request' });
    expect(parse(`<samlp:AuthnRequest ${NAMESPACES} ID="_a" Version="2.0"/>`)).to.deep.equal({ ok: false, reason: 'not-logout-request' });
    expect(parse(`<samlp:LogoutRequest ${NAMESPACES} ID="_a" Version="1.1"/>`)).to.deep.equal({ ok: false, reason: 'version' });
    expect(parse(`<samlp:LogoutRequest ${NAMESPACES} Version="2.0"/>`)).to.deep.equal({ ok: false, reason: 'missing-id' });
    expect(parse(`<samlp:LogoutRequest ${NAMESPACES} ID="_a" Version="2.0"><samlp:Extensions><saml:Issuer>${SP}</saml:Issuer></samlp:Extensions><saml:NameID>abc</saml:NameID></samlp:LogoutRequest>`)).to.deep.equal({ ok: false, reason: 'missing-issuer' });
  });

  it('refuses a request without a NameID of its own, an empty one, and an EncryptedID', () => {
    const head = `<samlp:LogoutRequest ${NAMESPACES} ID="_a" Version="2.0"><saml:Issuer>${SP}</saml:Issuer>`;
    expect(parse(`${head}<samlp:Extensions><saml:NameID>abc</saml:NameID></samlp:Extensions></samlp:LogoutRequest>`)).to.deep.equal({ ok: false, reason: 'name-id-missing' });
    expect(parse(`${head}<saml:NameID> </saml:NameID></samlp:LogoutRequest>`)).to.deep.equal({ ok: false, reason: 'name-id-missing' });
    expect(parse(`${head}<saml:EncryptedID/></samlp:LogoutRequest>`)).to.deep.equal({ ok: false, reason: 'name-id-encrypted' });
  });
});

describe('checkLogoutRequest', function () {
  it('answers at the SP\'s endpoint for the request\'s binding, its ResponseLocation first', () => {
    expect(check(request())).to.deep.equal({ ok: true, endpoint: { binding: 'redirect', location: 'https://sp.example/slo-done' } });
    expect(check(request(), 'post')).to.deep.equal({ ok: true, endpoint: { binding: 'post', location: 'https://sp.example/slo-post' } });
  });

  it('refuses an IssueInstant outside the skew or malformed', () => {
    expect(check(request({ IssueInstant: '2026-11-25T11:57:59Z' }))).to.deep.equal({ ok: false, reason: 'stale' });
    expect(check(request({ IssueInstant: '2026-11-25T12:02:01Z' }))).to.deep.equal({ ok: false, reason: 'stale' });
    expect(check(request({ IssueInstant: '2026-11-25T11:58:00Z' }))).to.include({ ok: true });
    expect(check(request({ IssueInstant: '2026-11-25T12:00:00+01:00' }))).to.deep.equal({ ok: false, reason: 'issue-instant' });
  });

  it('refuses a NotOnOrAfter passed beyond the skew, or malformed', () => {
    expect(check(request({ NotOnOrAfter: '2026-11-25T11:58:00Z' }))).to.deep.equal({ ok: false, reason: 'expired' });
    expect(check(request({ NotOnOrAfter: '2026-11-25T11:58:01Z' }))).to.include({ ok: true });
    expect(check(request({ NotOnOrAfter: 'tomorrow' }))).to.deep.equal({ ok: false, reason: 'not-on-or-after' });
  });

  it('refuses a Destination that is not our SingleLogoutService; takes none', () => {
    expect(check(request({ Destination: 'https://other-idp.example/saml/slo' }))).to.deep.equal({ ok: false, reason: 'destination' });
    expect(check(request({ Destination: `${SLO}/` }))).to.deep.equal({ ok: false, reason: 'destination' });
    expect(check(request({ Destination: undefined }))).to.include({ ok: true });
  });

  it('refuses an SP without a Redirect or POST SingleLogoutService: there is nowhere to answer', () => {
    const soapOnly = checkLogoutRequest({ request: request(), binding: 'redirect', singleLogoutServices: services.slice(0, 1), destination: SLO, now: NOW, skewSeconds: 120 });
    expect(soapOnly).to.deep.equal({ ok: false, reason: 'no-logout-service' });
  });
});

describe('logoutResponseEndpoint', function () {
  it('prefers the request\'s binding, else takes the other', () => {
    expect(logoutResponseEndpoint([services[1]!], 'redirect')).to.deep.equal({ binding: 'post', location: 'https://sp.example/slo-post' });
    expect(logoutResponseEndpoint([services[2]!], 'post')).to.deep.equal({ binding: 'redirect', location: 'https://sp.example/slo-done' });
    expect(logoutResponseEndpoint([], 'post')).to.equal(undefined);
  });
});

describe('issuedInSession', function () {
  const participants: SessionParticipant[] = [
    { clientId: SP, subject: { format: PERSISTENT, value: 'abc' }, sessionIndex: '_s1' },
    { clientId: 'https://other-sp.example/saml', subject: { format: TRANSIENT, value: '_t9' }, sessionIndex: '_s9' },
  ];
  const issued = (req: Partial<LogoutRequest>, spEntityId = SP) => issuedInSession({ request: request(req), spEntityId, participants });

  it('finds the NameID given to that SP, with its format or none, and its SessionIndex when named', () => {
    expect(issued({})).to.equal(true);
    expect(issued({ NameID: { Format: undefined, value: 'abc' } })).to.equal(true);
    expect(issued({ SessionIndex: ['_x', '_s1'] })).to.equal(true);
  });

  it('refuses another value, another format, another session, and a NameID given to another SP', () => {
    expect(issued({ NameID: { Format: PERSISTENT, value: 'abd' } })).to.equal(false);
    expect(issued({ NameID: { Format: TRANSIENT, value: 'abc' } })).to.equal(false);
    expect(issued({ SessionIndex: ['_s2'] })).to.equal(false);
    expect(issued({ NameID: { Format: TRANSIENT, value: '_t9' } })).to.equal(false);
    expect(issuedInSession({ request: request(), spEntityId: SP, participants: [] })).to.equal(false);
  });
});
