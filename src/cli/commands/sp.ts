import { readFile } from 'node:fs/promises';

import { LEVELS } from '../../auth/levels.ts';
import { DEFAULT_ATTRIBUTES, SUPPORTED_ATTRIBUTES } from '../../saml/attributes.ts';
import { parseSpMetadata } from '../../saml/sp-metadata.ts';
import type { Storage } from '../../store/index.ts';
import type { ServiceProviderRecord, SpNameIdFormat } from '../../store/service-providers.ts';
import { CliError } from '../errors.ts';
import type { Output } from '../output.ts';
import { checkOneOf, printable } from '../validate.ts';

/** The NameID formats `--nameid` chooses from (SAML 2.0 core §8.3.7, §8.3.8, §8.3.2). */
export const NAMEID_FORMATS: readonly SpNameIdFormat[] = ['persistent', 'transient', 'email'];

/** What `stepup` shows of a service provider. */
export interface SpSummary {
  entity_id: string;
  level: string;
  nameid_format: SpNameIdFormat;
  attributes: string[];
  sign_response: boolean;
  /** Whether its AuthnRequests must be signed: its metadata's AuthnRequestsSigned, or `--require-signed-requests`. */
  signed_requests_required: boolean;
  authn_requests_signed: boolean;
  want_assertions_signed: boolean;
  /** Whether assertions to it are encrypted (its metadata has an encryption certificate). */
  encrypts_assertions: boolean;
  assertion_consumer_services: Array<{ binding: string; location: string; index: number; is_default: boolean }>;
  single_logout_services: Array<{ binding: string; location: string }>;
  created_at: string;
}

export interface AddSpInput {
  /** The metadata file's path. */
  metadata: string;
  /** Defaults to `low`. */
  level?: string | undefined;
  /** Defaults to `persistent`. */
  nameid?: string | undefined;
  /** Comma-separated attribute names; defaults to {@link DEFAULT_ATTRIBUTES}. */
  attributes?: string | undefined;
  signResponse?: boolean | undefined;
  requireSignedRequests?: boolean | undefined;
}

/** The largest file read; {@link parseSpMetadata} refuses anything over its own, smaller limit. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Registers a SAML service provider from its metadata file (`stepup sp add`). The file is
 * checked whole first and refused with every error it has; nothing is written then. The
 * registration and its `sp.added` event are one transaction.
 */
export async function addSp(
  deps: { storage: Pick<Storage, 'db' | 'serviceProviders' | 'audit'>; now: () => Date },
  input: AddSpInput,
  out: Output,
): Promise<{ service_provider: SpSummary; warnings: string[] }> {
  const level = checkOneOf(input.level ?? 'low', LEVELS, '--level');
  const nameIdFormat = checkOneOf(input.nameid ?? 'persistent', NAMEID_FORMATS, '--nameid');
  const attributes = input.attributes === undefined ? [...DEFAULT_ATTRIBUTES] : checkAttributes(input.attributes);
  const xml = await readMetadataFile(input.metadata);
  const result = parseSpMetadata({ xml, now: deps.now() });
  if (!result.ok) {
    throw new CliError('invalid_input', [`${printable(input.metadata)} is refused:`, ...result.errors.map((error) => `  ${printable(error, 300)}`)].join('\n'));
  }
  const { sp, warnings } = result;
  const conflict = (cause?: unknown) => new CliError('conflict', `a service provider "${printable(sp.entityId)}" is already registered`, { cause });
  if (await deps.storage.serviceProviders.find(sp.entityId)) throw conflict();

  const record = await deps.storage.db.transaction(async (trx) => {
    let added: ServiceProviderRecord;
    try {
      added = await deps.storage.serviceProviders.add({
        metadataXml: xml,
        metadata: sp,
        level,
        nameIdFormat,
        attributes,
        signResponse: input.signResponse === true,
        requireSignedRequests: input.requireSignedRequests === true,
      }, trx);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw conflict(error);
      throw error;
    }
    await deps.storage.audit.record({
      type: 'sp.added',
      actor: 'cli',
      details: {
        entityId: sp.entityId,
        level,
        nameIdFormat,
        attributes,
        signResponse: added.signResponse,
        requireSignedRequests: added.requireSignedRequests,
        authnRequestsSigned: sp.authnRequestsSigned,
        assertionConsumerServices: sp.assertionConsumerServices.map((endpoint) => endpoint.location),
        encryptsAssertions: sp.encryptionCertificates.length > 0,
      },
    }, trx);
    return added;
  });

  const service = summary(record);
  out.line(`Added service provider ${printable(service.entity_id)} (level ${service.level}).`);
  for (const text of describe(service)) out.line(`  ${text}`);
  for (const warning of warnings) out.line(`  warning: ${printable(warning, 300)}`);
  return { service_provider: service, warnings };
}

/** Every registered service provider, by entityID (`stepup sp list`). */
export async function listSps(deps: { storage: Pick<Storage, 'serviceProviders'> }, out: Output): Promise<{ service_providers: SpSummary[] }> {
  const services = (await deps.storage.serviceProviders.list()).map(summary);
  if (services.length === 0) out.line('No service providers are registered.');
  for (const service of services) {
    out.line(`${printable(service.entity_id)}: level ${service.level}`);
    for (const text of describe(service)) out.line(`  ${text}`);
  }
  return { service_providers: services };
}

/**
 * Removes a service provider (`stepup sp remove`): every node refuses its requests from the
 * next one on, as each lookup reads the table.
 */
export async function removeSp(
  deps: { storage: Pick<Storage, 'db' | 'serviceProviders' | 'audit'> },
  input: { entityId: string },
  out: Output,
): Promise<{ entity_id: string }> {
  const { entityId } = input;
  await deps.storage.db.transaction(async (trx) => {
    if (!(await deps.storage.serviceProviders.remove(entityId, trx))) {
      throw new CliError('not_found', `no service provider "${printable(entityId)}" is registered (see stepup sp list)`);
    }
    await deps.storage.audit.record({ type: 'sp.removed', actor: 'cli', details: { entityId } }, trx);
  });
  out.line(`Removed service provider ${printable(entityId)}.`);
  return { entity_id: entityId };
}

/** `--attributes`: comma-separated names, each one the IdP can fill, no repeats. */
function checkAttributes(list: string): string[] {
  const names = list.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new CliError('invalid_input', '--attributes must name at least one attribute');
  for (const name of names) {
    if (!SUPPORTED_ATTRIBUTES.includes(name)) {
      throw new CliError('invalid_input', `--attributes: "${printable(name)}" is not an attribute the IdP issues; it issues ${SUPPORTED_ATTRIBUTES.join(', ')}`);
    }
  }
  return [...new Set(names)];
}

async function readMetadataFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new CliError(code === 'ENOENT' ? 'not_found' : 'invalid_input', `cannot read ${printable(path)}: ${code ?? 'unreadable'}`, { cause: error });
  }
  if (bytes.length > MAX_FILE_BYTES) throw new CliError('invalid_input', `${printable(path)} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB; it is not one SP's metadata`);
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    return text.decode(bytes);
  } catch (error) {
    throw new CliError('invalid_input', `${printable(path)} is not UTF-8 text`, { cause: error });
  }
}

function summary(record: ServiceProviderRecord): SpSummary {
  const m = record.metadata;
  return {
    entity_id: record.entityId,
    level: record.level,
    nameid_format: record.nameIdFormat,
    attributes: record.attributes,
    sign_response: record.signResponse,
    signed_requests_required: record.requireSignedRequests || m.authnRequestsSigned,
    authn_requests_signed: m.authnRequestsSigned,
    want_assertions_signed: m.wantAssertionsSigned,
    encrypts_assertions: m.encryptionCertificates.length > 0,
    assertion_consumer_services: m.assertionConsumerServices.map(({ binding, location, index, isDefault }) => ({ binding, location, index, is_default: isDefault })),
    single_logout_services: m.singleLogoutServices.map(({ binding, location }) => ({ binding, location })),
    created_at: new Date(record.createdAt).toISOString(),
  };
}

const bindingName = (urn: string) => urn.replace('urn:oasis:names:tc:SAML:2.0:bindings:', '');

function describe(service: SpSummary): string[] {
  return [
    `NameID ${service.nameid_format}; attributes: ${service.attributes.join(' ')}`,
    `requests ${service.signed_requests_required ? 'must be signed' : 'may be unsigned'}; ${service.sign_response ? 'Response and assertion signed' : 'assertion signed'}${service.encrypts_assertions ? ', assertion encrypted' : ''}`,
    ...service.assertion_consumer_services.map((acs) => `ACS ${acs.index}${acs.is_default ? ' (default)' : ''}: ${bindingName(acs.binding)} ${acs.location}`),
    ...service.single_logout_services.map((slo) => `SLO: ${bindingName(slo.binding)} ${slo.location}`),
  ].map((text) => printable(text, Infinity));
}
