/**
 * The serial number printed on the back of a code viewer ("kodeviser"): 13 digits. It is how
 * support staff, the importer and the person holding the token name one token.
 */

/** How many digits a code viewer serial has. */
export const SERIAL_LENGTH = 13;

/**
 * What people put between digit groups when copying a serial: spaces (including the no-break
 * kinds a web page or spreadsheet hands over) and dashes, including the en dash and minus sign
 * that word processors and phones substitute for a typed hyphen.
 */
const SEPARATORS = /[\s\u002d\u2010-\u2015\u2212]/g;

/** Options of {@link validateSerial}. */
export interface ValidateSerialOptions {
  /** The serial as typed or as read from a file. */
  serial: string;
}

/** Result of {@link validateSerial}. */
export type ValidateSerialResult =
  | {
      valid: true;
      /** The 13 digits without separators: the form to store and compare. */
      serial: string;
    }
  | {
      valid: false;
      /** `'characters'`: something other than digits and separators; `'length'`: not 13 digits. */
      reason: 'characters' | 'length';
      /** For the person: Danish first, then English. */
      message: string;
    };

/**
 * Checks a code viewer serial and normalises it: spaces and dashes between digit groups are
 * dropped, and what is left must be exactly 13 ASCII digits.
 */
export function validateSerial(options: ValidateSerialOptions): ValidateSerialResult {
  const { serial } = options;
  const digits = typeof serial === 'string' ? serial.replace(SEPARATORS, '') : '';
  if (!/^[0-9]*$/.test(digits)) {
    return {
      valid: false,
      reason: 'characters',
      message:
        `Serienummeret må kun indeholde cifre, og det skal være ${SERIAL_LENGTH} cifre` +
        ` / The serial number may contain only digits, and it must be ${SERIAL_LENGTH} digits`,
    };
  }
  if (digits.length !== SERIAL_LENGTH) {
    const found = digits.length === 0 ? '' : `, ikke ${digits.length}`;
    const foundEn = digits.length === 0 ? '' : `, not ${digits.length}`;
    return {
      valid: false,
      reason: 'length',
      message: `Serienummeret skal være ${SERIAL_LENGTH} cifre${found} / The serial number must be ${SERIAL_LENGTH} digits${foundEn}`,
    };
  }
  return { valid: true, serial: digits };
}
