/**
 * The CSV token file: the simple format an administrator can write or convert a vendor's
 * list into.
 *
 * ```
 * serial,secret,algorithm,digits,period
 * 2600215704919,3132333435363738393031323334353637383930,SHA1,6,30
 * 2600215704920,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,,,
 * ```
 *
 * - The first non-blank line is the header, exactly those five names (any case). Fields are
 *   separated by commas, or by semicolons when the header uses them (a Danish spreadsheet
 *   saves "CSV" with semicolons). A field wrapped in double quotes is unwrapped.
 * - `serial`: 13 digits; spaces and dashes between groups are dropped.
 * - `secret`, hex or base32, told apart by this rule:
 *   - `hex:…` or `base32:…` (any case) says which;
 *   - without a prefix, a secret that is valid in only one of the two is read as that one.
 *     Hex has an even number of the characters 0–9 and A–F; base32 has A–Z and 2–7, padding
 *     `=` optional. A secret valid in both (it uses only A–F and 2–7) is refused as ambiguous
 *     and must carry a prefix: guessing could import a secret that never verifies.
 *   Spaces inside the secret are dropped (apps show base32 in groups of four).
 * - `algorithm` (SHA1, SHA256, SHA512), `digits` (6, 8), `period` (30, 60): empty, or left
 *   out at the end of a line, means SHA1, 6 and 30.
 * - Blank lines are ignored; CRLF and LF line ends are both accepted.
 */
import { validateSerial } from '../serial.ts';
import { decodeBase32, decodeHex } from './encoding.ts';
import { checkSecretLength, readAlgorithm, readDigits, readPeriod, type FieldResult } from './fields.ts';
import { bilingual, MESSAGES } from './messages.ts';
import type { ImportedToken, ImportError, ImportResult } from './types.ts';

/** The header, in order. */
export const CSV_COLUMNS = ['serial', 'secret', 'algorithm', 'digits', 'period'] as const;

/** Options of {@link parseTokenCsv}. */
export interface ParseTokenCsvOptions {
  /** The file's text, already decoded (UTF-8; a byte order mark is ignored). */
  text: string;
}

/**
 * Reads a CSV token file (format above) into tokens, or into every error found, each naming
 * its line. All or nothing: one bad line and no token is returned.
 */
export function parseTokenCsv(options: ParseTokenCsvOptions): ImportResult {
  const lines = options.text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const errors: ImportError[] = [];
  const tokens: ImportedToken[] = [];
  const seen = new Map<string, string>();

  const headerIndex = lines.findIndex((line) => line.trim() !== '');
  if (headerIndex === -1) return { ok: false, errors: [{ where: 'file', code: 'format', message: MESSAGES.noTokens }] };
  const header = lines[headerIndex] ?? '';
  const separator = header.includes(';') && !header.includes(',') ? ';' : ',';
  const names = splitFields(header, separator).map((name) => name.toLowerCase());
  if (names.join(',') !== CSV_COLUMNS.join(',')) {
    const wanted = CSV_COLUMNS.join(',');
    return {
      ok: false,
      errors: [{
        where: `line ${headerIndex + 1}`,
        code: 'format',
        message: bilingual(`Første linje skal være overskriften ${wanted}`, `The first line must be the header ${wanted}`),
      }],
    };
  }

  lines.forEach((line, index) => {
    if (index <= headerIndex || line.trim() === '') return;
    const where = `line ${index + 1}`;
    const fields = splitFields(line, separator);
    if (fields.length > CSV_COLUMNS.length) {
      errors.push({
        where,
        code: 'format',
        message: bilingual(
          `Linjen har ${fields.length} felter; der må højst være ${CSV_COLUMNS.length}`,
          `The line has ${fields.length} fields; at most ${CSV_COLUMNS.length} are allowed`,
        ),
      });
      return;
    }
    const [serialText = '', secretText = '', algorithmText, digitsText, periodText] = fields;
    const lineErrors: ImportError[] = [];

    const serial = validateSerial({ serial: serialText });
    if (!serial.valid) {
      lineErrors.push({ where, code: 'serial', message: serial.message });
    } else {
      const first = seen.get(serial.serial);
      if (first !== undefined) {
        lineErrors.push({ where, code: 'duplicate_serial', message: MESSAGES.duplicateSerial(serial.serial, first) });
      } else {
        seen.set(serial.serial, where);
      }
    }
    const secret = readCsvSecret(secretText);
    if (!secret.ok) lineErrors.push({ where, code: 'secret', message: secret.message });
    const algorithm = readAlgorithm(algorithmText);
    if (!algorithm.ok) lineErrors.push({ where, code: 'algorithm', message: algorithm.message });
    const digits = readDigits(digitsText);
    if (!digits.ok) lineErrors.push({ where, code: 'digits', message: digits.message });
    const period = readPeriod(periodText);
    if (!period.ok) lineErrors.push({ where, code: 'period', message: period.message });

    if (lineErrors.length > 0 || !serial.valid || !secret.ok || !algorithm.ok || !digits.ok || !period.ok) {
      errors.push(...lineErrors);
      return;
    }
    tokens.push({
      where,
      serial: serial.serial,
      secret: secret.value,
      algorithm: algorithm.value,
      digits: digits.value,
      period: period.value,
    });
  });

  if (errors.length > 0) return { ok: false, errors };
  if (tokens.length === 0) return { ok: false, errors: [{ where: 'file', code: 'format', message: MESSAGES.noTokens }] };
  return { ok: true, tokens };
}

/** Splits a line on the separator, trims each field and unwraps `"…"` (with `""` inside). */
function splitFields(line: string, separator: string): string[] {
  return line.split(separator).map((field) => {
    const trimmed = field.trim();
    return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
      ? trimmed.slice(1, -1).replaceAll('""', '"').trim()
      : trimmed;
  });
}

/** The secret of a CSV line, by the hex/base32 rule in this module's comment. */
export function readCsvSecret(text: string): FieldResult<Uint8Array> {
  const compact = text.replace(/\s+/g, '');
  if (compact === '') return { ok: false, message: MESSAGES.secretMissing };

  const prefix = /^(hex|base32):/i.exec(compact);
  if (prefix) {
    const body = compact.slice(prefix[0].length);
    const isHex = prefix[1]?.toLowerCase() === 'hex';
    const decoded = isHex ? decodeHex(body) : decodeBase32(body);
    if (decoded === null) {
      return {
        ok: false,
        message: isHex
          ? bilingual('Hemmeligheden er ikke gyldig hex', 'The secret is not valid hex')
          : bilingual('Hemmeligheden er ikke gyldig base32', 'The secret is not valid base32'),
      };
    }
    return checkSecretLength(decoded);
  }

  const hex = decodeHex(compact);
  const base32 = decodeBase32(compact);
  if (hex !== null && base32 !== null) {
    return {
      ok: false,
      message: bilingual(
        'Hemmeligheden kan læses både som hex og som base32; skriv hex: eller base32: foran',
        'The secret reads as both hex and base32; prefix it with hex: or base32:',
      ),
    };
  }
  const decoded = hex ?? base32;
  if (decoded === null) {
    return { ok: false, message: bilingual('Hemmeligheden er hverken hex eller base32', 'The secret is neither hex nor base32') };
  }
  return checkSecretLength(decoded);
}
