import { expect } from 'chai';
import { createPrivateKey, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { makeSp, postAuthnRequest, redirectAuthnRequest, redirectLogoutRequest } from '../../test/fixtures/saml/node-saml-sp.ts';
import { makeSpKeys, type SpKeys } from '../../test/fixtures/saml/sp-keys.ts';
import { decodePostRequest, decodeRedirectRequest, readRedirectQuery, verifyRedirectSignature, type RedirectQuery } from './bindings.ts';
import { SAML_MESSAGE_MAX_BYTES } from './xml-safety.ts';

function read(rawQuery: string): RedirectQuery {
  const result = readRedirectQuery({ rawQuery });
  if (!result.ok) throw new Error(result.reason);
  return result.query;
}

function replaceParameter(rawQuery: string, name: string, value: string): string {
  return rawQuery.split('&').map((pair) => (pair.startsWith(`${name}=`) ? `${name}=${value}` : pair)).join('&');
}

describe('SAML bindings', () => {
  let keys: SpKeys;
  let otherKeys: SpKeys;
  before(async () => {
    [keys, otherKeys] = await Promise.all([makeSpKeys({ commonName: 'sp' }), makeSpKeys({ commonName: 'other' })]);
  });

  describe('HTTP-Redirect', () => {
    it('reads, verifies and inflates a signed AuthnRequest and LogoutRequest from node-saml', async () => {
      const sp = makeSp({ keys });
      for (const [rawQuery, root] of [[await redirectAuthnRequest(sp), 'AuthnRequest'], [await redirectLogoutRequest(sp), 'LogoutRequest']] as const) {
        const query = read(rawQuery);
        const verified = verifyRedirectSignature({ query, certificates: [otherKeys.certificate, keys.certificate] });
        expect(verified).to.deep.equal({ verified: true, certificate: keys.certificate });
        const decoded = decodeRedirectRequest({ SAMLRequest: query.SAMLRequest });
        if (!decoded.ok) throw new Error(decoded.reason);
        expect(decoded.xml).to.match(new RegExp(`^(?:<\\?xml[^>]*>)?<samlp:${root} `));
      }
    });

    it('verifies the octets as received, not a re-encoding of the values', async () => {
      const rawQuery = await redirectAuthnRequest(makeSp({ keys }), 'a=1&b=æ/+');
      const query = read(rawQuery);
      expect(query.RelayState).to.equal('a=1&b=æ/+');
      expect(verifyRedirectSignature({ query, certificates: [keys.certificate] })).to.include({ verified: true });
      // The same values with lower-case hex escapes are other octets (SAML Bindings §3.4.4.1).
      const relowered = read(rawQuery.replace('SigAlg=http%3A%2F%2F', 'SigAlg=http%3a%2f%2f'));
      expect(relowered.signature?.SigAlg).to.equal(query.signature?.SigAlg);
      expect(verifyRedirectSignature({ query: relowered, certificates: [keys.certificate] })).to.deep.equal({ verified: false, reason: 'signature-invalid' });
    });

    it('refuses a tampered RelayState, SAMLRequest or a missing RelayState', async () => {
      const rawQuery = await redirectAuthnRequest(makeSp({ keys }));
      const tampered = [
        replaceParameter(rawQuery, 'RelayState', 'relay-2'),
        replaceParameter(rawQuery, 'SAMLRequest', deflateRawSync('<samlp:AuthnRequest/>').toString('base64')),
        rawQuery.split('&').filter((pair) => !pair.startsWith('RelayState=')).join('&'),
      ];
      for (const variant of tampered) {
        expect(verifyRedirectSignature({ query: read(variant), certificates: [keys.certificate] }), variant).to.deep.equal({ verified: false, reason: 'signature-invalid' });
      }
    });

    it('refuses a signature by another key', async () => {
      const query = read(await redirectAuthnRequest(makeSp({ keys: otherKeys })));
      expect(verifyRedirectSignature({ query, certificates: [keys.certificate] })).to.deep.equal({ verified: false, reason: 'signature-invalid' });
    });

    it('refuses SHA-1 and unknown SigAlgs before any verification', async () => {
      const sha1 = read(await redirectAuthnRequest(makeSp({ keys, signatureAlgorithm: 'sha1' })));
      expect(sha1.signature?.SigAlg).to.equal('http://www.w3.org/2000/09/xmldsig#rsa-sha1');
      expect(verifyRedirectSignature({ query: sha1, certificates: [keys.certificate] })).to.deep.equal({ verified: false, reason: 'algorithm-not-allowed' });
      const rawQuery = await redirectAuthnRequest(makeSp({ keys }));
      for (const SigAlg of ['toString', '__proto__', 'http%3A%2F%2Fwww.w3.org%2F2000%2F09%2Fxmldsig%23hmac-sha1']) {
        const query = read(replaceParameter(rawQuery, 'SigAlg', SigAlg));
        expect(verifyRedirectSignature({ query, certificates: [keys.certificate] }), SigAlg).to.deep.equal({ verified: false, reason: 'algorithm-not-allowed' });
      }
    });

    it('accepts RSA-SHA512 and ECDSA-SHA256 (r || s), and refuses an RSA SigAlg with an EC key', async () => {
      const sha512 = read(await redirectAuthnRequest(makeSp({ keys, signatureAlgorithm: 'sha512' })));
      expect(verifyRedirectSignature({ query: sha512, certificates: [keys.certificate] })).to.include({ verified: true });

      const ecKeys = await makeSpKeys({ commonName: 'ec', keyType: 'ec' });
      const SAMLRequest = encodeURIComponent(deflateRawSync('<samlp:AuthnRequest/>').toString('base64'));
      const SigAlg = encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256');
      const signed = `SAMLRequest=${SAMLRequest}&SigAlg=${SigAlg}`;
      const Signature = sign('sha256', Buffer.from(signed), { key: createPrivateKey(ecKeys.privateKey), dsaEncoding: 'ieee-p1363' }).toString('base64');
      const query = read(`${signed}&Signature=${encodeURIComponent(Signature)}`);
      expect(verifyRedirectSignature({ query, certificates: [keys.certificate, ecKeys.certificate] })).to.deep.equal({ verified: true, certificate: ecKeys.certificate });
      expect(verifyRedirectSignature({ query, certificates: [keys.certificate] })).to.deep.equal({ verified: false, reason: 'signature-invalid' });
      const asRsa = read(replaceParameter(query.signature!.signedOctets, 'SigAlg', encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')) + `&Signature=${encodeURIComponent(Signature)}`);
      expect(verifyRedirectSignature({ query: asRsa, certificates: [ecKeys.certificate] })).to.deep.equal({ verified: false, reason: 'signature-invalid' });
    });

    it('refuses a garbage Signature value', async () => {
      const rawQuery = await redirectAuthnRequest(makeSp({ keys }));
      for (const Signature of ['', 'not*base64', 'YWJj%0AZA%3D%3D']) {
        const query = read(replaceParameter(rawQuery, 'Signature', Signature));
        expect(verifyRedirectSignature({ query, certificates: [keys.certificate] }), Signature).to.deep.equal({ verified: false, reason: 'signature-encoding' });
      }
    });

    it('reads an unsigned request, which verifyRedirectSignature calls unsigned', () => {
      const query = read('SAMLRequest=abc%3D&other=1');
      expect(query).to.deep.equal({ SAMLRequest: 'abc=', RelayState: undefined, signature: undefined });
      expect(verifyRedirectSignature({ query, certificates: [keys.certificate] })).to.deep.equal({ verified: false, reason: 'unsigned' });
    });

    it('refuses duplicated parameters, half a signature, another encoding and bad escapes', async () => {
      const rawQuery = await redirectAuthnRequest(makeSp({ keys }));
      const cases: Array<[string, string]> = [
        [`${rawQuery}&SAMLRequest=abcd`, 'duplicate-parameter'],
        [`${rawQuery}&RelayState=evil`, 'duplicate-parameter'],
        [rawQuery.split('&').filter((pair) => !pair.startsWith('Signature=')).join('&'), 'signature-incomplete'],
        [`${rawQuery}&SAMLEncoding=urn%3Aexample`, 'encoding-unsupported'],
        ['RelayState=x', 'missing'],
        ['SAMLRequest=', 'missing'],
        ['SAMLRequest=%E0%A4%A', 'percent-encoding'],
      ];
      for (const [variant, reason] of cases) {
        expect(readRedirectQuery({ rawQuery: variant }), variant).to.deep.equal({ ok: false, reason });
      }
      expect(readRedirectQuery({ rawQuery: `${rawQuery}&SAMLEncoding=urn%3Aoasis%3Anames%3Atc%3ASAML%3A2.0%3Abindings%3AURL-Encoding%3ADEFLATE` })).to.include({ ok: true });
    });

    it('refuses garbage base64, data that is not DEFLATE, and text that is not UTF-8', () => {
      for (const SAMLRequest of ['not base64!', 'YWJj ZA==', 'YWJjZA=', 'YW=JjZA==', '////\u00e6']) {
        expect(decodeRedirectRequest({ SAMLRequest }), SAMLRequest).to.deep.equal({ ok: false, reason: 'base64' });
      }
      expect(decodeRedirectRequest({ SAMLRequest: undefined })).to.deep.equal({ ok: false, reason: 'missing' });
      expect(decodeRedirectRequest({ SAMLRequest: Buffer.from('<a/>').toString('base64') })).to.deep.equal({ ok: false, reason: 'deflate' });
      expect(decodeRedirectRequest({ SAMLRequest: deflateRawSync(Buffer.from([0x3c, 0xff, 0x3e])).toString('base64') })).to.deep.equal({ ok: false, reason: 'encoding' });
    });

    it('stops inflating a deflate bomb at the limit', () => {
      // 50 MB of zeros deflate to about 50 KB: small enough to pass the length check, so the
      // inflate limit is what refuses it.
      const bomb = deflateRawSync(Buffer.alloc(50 * 1024 * 1024), { level: 9 }).toString('base64');
      expect(bomb.length).to.be.below(Math.ceil(SAML_MESSAGE_MAX_BYTES / 3) * 4);
      expect(decodeRedirectRequest({ SAMLRequest: bomb })).to.deep.equal({ ok: false, reason: 'too-large' });
      const justOver = deflateRawSync(Buffer.alloc(1025, 0x20)).toString('base64');
      expect(decodeRedirectRequest({ SAMLRequest: justOver, maxBytes: 1024 })).to.deep.equal({ ok: false, reason: 'too-large' });
      expect(decodeRedirectRequest({ SAMLRequest: justOver, maxBytes: 1025 })).to.include({ ok: true });
    });

    it('refuses an oversized encoded request before decoding it', () => {
      expect(decodeRedirectRequest({ SAMLRequest: 'A'.repeat(Math.ceil(SAML_MESSAGE_MAX_BYTES / 3) * 4 + 4) })).to.deep.equal({ ok: false, reason: 'too-large' });
    });
  });

  describe('HTTP-POST', () => {
    it('decodes a signed AuthnRequest from node-saml', async () => {
      const SAMLRequest = await postAuthnRequest(makeSp({ keys, authnRequestBinding: 'HTTP-POST' }));
      const decoded = decodePostRequest({ SAMLRequest });
      if (!decoded.ok) throw new Error(decoded.reason);
      expect(decoded.xml).to.match(/^(?:<\?xml[^>]*>)?<samlp:AuthnRequest /).and.include('<Signature');
    });

    it('accepts RFC 2045 line breaks', () => {
      const SAMLRequest = Buffer.from('<a/>'.repeat(40)).toString('base64').replace(/.{76}/g, '$&\r\n');
      expect(decodePostRequest({ SAMLRequest })).to.deep.equal({ ok: true, xml: '<a/>'.repeat(40) });
    });

    it('refuses garbage base64, an oversized request and text that is not UTF-8', () => {
      for (const SAMLRequest of ['%%%', 'PGEvPg== ', 'PGEvPg']) {
        expect(decodePostRequest({ SAMLRequest }), SAMLRequest).to.deep.equal({ ok: false, reason: 'base64' });
      }
      expect(decodePostRequest({ SAMLRequest: '' })).to.deep.equal({ ok: false, reason: 'missing' });
      const big = Buffer.alloc(SAML_MESSAGE_MAX_BYTES + 1, 0x20).toString('base64');
      expect(decodePostRequest({ SAMLRequest: big })).to.deep.equal({ ok: false, reason: 'too-large' });
      expect(decodePostRequest({ SAMLRequest: Buffer.alloc(101, 0x20).toString('base64'), maxBytes: 100 })).to.deep.equal({ ok: false, reason: 'too-large' });
      expect(decodePostRequest({ SAMLRequest: Buffer.from([0xc3, 0x28]).toString('base64') })).to.deep.equal({ ok: false, reason: 'encoding' });
    });
  });
});
