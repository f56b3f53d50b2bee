/**
 * Verifying the enveloped signature of an incoming SAML request (HTTP-POST binding, SAML
 * Bindings §3.5.4.1; SAML Core §5) with a check of our own that cannot be wrapped.
 *
 * samlify 2.13.1 is open to signature wrapping on signed AuthnRequest and LogoutRequest
 * (GHSA-63ch-w8pw-4mf2, issue "Step 5"): a valid signature over one element is made to vouch
 * for another. So the shape is pinned down before any cryptography (SAML Core §5.4.1–5.4.4):
 * exactly one ds:Signature, a child of the root; exactly one Reference, to `#` + the root's ID;
 * no other element carrying that ID; only the algorithms allowed. Then xml-crypto checks the
 * signature against the SP's certificates, never a key from KeyInfo. The caller gets the root
 * element that was verified and must read the request from it alone.
 */
import type { X509Certificate } from 'node:crypto';
import { XMLSerializer, type Document, type Element, type Node } from '@xmldom/xmldom';

import { signedXml } from './signed-xml.ts';

const DS = 'http://www.w3.org/2000/09/xmldsig#';
const EXCLUSIVE_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

// RSA with SHA-256 or stronger (issue "Step 5"), as far as xml-crypto verifies them: it has no
// rsa-sha384 and no ECDSA, so those are refused rather than half-supported.
const SIGNATURE_METHODS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
const DIGEST_METHODS = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);
// Exclusive c14n without comments only (SAML Core §5.4.3, §5.4.4): inclusive c14n drags in the
// ancestors' namespaces, and "#WithComments" is never what an SP signs.
const TRANSFORMS = new Set([ENVELOPED_SIGNATURE, EXCLUSIVE_C14N]);

/** Why {@link verifyEnvelopedSignature} refused a request. */
export type RequestSignatureFailure =
  | 'unsigned'
  | 'multiple-signatures'
  | 'signature-not-child-of-root'
  | 'root-without-id'
  | 'signature-malformed'
  | 'canonicalization-not-allowed'
  | 'signature-algorithm-not-allowed'
  | 'reference-count'
  | 'reference-uri-empty'
  | 'reference-not-root'
  | 'duplicate-id'
  | 'transform-not-allowed'
  | 'digest-algorithm-not-allowed'
  | 'comment'
  | 'signature-invalid';

/** Result of {@link verifyEnvelopedSignature}. */
export type VerifyEnvelopedSignatureResult =
  | { verified: true; root: Element; certificate: X509Certificate }
  | { verified: false; reason: RequestSignatureFailure };

/** Options of {@link verifyEnvelopedSignature}. */
export interface VerifyEnvelopedSignatureOptions {
  /** The request, as `parseSamlXml` parsed it. */
  document: Document;
  /** The SP's signing certificates from its metadata; any one of them may have signed. */
  certificates: readonly X509Certificate[];
}

/**
 * Verifies the enveloped signature of a SAML request, refusing every shape a wrapping attack
 * needs (see the module). On success, returns the root element and the certificate that
 * verified it.
 */
export function verifyEnvelopedSignature(options: VerifyEnvelopedSignatureOptions): VerifyEnvelopedSignatureResult {
  const { document, certificates } = options;
  const root = document.documentElement;
  const signatures = Array.from(document.getElementsByTagNameNS(DS, 'Signature'));
  const signature = signatures[0];
  if (root === null || signature === undefined) return { verified: false, reason: 'unsigned' };
  if (signatures.length > 1) return { verified: false, reason: 'multiple-signatures' };
  if (signature.parentNode !== root) return { verified: false, reason: 'signature-not-child-of-root' };
  const id = root.getAttribute('ID');
  if (id === null || id === '') return { verified: false, reason: 'root-without-id' };

  const signedInfo = onlyChild(signature, 'SignedInfo');
  if (signedInfo === undefined || onlyChild(signature, 'SignatureValue') === undefined) {
    return { verified: false, reason: 'signature-malformed' };
  }
  if (algorithmOf(onlyChild(signedInfo, 'CanonicalizationMethod')) !== EXCLUSIVE_C14N) {
    return { verified: false, reason: 'canonicalization-not-allowed' };
  }
  if (!SIGNATURE_METHODS.has(algorithmOf(onlyChild(signedInfo, 'SignatureMethod')) ?? '')) {
    return { verified: false, reason: 'signature-algorithm-not-allowed' };
  }
  const references = dsChildren(signedInfo, 'Reference');
  const reference = references[0];
  if (reference === undefined || references.length > 1) return { verified: false, reason: 'reference-count' };
  const uri = reference.getAttribute('URI');
  // An empty or absent URI means the whole document (XML Signature §4.4.3.2), which wrapping
  // could fill with anything; SAML Core §5.4.2 requires the root's ID.
  if (uri === null || uri === '') return { verified: false, reason: 'reference-uri-empty' };
  if (uri !== `#${id}`) return { verified: false, reason: 'reference-not-root' };
  if (carriesId(root, id)) return { verified: false, reason: 'duplicate-id' };

  const transformsElement = onlyChild(reference, 'Transforms');
  const transforms = transformsElement === undefined ? [] : dsChildren(transformsElement, 'Transform').map(algorithmOf);
  if (transforms.some((algorithm) => !TRANSFORMS.has(algorithm ?? '')) || new Set(transforms).size !== transforms.length) {
    return { verified: false, reason: 'transform-not-allowed' };
  }
  if (!DIGEST_METHODS.has(algorithmOf(onlyChild(reference, 'DigestMethod')) ?? '')) {
    return { verified: false, reason: 'digest-algorithm-not-allowed' };
  }
  // Exclusive c14n drops comments from the digest, so `<Issuer>good<!---->.evil</Issuer>` keeps
  // a valid signature while a reader that stops at the first text node sees only "good"
  // (CVE-2017-11428 and its kin). No SP needs a comment in a request.
  if (containsComment(root)) return { verified: false, reason: 'comment' };

  const xml = new XMLSerializer().serializeToString(document);
  const signatureXml = new XMLSerializer().serializeToString(signature);
  const SignedXml = signedXml();
  for (const certificate of certificates) {
    // Only the SP's certificate from its metadata counts, never one the message brings in KeyInfo.
    const verifier = new SignedXml({ publicCert: certificate.publicKey, getCertFromKeyInfo: () => null });
    try {
      verifier.loadSignature(signatureXml);
      if (verifier.checkSignature(xml)) return { verified: true, root, certificate };
    } catch {
      // xml-crypto throws for a wrong signature value; the next certificate may be the one.
    }
  }
  return { verified: false, reason: 'signature-invalid' };
}

function dsChildren(parent: Element, localName: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node !== null; node = node.nextSibling) {
    if (isElement(node) && node.namespaceURI === DS && node.localName === localName) found.push(node);
  }
  return found;
}

function onlyChild(parent: Element, localName: string): Element | undefined {
  const children = dsChildren(parent, localName);
  return children.length === 1 ? children[0] : undefined;
}

function algorithmOf(element: Element | undefined): string | undefined {
  return element?.getAttribute('Algorithm') ?? undefined;
}

function isElement(node: Node): node is Element {
  return node.nodeType === node.ELEMENT_NODE;
}

// xml-crypto finds a reference's element by any attribute whose local name is ID, Id or id, in
// any namespace; a second such attribute with the root's ID is where a wrapped copy would hide.
function carriesId(root: Element, id: string): boolean {
  const ownId = root.getAttributeNode('ID');
  return [root, ...Array.from(root.getElementsByTagName('*'))].some((element) =>
    Array.from(element.attributes).some((attribute) =>
      attribute !== ownId && ['ID', 'Id', 'id'].includes(attribute.localName ?? '') && attribute.value === id));
}

function containsComment(node: Node): boolean {
  for (let child = node.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === child.COMMENT_NODE || containsComment(child)) return true;
  }
  return false;
}
