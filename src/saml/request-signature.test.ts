import { expect } from 'chai';
import type { Document, Element } from '@xmldom/xmldom';
import { XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { makeSp, postAuthnRequest } from '../../test/fixtures/saml/node-saml-sp.ts';
import { makeSpKeys, type SpKeys } from '../../test/fixtures/saml/sp-keys.ts';
import { decodePostRequest } from './bindings.ts';
import { verifyEnvelopedSignature } from './request-signature.ts';
import { parseSamlXml } from './xml-safety.ts';

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

const LOGOUT_REQUEST =
  `<samlp:LogoutRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="_logout1" Version="2.0" IssueInstant="2025-01-01T00:00:00Z"` +
  ' Destination="https://idp.example/saml/slo"><saml:Issuer>https://sp.example/saml</saml:Issuer>' +
  '<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">alice</saml:NameID></samlp:LogoutRequest>';

/** Options of {@link signWithXmlCrypto}: the algorithms default to the allowed ones. */
interface SignOptions {
  xml: string;
  keys: SpKeys;
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
  canonicalizationAlgorithm?: string;
  transforms?: string[];
}

// Signs the root as an SP would, the Signature after the Issuer (SAML Core §5.4.1), with
// whatever algorithms a variant needs; the key's certificate goes into KeyInfo.
function signWithXmlCrypto(options: SignOptions): string {
  const { xml, keys, signatureAlgorithm = RSA_SHA256, digestAlgorithm = SHA256, canonicalizationAlgorithm = EXC_C14N, transforms = [ENVELOPED, EXC_C14N] } = options;
  const signer = new SignedXml({ privateKey: keys.privateKey, publicCert: keys.certificatePem, signatureAlgorithm, canonicalizationAlgorithm });
  signer.addReference({ xpath: '/*', digestAlgorithm, transforms });
  signer.computeSignature(xml, { prefix: 'ds', location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' } });
  return signer.getSignedXml();
}

function parse(xml: string): Document {
  const parsed = parseSamlXml({ xml });
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.document;
}

function child(parent: Element, namespace: string, localName: string): Element {
  const found = Array.from(parent.childNodes).find((node): node is Element => node.nodeType === node.ELEMENT_NODE
    && (node as Element).namespaceURI === namespace && (node as Element).localName === localName);
  if (found === undefined) throw new Error(`no ${localName}`);
  return found;
}

function signatureOf(document: Document): Element {
  return child(document.documentElement!, DS, 'Signature');
}

function reference(document: Document): Element {
  return child(child(signatureOf(document), DS, 'SignedInfo'), DS, 'Reference');
}

function serialize(document: Document): string {
  return new XMLSerializer().serializeToString(document);
}

describe('verifyEnvelopedSignature', () => {
  let keys: SpKeys;
  let otherKeys: SpKeys;
  let signedAuthnRequest: string;
  let signedLogoutRequest: string;

  function refused(xml: string, certificates = [keys.certificate]): string | undefined {
    const result = verifyEnvelopedSignature({ document: parse(xml), certificates });
    return result.verified ? undefined : result.reason;
  }

  before(async () => {
    [keys, otherKeys] = await Promise.all([makeSpKeys({ commonName: 'sp' }), makeSpKeys({ commonName: 'other' })]);
    const decoded = decodePostRequest({ SAMLRequest: await postAuthnRequest(makeSp({ keys, authnRequestBinding: 'HTTP-POST' })) });
    if (!decoded.ok) throw new Error(decoded.reason);
    signedAuthnRequest = decoded.xml;
    signedLogoutRequest = signWithXmlCrypto({ xml: LOGOUT_REQUEST, keys });
  });

  it('verifies an AuthnRequest signed by node-saml and a LogoutRequest, returning the verified root', () => {
    for (const [xml, localName] of [[signedAuthnRequest, 'AuthnRequest'], [signedLogoutRequest, 'LogoutRequest']] as const) {
      const document = parse(xml);
      const result = verifyEnvelopedSignature({ document, certificates: [otherKeys.certificate, keys.certificate] });
      if (!result.verified) throw new Error(result.reason);
      expect(result.root).to.equal(document.documentElement);
      expect(result.root.localName).to.equal(localName);
      expect(result.certificate).to.equal(keys.certificate);
    }
  });

  it('refuses an unsigned request', () => {
    expect(refused(LOGOUT_REQUEST)).to.equal('unsigned');
  });

  describe('wrapping variants, each refused before the cryptography', () => {
    it('the signed request moved under the Extensions of an unsigned evil root', () => {
      const original = parse(signedAuthnRequest).documentElement!;
      const evil = parse(`<samlp:AuthnRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="_evil" Version="2.0" IssueInstant="2025-01-01T00:00:00Z">` +
        '<saml:Issuer>https://evil.example</saml:Issuer><samlp:Extensions/></samlp:AuthnRequest>');
      child(evil.documentElement!, SAMLP, 'Extensions').appendChild(evil.importNode(original, true));
      expect(refused(serialize(evil))).to.equal('signature-not-child-of-root');

      // The same, with the signature moved up to the evil root: it still points at the original.
      const moved = parse(serialize(evil));
      const signature = moved.getElementsByTagNameNS(DS, 'Signature')[0]!;
      moved.documentElement!.insertBefore(signature, child(moved.documentElement!, SAMLP, 'Extensions'));
      expect(refused(serialize(moved))).to.equal('reference-not-root');

      // And with the evil root taking the original's ID as well.
      moved.documentElement!.setAttribute('ID', original.getAttribute('ID')!);
      expect(refused(serialize(moved))).to.equal('duplicate-id');
    });

    it('a second Signature', () => {
      const document = parse(signedLogoutRequest);
      document.documentElement!.appendChild(signatureOf(document).cloneNode(true));
      expect(refused(serialize(document))).to.equal('multiple-signatures');
    });

    it('a Signature that is not a child of the root', () => {
      const document = parse(signedLogoutRequest);
      const extensions = document.createElementNS(SAMLP, 'samlp:Extensions');
      extensions.appendChild(signatureOf(document));
      document.documentElement!.appendChild(extensions);
      expect(refused(serialize(document))).to.equal('signature-not-child-of-root');
    });

    it('a Reference URI to another element', () => {
      const document = parse(signedLogoutRequest);
      reference(document).setAttribute('URI', '#_issuer');
      child(document.documentElement!, SAML, 'Issuer').setAttribute('ID', '_issuer');
      expect(refused(serialize(document))).to.equal('reference-not-root');
    });

    it("another element carrying the root's ID, in any ID-like attribute", () => {
      for (const attribute of ['ID', 'Id', 'id', 'wsu:Id']) {
        const document = parse(signedLogoutRequest);
        const nameId = child(document.documentElement!, SAML, 'NameID');
        if (attribute === 'wsu:Id') nameId.setAttributeNS('http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd', attribute, '_logout1');
        else nameId.setAttribute(attribute, '_logout1');
        expect(refused(serialize(document)), attribute).to.equal('duplicate-id');
      }
    });

    it('an empty or absent Reference URI', () => {
      const document = parse(signedLogoutRequest);
      reference(document).setAttribute('URI', '');
      expect(refused(serialize(document))).to.equal('reference-uri-empty');
      reference(document).removeAttribute('URI');
      expect(refused(serialize(document))).to.equal('reference-uri-empty');
    });

    it('a second Reference', () => {
      const document = parse(signedLogoutRequest);
      const signedInfo = child(signatureOf(document), DS, 'SignedInfo');
      signedInfo.appendChild(reference(document).cloneNode(true));
      expect(refused(serialize(document))).to.equal('reference-count');
    });
  });

  describe('algorithms', () => {
    it('refuses an RSA-SHA1 signature (node-saml) and a SHA-1 digest', async () => {
      const decoded = decodePostRequest({ SAMLRequest: await postAuthnRequest(makeSp({ keys, authnRequestBinding: 'HTTP-POST', signatureAlgorithm: 'sha1' })) });
      if (!decoded.ok) throw new Error(decoded.reason);
      expect(refused(decoded.xml)).to.equal('signature-algorithm-not-allowed');
      expect(refused(signWithXmlCrypto({ xml: LOGOUT_REQUEST, keys, digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1' }))).to.equal('digest-algorithm-not-allowed');
    });

    it('refuses inclusive c14n and c14n with comments, as the method and as a transform', () => {
      const inclusive = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
      expect(refused(signWithXmlCrypto({ xml: LOGOUT_REQUEST, keys, canonicalizationAlgorithm: inclusive }))).to.equal('canonicalization-not-allowed');
      expect(refused(signWithXmlCrypto({ xml: LOGOUT_REQUEST, keys, canonicalizationAlgorithm: `${EXC_C14N}WithComments` }))).to.equal('canonicalization-not-allowed');
      expect(refused(signWithXmlCrypto({ xml: LOGOUT_REQUEST, keys, transforms: [ENVELOPED, inclusive] }))).to.equal('transform-not-allowed');
      expect(refused(signWithXmlCrypto({ xml: LOGOUT_REQUEST, keys, transforms: [ENVELOPED, `${EXC_C14N}WithComments`] }))).to.equal('transform-not-allowed');
      expect(refused(signWithXmlCrypto({ xml: LOGOUT_REQUEST, keys, transforms: [ENVELOPED, EXC_C14N, EXC_C14N] }))).to.equal('transform-not-allowed');
    });

    it('accepts RSA-SHA512 with a SHA-512 digest', () => {
      const xml = signWithXmlCrypto({ xml: LOGOUT_REQUEST, keys, signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha512' });
      expect(refused(xml)).to.equal(undefined);
    });
  });

  describe('content', () => {
    it('refuses a comment injected into the signed Issuer or NameID, which exclusive c14n would not have digested', () => {
      for (const [from, to] of [['alice</saml:NameID>', 'al<!---->ice</saml:NameID>'], ['https://sp.example/saml</saml:Issuer>', 'https://sp.example<!---->/saml</saml:Issuer>']]) {
        const injected = signedLogoutRequest.replace(from!, to!);
        expect(injected).to.not.equal(signedLogoutRequest);
        // Without the comment rule xml-crypto accepts it: the digest is the same.
        const xmlCrypto = new SignedXml({ publicCert: keys.certificate.publicKey, getCertFromKeyInfo: () => null });
        xmlCrypto.loadSignature(new XMLSerializer().serializeToString(signatureOf(parse(injected))));
        expect(xmlCrypto.checkSignature(injected)).to.equal(true);
        expect(refused(injected)).to.equal('comment');
      }
    });

    it('refuses a tampered Issuer', () => {
      expect(refused(signedLogoutRequest.replace('https://sp.example/saml</saml:Issuer>', 'https://evil.example/saml</saml:Issuer>'))).to.equal('signature-invalid');
      expect(refused(signedAuthnRequest.replace(/(<saml:Issuer[^>]*>)[^<]+/, '$1https://evil.example'))).to.equal('signature-invalid');
    });

    it('refuses a signature by another key, even with its certificate in KeyInfo', () => {
      const xml = signWithXmlCrypto({ xml: LOGOUT_REQUEST, keys: otherKeys });
      expect(xml).to.include(otherKeys.certificatePem.split('\n')[1]);
      expect(refused(xml)).to.equal('signature-invalid');
      expect(refused(xml, [])).to.equal('signature-invalid');
    });
  });
});
