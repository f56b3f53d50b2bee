/**
 * The PSKC token file (RFC 6030, Portable Symmetric Key Container): what code viewer vendors
 * ship with a batch of tokens.
 *
 * What is read, per `KeyPackage`:
 * - serial: `DeviceInfo/SerialNo`, 13 digits (RFC 6030 §4.3.1);
 * - kind: `Key/@Algorithm` must be TOTP, `urn:ietf:params:xml:ns:keyprov:pskc:totp` (or the
 *   draft spelling `…pskc#totp`); HOTP keys are refused, since a code viewer here is a TOTP token;
 * - digits: `Key/AlgorithmParameters/ResponseFormat/@Length` (§4.3.4), `Encoding` DECIMAL;
 *   6 when absent;
 * - hash: `Key/AlgorithmParameters/Suite` (§4.3.4), e.g. `HMAC-SHA256`; SHA1 when absent;
 * - period: `Key/Data/TimeInterval` (§4.1), 30 when absent. `Key/Data/Time`, when present,
 *   must be 0: §4.1 leaves its meaning to the algorithm, TOTP token vendors write 0 (T0 = the
 *   Unix epoch, RFC 6238 §4.1), and the rules here know no other T0, so anything else is
 *   refused rather than guessed at. `TimeDrift` is ignored: binding measures the drift;
 * - secret: `Key/Data/Secret`, a base64 `PlainValue` or an `EncryptedValue` (§4.1, §4.2), never
 *   both (the schema's xs:choice): which one is meant would be a guess.
 *
 * Encrypted files (§6.1): the values are encrypted under a pre-shared key named in
 * `EncryptionKey/ds:KeyName`, with AES-CBC, the IV prepended to the ciphertext (§4.2.1) and
 * PKCS#7 padding. Because CBC has no integrity of its own, §6.1.1 requires a `MACMethod` whose
 * `MACKey` is itself encrypted with the pre-shared key, and a `ValueMAC` beside each encrypted
 * value: an HMAC over the whole `CipherValue` (IV + ciphertext). The MAC is checked before
 * anything is decrypted, so a tampered file never reaches the decryption.
 *
 * Once a file declares encryption (`EncryptionKey`, `MACMethod` or any `EncryptedValue`), or the
 * importer is given a pre-shared key, every secret must be encrypted: a `PlainValue` secret in
 * such a file is refused, since it has no MAC and anyone who altered the file in transit could
 * have put it there (issue "Step 3 · Hardening"). Non-secret values (`TimeInterval`, `Time`)
 * may stay plain, as vendors write them.
 *
 * Namespaces are matched by URI, never by prefix. Documents with a DOCTYPE are refused before
 * parsing (see `src/xml/untrusted.ts`).
 */
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { validateSerial } from '../serial.ts';
import { decodeBase64 } from './encoding.ts';
import { checkSecretLength, readAlgorithm, readDigits, readPeriod } from './fields.ts';
import { bilingual, MESSAGES } from './messages.ts';
import type { ImportedToken, ImportError, ImportErrorCode, ImportResult } from './types.ts';
import { parseUntrustedXml } from '../../../xml/untrusted.ts';
import { childElement, childElements, NS, pskcPath, textOf } from './xml.ts';

/** Options of {@link parseTokenPskc}. */
export interface ParseTokenPskcOptions {
  /** The file's text, already decoded (PSKC files are UTF-8). */
  xml: string;
  /**
   * The pre-shared key (RFC 6030 §6.1) the vendor sent separately, as raw bytes: 16 bytes for
   * AES-128-CBC. Needed only when the file has encrypted values.
   */
  psk?: Uint8Array;
}

/** `Key/@Algorithm` values naming TOTP: the URN vendors use, and the PSKC profiles draft's. */
const TOTP_ALGORITHM_URIS = ['urn:ietf:params:xml:ns:keyprov:pskc:totp', 'urn:ietf:params:xml:ns:keyprov:pskc#totp'];

/** AES-CBC with the IV prefixed (RFC 6030 §4.2.1, XML Encryption §5.2), by algorithm URI. */
const CBC_CIPHERS: Record<string, { name: string; keyBytes: number }> = {
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc': { name: 'aes-128-cbc', keyBytes: 16 },
  'http://www.w3.org/2001/04/xmlenc#aes192-cbc': { name: 'aes-192-cbc', keyBytes: 24 },
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc': { name: 'aes-256-cbc', keyBytes: 32 },
};

/** MAC algorithms for `MACMethod` (RFC 6030 §6.1.1 requires HMAC-SHA1), by URI. */
const MAC_ALGORITHMS: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#hmac-sha1': 'sha1',
  'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256': 'sha256',
};

const AES_BLOCK = 16;

/** How the encrypted values of this file can be read. */
type Protection =
  /** The file has no encrypted value. */
  | { kind: 'none' }
  /** It has, but a container-level error (reported once) makes them unreadable. */
  | { kind: 'unavailable' }
  | { kind: 'psk'; psk: Uint8Array; macKey: Uint8Array; macAlgorithm: string };

/** A value of `Data` read from the file. */
type DataValue =
  | { kind: 'plain'; text: string }
  | { kind: 'decrypted'; bytes: Uint8Array }
  | { kind: 'error'; code: ImportErrorCode; message: string }
  /** Encrypted, but unreadable for a reason already reported for the whole file. */
  | { kind: 'skipped' };

/**
 * Reads a PSKC file (RFC 6030) of TOTP code viewers into tokens, or into every error found,
 * each naming its `KeyPackage`. All or nothing: one bad package and no token is returned.
 */
export function parseTokenPskc(options: ParseTokenPskcOptions): ImportResult {
  const parsed = parseUntrustedXml({ xml: options.xml });
  if (!parsed.ok) {
    return {
      ok: false,
      errors: [parsed.reason === 'doctype'
        ? {
            where: 'file',
            code: 'doctype',
            message: bilingual(
              'Filen indeholder en DOCTYPE- eller ENTITY-erklæring og afvises (beskyttelse mod XML-entitetsangreb)',
              'The file contains a DOCTYPE or ENTITY declaration and is refused (protection against XML entity attacks)',
            ),
          }
        : {
            where: 'file',
            code: 'format',
            message: bilingual(`Filen er ikke gyldig XML (${parsed.detail})`, `The file is not well-formed XML (${parsed.detail})`),
          }],
    };
  }

  const root = parsed.document.documentElement;
  if (!root || root.namespaceURI !== NS.pskc || root.localName !== 'KeyContainer') {
    return {
      ok: false,
      errors: [{
        where: 'file',
        code: 'format',
        message: bilingual(
          `Rodelementet skal være KeyContainer i navnerummet ${NS.pskc} (RFC 6030)`,
          `The root element must be KeyContainer in the namespace ${NS.pskc} (RFC 6030)`,
        ),
      }],
    };
  }
  const version = root.getAttribute('Version');
  if (version !== '1.0') {
    // RFC 6030 §4: the Version of a container written to this specification is 1.0.
    return {
      ok: false,
      errors: [{
        where: 'KeyContainer',
        code: 'format',
        message: bilingual(`KeyContainer Version skal være 1.0, ikke "${version ?? ''}"`, `KeyContainer Version must be 1.0, not "${version ?? ''}"`),
      }],
    };
  }

  const errors: ImportError[] = [];
  const protection = readProtection(root, options.psk, errors);
  const secretsEncrypted = options.psk !== undefined || declaresEncryption(root);
  const tokens: ImportedToken[] = [];
  const seen = new Map<string, string>();
  const packages = childElements(root, NS.pskc, 'KeyPackage');
  packages.forEach((keyPackage, index) => {
    const token = readKeyPackage(keyPackage, index + 1, { protection, secretsEncrypted }, seen, errors);
    if (token) tokens.push(token);
  });

  if (errors.length > 0) return { ok: false, errors };
  if (tokens.length === 0) return { ok: false, errors: [{ where: 'KeyContainer', code: 'format', message: MESSAGES.noTokens }] };
  return { ok: true, tokens };
}

/** Whether the container says its values are encrypted (RFC 6030 §6.1): a key, a MAC method or an encrypted value. */
function declaresEncryption(root: Element): boolean {
  return childElement(root, NS.pskc, 'EncryptionKey') !== undefined
    || childElement(root, NS.pskc, 'MACMethod') !== undefined
    || root.getElementsByTagNameNS(NS.pskc, 'EncryptedValue').length > 0;
}

/**
 * The file-wide part of RFC 6030 §6.1: the pre-shared key and the MAC key it protects. Errors
 * here are reported once, for the container, rather than once per key.
 */
function readProtection(root: Element, psk: Uint8Array | undefined, errors: ImportError[]): Protection {
  if (root.getElementsByTagNameNS(NS.pskc, 'EncryptedValue').length === 0) return { kind: 'none' };

  const encryptionKey = childElement(root, NS.pskc, 'EncryptionKey');
  const keyName = encryptionKey ? textOf(childElement(encryptionKey, NS.ds, 'KeyName')) : undefined;
  if (encryptionKey && keyName === undefined) {
    errors.push({
      where: 'KeyContainer/EncryptionKey',
      code: 'unsupported',
      message: bilingual(
        'Kun kryptering med en delt nøgle (ds:KeyName, RFC 6030 §6.1) understøttes, ikke afledte nøgler eller certifikater',
        'Only pre-shared key encryption (ds:KeyName, RFC 6030 §6.1) is supported, not derived keys or certificates',
      ),
    });
    return { kind: 'unavailable' };
  }
  if (psk === undefined) {
    const named = keyName ? ` "${keyName}"` : '';
    errors.push({
      where: 'KeyContainer/EncryptionKey',
      code: 'psk_missing',
      message: bilingual(
        `Filen er krypteret med den delte nøgle${named}; angiv nøglen for at importere den`,
        `The file is encrypted with the pre-shared key${named}; supply that key to import it`,
      ),
    });
    return { kind: 'unavailable' };
  }

  const macMethod = childElement(root, NS.pskc, 'MACMethod');
  const macKeyElement = macMethod ? childElement(macMethod, NS.pskc, 'MACKey') : undefined;
  if (!macMethod || !macKeyElement) {
    errors.push({
      where: 'KeyContainer/MACMethod',
      code: 'mac',
      message: bilingual(
        'Krypterede værdier kræver en MACMethod med en MACKey (RFC 6030 §6.1.1)',
        'Encrypted values require a MACMethod with a MACKey (RFC 6030 §6.1.1)',
      ),
    });
    return { kind: 'unavailable' };
  }
  const macUri = macMethod.getAttribute('Algorithm') ?? '';
  const macAlgorithm = MAC_ALGORITHMS[macUri];
  if (macAlgorithm === undefined) {
    errors.push({
      where: 'KeyContainer/MACMethod',
      code: 'unsupported',
      message: bilingual(`MAC-algoritmen "${macUri}" understøttes ikke`, `The MAC algorithm "${macUri}" is not supported`),
    });
    return { kind: 'unavailable' };
  }

  // The MAC key is encrypted with the pre-shared key but carries no MAC of its own (§6.1.1);
  // a wrong pre-shared key shows here as bad padding, or later as every ValueMAC failing.
  const macKey = decrypt(macKeyElement, psk);
  if (!macKey.ok) {
    errors.push({
      where: 'KeyContainer/MACMethod/MACKey',
      code: macKey.code,
      message: macKey.code === 'decryption'
        ? bilingual(
            `MAC-nøglen kunne ikke dekrypteres; er det den rigtige delte nøgle? (${macKey.da})`,
            `The MAC key could not be decrypted; is this the right pre-shared key? (${macKey.en})`,
          )
        : bilingual(`MAC-nøglen: ${macKey.da}`, `The MAC key: ${macKey.en}`),
    });
    return { kind: 'unavailable' };
  }
  return { kind: 'psk', psk, macKey: macKey.bytes, macAlgorithm };
}

/** One `KeyPackage` into a token, or its errors into `errors`. */
function readKeyPackage(
  keyPackage: Element,
  position: number,
  { protection, secretsEncrypted }: { protection: Protection; secretsEncrypted: boolean },
  seen: Map<string, string>,
  errors: ImportError[],
): ImportedToken | undefined {
  const serialText = textOf(pskcPath(keyPackage, ['DeviceInfo', 'SerialNo']));
  const where = serialText ? `KeyPackage ${position} (serial ${serialText})` : `KeyPackage ${position} (no serial)`;
  const before = errors.length;
  const fail = (code: ImportErrorCode, da: string, en: string): void => {
    errors.push({ where, code, message: bilingual(da, en) });
  };

  let serial: string | undefined;
  if (!serialText) {
    fail('serial', 'DeviceInfo/SerialNo mangler', 'DeviceInfo/SerialNo is missing');
  } else {
    const checked = validateSerial({ serial: serialText });
    if (!checked.valid) {
      errors.push({ where, code: 'serial', message: checked.message });
    } else if (seen.has(checked.serial)) {
      errors.push({ where, code: 'duplicate_serial', message: MESSAGES.duplicateSerial(checked.serial, seen.get(checked.serial) ?? '') });
    } else {
      seen.set(checked.serial, where);
      serial = checked.serial;
    }
  }

  const keys = childElements(keyPackage, NS.pskc, 'Key');
  const key = keys[0];
  if (key === undefined || keys.length > 1) {
    fail('format', `KeyPackage skal indeholde præcis én Key, ikke ${keys.length}`, `A KeyPackage must hold exactly one Key, not ${keys.length}`);
    return undefined;
  }

  const keyAlgorithm = key.getAttribute('Algorithm') ?? '';
  if (/[:#]hotp$/i.test(keyAlgorithm)) {
    fail('token_type', 'Nøglen er HOTP (hændelsesbaseret); en kodeviser skal være TOTP (tidsbaseret)', 'The key is HOTP (event-based); a code viewer must be TOTP (time-based)');
  } else if (!TOTP_ALGORITHM_URIS.includes(keyAlgorithm)) {
    fail('token_type', `Nøglealgoritmen "${keyAlgorithm}" understøttes ikke; kun TOTP (${TOTP_ALGORITHM_URIS[0]})`, `The key algorithm "${keyAlgorithm}" is not supported; only TOTP (${TOTP_ALGORITHM_URIS[0]})`);
  }

  const responseFormat = pskcPath(key, ['AlgorithmParameters', 'ResponseFormat']);
  const encoding = responseFormat?.getAttribute('Encoding');
  if (encoding && encoding !== 'DECIMAL') {
    fail('digits', `Svarformatet "${encoding}" understøttes ikke; kun DECIMAL`, `The response encoding "${encoding}" is not supported; only DECIMAL`);
  }
  const digits = readDigits(responseFormat?.getAttribute('Length') ?? undefined);
  if (!digits.ok) errors.push({ where, code: 'digits', message: digits.message });

  const algorithm = readAlgorithm(textOf(pskcPath(key, ['AlgorithmParameters', 'Suite'])));
  if (!algorithm.ok) errors.push({ where, code: 'algorithm', message: algorithm.message });

  const data = childElement(key, NS.pskc, 'Data');
  const period = readPeriodValue(data ? childElement(data, NS.pskc, 'TimeInterval') : undefined, protection);
  if (!period.ok && period.message) errors.push({ where, code: period.code, message: period.message });
  const time = readIntegerValue(data ? childElement(data, NS.pskc, 'Time') : undefined, protection, 'Time', 'unsupported');
  if (time.ok && time.value !== undefined && time.value !== 0) {
    fail('unsupported', `Data/Time er ${time.value}; kun 0 (T0 = Unix-epoken, RFC 6238 §4.1) understøttes`, `Data/Time is ${time.value}; only 0 (T0 = the Unix epoch, RFC 6238 §4.1) is supported`);
  } else if (!time.ok && time.message) {
    errors.push({ where, code: time.code, message: time.message });
  }

  const secret = readSecret(data ? childElement(data, NS.pskc, 'Secret') : undefined, protection, secretsEncrypted);
  if (!secret.ok && secret.message) errors.push({ where, code: secret.code, message: secret.message });

  if (errors.length > before || serial === undefined || !digits.ok || !algorithm.ok || !period.ok || !secret.ok) return undefined;
  return { where, serial, secret: secret.value, algorithm: algorithm.value, digits: digits.value, period: period.value };
}

/** A value read from `Data`; `message` is empty when the error was already reported. */
type Read<T> = { ok: true; value: T } | { ok: false; code: ImportErrorCode; message: string };

/** The secret; with `encrypted`, only from an `EncryptedValue` whose MAC was checked. */
function readSecret(element: Element | undefined, protection: Protection, encrypted: boolean): Read<Uint8Array> {
  if (element === undefined) return { ok: false, code: 'secret', message: MESSAGES.secretMissing };
  const value = readDataValue(element, 'Secret', 'secret', protection);
  if (value.kind === 'error') return { ok: false, code: value.code, message: value.message };
  if (value.kind === 'plain' && encrypted) {
    return {
      ok: false,
      code: 'unencrypted',
      message: bilingual(
        'Secret står ukrypteret (PlainValue) i en krypteret fil (EncryptionKey, MACMethod eller en delt nøgle); den afvises, da intet MAC beskytter den',
        'Secret is in the clear (PlainValue) in an encrypted file (EncryptionKey, MACMethod or a pre-shared key); it is refused, as no MAC protects it',
      ),
    };
  }
  if (value.kind === 'skipped') return { ok: false, code: 'secret', message: '' };
  const bytes = value.kind === 'decrypted' ? value.bytes : decodeBase64(value.text);
  if (bytes === null) {
    return { ok: false, code: 'secret', message: bilingual('Secret/PlainValue er ikke gyldig base64', 'Secret/PlainValue is not valid base64') };
  }
  const checked = checkSecretLength(bytes);
  return checked.ok ? { ok: true, value: checked.value } : { ok: false, code: 'secret', message: checked.message };
}

function readPeriodValue(element: Element | undefined, protection: Protection): Read<ImportedToken['period']> {
  const integer = readIntegerValue(element, protection, 'TimeInterval', 'period');
  if (!integer.ok) return integer;
  const period = readPeriod(integer.value === undefined ? undefined : String(integer.value));
  return period.ok ? period : { ok: false, code: 'period', message: period.message };
}

/**
 * An integer `Data` value (`Time`, `TimeInterval`), `undefined` when the element is absent.
 * RFC 6030 leaves open how an encrypted integer is encoded: vendors write ASCII digits or a
 * big-endian integer. Both are read; for the values accepted (0, 30, 60) they cannot be
 * mistaken for one another.
 */
function readIntegerValue(
  element: Element | undefined,
  protection: Protection,
  name: string,
  code: ImportErrorCode,
): Read<number | undefined> {
  if (element === undefined) return { ok: true, value: undefined };
  const value = readDataValue(element, name, code, protection);
  if (value.kind === 'skipped') return { ok: false, code, message: '' };
  if (value.kind === 'error') return { ok: false, code: value.code, message: value.message };
  if (value.kind === 'plain') {
    return /^[0-9]{1,9}$/.test(value.text)
      ? { ok: true, value: Number(value.text) }
      : { ok: false, code, message: bilingual(`${name} er ikke et heltal: "${value.text}"`, `${name} is not an integer: "${value.text}"`) };
  }
  const { bytes } = value;
  if (bytes.length === 0 || bytes.length > 6) {
    return { ok: false, code, message: bilingual(`${name} er ikke et heltal`, `${name} is not an integer`) };
  }
  const ascii = String.fromCharCode(...bytes);
  if (/^[0-9]+$/.test(ascii)) return { ok: true, value: Number(ascii) };
  return { ok: true, value: bytes.reduce((sum, byte) => sum * 256 + byte, 0) };
}

/**
 * A `Data` child's value (RFC 6030 §4.1, §4.2): `PlainValue` as text, or `EncryptedValue` checked
 * against its `ValueMAC` and then decrypted (§6.1, §6.1.1).
 */
function readDataValue(element: Element, name: string, code: ImportErrorCode, protection: Protection): DataValue {
  const plain = childElement(element, NS.pskc, 'PlainValue');
  const encrypted = childElement(element, NS.pskc, 'EncryptedValue');
  if (plain && encrypted) {
    // The schema allows one or the other (RFC 6030 §4.1); preferring either would let a
    // plain value slip past the MAC of the encrypted one.
    return {
      kind: 'error',
      code: code === 'secret' ? 'unencrypted' : 'format',
      message: bilingual(`${name} har både PlainValue og EncryptedValue; kun én er tilladt`, `${name} has both a PlainValue and an EncryptedValue; only one is allowed`),
    };
  }
  if (plain) return { kind: 'plain', text: textOf(plain) ?? '' };
  if (!encrypted) {
    return { kind: 'error', code, message: bilingual(`${name} har hverken PlainValue eller EncryptedValue`, `${name} has neither PlainValue nor EncryptedValue`) };
  }
  if (protection.kind !== 'psk') return { kind: 'skipped' };

  const cipher = readCipher(encrypted);
  if (!cipher.ok) return { kind: 'error', code: cipher.code, message: bilingual(`${name}: ${cipher.da}`, `${name}: ${cipher.en}`) };

  const macText = textOf(childElement(element, NS.pskc, 'ValueMAC'));
  if (macText === undefined) {
    return {
      kind: 'error',
      code: 'mac',
      message: bilingual(`${name}: ValueMAC mangler for den krypterede værdi (RFC 6030 §6.1.1)`, `${name}: the encrypted value has no ValueMAC (RFC 6030 §6.1.1)`),
    };
  }
  const mac = decodeBase64(macText);
  const expected = createHmac(protection.macAlgorithm, protection.macKey).update(cipher.data).digest();
  if (mac === null || mac.length !== expected.length || !timingSafeEqual(mac, expected)) {
    return {
      kind: 'error',
      code: 'mac',
      message: bilingual(
        `${name}: ValueMAC passer ikke; filen er ændret, eller den delte nøgle er forkert`,
        `${name}: ValueMAC does not match; the file was altered or the pre-shared key is wrong`,
      ),
    };
  }

  const decrypted = decryptCipher(cipher, protection.psk);
  return decrypted.ok
    ? { kind: 'decrypted', bytes: decrypted.bytes }
    : { kind: 'error', code: decrypted.code, message: bilingual(`${name}: ${decrypted.da}`, `${name}: ${decrypted.en}`) };
}

/** A failure inside the decryption steps, in both languages for the caller to frame. */
type CryptoFailure = { ok: false; code: ImportErrorCode; da: string; en: string };

type Cipher = { ok: true; cipher: { name: string; keyBytes: number; uri: string }; data: Uint8Array };

/** The algorithm and the IV + ciphertext of an `xenc:EncryptedData`-shaped element. */
function readCipher(element: Element): Cipher | CryptoFailure {
  const uri = childElement(element, NS.xenc, 'EncryptionMethod')?.getAttribute('Algorithm') ?? '';
  const spec = CBC_CIPHERS[uri];
  if (spec === undefined) {
    return { ok: false, code: 'unsupported', da: `krypteringsalgoritmen "${uri}" understøttes ikke`, en: `the encryption algorithm "${uri}" is not supported` };
  }
  const cipherData = childElement(element, NS.xenc, 'CipherData');
  const data = decodeBase64(textOf(cipherData ? childElement(cipherData, NS.xenc, 'CipherValue') : undefined) ?? '');
  // IV first, then at least one block (RFC 6030 §4.2.1); CBC output is whole blocks.
  if (data === null || data.length < 2 * AES_BLOCK || data.length % AES_BLOCK !== 0) {
    return { ok: false, code: 'decryption', da: 'CipherValue er ikke IV + hele AES-blokke i base64', en: 'CipherValue is not base64 of an IV and whole AES blocks' };
  }
  return { ok: true, cipher: { ...spec, uri }, data };
}

/**
 * Decrypts AES-CBC with the IV prepended and PKCS#7 padding, checked in full by OpenSSL. Only
 * reached after the value's MAC has been verified (or for the MAC key, which has none), so a
 * padding failure tells an attacker nothing about a ciphertext they could not have made.
 */
function decryptCipher(cipher: Cipher, key: Uint8Array): { ok: true; bytes: Uint8Array } | CryptoFailure {
  if (key.length !== cipher.cipher.keyBytes) {
    return {
      ok: false,
      code: 'decryption',
      da: `den delte nøgle skal være ${cipher.cipher.keyBytes} bytes til ${cipher.cipher.uri}, ikke ${key.length}`,
      en: `the pre-shared key must be ${cipher.cipher.keyBytes} bytes for ${cipher.cipher.uri}, not ${key.length}`,
    };
  }
  try {
    const decipher = createDecipheriv(cipher.cipher.name, key, cipher.data.subarray(0, AES_BLOCK));
    const bytes = Buffer.concat([decipher.update(cipher.data.subarray(AES_BLOCK)), decipher.final()]);
    return { ok: true, bytes: new Uint8Array(bytes) };
  } catch {
    return { ok: false, code: 'decryption', da: 'dekrypteringen mislykkedes (forkert nøgle eller udfyldning)', en: 'decryption failed (wrong key or padding)' };
  }
}

/** Reads and decrypts an encrypted element (the `MACKey`), which carries no MAC of its own. */
function decrypt(element: Element, key: Uint8Array): { ok: true; bytes: Uint8Array } | CryptoFailure {
  const cipher = readCipher(element);
  return cipher.ok ? decryptCipher(cipher, key) : cipher;
}
