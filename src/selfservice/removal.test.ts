import { expect } from 'chai';

import { chosenReason } from './removal.ts';

describe('chosenReason', () => {
  const reasons = ['given_to_colleague', 'lost', 'defective'];

  it('takes one of the kind\'s reasons', () => {
    for (const reason of reasons) expect(chosenReason({ reasons, posted: reason })).to.deep.equal({ ok: true, reason });
  });

  it('requires one when the kind asks why', () => {
    for (const posted of ['', 'stolen', 'LOST', ' lost']) expect(chosenReason({ reasons, posted }), posted).to.deep.equal({ ok: false });
  });

  it('passes no reason to a kind that does not ask, whatever was posted', () => {
    expect(chosenReason({ reasons: undefined, posted: 'lost' })).to.deep.equal({ ok: true, reason: undefined });
    expect(chosenReason({ reasons: [], posted: '' })).to.deep.equal({ ok: true, reason: undefined });
  });
});
