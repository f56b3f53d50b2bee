/**
 * The first step for every SAML message that arrives: refuse what no SAML message needs before
 * it is parsed, then parse it strictly and namespace-aware.
 *
 * - A DOCTYPE or entity declaration (XXE, billion laughs) is refused by the rule shared with
 *   every untrusted XML document (`src/xml/untrusted.ts`; issue "Step 5").
 * - A processing instruction other than the XML declaration is refused: SAML's schemas (SAML
 *   Core §1.3) have no place for one, and a parser or stylesheet step that acted on one would
 *   act on the sender's orders.
 * - Text larger than `maxBytes` is refused before any work on it (issue "Step 5": oversized
 *   requests are refused).
 */
import type { Document } from '@xmldom/xmldom';
import { parseUntrustedXml } from '../xml/untrusted.ts';

/**
 * Largest SAML message accepted, in bytes of XML, by default: 64 KiB. An AuthnRequest or
 * LogoutRequest is a few KiB even signed with a certificate in KeyInfo.
 */
export const SAML_MESSAGE_MAX_BYTES = 64 * 1024;

/** Why {@link parseSamlXml} refused a message. */
export type SamlXmlFailure = 'too-large' | 'doctype' | 'processing-instruction' | 'malformed';

/** Result of {@link parseSamlXml}. */
export type ParseSamlXmlResult =
  | { ok: true; document: Document }
  | { ok: false; reason: SamlXmlFailure; detail: string };

/** Options of {@link parseSamlXml}. */
export interface ParseSamlXmlOptions {
  /** The message's XML, already decoded from its binding. */
  xml: string;
  /** Largest accepted size in UTF-8 bytes. Defaults to {@link SAML_MESSAGE_MAX_BYTES}. */
  maxBytes?: number;
}

// The XML declaration (XML 1.0 §2.8) may stand only at the very start; its pseudo-attributes
// hold no `<`, `>` or `?`.
const XML_DECLARATION = /^<\?xml\s[^<>?]*\?>/;

/** Parses an incoming SAML message, refusing what could attack the parser (see the module). */
export function parseSamlXml(options: ParseSamlXmlOptions): ParseSamlXmlResult {
  const { maxBytes = SAML_MESSAGE_MAX_BYTES } = options;
  // A byte order mark (XML 1.0 §4.3.3) belongs to the encoding the binding already undid.
  const xml = options.xml.replace(/^\uFEFF/, '');
  const bytes = Buffer.byteLength(xml, 'utf8');
  if (bytes > maxBytes) return { ok: false, reason: 'too-large', detail: `${bytes} bytes, at most ${maxBytes}` };
  // Anywhere, even in a comment or CDATA: refusing a harmless message is cheap.
  if (xml.replace(XML_DECLARATION, '').includes('<?')) {
    return { ok: false, reason: 'processing-instruction', detail: 'processing instruction' };
  }
  return parseUntrustedXml({ xml });
}
