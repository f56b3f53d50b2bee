/**
 * The rule for the name an employee gives a device ("Navn på klient"): what they see in the
 * chooser, the self-service list and their history, and what IT sees beside the serial.
 */

/** The longest name, in characters (code points); the device API's `name` has the same limit. */
export const FACTOR_NAME_MAX_LENGTH = 60;

/**
 * Why a name was refused: `empty` (nothing but spaces), `too_long` (more than
 * {@link FACTOR_NAME_MAX_LENGTH} characters), `control` (a control character or line break,
 * which would break the pages and the `stepup` command's one-line-per-device output).
 */
export type FactorNameFailure = 'empty' | 'too_long' | 'control';

export type FactorNameResult = { ok: true; name: string } | { ok: false; reason: FactorNameFailure };

/**
 * Checks a typed name and returns it trimmed: 1 to {@link FACTOR_NAME_MAX_LENGTH} characters,
 * counted as code points (as the user counts them, so "Kodeviser på kontoret 😀" is not
 * refused early), and no control characters (Unicode Cc) or line and paragraph separators.
 */
export function checkFactorName(options: { name: string }): FactorNameResult {
  const name = options.name.trim();
  if (name.length === 0) return { ok: false, reason: 'empty' };
  if (/[\p{Cc}\p{Zl}\p{Zp}]/u.test(name)) return { ok: false, reason: 'control' };
  if ([...name].length > FACTOR_NAME_MAX_LENGTH) return { ok: false, reason: 'too_long' };
  return { ok: true, name };
}
