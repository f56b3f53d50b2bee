import { expect } from 'chai';

import { usernameDigest } from './username-digest.ts';

const KEY = Buffer.alloc(32, 7);

describe('username digest', () => {
  it('is the same for one name however it is typed, and hides it', () => {
    const digest = usernameDigest(KEY, 'Hunter2!secret');
    expect(digest).to.match(/^[\w-]{43}$/);
    expect(digest).not.to.include('unter');
    expect(usernameDigest(KEY, 'HUNTER2!SECRET')).to.equal(digest);
    expect(usernameDigest(KEY, 'ＨＵＮＴＥＲ2!secret')).to.equal(digest);
  });

  it('differs between names and between keys', () => {
    expect(usernameDigest(KEY, 'anna')).not.to.equal(usernameDigest(KEY, 'anne'));
    expect(usernameDigest(Buffer.alloc(32, 8), 'anna')).not.to.equal(usernameDigest(KEY, 'anna'));
  });
});
