/**
 * Parsing XML from an untrusted source (a vendor's token file, a SAML message), the one rule
 * both share.
 *
 * A DOCTYPE is the door to every XML entity attack: external entities that read local files or
 * URLs (XXE) and nested internal entities that expand to gigabytes ("billion laughs"). Neither a
 * PSKC file (RFC 6030 defines its format by XML Schema) nor a SAML message (SAML Core §1.3 and
 * the OASIS schemas; SAML Security and Privacy Considerations §6.4.3 warns of DTD expansion) has
 * any use for one, so a document that mentions `<!DOCTYPE` or `<!ENTITY` is refused before a
 * parser sees it, whatever the parser would have done with it. @xmldom/xmldom itself never loads
 * external resources.
 */
import { DOMParser, type Document } from '@xmldom/xmldom';

/** Result of {@link parseUntrustedXml}. */
export type ParseUntrustedXmlResult =
  | { ok: true; document: Document }
  | { ok: false; reason: 'doctype' | 'malformed'; detail: string };

/** Options of {@link parseUntrustedXml}. */
export interface ParseUntrustedXmlOptions {
  /** The document's text, already decoded. */
  xml: string;
}

/**
 * Parses an XML document from an untrusted source, namespace-aware: refuses a DOCTYPE or entity
 * declaration anywhere in the text before parsing, and treats every parser warning as an error
 * (a failure in the result, never a line on the console).
 */
export function parseUntrustedXml(options: ParseUntrustedXmlOptions): ParseUntrustedXmlResult {
  const { xml } = options;
  // Case-insensitive and anywhere (even in a comment): refusing a harmless file is cheap,
  // missing a declaration is not.
  if (/<!\s*(?:DOCTYPE|ENTITY)/i.test(xml)) {
    return { ok: false, reason: 'doctype', detail: 'DOCTYPE or ENTITY declaration' };
  }
  const parser = new DOMParser({
    onError: (level, message) => {
      throw new Error(`${level}: ${message}`);
    },
  });
  try {
    const document = parser.parseFromString(xml, 'text/xml');
    if (!document.documentElement) return { ok: false, reason: 'malformed', detail: 'no root element' };
    return { ok: true, document };
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error);
    return { ok: false, reason: 'malformed', detail };
  }
}
