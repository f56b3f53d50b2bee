import { expect } from 'chai';

import { ACR_VALUES, higherLevel, levelOfAcr, lowerLevel, satisfiesLevel } from './levels.ts';

describe('levels of assurance', () => {
  it('maps NSIS acr values to levels and back', () => {
    expect(levelOfAcr(ACR_VALUES.low)).to.equal('low');
    expect(levelOfAcr('https://data.gov.dk/concept/core/nsis/loa/Substantial')).to.equal('substantial');
    expect(levelOfAcr('urn:unknown')).to.equal(undefined);
  });

  it('orders levels: substantial satisfies low, not the other way', () => {
    expect(satisfiesLevel('substantial', 'low')).to.equal(true);
    expect(satisfiesLevel('low', 'substantial')).to.equal(false);
    expect(higherLevel('low', 'substantial')).to.equal('substantial');
    expect(lowerLevel('substantial', 'low')).to.equal('low');
  });
});
