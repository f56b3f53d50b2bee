/**
 * Taking a SAML request off its binding: the HTTP-Redirect binding's query (SAML Bindings
 * §3.4.4: base64 of raw DEFLATE, with a detached signature over the query string) and the
 * HTTP-POST binding's form field (§3.5.4: base64 of the XML). Nothing here parses XML; each step
 * refuses what it cannot take safely with a stable reason (issue "Step 5": garbage base64,
 * oversized and deflate-bomb requests are refused).
 */
import { constants, verify, type X509Certificate } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { SAML_MESSAGE_MAX_BYTES } from './xml-safety.ts';

/** The SAMLEncoding value of DEFLATE, the only one this IdP reads (SAML Bindings §3.4.4). */
const DEFLATE_ENCODING = 'urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE';

/**
 * The signature algorithms accepted on a Redirect binding request, with node:crypto's digest
 * and key type (URIs of RFC 6931 §2.3; SHA-1 is refused, issue "Step 5": RSA-SHA256 or
 * stronger).
 */
const REDIRECT_SIG_ALGS: Readonly<Record<string, { digest: string; keyType: 'rsa' | 'ec' }>> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': { digest: 'sha256', keyType: 'rsa' },
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384': { digest: 'sha384', keyType: 'rsa' },
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': { digest: 'sha512', keyType: 'rsa' },
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256': { digest: 'sha256', keyType: 'ec' },
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384': { digest: 'sha384', keyType: 'ec' },
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512': { digest: 'sha512', keyType: 'ec' },
};

/** Why a message could not be decoded from its binding. */
export type DecodeFailure = 'missing' | 'too-large' | 'base64' | 'deflate' | 'encoding';

/** Result of {@link decodeRedirectRequest} and {@link decodePostRequest}. */
export type DecodeResult = { ok: true; xml: string } | { ok: false; reason: DecodeFailure };

/** Options of {@link decodeRedirectRequest} and {@link decodePostRequest}. */
export interface DecodeOptions {
  /** The `SAMLRequest` parameter's value, URL-decoded (for Redirect) or the form field (POST). */
  SAMLRequest: string | undefined;
  /**
   * Largest XML accepted, in bytes after base64 (and inflating). The encoded text is held to the
   * base64 length of that many bytes too, before it is decoded. Defaults to
   * {@link SAML_MESSAGE_MAX_BYTES}.
   */
  maxBytes?: number;
}

/**
 * Decodes the HTTP-Redirect binding's `SAMLRequest`: base64, then raw DEFLATE (RFC 1951, SAML
 * Bindings §3.4.4.1), inflating at most `maxBytes` so a deflate bomb stops at the limit.
 */
export function decodeRedirectRequest(options: DecodeOptions): DecodeResult {
  const { maxBytes = SAML_MESSAGE_MAX_BYTES } = options;
  const decoded = decodeBase64({ text: options.SAMLRequest, maxBytes });
  if (!decoded.ok) return decoded;
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(decoded.bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    const tooLarge = (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
    return { ok: false, reason: tooLarge ? 'too-large' : 'deflate' };
  }
  return decodeUtf8(inflated);
}

/** Decodes the HTTP-POST binding's `SAMLRequest` form field: base64 of the XML (§3.5.4). */
export function decodePostRequest(options: DecodeOptions): DecodeResult {
  const { maxBytes = SAML_MESSAGE_MAX_BYTES } = options;
  const decoded = decodeBase64({ text: options.SAMLRequest, maxBytes });
  if (!decoded.ok) return decoded;
  if (decoded.bytes.length > maxBytes) return { ok: false, reason: 'too-large' };
  return decodeUtf8(decoded.bytes);
}

// RFC 4648 §4 with its padding, nothing else: Buffer.from(text, 'base64') would skip any
// character outside the alphabet and decode what is left, so garbage would reach the parser.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(options: { text: string | undefined; maxBytes: number }):
  | { ok: true; bytes: Buffer }
  | { ok: false; reason: 'missing' | 'too-large' | 'base64' } {
  if (options.text === undefined || options.text === '') return { ok: false, reason: 'missing' };
  // Line breaks are allowed, as RFC 2045 §6.8 base64 (which SAML Bindings §3.5.4 names) has them.
  const text = options.text.replace(/\r?\n/g, '');
  // The length is checked before decoding, so an oversized message costs no allocation. A
  // compressed message is shorter than its XML, so one limit serves both bindings.
  if (text.length > Math.ceil(options.maxBytes / 3) * 4) return { ok: false, reason: 'too-large' };
  if (!BASE64.test(text)) return { ok: false, reason: 'base64' };
  return { ok: true, bytes: Buffer.from(text, 'base64') };
}

function decodeUtf8(bytes: Buffer): DecodeResult {
  // SAML messages are UTF-8 (SAML Bindings §3.4.4.1, §3.5.4 carry the XML's own octets; the
  // schemas' documents are UTF-8 in practice). Invalid sequences are refused, not replaced.
  try {
    return { ok: true, xml: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { ok: false, reason: 'encoding' };
  }
}

/** The parameters of a Redirect binding request, as {@link readRedirectQuery} found them. */
export interface RedirectQuery {
  /** `SAMLRequest`, URL-decoded: base64 for {@link decodeRedirectRequest}. */
  SAMLRequest: string;
  /** `RelayState`, URL-decoded, when present. */
  RelayState: string | undefined;
  /** The detached signature, when the request is signed (SAML Bindings §3.4.4.1). */
  signature: { SigAlg: string; Signature: string; signedOctets: string } | undefined;
}

/** Why a Redirect binding query was refused. */
export type RedirectQueryFailure = 'missing' | 'duplicate-parameter' | 'percent-encoding' | 'encoding-unsupported' | 'signature-incomplete';

/** Result of {@link readRedirectQuery}. */
export type ReadRedirectQueryResult = { ok: true; query: RedirectQuery } | { ok: false; reason: RedirectQueryFailure };

/** Options of {@link readRedirectQuery}. */
export interface ReadRedirectQueryOptions {
  /** The query string exactly as received, without the leading `?` (Koa's `ctx.querystring`). */
  rawQuery: string;
}

const REDIRECT_PARAMETERS = ['SAMLRequest', 'RelayState', 'SAMLEncoding', 'SigAlg', 'Signature'] as const;

/**
 * Reads a Redirect binding request's parameters from the raw query string, keeping the signed
 * octets as received: SAML Bindings §3.4.4.1 signs `SAMLRequest=…&RelayState=…&SigAlg=…` with
 * the values URL-encoded as sent, and a re-encoding could differ from the sender's (case of
 * hex digits, which characters are escaped). A SAML parameter that appears twice is refused,
 * so the request that is verified is the request that is read.
 */
export function readRedirectQuery(options: ReadRedirectQueryOptions): ReadRedirectQueryResult {
  const raw = new Map<string, string>();
  for (const pair of options.rawQuery.split('&')) {
    const equals = pair.indexOf('=');
    const name = equals === -1 ? pair : pair.slice(0, equals);
    if (!(REDIRECT_PARAMETERS as readonly string[]).includes(name)) continue;
    if (raw.has(name)) return { ok: false, reason: 'duplicate-parameter' };
    raw.set(name, equals === -1 ? '' : pair.slice(equals + 1));
  }
  const decoded = new Map<string, string>();
  for (const [name, value] of raw) {
    try {
      // application/x-www-form-urlencoded: `+` is a space (URL Standard §5.1).
      decoded.set(name, decodeURIComponent(value.replace(/\+/g, ' ')));
    } catch {
      return { ok: false, reason: 'percent-encoding' };
    }
  }
  const SAMLRequest = decoded.get('SAMLRequest');
  if (SAMLRequest === undefined || SAMLRequest === '') return { ok: false, reason: 'missing' };
  const encoding = decoded.get('SAMLEncoding');
  if (encoding !== undefined && encoding !== DEFLATE_ENCODING) return { ok: false, reason: 'encoding-unsupported' };
  const SigAlg = decoded.get('SigAlg');
  const Signature = decoded.get('Signature');
  if ((SigAlg === undefined) !== (Signature === undefined)) return { ok: false, reason: 'signature-incomplete' };
  const RelayState = decoded.get('RelayState');
  let signature: RedirectQuery['signature'];
  if (SigAlg !== undefined && Signature !== undefined) {
    const signed = ['SAMLRequest', 'RelayState', 'SigAlg'].filter((name) => raw.has(name));
    const signedOctets = signed.map((name) => `${name}=${raw.get(name)}`).join('&');
    signature = { SigAlg, Signature, signedOctets };
  }
  return { ok: true, query: { SAMLRequest, RelayState, signature } };
}

/** Why a Redirect binding signature was refused. */
export type RedirectSignatureFailure = 'unsigned' | 'algorithm-not-allowed' | 'signature-encoding' | 'signature-invalid';

/** Result of {@link verifyRedirectSignature}. */
export type VerifyRedirectSignatureResult =
  | { verified: true; certificate: X509Certificate }
  | { verified: false; reason: RedirectSignatureFailure };

/** Options of {@link verifyRedirectSignature}. */
export interface VerifyRedirectSignatureOptions {
  /** The request, as {@link readRedirectQuery} read it. */
  query: RedirectQuery;
  /** The SP's signing certificates from its metadata; any one of them may have signed. */
  certificates: readonly X509Certificate[];
}

/**
 * Verifies a Redirect binding request's detached signature (SAML Bindings §3.4.4.1) with one of
 * the SP's certificates, allowing RSA and ECDSA with SHA-256 or stronger only. The result names
 * the certificate that verified.
 */
export function verifyRedirectSignature(options: VerifyRedirectSignatureOptions): VerifyRedirectSignatureResult {
  const { query, certificates } = options;
  if (query.signature === undefined) return { verified: false, reason: 'unsigned' };
  const { SigAlg, Signature, signedOctets } = query.signature;
  const algorithm = Object.hasOwn(REDIRECT_SIG_ALGS, SigAlg) ? REDIRECT_SIG_ALGS[SigAlg] : undefined;
  if (algorithm === undefined) return { verified: false, reason: 'algorithm-not-allowed' };
  if (Signature === '' || !BASE64.test(Signature)) return { verified: false, reason: 'signature-encoding' };
  const signatureBytes = Buffer.from(Signature, 'base64');
  const data = Buffer.from(signedOctets, 'utf8');
  for (const certificate of certificates) {
    const key = certificate.publicKey;
    // An RSA SigAlg verified with an EC key (or the reverse) is a mismatch, not a verification.
    if (key.asymmetricKeyType !== algorithm.keyType) continue;
    const keyOptions = algorithm.keyType === 'rsa'
      ? { key, padding: constants.RSA_PKCS1_PADDING }
      // XML Signature's ECDSA value is r || s (RFC 4051 §3.3), not DER.
      : { key, dsaEncoding: 'ieee-p1363' as const };
    if (verify(algorithm.digest, data, keyOptions, signatureBytes)) return { verified: true, certificate };
  }
  return { verified: false, reason: 'signature-invalid' };
}
