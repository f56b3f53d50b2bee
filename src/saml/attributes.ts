/**
 * The attributes the IdP can put in an assertion, by their OIOSAML 3 names (OIOSAML Web SSO
 * Profile 3.0, the Danish profile of SAML 2.0: attribute names are URIs under
 * `https://data.gov.dk/`, NameFormat `urn:oasis:names:tc:SAML:2.0:attrname-format:uri`).
 */
export const OIOSAML_ATTRIBUTES = {
  /** The profile version; its value is `OIO-SAML-3.0`. */
  specVersion: 'https://data.gov.dk/model/core/specVersion',
  /** The NSIS level of assurance reached (the same URIs as AuthnContextClassRef). */
  loa: 'https://data.gov.dk/concept/core/nsis/loa',
  email: 'https://data.gov.dk/model/core/eid/email',
  fullName: 'https://data.gov.dk/model/core/eid/fullName',
  /** A professional's stable identifier (the IdP's user id). */
  professionalUuid: 'https://data.gov.dk/model/core/eid/professional/uuid/persistent',
} as const;

/** Every attribute the IdP can fill, in the order an assertion lists them. */
export const SUPPORTED_ATTRIBUTES: readonly string[] = Object.values(OIOSAML_ATTRIBUTES);

/** What an SP registered without `--attributes` receives: all of them (issue "Step 5"). */
export const DEFAULT_ATTRIBUTES: readonly string[] = SUPPORTED_ATTRIBUTES;
