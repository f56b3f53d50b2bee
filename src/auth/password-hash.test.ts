import { expect } from 'chai';

import { hashPassword, needsRehash, verifyPassword } from './password-hash.ts';

const owasp = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

describe('password hashing', () => {
  it('hashes with argon2id and the given parameters, and verifies', async () => {
    const hash = await hashPassword('Sommer2026!', owasp);
    expect(hash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, 'Sommer2026!')).to.equal(true);
    expect(await verifyPassword(hash, 'sommer2026!')).to.equal(false);
  });

  it('answers false for a malformed stored hash instead of throwing', async () => {
    expect(await verifyPassword('not-a-hash', 'x')).to.equal(false);
  });

  it('wants a rehash when the parameters or the algorithm differ', () => {
    expect(needsRehash('$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', owasp)).to.equal(false);
    expect(needsRehash('$argon2id$v=19$m=4096,t=2,p=1$c2FsdA$aGFzaA', owasp)).to.equal(true);
    expect(needsRehash('$argon2id$v=19$m=19456,t=3,p=1$c2FsdA$aGFzaA', owasp)).to.equal(true);
    expect(needsRehash('$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', owasp)).to.equal(true);
  });
});
