/**
 * Parsing untrusted XML (vendor token files) safely, and reading it by namespace.
 *
 * A DOCTYPE is the door to every XML entity attack: external entities that read local files or
 * URLs (XXE) and nested internal entities that expand to gigabytes ("billion laughs"). A PSKC
 * file has no use for one (RFC 6030 defines its format by XML Schema, not DTD), so any document
 * that mentions `<!DOCTYPE` or `<!ENTITY` is refused before a parser sees it, whatever the
 * parser would have done with it. @xmldom/xmldom itself never loads external resources.
 */
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';

/** The namespaces a PSKC file uses (RFC 6030 §4, §6). */
export const NS = {
  pskc: 'urn:ietf:params:xml:ns:keyprov:pskc',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
} as const;

/** Result of {@link parseXml}. */
export type ParseXmlResult =
  | { ok: true; document: Document }
  | { ok: false; reason: 'doctype' | 'malformed'; detail: string };

/** Options of {@link parseXml}. */
export interface ParseXmlOptions {
  /** The document's text, already decoded. */
  xml: string;
}

/**
 * Parses an XML document from an untrusted source: refuses a DOCTYPE or entity declaration
 * anywhere in the text before parsing, and treats every parser warning as an error.
 */
export function parseXml(options: ParseXmlOptions): ParseXmlResult {
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

/** The element children of `parent` with this namespace and local name, whatever the prefix. */
export function childElements(parent: Element, namespace: string, localName: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node !== null; node = node.nextSibling) {
    if (node.nodeType === node.ELEMENT_NODE) {
      const element = node as Element;
      if (element.namespaceURI === namespace && element.localName === localName) found.push(element);
    }
  }
  return found;
}

/** The first such child, or `undefined`. */
export function childElement(parent: Element, namespace: string, localName: string): Element | undefined {
  return childElements(parent, namespace, localName)[0];
}

/** Follows a path of PSKC-namespace children, e.g. `['Data', 'Secret']`. */
export function pskcPath(parent: Element, path: readonly string[]): Element | undefined {
  let current: Element | undefined = parent;
  for (const name of path) {
    if (current === undefined) return undefined;
    current = childElement(current, NS.pskc, name);
  }
  return current;
}

/** The trimmed text content of an element, or `undefined` when there is no element. */
export function textOf(element: Element | undefined): string | undefined {
  return element === undefined ? undefined : (element.textContent ?? '').trim();
}
