import { expect } from 'chai';

import { ACR_VALUES } from '../auth/levels.ts';
import { requestedLevel } from './requested-level.ts';

const { low, substantial } = ACR_VALUES;

describe('the level a request needs', () => {
  it('is the client minimum when nothing is asked', () => {
    expect(requestedLevel({ clientMinimum: 'low' })).to.equal('low');
    expect(requestedLevel({ clientMinimum: 'substantial', acr_values: low })).to.equal('substantial');
  });

  it('follows acr_values: the lowest accepted value is enough', () => {
    expect(requestedLevel({ clientMinimum: 'low', acr_values: substantial })).to.equal('substantial');
    expect(requestedLevel({ clientMinimum: 'low', acr_values: `${substantial} ${low}` })).to.equal('low');
    expect(requestedLevel({ clientMinimum: 'low', acr_values: 'urn:unknown' })).to.equal('low');
  });

  it('follows an essential acr in the claims parameter, and ignores a voluntary one', () => {
    const essential = JSON.stringify({ id_token: { acr: { essential: true, values: [substantial] } } });
    expect(requestedLevel({ clientMinimum: 'low', claims: essential })).to.equal('substantial');
    const single = JSON.stringify({ id_token: { acr: { essential: true, value: substantial } } });
    expect(requestedLevel({ clientMinimum: 'low', claims: single })).to.equal('substantial');
    const voluntary = JSON.stringify({ id_token: { acr: { values: [substantial] } } });
    expect(requestedLevel({ clientMinimum: 'low', claims: voluntary })).to.equal('low');
    expect(requestedLevel({ clientMinimum: 'low', claims: '{not json' })).to.equal('low');
  });
});
