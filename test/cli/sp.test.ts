import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SAML } from '@node-saml/node-saml';
import { expect } from 'chai';
import { generate } from 'selfsigned';

import { DEFAULT_ATTRIBUTES } from '../../src/saml/attributes.ts';
import { createServiceProviderRepository } from '../../src/store/service-providers.ts';
import { createCliBacking, type CliBacking } from './run.ts';

let counter = 0;
const uniqueHost = (base: string) => `${base}-${process.pid}-${++counter}.viborg.dk`;

/** An SP's metadata as @node-saml/node-saml publishes it. */
function metadataFor(host: string, options: { signing?: { private: string; cert: string }; encryption?: { private: string; cert: string } } = {}): string {
  const saml = new SAML({
    issuer: `https://${host}/saml`,
    callbackUrl: `https://${host}/saml/acs`,
    logoutCallbackUrl: `https://${host}/saml/slo`,
    idpCert: 'unused-here',
    ...(options.signing && { privateKey: options.signing.private }),
    ...(options.encryption && { decryptionPvk: options.encryption.private }),
  });
  return saml.generateServiceProviderMetadata(options.encryption?.cert ?? null, options.signing?.cert ?? null);
}

interface SpJson {
  entity_id: string;
  level: string;
  nameid_format: string;
  attributes: string[];
  sign_response: boolean;
  signed_requests_required: boolean;
  encrypts_assertions: boolean;
  assertion_consumer_services: Array<{ binding: string; location: string; index: number; is_default: boolean }>;
}

describe('stepup sp', function () {
  this.timeout(30000);
  let backing: CliBacking;
  let dir: string;

  before(async () => {
    backing = await createCliBacking();
    await backing.migrate();
    dir = await mkdtemp(join(tmpdir(), 'stepup-sp-'));
  });
  after(async () => {
    await backing?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const file = async (name: string, xml: string) => {
    const path = join(dir, name);
    await writeFile(path, xml);
    return path;
  };
  const stored = (entityId: string) => backing.inspect(async (db, { events }) => ({
    record: await createServiceProviderRepository(db).find(entityId),
    added: (await events('sp.added')).filter((event) => event.details?.entityId === entityId),
    removed: (await events('sp.removed')).filter((event) => event.details?.entityId === entityId),
  }));
  const count = () => backing.inspect(async (db) => (await createServiceProviderRepository(db).list()).length);

  it('registers an SP from node-saml\'s metadata with the defaults, and writes sp.added', async () => {
    const host = uniqueHost('sag');
    const xml = metadataFor(host);
    const path = await file('sag.xml', xml);
    const result = await backing.run(['sp', 'add', '--metadata', path, '--json']);
    expect(result.code, result.stderr).to.equal(0);
    const { service_provider: sp, warnings } = JSON.parse(result.stdout) as { service_provider: SpJson; warnings: string[] };
    expect(warnings).to.deep.equal([]);
    expect(sp).to.deep.include({
      entity_id: `https://${host}/saml`,
      level: 'low',
      nameid_format: 'persistent',
      attributes: [...DEFAULT_ATTRIBUTES],
      sign_response: false,
      signed_requests_required: false,
      encrypts_assertions: false,
    });
    expect(sp.assertion_consumer_services).to.deep.equal([{ binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', location: `https://${host}/saml/acs`, index: 1, is_default: true }]);

    const { record, added } = await stored(`https://${host}/saml`);
    expect(record?.metadataXml).to.equal(xml);
    expect(record?.metadata.singleLogoutServices).to.deep.equal([{ binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', location: `https://${host}/saml/slo` }]);
    expect(added).to.have.length(1);
    expect(added[0]).to.deep.include({ actor: 'cli' });
  });

  it('keeps the registration\'s own choices, and the certificates by use', async () => {
    const host = uniqueHost('ydelse');
    const signing = await generate([{ name: 'commonName', value: host }], { keySize: 2048, algorithm: 'sha256' });
    const encryption = await generate([{ name: 'commonName', value: host }], { keySize: 2048, algorithm: 'sha256' });
    const path = await file('ydelse.xml', metadataFor(host, { signing, encryption }));
    const result = await backing.run(['sp', 'add', '--metadata', path, '--level', 'substantial', '--nameid', 'email',
      '--attributes', 'https://data.gov.dk/model/core/eid/email,https://data.gov.dk/concept/core/nsis/loa', '--sign-response', '--require-signed-requests']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include(`Added service provider https://${host}/saml (level substantial).`);
    expect(result.stdout).to.include('requests must be signed; Response and assertion signed, assertion encrypted');
    const { record } = await stored(`https://${host}/saml`);
    expect(record).to.deep.include({
      level: 'substantial',
      nameIdFormat: 'email',
      attributes: ['https://data.gov.dk/model/core/eid/email', 'https://data.gov.dk/concept/core/nsis/loa'],
      signResponse: true,
      requireSignedRequests: true,
    });
    const b64 = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');
    expect(record?.metadata.signingCertificates).to.deep.equal([b64(signing.cert)]);
    expect(record?.metadata.encryptionCertificates).to.deep.equal([b64(encryption.cert)]);
    expect(record?.metadata.authnRequestsSigned).to.equal(true);
  });

  it('refuses an entityID registered already, with conflict, keeping the first', async () => {
    const host = uniqueHost('dublet');
    const path = await file('dublet.xml', metadataFor(host));
    expect((await backing.run(['sp', 'add', '--metadata', path])).code).to.equal(0);
    const again = await backing.run(['sp', 'add', '--metadata', path, '--level', 'substantial', '--json']);
    expect(again.code).to.equal(1);
    expect(JSON.parse(again.stdout)).to.deep.equal({ error: { code: 'conflict', message: `a service provider "https://${host}/saml" is already registered` } });
    const { record, added } = await stored(`https://${host}/saml`);
    expect(record?.level).to.equal('low');
    expect(added).to.have.length(1);
  });

  it('refuses metadata with errors, listing every one, and writes nothing', async () => {
    const host = uniqueHost('afvist');
    const xml = metadataFor(host)
      .replace(`https://${host}/saml/acs`, `http://${host}/saml/acs`)
      .replace(`https://${host}/saml/slo`, `http://${host}/saml/slo`);
    const before = await count();
    const result = await backing.run(['sp', 'add', '--metadata', await file('afvist.xml', xml), '--json']);
    expect(result.code).to.equal(1);
    const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    expect(error.code).to.equal('invalid_input');
    expect(error.message.split('\n')).to.deep.equal([
      `${join(dir, 'afvist.xml')} is refused:`,
      `  AssertionConsumerService Location "http://${host}/saml/acs" must use https (plain http only for localhost or 127.0.0.1)`,
      `  SingleLogoutService Location "http://${host}/saml/slo" must use https (plain http only for localhost or 127.0.0.1)`,
    ]);
    expect(await count()).to.equal(before);
    expect((await stored(`https://${host}/saml`)).added).to.deep.equal([]);
  });

  it('refuses a DOCTYPE, a file that is not there, and wrong options', async () => {
    const doctype = await file('doctype.xml', `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>${metadataFor(uniqueHost('dtd')).replace('<?xml version="1.0"?>', '')}`);
    const refused = await backing.run(['sp', 'add', '--metadata', doctype]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.include('DOCTYPE or ENTITY declaration');

    const missing = await backing.run(['sp', 'add', '--metadata', join(dir, 'ingen.xml'), '--json']);
    expect(missing.code).to.equal(1);
    expect((JSON.parse(missing.stdout) as { error: { code: string } }).error.code).to.equal('not_found');

    const path = await file('ok.xml', metadataFor(uniqueHost('ok')));
    for (const [args, message] of [
      [['--level', 'high'], /--level must be low or substantial, got "high"/],
      [['--nameid', 'unspecified'], /--nameid must be one of persistent, transient, email/],
      [['--attributes', 'urn:oid:2.5.4.3'], /"urn:oid:2\.5\.4\.3" is not an attribute the IdP issues/],
    ] as const) {
      const result = await backing.run(['sp', 'add', '--metadata', path, ...args]);
      expect(result.code, result.stderr).to.equal(1);
      expect(result.stderr).to.match(message);
    }
    const usage = await backing.run(['sp', 'add']);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.match(/--metadata FILE is required\nUsage: stepup sp add --metadata FILE/);
  });

  it('lists the SPs and removes one, writing sp.removed; removing it again is not_found', async () => {
    const host = uniqueHost('udfases');
    const entityId = `https://${host}/saml`;
    expect((await backing.run(['sp', 'add', '--metadata', await file('udfases.xml', metadataFor(host))])).code).to.equal(0);

    const list = await backing.run(['sp', 'list', '--json']);
    expect(list.code, list.stderr).to.equal(0);
    const { service_providers: listed } = JSON.parse(list.stdout) as { service_providers: SpJson[] };
    expect(listed.map((sp) => sp.entity_id)).to.include(entityId);
    expect(listed).to.have.length(await count());
    const text = await backing.run(['sp', 'list']);
    expect(text.stdout).to.include(`${entityId}: level low`);
    expect(text.stdout).to.include(`ACS 1 (default): HTTP-POST https://${host}/saml/acs`);

    const removed = await backing.run(['sp', 'remove', entityId, '--json']);
    expect(removed.code, removed.stderr).to.equal(0);
    expect(JSON.parse(removed.stdout)).to.deep.equal({ entity_id: entityId });
    const after = await stored(entityId);
    expect(after.record).to.equal(undefined);
    expect(after.removed).to.have.length(1);
    expect(after.removed[0]).to.deep.include({ actor: 'cli' });

    const again = await backing.run(['sp', 'remove', entityId, '--json']);
    expect(again.code).to.equal(1);
    expect(JSON.parse(again.stdout)).to.deep.equal({ error: { code: 'not_found', message: `no service provider "${entityId}" is registered (see stepup sp list)` } });
    expect((await stored(entityId)).removed).to.have.length(1);
  });
});
