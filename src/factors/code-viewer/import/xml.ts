/**
 * Reading a parsed PSKC file by namespace. The file is parsed by `parseUntrustedXml`
 * (`src/xml/untrusted.ts`), which refuses a DOCTYPE or entity declaration before parsing.
 */
import type { Element } from '@xmldom/xmldom';

/** The namespaces a PSKC file uses (RFC 6030 §4, §6). */
export const NS = {
  pskc: 'urn:ietf:params:xml:ns:keyprov:pskc',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
} as const;

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
