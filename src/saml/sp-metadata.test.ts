import { expect } from 'chai';

import { SAML, type SamlConfig } from '@node-saml/node-saml';
import { generate } from 'selfsigned';

import { HTTP_POST, parseSpMetadata, type ParseSpMetadataResult } from './sp-metadata.ts';

/** The clock every check here runs at; the certificates are made valid around it. */
const NOW = new Date('2026-11-25T12:00:00Z');

async function certificate(options: { notBefore?: string; notAfter?: string; keySize?: number } = {}) {
  return generate([{ name: 'commonName', value: 'sp.viborg.dk' }], {
    keySize: options.keySize ?? 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(options.notBefore ?? '2026-01-01T00:00:00Z'),
    notAfterDate: new Date(options.notAfter ?? '2028-01-01T00:00:00Z'),
  });
}

/** Metadata from an independent SP library (@node-saml/node-saml), as a real SP would publish it. */
function nodeSamlMetadata(config: Partial<SamlConfig> = {}, certs: { decryption?: string; signing?: string } = {}): string {
  const saml = new SAML({
    issuer: 'https://sag.viborg.dk/saml',
    callbackUrl: 'https://sag.viborg.dk/saml/acs',
    logoutCallbackUrl: 'https://sag.viborg.dk/saml/slo',
    idpCert: 'unused-here',
    ...config,
  });
  return saml.generateServiceProviderMetadata(certs.decryption ?? null, certs.signing ?? null);
}

const b64 = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

function expectErrors(result: ParseSpMetadataResult): string[] {
  expect(result.ok, JSON.stringify(result)).to.equal(false);
  return (result as { errors: string[] }).errors;
}

function expectSp(result: ParseSpMetadataResult) {
  expect(result.ok, JSON.stringify(result)).to.equal(true);
  return result as Extract<ParseSpMetadataResult, { ok: true }>;
}

const SP = (body: string, attributes = '') => `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.viborg.dk"${attributes}>
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
${body}
  </md:SPSSODescriptor>
</md:EntityDescriptor>`;
const ACS = (location: string, index = 0) => `<md:AssertionConsumerService Binding="${HTTP_POST}" Location="${location}" index="${index}"/>`;

describe('parseSpMetadata', function () {
  this.timeout(20000);

  it('reads node-saml\'s metadata for an SP that signs and decrypts', async () => {
    const signing = await certificate();
    const encryption = await certificate();
    const xml = nodeSamlMetadata(
      { privateKey: signing.private, decryptionPvk: encryption.private, wantAssertionsSigned: true, identifierFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' },
      { signing: signing.cert, decryption: encryption.cert },
    );
    const { sp, warnings } = expectSp(parseSpMetadata({ xml, now: NOW }));
    expect(warnings).to.deep.equal([]);
    expect(sp).to.deep.equal({
      entityId: 'https://sag.viborg.dk/saml',
      // node-saml writes AuthnRequestsSigned="true" when it has a signing key.
      authnRequestsSigned: true,
      wantAssertionsSigned: true,
      signingCertificates: [b64(signing.cert)],
      encryptionCertificates: [b64(encryption.cert)],
      // node-saml lists what its XML-Encryption library decrypts, GCM first.
      encryptionMethods: [
        'http://www.w3.org/2009/xmlenc11#aes256-gcm',
        'http://www.w3.org/2009/xmlenc11#aes128-gcm',
        'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
        'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
      ],
      assertionConsumerServices: [{ binding: HTTP_POST, location: 'https://sag.viborg.dk/saml/acs', index: 1, isDefault: true }],
      singleLogoutServices: [{ binding: HTTP_POST, location: 'https://sag.viborg.dk/saml/slo' }],
      nameIdFormats: ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
    });
  });

  it('reads node-saml\'s metadata for an SP with no keys', () => {
    const { sp } = expectSp(parseSpMetadata({ xml: nodeSamlMetadata({ wantAssertionsSigned: false }), now: NOW }));
    expect(sp).to.deep.include({ authnRequestsSigned: false, wantAssertionsSigned: false, signingCertificates: [], encryptionCertificates: [] });
  });

  it('takes a KeyDescriptor without use for signing and encryption (metadata §2.4.1.1), and keeps every ACS with its index', async () => {
    const cert = b64((await certificate()).cert);
    const xml = SP(`<md:KeyDescriptor><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>
${cert.match(/.{1,64}/g)?.join('\n')}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sp.viborg.dk/slo" ResponseLocation="https://sp.viborg.dk/slo/done"/>
${ACS('https://sp.viborg.dk/acs', 3)}
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="http://localhost:8080/acs" index="4" isDefault="1"/>`, ' validUntil="2027-01-01T00:00:00Z"');
    const { sp } = expectSp(parseSpMetadata({ xml, now: NOW }));
    expect(sp.signingCertificates).to.deep.equal([cert]);
    expect(sp.encryptionCertificates).to.deep.equal([cert]);
    expect(sp.encryptionMethods).to.deep.equal([]);
    expect(sp.assertionConsumerServices).to.deep.equal([
      { binding: HTTP_POST, location: 'https://sp.viborg.dk/acs', index: 3, isDefault: false },
      { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact', location: 'http://localhost:8080/acs', index: 4, isDefault: true },
    ]);
    expect(sp.singleLogoutServices).to.deep.equal([
      { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', location: 'https://sp.viborg.dk/slo', responseLocation: 'https://sp.viborg.dk/slo/done' },
    ]);
  });

  describe('refuses', () => {
    it('a DOCTYPE, before parsing', () => {
      const xml = nodeSamlMetadata().replace('<?xml version="1.0"?>', '<?xml version="1.0"?>\n<!DOCTYPE md:EntityDescriptor>');
      expect(expectErrors(parseSpMetadata({ xml, now: NOW }))).to.deep.equal(['the metadata has a DOCTYPE or ENTITY declaration, which SAML metadata never needs (refused before parsing)']);
    });

    it('a billion laughs', () => {
      const lol = ['<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`)].join('\n');
      const xml = `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n${lol}\n]>\n${SP(ACS('https://sp.viborg.dk/acs')).replace('<?xml version="1.0"?>', '').replace('https://sp.viborg.dk"', 'https://sp.viborg.dk/&lol9;"')}`;
      expect(expectErrors(parseSpMetadata({ xml, now: NOW }))[0]).to.match(/DOCTYPE or ENTITY declaration/);
    });

    it('an external entity (XXE)', () => {
      const xml = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${SP(ACS('https://sp.viborg.dk/acs')).replace('<?xml version="1.0"?>', '')}`;
      expect(expectErrors(parseSpMetadata({ xml, now: NOW }))[0]).to.match(/DOCTYPE or ENTITY declaration/);
    });

    it('a document that is not metadata', () => {
      expect(expectErrors(parseSpMetadata({ xml: '<html><body>Hej</body></html>', now: NOW }))).to.deep.equal(['the metadata\'s root element is html, not a SAML 2.0 metadata EntityDescriptor']);
      expect(expectErrors(parseSpMetadata({ xml: 'entityID=https://sp.viborg.dk', now: NOW }))[0]).to.match(/^the metadata is not well-formed XML/);
    });

    it('metadata without an AssertionConsumerService, by the schema', () => {
      const [error, ...more] = expectErrors(parseSpMetadata({ xml: SP('<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>'), now: NOW }));
      expect(error).to.match(/^not valid SAML 2\.0 metadata: line \d+: .*Missing child element\(s\)\. Expected is .*AssertionConsumerService/);
      expect(more).to.deep.equal([]);
    });

    it('an element the schema does not allow', () => {
      const errors = expectErrors(parseSpMetadata({ xml: SP(`${ACS('https://sp.viborg.dk/acs')}<md:Surprise/>`), now: NOW }));
      expect(errors[0]).to.match(/^not valid SAML 2\.0 metadata: line 4: .*Surprise.*not expected/);
    });

    it('an http ACS to a host that is not local, and lists every error', () => {
      const xml = SP(`<md:SingleLogoutService Binding="${HTTP_POST}" Location="http://sp.viborg.dk/slo"/>${ACS('http://sp.viborg.dk/acs', 0)}${ACS('javascript:alert(1)', 0)}`);
      expect(expectErrors(parseSpMetadata({ xml, now: NOW }))).to.deep.equal([
        'AssertionConsumerService Location "http://sp.viborg.dk/acs" must use https (plain http only for localhost or 127.0.0.1)',
        'AssertionConsumerService Location "javascript:alert(1)" must be an https URL',
        'two AssertionConsumerService elements have index 0',
        'SingleLogoutService Location "http://sp.viborg.dk/slo" must use https (plain http only for localhost or 127.0.0.1)',
      ]);
    });

    it('an SP with no HTTP-POST ACS', () => {
      const xml = SP('<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://sp.viborg.dk/acs" index="0"/>');
      expect(expectErrors(parseSpMetadata({ xml, now: NOW }))).to.deep.equal(['no AssertionConsumerService has the HTTP-POST binding, the one the IdP sends its Response with']);
    });

    it('two EntityDescriptors, as a federation file or as two roots', () => {
      const one = SP(ACS('https://sp.viborg.dk/acs')).replace('<?xml version="1.0"?>', '');
      const entities = `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">${one}${one.replace('https://sp.viborg.dk"', 'https://other.viborg.dk"')}</md:EntitiesDescriptor>`;
      expect(expectErrors(parseSpMetadata({ xml: entities, now: NOW }))[0]).to.match(/is an EntitiesDescriptor/);
      expect(expectErrors(parseSpMetadata({ xml: `${one}${one}`, now: NOW }))[0]).to.match(/^the metadata is not well-formed XML/);
    });

    it('an IdP\'s metadata', () => {
      const xml = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="${HTTP_POST}" Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
      expect(expectErrors(parseSpMetadata({ xml, now: NOW }))).to.deep.equal(['the metadata has no SPSSODescriptor supporting urn:oasis:names:tc:SAML:2.0:protocol']);
    });

    it('metadata past its validUntil', () => {
      const xml = SP(ACS('https://sp.viborg.dk/acs'), ' validUntil="2026-01-01T00:00:00Z"');
      expect(expectErrors(parseSpMetadata({ xml, now: NOW }))).to.deep.equal(['the metadata expired at 2026-01-01T00:00:00Z (validUntil)']);
    });

    const keyDescriptor = (use: string, cert: string) => `<md:KeyDescriptor use="${use}"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;

    it('a certificate that is not one', () => {
      const xml = SP(`${keyDescriptor('signing', Buffer.from('not a certificate').toString('base64'))}${keyDescriptor('encryption', Buffer.from('nor this').toString('base64'))}${ACS('https://sp.viborg.dk/acs')}`);
      expect(expectErrors(parseSpMetadata({ xml, now: NOW }))).to.deep.equal([
        'a signing certificate is not a valid X.509 certificate',
        'an encryption certificate is not a valid X.509 certificate',
      ]);
    });

    it('a certificate that is not base64, by the schema', () => {
      const [error] = expectErrors(parseSpMetadata({ xml: SP(`${keyDescriptor('signing', 'abc*def')}${ACS('https://sp.viborg.dk/acs')}`), now: NOW }));
      expect(error).to.match(/^not valid SAML 2\.0 metadata: line 4: .*'abc\*def' is not a valid value of the atomic type 'xs:base64Binary'/);
    });

    it('a certificate expired more than a year ago, warning of one expired lately', async () => {
      const stale = await certificate({ notBefore: '2020-01-01T00:00:00Z', notAfter: '2025-06-01T00:00:00Z' });
      const errors = expectErrors(parseSpMetadata({ xml: SP(`${keyDescriptor('signing', b64(stale.cert))}${ACS('https://sp.viborg.dk/acs')}`), now: NOW }));
      expect(errors).to.deep.equal(['a signing certificate (CN=sp.viborg.dk) expired at 2025-06-01T00:00:00.000Z, more than a year ago']);

      const lately = await certificate({ notBefore: '2025-01-01T00:00:00Z', notAfter: '2026-10-01T00:00:00Z' });
      const { warnings, sp } = expectSp(parseSpMetadata({ xml: SP(`${keyDescriptor('encryption', b64(lately.cert))}${ACS('https://sp.viborg.dk/acs')}`), now: NOW }));
      expect(warnings).to.deep.equal(['the certificate CN=sp.viborg.dk expired at 2026-10-01T00:00:00.000Z']);
      expect(sp.encryptionCertificates).to.have.length(1);
    });

    it('an RSA key shorter than 2048 bits', async () => {
      const weak = await certificate({ keySize: 1024 });
      expect(expectErrors(parseSpMetadata({ xml: SP(`${keyDescriptor('signing', b64(weak.cert))}${ACS('https://sp.viborg.dk/acs')}`), now: NOW })))
        .to.deep.equal(['a signing certificate (CN=sp.viborg.dk) has a 1024-bit RSA key; at least 2048 bits are required']);
    });
  });
});
