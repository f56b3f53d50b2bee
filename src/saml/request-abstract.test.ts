import { DOMParser, type Element } from '@xmldom/xmldom';
import { expect } from 'chai';

import { checkDestination, checkIssueInstant, parseUtcDateTime, readRequestAbstract } from './request-abstract.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const NAMESPACES = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';

describe('readRequestAbstract', function () {
  const read = (xml: string) => readRequestAbstract(new DOMParser().parseFromString(xml, 'text/xml').documentElement as Element);

  it('reads ID, IssueInstant, Destination and the root\'s own Issuer, trimmed', () => {
    expect(read(`<samlp:X ${NAMESPACES} ID="_a" Version="2.0" IssueInstant="2026-11-25T12:00:00Z" Destination="https://idp.example/saml/sso"><saml:Issuer> https://sp.example/saml </saml:Issuer></samlp:X>`))
      .to.deep.equal({ ok: true, request: { ID: '_a', IssueInstant: '2026-11-25T12:00:00Z', Issuer: 'https://sp.example/saml', Destination: 'https://idp.example/saml/sso' } });
  });

  it('checks a Destination against the endpoint reached, and lets a request without one pass', () => {
    expect(checkDestination('https://idp.example/saml/sso', 'https://idp.example/saml/sso')).to.equal(undefined);
    expect(checkDestination(undefined, 'https://idp.example/saml/sso')).to.equal(undefined);
    expect(checkDestination('https://idp.example/saml/slo', 'https://idp.example/saml/sso')).to.equal('destination');
  });

  it('refuses another version, no ID, and an Issuer that is not the root\'s child', () => {
    expect(read(`<samlp:X ${NAMESPACES} ID="_a" Version="1.1"/>`)).to.deep.equal({ ok: false, reason: 'version' });
    expect(read(`<samlp:X ${NAMESPACES} ID="" Version="2.0"/>`)).to.deep.equal({ ok: false, reason: 'missing-id' });
    expect(read(`<samlp:X ${NAMESPACES} ID="_a" Version="2.0"><samlp:Extensions><saml:Issuer>x</saml:Issuer></samlp:Extensions></samlp:X>`)).to.deep.equal({ ok: false, reason: 'missing-issuer' });
  });
});

describe('parseUtcDateTime and checkIssueInstant', function () {
  it('takes xs:dateTime in UTC, with or without fractions; nothing else', () => {
    expect(parseUtcDateTime('2026-11-25T12:00:00Z')).to.equal(NOW);
    expect(parseUtcDateTime('2026-11-25T12:00:00.250Z')).to.equal(NOW + 250);
    expect(parseUtcDateTime('2026-11-25T13:00:00+01:00')).to.equal(undefined);
    expect(parseUtcDateTime('2026-11-25')).to.equal(undefined);
    expect(parseUtcDateTime('2026-13-45T12:00:00Z')).to.equal(undefined);
  });

  it('accepts IssueInstant up to the skew either side of the clock', () => {
    const check = (IssueInstant: string) => checkIssueInstant({ IssueInstant, now: NOW, skewSeconds: 120 });
    expect(check('2026-11-25T11:58:00Z')).to.equal(undefined);
    expect(check('2026-11-25T12:02:00Z')).to.equal(undefined);
    expect(check('2026-11-25T11:57:59Z')).to.equal('stale');
    expect(check('2026-11-25T12:02:01Z')).to.equal('stale');
    expect(check('')).to.equal('issue-instant');
  });
});
