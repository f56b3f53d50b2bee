import { expect } from 'chai';

import { DATA_ENCRYPTION, dataEncryptionFor } from './assertion-encryption.ts';

describe('dataEncryptionFor', () => {
  it('is AES-256-GCM when the SP lists it, wherever in its list', () => {
    expect(dataEncryptionFor([DATA_ENCRYPTION.aes256Cbc, DATA_ENCRYPTION.aes256Gcm])).to.equal(DATA_ENCRYPTION.aes256Gcm);
  });

  it('is AES-256-CBC when the SP lists no EncryptionMethod, or only others', () => {
    expect(dataEncryptionFor([])).to.equal(DATA_ENCRYPTION.aes256Cbc);
    expect(dataEncryptionFor(['http://www.w3.org/2009/xmlenc11#aes128-gcm', DATA_ENCRYPTION.aes256Cbc])).to.equal(DATA_ENCRYPTION.aes256Cbc);
  });
});
