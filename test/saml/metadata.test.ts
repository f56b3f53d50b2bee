import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { SAML } from '@node-saml/node-saml';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { expect } from 'chai';

import { rotateSigningKeys } from '../../src/crypto/signing-keys.ts';
import { validateMetadataSchema } from '../../src/saml/metadata-schema.ts';
import { createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const run = promisify(execFile);

/** Debian's xmlsec1, or a skip with a notice (a failure under STEPUP_REQUIRE_SERVICES=1, as in CI). */
async function xmlsec1(): Promise<string | undefined> {
  try {
    await run('xmlsec1', ['--version']);
    return 'xmlsec1';
  } catch {
    if (process.env.STEPUP_REQUIRE_SERVICES === '1') throw new Error('STEPUP_REQUIRE_SERVICES=1 but xmlsec1 is not installed (apt-get install xmlsec1)');
    console.warn('      (xmlsec1 not installed: skipping the xmlsec1 check)');
    return undefined;
  }
}

function parse(xml: string) {
  const root = new DOMParser().parseFromString(xml, 'text/xml').documentElement as unknown as Element;
  const idp = root.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0] as Element;
  const certificates = Array.from(idp.getElementsByTagNameNS(MD, 'KeyDescriptor')).map((descriptor) => ({
    use: descriptor.getAttribute('use'),
    kid: descriptor.getElementsByTagNameNS(DS, 'KeyName')[0]?.textContent,
    pem: `-----BEGIN CERTIFICATE-----\n${descriptor.getElementsByTagNameNS(DS, 'X509Certificate')[0]?.textContent}\n-----END CERTIFICATE-----\n`,
  }));
  const services = (name: string) => Array.from(idp.getElementsByTagNameNS(MD, name)).map((e) => [e.getAttribute('Binding'), e.getAttribute('Location')]);
  return {
    root,
    idp,
    certificates,
    sso: services('SingleSignOnService'),
    slo: services('SingleLogoutService'),
    nameIdFormats: Array.from(idp.getElementsByTagNameNS(MD, 'NameIDFormat')).map((e) => e.textContent),
  };
}

/** node-saml's own check of an enveloped signature on the root, the one it applies to a Response's. */
async function verifiedByNodeSaml(xml: string, idpCerts: string[]): Promise<boolean> {
  const { parseDomFromString, validateSignature } = (await import('@node-saml/node-saml/lib/xml.js')) as {
    parseDomFromString(xml: string): Promise<{ documentElement: unknown }>;
    validateSignature(xml: string, node: unknown, pems: string[]): boolean;
  };
  return validateSignature(xml, (await parseDomFromString(xml)).documentElement, idpCerts);
}

describe('SAML IdP metadata at /saml/metadata', function () {
  let backing: Backing;
  let running: RunningIdp;
  let dir: string;

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing);
    dir = await mkdtemp(join(tmpdir(), 'stepup-metadata-'));
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const fetchMetadata = async () => {
    const response = await fetch(`${running.url}/saml/metadata`);
    expect(response.status).to.equal(200);
    return { response, xml: await response.text() };
  };

  it('is an EntityDescriptor for {ISSUER}/saml, valid against the SAML 2.0 metadata schema', async () => {
    const { response, xml } = await fetchMetadata();
    expect(response.headers.get('content-type')).to.match(/^application\/samlmetadata\+xml/);
    expect(response.headers.get('cache-control')).to.equal('public, max-age=300');
    expect(validateMetadataSchema(xml)).to.deep.equal([]);

    const { root, idp, certificates, sso, slo, nameIdFormats } = parse(xml);
    expect(root.getAttribute('entityID')).to.equal(`${running.issuer}/saml`);
    expect(idp.getAttribute('WantAuthnRequestsSigned')).to.equal('false');
    expect(idp.getAttribute('protocolSupportEnumeration')).to.equal('urn:oasis:names:tc:SAML:2.0:protocol');
    const bindings = ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST'];
    expect(sso).to.deep.equal(bindings.map((binding) => [binding, `${running.issuer}/saml/sso`]));
    expect(slo).to.deep.equal(bindings.map((binding) => [binding, `${running.issuer}/saml/slo`]));
    expect(nameIdFormats).to.deep.equal([
      'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
      'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    ]);

    // One signing certificate: the current RS256 key's, self-signed for the entityID's host.
    const [current, ...rest] = certificates;
    expect(rest).to.deep.equal([]);
    expect(current?.use).to.equal('signing');
    const keys = await running.idp.storage.signingKeys.listPublished();
    const rsa = keys.find((key) => key.alg === 'RS256' && key.state === 'current');
    expect(current?.kid).to.equal(rsa?.kid);
    const certificate = new X509Certificate(current?.pem as string);
    expect(certificate.fingerprint256).to.equal(new X509Certificate(rsa?.certificatePem as string).fingerprint256);
    expect(certificate.subject).to.equal('CN=127.0.0.1');
    expect(certificate.verify(certificate.publicKey)).to.equal(true);
    const years = (Date.parse(certificate.validTo) - Date.parse(certificate.validFrom)) / (365 * 24 * 3600 * 1000);
    expect(years).to.be.within(1.99, 2.01);
  });

  it('is signed, and xmlsec1 verifies the signature with the published certificate', async function () {
    const { xml } = await fetchMetadata();
    const signature = parse(xml).root.firstChild as Element;
    expect(signature.namespaceURI).to.equal(DS);
    expect(signature.localName).to.equal('Signature');
    expect(xml).to.include('Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"');
    expect(xml).to.include('Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"');

    const bin = await xmlsec1();
    if (!bin) return this.skip();
    const file = join(dir, 'metadata.xml');
    const cert = join(dir, 'idp.pem');
    await writeFile(file, xml);
    await writeFile(cert, parse(xml).certificates[0]?.pem as string);
    const verify = (path: string) => run(bin, ['--verify', '--pubkey-cert-pem', cert, '--id-attr:ID', `${MD}:EntityDescriptor`, path]);
    const { stderr } = await verify(file);
    expect(stderr).to.match(/^OK/m);

    // And refuses a changed document.
    const tampered = join(dir, 'tampered.xml');
    await writeFile(tampered, xml.replace('/saml/sso"', '/saml/evil"'));
    let failed = false;
    await verify(tampered).catch(() => {
      failed = true;
    });
    expect(failed).to.equal(true);
  });

  it('gives node-saml (as an SP) the IdP certificate, which verifies what the IdP signs', async () => {
    const { xml } = await fetchMetadata();
    const { certificates } = parse(xml);
    const sp = new SAML({
      callbackUrl: 'https://sp.example/saml/acs',
      entryPoint: `${running.issuer}/saml/sso`,
      issuer: 'https://sp.example/saml',
      idpCert: certificates.map((c) => c.pem),
    });
    // node-saml's own signature check (the one it applies to Responses) accepts the metadata's
    // enveloped signature with the certificate it read: the certificate is the signing key's.
    expect(await verifiedByNodeSaml(xml, certificates.map((c) => c.pem))).to.equal(true);
    expect(sp.options.idpCert).to.have.length(1);
  });

  it('publishes the next certificate ahead of use after a rotation, at once, and signs with the current one', async () => {
    const before = parse((await fetchMetadata()).xml).certificates;
    const keys = running.idp.storage.signingKeys;
    const newKids = await rotateSigningKeys({ keys, leadSeconds: 3600, subject: { commonName: '127.0.0.1', now: Date.now } });

    const { xml } = await fetchMetadata();
    expect(validateMetadataSchema(xml)).to.deep.equal([]);
    const after = parse(xml).certificates;
    expect(after.map((c) => c.kid)).to.deep.equal([before[0]?.kid, ...newKids.filter((kid) => after.some((c) => c.kid === kid))]);
    expect(after).to.have.length(2);
    const states = new Map((await keys.listPublished()).map((key) => [key.kid, key.state]));
    expect(after.map((c) => states.get(c.kid as string))).to.deep.equal(['current', 'next']);

    // Signed with the current key, not the next one.
    expect(await verifiedByNodeSaml(xml, [after[0]?.pem as string])).to.equal(true);
    expect(await verifiedByNodeSaml(xml, [after[1]?.pem as string])).to.equal(false);

    // The next rotation makes the waiting key sign; the old one leaves SAML's list (it stays in /jwks).
    await rotateSigningKeys({ keys, leadSeconds: 3600, subject: { commonName: '127.0.0.1', now: Date.now } });
    const third = parse((await fetchMetadata()).xml).certificates;
    expect(third[0]?.kid).to.equal(after[1]?.kid);
    expect(third.map((c) => c.kid)).not.to.include(before[0]?.kid);
  });
});
