import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

import { expect } from 'chai';

import type { DevicePublicKey } from '../store/devices.ts';
import { keyThumbprint, stringToSign, verifyRegistrationProof, verifyRequestSignature } from './signature.ts';

const DEVICE_ID = '6f1c2a4e-8d0b-4c55-9a7e-3b2d1f0e9c8a';
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

function keyPair(): { privateKey: KeyObject; publicKey: DevicePublicKey } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey: publicKey.export({ format: 'jwk' }) as unknown as DevicePublicKey };
}

/** Headers a device would send for this request, signed with `privateKey`. */
function signedHeaders(privateKey: KeyObject, request: { method: string; path: string; body: Uint8Array; timestamp?: number; nonce?: string }) {
  const timestamp = request.timestamp ?? Math.floor(NOW / 1000);
  const nonce = request.nonce ?? randomBytes(16).toString('base64url');
  const text = stringToSign({ method: request.method, path: request.path, timestamp, nonce, body: request.body });
  const signature = sign('sha256', Buffer.from(text), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return { 'stepup-device': DEVICE_ID, 'stepup-timestamp': String(timestamp), 'stepup-nonce': nonce, 'stepup-signature': signature };
}

describe('verifyRequestSignature', () => {
  const device = keyPair();
  const body = Buffer.from('{"pairingCode":"ABCDE-FGHJK"}');
  const request = { method: 'POST', path: '/api/device/v1/pair', body };

  it('accepts a request signed by the device, and names the device and nonce', () => {
    const headers = signedHeaders(device.privateKey, request);
    const result = verifyRequestSignature({ publicKey: device.publicKey, headers, ...request, now: NOW });
    expect(result).to.deep.equal({ verified: true, deviceId: DEVICE_ID, nonce: headers['stepup-nonce'], timestamp: Math.floor(NOW / 1000) });
  });

  it('accepts a GET without a body (the digest of the empty string)', () => {
    const get = { method: 'GET', path: '/api/device/v1/challenges?after=1', body: new Uint8Array() };
    const headers = signedHeaders(device.privateKey, get);
    expect(verifyRequestSignature({ publicKey: device.publicKey, headers, ...get, now: NOW })).to.include({ verified: true });
  });

  it('refuses a tampered body', () => {
    const headers = signedHeaders(device.privateKey, request);
    const tampered = Buffer.from('{"pairingCode":"ABCDE-FGHJM"}');
    expect(verifyRequestSignature({ publicKey: device.publicKey, headers, ...request, body: tampered, now: NOW })).to.deep.equal({ verified: false, reason: 'invalid_signature' });
  });

  it('refuses another path, query or method', () => {
    const headers = signedHeaders(device.privateKey, request);
    for (const changed of [{ path: '/api/device/v1/device' }, { path: '/api/device/v1/pair?x=1' }, { method: 'DELETE' }]) {
      expect(verifyRequestSignature({ publicKey: device.publicKey, headers, ...request, ...changed, now: NOW }), JSON.stringify(changed))
        .to.deep.equal({ verified: false, reason: 'invalid_signature' });
    }
  });

  it('treats the method in any case as the same', () => {
    const headers = signedHeaders(device.privateKey, request);
    expect(verifyRequestSignature({ publicKey: device.publicKey, headers, ...request, method: 'post', now: NOW })).to.include({ verified: true });
  });

  it('refuses a timestamp more than 120 s either side of the clock', () => {
    const at = Math.floor(NOW / 1000);
    for (const [timestamp, verified] of [[at - 120, true], [at + 120, true], [at - 121, false], [at + 121, false]] as const) {
      const headers = signedHeaders(device.privateKey, { ...request, timestamp });
      const result = verifyRequestSignature({ publicKey: device.publicKey, headers, ...request, now: NOW });
      expect(result, String(timestamp - at)).to.deep.equal(verified ? { verified, deviceId: DEVICE_ID, nonce: headers['stepup-nonce'], timestamp } : { verified, reason: 'stale_timestamp' });
    }
  });

  it('refuses a signature by another key', () => {
    const headers = signedHeaders(keyPair().privateKey, request);
    expect(verifyRequestSignature({ publicKey: device.publicKey, headers, ...request, now: NOW })).to.deep.equal({ verified: false, reason: 'invalid_signature' });
  });

  it('refuses a signature in DER form, and missing or malformed headers', () => {
    const headers = signedHeaders(device.privateKey, request);
    const der = sign('sha256', Buffer.from('x'), device.privateKey).toString('base64url');
    for (const changed of [
      { 'stepup-signature': der },
      { 'stepup-signature': undefined },
      { 'stepup-nonce': 'short' },
      { 'stepup-timestamp': '12.5' },
      { 'stepup-device': 'not-a-uuid' },
    ]) {
      expect(verifyRequestSignature({ publicKey: device.publicKey, headers: { ...headers, ...changed }, ...request, now: NOW }), JSON.stringify(changed))
        .to.deep.equal({ verified: false, reason: 'invalid_signature' });
    }
  });

  it('refuses a stored key that is not a point on P-256', () => {
    const headers = signedHeaders(device.privateKey, request);
    const broken = { ...device.publicKey, y: device.publicKey.x };
    expect(verifyRequestSignature({ publicKey: broken, headers, ...request, now: NOW })).to.deep.equal({ verified: false, reason: 'invalid_signature' });
  });
});

describe('verifyRegistrationProof', () => {
  const device = keyPair();
  const proofOf = (privateKey: KeyObject, pairingCode: string, publicKey: DevicePublicKey) =>
    sign('sha256', Buffer.from(`stepup-device-v1-register\n${pairingCode}\n${publicKey.x}\n${publicKey.y}`), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');

  it('accepts a proof by the new key over the code and the key', () => {
    const proof = proofOf(device.privateKey, 'ABCDE-FGHJK', device.publicKey);
    expect(verifyRegistrationProof({ publicKey: device.publicKey, pairingCode: 'ABCDE-FGHJK', proof })).to.equal(true);
  });

  it('refuses a proof for another code or by another key', () => {
    const proof = proofOf(device.privateKey, 'ABCDE-FGHJK', device.publicKey);
    expect(verifyRegistrationProof({ publicKey: device.publicKey, pairingCode: 'ABCDE-FGHJM', proof })).to.equal(false);
    const other = keyPair();
    expect(verifyRegistrationProof({ publicKey: other.publicKey, pairingCode: 'ABCDE-FGHJK', proof })).to.equal(false);
  });
});

describe('keyThumbprint', () => {
  it('is the RFC 7638 thumbprint (the RFC\'s own order of members)', () => {
    const { publicKey } = keyPair();
    const shuffled = { y: publicKey.y, x: publicKey.x, kty: publicKey.kty, crv: publicKey.crv } as DevicePublicKey;
    expect(keyThumbprint(shuffled)).to.equal(keyThumbprint(publicKey)).and.match(/^[A-Za-z0-9_-]{43}$/);
  });
});
