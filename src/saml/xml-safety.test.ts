import { expect } from 'chai';
import { parseSamlXml, SAML_MESSAGE_MAX_BYTES } from './xml-safety.ts';

const REQUEST =
  '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"' +
  ' ID="_1" Version="2.0" IssueInstant="2025-01-01T00:00:00Z"><saml:Issuer>https://sp.example</saml:Issuer></samlp:AuthnRequest>';

describe('parseSamlXml', () => {
  it('parses a request namespace-aware, with or without an XML declaration', () => {
    for (const xml of [REQUEST, `<?xml version="1.0" encoding="UTF-8"?>\n${REQUEST}`, `\uFEFF<?xml version="1.0"?>${REQUEST}`]) {
      const result = parseSamlXml({ xml });
      if (!result.ok) throw new Error(result.detail);
      const root = result.document.documentElement!;
      expect(root.localName).to.equal('AuthnRequest');
      expect(root.namespaceURI).to.equal('urn:oasis:names:tc:SAML:2.0:protocol');
    }
  });

  it('refuses a DOCTYPE before parsing', () => {
    const xml = `<!DOCTYPE samlp:AuthnRequest [<!ENTITY x SYSTEM "file:///etc/passwd">]>${REQUEST.replace('https://sp.example', '&x;')}`;
    expect(parseSamlXml({ xml })).to.deep.include({ ok: false, reason: 'doctype' });
  });

  it('refuses billion laughs before parsing', () => {
    const entities = ['<!ENTITY lol "lol">'];
    for (let level = 1; level < 10; level += 1) entities.push(`<!ENTITY lol${level} "${`&lol${level === 1 ? '' : level - 1};`.repeat(10)}">`);
    const xml = `<?xml version="1.0"?><!DOCTYPE lolz [${entities.join('')}]><lolz>&lol9;</lolz>`;
    expect(parseSamlXml({ xml })).to.deep.include({ ok: false, reason: 'doctype' });
  });

  it('refuses processing instructions other than the XML declaration', () => {
    for (const xml of [
      `<?xml-stylesheet href="evil.xsl"?>${REQUEST}`,
      REQUEST.replace('<saml:Issuer>', '<?evil?><saml:Issuer>'),
      `${REQUEST}<?evil?>`,
      ` <?xml version="1.0"?>${REQUEST}`,
    ]) {
      expect(parseSamlXml({ xml }), xml).to.deep.include({ ok: false, reason: 'processing-instruction' });
    }
  });

  it('refuses an oversized message before parsing it', () => {
    const xml = REQUEST.replace('https://sp.example', 'x'.repeat(SAML_MESSAGE_MAX_BYTES));
    expect(parseSamlXml({ xml })).to.deep.include({ ok: false, reason: 'too-large' });
    expect(parseSamlXml({ xml: REQUEST, maxBytes: REQUEST.length - 1 })).to.deep.include({ ok: false, reason: 'too-large' });
    // Bytes, not UTF-16 code units.
    expect(parseSamlXml({ xml: REQUEST.replace('sp.example', 'æøåæøå'), maxBytes: REQUEST.length + 1 })).to.deep.include({ ok: false, reason: 'too-large' });
  });

  it('reports malformed XML and unbound prefixes as failures, not console warnings', () => {
    for (const xml of ['<a><b></a>', 'not xml', '', '<p:a/>', '<a x="1" x="2"/>']) {
      expect(parseSamlXml({ xml }), xml).to.deep.include({ ok: false, reason: 'malformed' });
    }
  });
});
