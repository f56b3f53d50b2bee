/**
 * The importers' messages, Danish first and English second, in one place so the wording of
 * the two file formats stays the same.
 */
import {
  TOTP_ALGORITHMS,
  TOTP_DIGITS,
  TOTP_MAX_SECRET_BYTES,
  TOTP_MIN_SECRET_BYTES,
  TOTP_PERIODS,
} from '../../totp/defaults.ts';

/** Joins the two languages the way every message of the IdP does. */
export function bilingual(da: string, en: string): string {
  return `${da} / ${en}`;
}

const or = (values: readonly (string | number)[], word: string): string =>
  values.length > 1 ? `${values.slice(0, -1).join(', ')} ${word} ${values.at(-1)}` : String(values[0]);

/** Messages shared by the CSV and PSKC importers; the format-specific ones live beside their checks. */
export const MESSAGES = {
  noTokens: bilingual('Filen indeholder ingen kodevisere', 'The file contains no tokens'),
  secretMissing: bilingual('Hemmeligheden mangler', 'The secret is missing'),
  secretLength: (bytes: number) =>
    bilingual(
      `Hemmeligheden er ${bytes} bytes; den skal være ${TOTP_MIN_SECRET_BYTES} til ${TOTP_MAX_SECRET_BYTES} bytes (RFC 4226 §4)`,
      `The secret is ${bytes} bytes; it must be ${TOTP_MIN_SECRET_BYTES} to ${TOTP_MAX_SECRET_BYTES} bytes (RFC 4226 §4)`,
    ),
  duplicateSerial: (serial: string, first: string) =>
    bilingual(
      `Serienummeret ${serial} står i filen mere end én gang (første gang: ${first})`,
      `The serial number ${serial} appears more than once in the file (first: ${first})`,
    ),
  algorithm: (value: string) =>
    bilingual(
      `Hash-algoritmen "${value}" understøttes ikke; brug ${or(TOTP_ALGORITHMS, 'eller')}`,
      `The hash algorithm "${value}" is not supported; use ${or(TOTP_ALGORITHMS, 'or')}`,
    ),
  digits: (value: string) =>
    bilingual(
      `Antal cifre "${value}" understøttes ikke; brug ${or(TOTP_DIGITS, 'eller')}`,
      `The number of digits "${value}" is not supported; use ${or(TOTP_DIGITS, 'or')}`,
    ),
  period: (value: string) =>
    bilingual(
      `Tidsintervallet "${value}" understøttes ikke; brug ${or(TOTP_PERIODS, 'eller')} sekunder`,
      `The time step "${value}" is not supported; use ${or(TOTP_PERIODS, 'or')} seconds`,
    ),
} as const;
