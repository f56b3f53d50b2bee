import { createHash } from 'node:crypto';

import { expect } from 'chai';

import { checkUpstreamIdentity } from './check.ts';

const SUBSTANTIAL = 'https://data.gov.dk/concept/core/nsis/loa/Substantial';
const HIGH = 'https://data.gov.dk/concept/core/nsis/loa/High';
const LOW = 'https://data.gov.dk/concept/core/nsis/loa/Low';
const digest = (value: string) => createHash('sha256').update(value).digest();
const PERSON = '6f0b3c1e-8a0d-4c52-9f1e-2d3b4a5c6d7e';
const base = { claim: 'person_uuid', acrValues: [SUBSTANTIAL, HIGH], expected: digest(PERSON), digest };

describe('is the person the upstream vouched for this employee', () => {
  it('is, with an accepted acr and the claim equal to the attribute, from the ID token or else userinfo', () => {
    expect(checkUpstreamIdentity({ ...base, idToken: { acr: SUBSTANTIAL, person_uuid: PERSON } })).to.deep.equal({ verified: true });
    expect(checkUpstreamIdentity({ ...base, idToken: { acr: HIGH }, userinfo: { person_uuid: PERSON } })).to.deep.equal({ verified: true });
  });

  it('is not, when the claim differs or the employee has no attribute', () => {
    expect(checkUpstreamIdentity({ ...base, idToken: { acr: SUBSTANTIAL, person_uuid: `${PERSON.slice(0, -1)}f` } })).to.deep.equal({ verified: false, reason: 'mismatch' });
    expect(checkUpstreamIdentity({ ...base, expected: undefined, idToken: { acr: SUBSTANTIAL, person_uuid: PERSON } })).to.deep.equal({ verified: false, reason: 'no_attribute' });
  });

  it('takes only an acr from the list, exactly, and only from the ID token', () => {
    expect(checkUpstreamIdentity({ ...base, idToken: { acr: LOW, person_uuid: PERSON } })).to.deep.equal({ verified: false, reason: 'acr' });
    expect(checkUpstreamIdentity({ ...base, idToken: { acr: `${SUBSTANTIAL}/`, person_uuid: PERSON } })).to.deep.equal({ verified: false, reason: 'acr' });
    expect(checkUpstreamIdentity({ ...base, idToken: { person_uuid: PERSON } })).to.deep.equal({ verified: false, reason: 'acr' });
    expect(checkUpstreamIdentity({ ...base, idToken: { person_uuid: PERSON }, userinfo: { acr: SUBSTANTIAL } })).to.deep.equal({ verified: false, reason: 'acr' });
    expect(checkUpstreamIdentity({ ...base, acrValues: [HIGH], idToken: { acr: SUBSTANTIAL, person_uuid: PERSON } })).to.deep.equal({ verified: false, reason: 'acr' });
  });

  it('wants the claim as a non-empty string', () => {
    for (const value of [undefined, '', 42, [PERSON], { value: PERSON }]) {
      expect(checkUpstreamIdentity({ ...base, idToken: { acr: SUBSTANTIAL, person_uuid: value } }), String(value)).to.deep.equal({ verified: false, reason: 'claim_missing' });
    }
    // The ID token's claim decides when it has one, even an unusable one: userinfo does not override it.
    expect(checkUpstreamIdentity({ ...base, idToken: { acr: SUBSTANTIAL, person_uuid: '' }, userinfo: { person_uuid: PERSON } })).to.deep.equal({ verified: false, reason: 'claim_missing' });
  });

  it('takes an e-mail address only when the upstream says it verified it', () => {
    const email = { ...base, claim: 'email', expected: digest('anna@viborg.dk') };
    expect(checkUpstreamIdentity({ ...email, idToken: { acr: SUBSTANTIAL }, userinfo: { email: 'anna@viborg.dk', email_verified: true } })).to.deep.equal({ verified: true });
    expect(checkUpstreamIdentity({ ...email, idToken: { acr: SUBSTANTIAL }, userinfo: { email: 'anna@viborg.dk' } })).to.deep.equal({ verified: false, reason: 'email_unverified' });
    expect(checkUpstreamIdentity({ ...email, idToken: { acr: SUBSTANTIAL }, userinfo: { email: 'anna@viborg.dk', email_verified: 'true' } })).to.deep.equal({ verified: false, reason: 'email_unverified' });
    expect(checkUpstreamIdentity({ ...email, idToken: { acr: SUBSTANTIAL, email: 'anna@viborg.dk', email_verified: true } })).to.deep.equal({ verified: true });
  });
});
