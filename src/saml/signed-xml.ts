import { createRequire } from 'node:module';

import type { SignedXml } from 'xml-crypto';

const require = createRequire(import.meta.url);

/**
 * xml-crypto's `SignedXml`, loaded at the first XML signature made or checked: with the XPath
 * engine and the copy of xmldom it brings it is heap that a node at rest, or one without SAML
 * service providers, does not need (issue 10's memory goal).
 */
export const signedXml = (): typeof SignedXml => (require('xml-crypto') as { SignedXml: typeof SignedXml }).SignedXml;
