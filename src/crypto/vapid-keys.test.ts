import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';

import { expect } from 'chai';

import { deriveVapidKeys, p256PrivateScalar, SCALAR_SOURCE_BYTES } from './vapid-keys.ts';

const SECRET = 'a-secret-key-of-at-least-32-characters!';
const ORDER_HEX = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';

/** 40 bytes holding `value` big-endian. */
const material = (value: bigint) => Buffer.from(value.toString(16).padStart(SCALAR_SOURCE_BYTES * 2, '0'), 'hex');

describe('VAPID keys', () => {
  it('are the same on two instances with one SECRET_KEY, and differ with another', () => {
    const first = deriveVapidKeys(SECRET);
    expect(deriveVapidKeys(SECRET)).to.deep.equal(first);
    expect(deriveVapidKeys(`${SECRET}-other`).publicKey).to.not.equal(first.publicKey);
  });

  it('are a P-256 pair: an uncompressed 65-byte point for applicationServerKey and a 32-byte scalar that signs for it', () => {
    const keys = deriveVapidKeys(SECRET);
    const point = Buffer.from(keys.publicKey, 'base64url');
    expect(point).to.have.length(65);
    expect(point[0]).to.equal(0x04);
    expect(Buffer.from(keys.privateKey, 'base64url')).to.have.length(32);
    const jwk = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') };
    const privateKey = createPrivateKey({ key: { ...jwk, d: keys.privateKey }, format: 'jwk' });
    const signature = sign('sha256', Buffer.from('vapid'), privateKey);
    expect(verify('sha256', Buffer.from('vapid'), createPublicKey({ key: jwk, format: 'jwk' }), signature)).to.equal(true);
  });

  it('maps any material into [1, n−1] (FIPS 186-4 B.4.1), padded to 32 bytes', () => {
    const order = BigInt(`0x${ORDER_HEX}`);
    const scalar = (value: bigint) => p256PrivateScalar(material(value)).toString('hex');
    expect(scalar(0n)).to.equal('1'.padStart(64, '0'));
    expect(scalar(order - 2n)).to.equal((order - 1n).toString(16));
    expect(scalar(order - 1n)).to.equal('1'.padStart(64, '0'));
    expect(scalar(2n ** 320n - 1n)).to.have.length(64);
    expect(() => p256PrivateScalar(Buffer.alloc(32))).to.throw(/at least 40 bytes/);
  });
});
