import { expect } from 'chai';

import { validateMetadataSchema } from './metadata-schema.ts';

const VALID = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.viborg.dk">
<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.viborg.dk/acs" index="0"/>
</md:SPSSODescriptor>
</md:EntityDescriptor>`;

describe('validateMetadataSchema', function () {
  this.timeout(20000);

  it('accepts valid metadata and reports errors by line', () => {
    expect(validateMetadataSchema(VALID)).to.deep.equal([]);
    const [error, ...more] = validateMetadataSchema(VALID.replace(' index="0"', ''));
    expect(error).to.match(/^line 3: .*The attribute 'index' is required/);
    expect(more).to.deep.equal([]);
  });

  it('checks xml:lang through the XML namespace schema', () => {
    const organization = '<md:Organization><md:OrganizationName xml:lang="da">Viborg</md:OrganizationName><md:OrganizationDisplayName xml:lang="da">Viborg Kommune</md:OrganizationDisplayName><md:OrganizationURL xml:lang="da">https://viborg.dk</md:OrganizationURL></md:Organization>';
    expect(validateMetadataSchema(VALID.replace('</md:EntityDescriptor>', `${organization}</md:EntityDescriptor>`))).to.deep.equal([]);
    expect(validateMetadataSchema(VALID.replace('</md:EntityDescriptor>', `${organization.replace(' xml:lang="da"', '')}</md:EntityDescriptor>`))[0]).to.match(/lang.*required/);
  });

  it('leaves no trace of the engine: nothing on stdout, no listeners that would exit the process', () => {
    const drain = process.stdout.listenerCount('drain');
    const uncaught = process.listenerCount('uncaughtException');
    const write = process.stdout.write;
    let written = '';
    process.stdout.write = ((chunk: string) => ((written += chunk), true)) as typeof process.stdout.write;
    try {
      validateMetadataSchema(VALID);
      validateMetadataSchema('<a/>');
    } finally {
      process.stdout.write = write;
    }
    expect(written).to.equal('');
    expect(process.stdout.listenerCount('drain')).to.equal(drain);
    expect(process.listenerCount('uncaughtException')).to.equal(uncaught);
  });
});
