/**
 * Encrypted assertions (SAML core §2.3.4, §6; XML Encryption 1.1): when an SP's metadata has an
 * encryption certificate, its assertion travels as an EncryptedAssertion only it can open. The
 * content is AES-256-GCM when the SP's metadata lists it among its EncryptionMethods, else
 * AES-256-CBC, which every SAML 2.0 SP reads; the AES key is wrapped with RSA-OAEP to the SP's
 * certificate. samlify does the encrypting: it is the IdP library of the stack, and its
 * XML-Encryption is the part of it we use as it is (see README, "SAML 2.0").
 */
import { createRequire } from 'node:module';

import { BINDINGS } from './idp-metadata.ts';

/**
 * The part of samlify used here, typed by hand: its own declarations pull in the DOM library
 * (through the xmldom it bundles), whose CryptoKey then clashes with Node's in every file.
 */
interface Samlify {
  IdentityProvider(settings: Record<string, unknown>): SamlifyEntity;
  ServiceProvider(settings: Record<string, unknown>): SamlifyEntity;
  SamlLib: { encryptAssertion(source: SamlifyEntity, target: SamlifyEntity, xml: string): Promise<string> };
}
/** An IdP or SP entity, opaque to us. */
interface SamlifyEntity {
  readonly entitySetting: unknown;
}

/**
 * samlify, loaded at the first encrypted assertion: it and the xmldom, node-rsa and lodash it
 * brings are some 4 MB of heap that a node whose SPs take plain assertions never needs (issue 10's
 * memory goal at rest).
 */
let samlify: Samlify | undefined;
const loadSamlify = () => (samlify ??= createRequire(import.meta.url)('samlify') as Samlify);

/** Content-encryption algorithms (XML Encryption 1.1 §5.2). */
export const DATA_ENCRYPTION = {
  aes256Gcm: 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  aes256Cbc: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
} as const;

/** The key transport: RSA-OAEP with MGF1 (XML Encryption 1.1 §5.5.2). */
export const KEY_TRANSPORT = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';

/**
 * The content encryption for an SP, from the EncryptionMethods its metadata lists with its
 * encryption key (metadata §2.4.1.1): GCM only when it says it reads GCM, as a list without
 * it (or none at all) means nothing beyond the SAML 2.0 baseline of CBC.
 */
export function dataEncryptionFor(encryptionMethods: readonly string[]): string {
  return encryptionMethods.includes(DATA_ENCRYPTION.aes256Gcm) ? DATA_ENCRYPTION.aes256Gcm : DATA_ENCRYPTION.aes256Cbc;
}

/** The SP an assertion is encrypted to. */
export interface EncryptionRecipient {
  entityId: string;
  /** Its encryption certificate, base64 DER. */
  certificate: string;
  /** The EncryptionMethods its metadata lists with that certificate. */
  encryptionMethods: readonly string[];
}

/**
 * The encrypter of one IdP: replaces a Response's one (signed) Assertion with an
 * EncryptedAssertion for the recipient. samlify's IdP entity is made once per algorithm; it wants
 * the IdP's endpoints, though nothing of them is sent.
 */
export function createAssertionEncryption(idp: { entityId: string; issuer: string }) {
  const entities = new Map<string, SamlifyEntity>();
  const entityFor = (dataEncryption: string) => {
    const known = entities.get(dataEncryption);
    if (known) return known;
    const made = loadSamlify().IdentityProvider({
      entityID: idp.entityId,
      isAssertionEncrypted: true,
      dataEncryptionAlgorithm: dataEncryption,
      keyEncryptionAlgorithm: KEY_TRANSPORT,
      singleSignOnService: [{ Binding: BINDINGS.post, Location: `${idp.issuer}/saml/sso` }],
      singleLogoutService: [{ Binding: BINDINGS.post, Location: `${idp.issuer}/saml/slo` }],
    });
    entities.set(dataEncryption, made);
    return made;
  };

  return async function encryptAssertion(responseXml: string, recipient: EncryptionRecipient): Promise<string> {
    // From settings, not the SP's stored metadata: we pick the certificate, and samlify would
    // take all of an SP's encryption certificates as one.
    const { ServiceProvider, SamlLib } = loadSamlify();
    const sp = ServiceProvider({ entityID: recipient.entityId, encryptCert: pem(recipient.certificate) });
    const base64 = await SamlLib.encryptAssertion(entityFor(dataEncryptionFor(recipient.encryptionMethods)), sp, responseXml);
    return Buffer.from(base64, 'base64').toString('utf8');
  };
}

const pem = (base64Der: string) => `-----BEGIN CERTIFICATE-----\n${base64Der.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
