import type { Knex } from 'knex';

/**
 * SAML service providers, registered from their metadata (issue "Step 5"). Read from the table on
 * every lookup, as OIDC clients are, so a registration or removal on one node holds on every
 * node at once. The types are defined here, below the SAML code that fills them, so `store/`
 * imports no domain module.
 */

/** An endpoint from an SP's metadata (SAML 2.0 metadata §2.2.2, EndpointType). */
export interface SpEndpoint {
  /** The binding's URN, e.g. `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST`. */
  binding: string;
  location: string;
  /** Where responses go, when not to `location` (§2.2.2). */
  responseLocation?: string;
}

/** An indexed endpoint (§2.2.3, IndexedEndpointType): an AssertionConsumerService. */
export interface SpIndexedEndpoint {
  binding: string;
  location: string;
  index: number;
  /** The `isDefault` attribute as written; absent is false here, the §2.2.3 default rule applies on use. */
  isDefault: boolean;
}

/** What the IdP uses from an SP's metadata, checked when it was registered. */
export interface SpMetadata {
  entityId: string;
  /** `AuthnRequestsSigned` on the SPSSODescriptor (§2.4.4): its requests must be signed. */
  authnRequestsSigned: boolean;
  /** `WantAssertionsSigned` (§2.4.4). */
  wantAssertionsSigned: boolean;
  /** Base64 DER certificates for verifying its signatures (KeyDescriptor use="signing" or without use, §2.4.1.1). */
  signingCertificates: string[];
  /** Base64 DER certificates to encrypt assertions to (use="encryption" or without use). */
  encryptionCertificates: string[];
  /** The content-encryption algorithm URIs listed with those certificates (EncryptionMethod, §2.4.1.1). */
  encryptionMethods: string[];
  assertionConsumerServices: SpIndexedEndpoint[];
  singleLogoutServices: SpEndpoint[];
  /** The NameIDFormat URIs it lists, in order. */
  nameIdFormats: string[];
}

/** The NameID formats the IdP issues (SAML 2.0 core §8.3). */
export type SpNameIdFormat = 'persistent' | 'transient' | 'email';

/** The levels a registration may require (the same names as `auth/levels.ts`). */
export type SpLevel = 'low' | 'substantial';

/** A registered service provider. */
export interface ServiceProviderRecord {
  entityId: string;
  /** The metadata document exactly as registered. */
  metadataXml: string;
  metadata: SpMetadata;
  /** The minimum level every login for this SP reaches. */
  level: SpLevel;
  nameIdFormat: SpNameIdFormat;
  /** Names of the attributes the assertion carries, in order. */
  attributes: string[];
  /** Whether the Response is signed as well as the assertion. */
  signResponse: boolean;
  /** Whether its AuthnRequests must be signed even if its metadata does not say so. */
  requireSignedRequests: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A service provider to register. */
export type NewServiceProvider = Omit<ServiceProviderRecord, 'entityId' | 'createdAt' | 'updatedAt'>;

interface ServiceProviderRow {
  entity_id: string;
  metadata_xml: string;
  parsed: SpMetadata;
  level: SpLevel;
  nameid_format: SpNameIdFormat;
  attributes: string[];
  sign_response: boolean;
  require_signed_requests: boolean;
  created_at: Date;
  updated_at: Date;
}

/** Stores SAML service providers by entityID. */
export interface ServiceProviderRepository {
  /** Registers one; a taken entityID fails with the database's unique violation (23505). */
  add(input: NewServiceProvider, trx?: Knex.Transaction): Promise<ServiceProviderRecord>;
  /** The SP with this entityID, or undefined; read from the table each time. */
  find(entityId: string): Promise<ServiceProviderRecord | undefined>;
  /** Every SP, by entityID. */
  list(): Promise<ServiceProviderRecord[]>;
  /** Removes one; false if there was none. */
  remove(entityId: string, trx?: Knex.Transaction): Promise<boolean>;
}

const toRecord = (row: ServiceProviderRow): ServiceProviderRecord => ({
  entityId: row.entity_id,
  metadataXml: row.metadata_xml,
  metadata: row.parsed,
  level: row.level,
  nameIdFormat: row.nameid_format,
  attributes: row.attributes,
  signResponse: row.sign_response,
  requireSignedRequests: row.require_signed_requests,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** A {@link ServiceProviderRepository} on the `saml_service_providers` table. */
export function createServiceProviderRepository(db: Knex): ServiceProviderRepository {
  return {
    async add(input, trx) {
      const [row] = (await (trx ?? db)('saml_service_providers')
        .insert({
          entity_id: input.metadata.entityId,
          metadata_xml: input.metadataXml,
          parsed: JSON.stringify(input.metadata),
          level: input.level,
          nameid_format: input.nameIdFormat,
          attributes: JSON.stringify(input.attributes),
          sign_response: input.signResponse,
          require_signed_requests: input.requireSignedRequests,
        })
        .returning('*')) as ServiceProviderRow[];
      return toRecord(row as ServiceProviderRow);
    },
    async find(entityId) {
      const row = (await db<ServiceProviderRow>('saml_service_providers').where({ entity_id: entityId }).first()) as ServiceProviderRow | undefined;
      return row && toRecord(row);
    },
    async list() {
      return ((await db<ServiceProviderRow>('saml_service_providers').orderBy('entity_id')) as ServiceProviderRow[]).map(toRecord);
    },
    async remove(entityId, trx) {
      return (await (trx ?? db)('saml_service_providers').where({ entity_id: entityId }).delete()) > 0;
    },
  };
}
