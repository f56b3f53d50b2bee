import { expect } from 'chai';

import { CODE_VIEWER_REMOVAL_REASONS, isCodeViewerRemovalReason, releaseFor } from './release.ts';

describe('releasing a code viewer in self-service', () => {
  it('offers the guide\'s three cases, given to a colleague first', () => {
    expect(CODE_VIEWER_REMOVAL_REASONS).to.deep.equal(['given_to_colleague', 'lost', 'defective']);
  });

  it('returns one given to a colleague to stock, and marks a lost or defective one for IT', () => {
    expect(releaseFor('given_to_colleague')).to.deep.equal({ act: 'reset' });
    expect(releaseFor('lost')).to.deep.equal({ act: 'mark', mark: 'lost' });
    expect(releaseFor('defective')).to.deep.equal({ act: 'mark', mark: 'defective' });
  });

  it('knows only its own reasons, so a posted value cannot pick another act', () => {
    for (const reason of CODE_VIEWER_REMOVAL_REASONS) expect(isCodeViewerRemovalReason(reason)).to.equal(true);
    for (const value of [undefined, '', 'in_stock', 'assigned', 'Lost', ['lost']]) expect(isCodeViewerRemovalReason(value), JSON.stringify(value)).to.equal(false);
  });
});
