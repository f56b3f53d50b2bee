/**
 * Reading the token parameters both file formats carry, with the same rules and defaults.
 */
import {
  TOTP_ALGORITHMS,
  TOTP_DEFAULTS,
  TOTP_DIGITS,
  TOTP_MAX_SECRET_BYTES,
  TOTP_MIN_SECRET_BYTES,
  TOTP_PERIODS,
  type TotpAlgorithm,
  type TotpDigits,
  type TotpPeriod,
} from '../../totp/defaults.ts';
import { MESSAGES } from './messages.ts';

/** A value read, or the message saying why it could not be. */
export type FieldResult<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * A hash function name as vendors spell it: `SHA1`, `sha-256`, `HMAC-SHA512` (the PSKC `Suite`
 * form) all name one of ours. Empty means the default, SHA1 (RFC 6238 §1.2).
 */
export function readAlgorithm(text: string | undefined): FieldResult<TotpAlgorithm> {
  const raw = (text ?? '').trim();
  if (raw === '') return { ok: true, value: TOTP_DEFAULTS.algorithm };
  const name = raw.toUpperCase().replace(/^HMAC-/, '').replace(/[-_]/g, '');
  const found = TOTP_ALGORITHMS.find((algorithm) => algorithm === name);
  return found ? { ok: true, value: found } : { ok: false, message: MESSAGES.algorithm(raw) };
}

/** A code length; empty means the default, 6. */
export function readDigits(text: string | undefined): FieldResult<TotpDigits> {
  const raw = (text ?? '').trim();
  if (raw === '') return { ok: true, value: TOTP_DEFAULTS.digits };
  const found = TOTP_DIGITS.find((digits) => String(digits) === raw);
  return found ? { ok: true, value: found } : { ok: false, message: MESSAGES.digits(raw) };
}

/** A time step in seconds; empty means the default, 30 (RFC 6238 §5.2). */
export function readPeriod(text: string | undefined): FieldResult<TotpPeriod> {
  const raw = (text ?? '').trim();
  if (raw === '') return { ok: true, value: TOTP_DEFAULTS.period };
  const found = TOTP_PERIODS.find((period) => String(period) === raw);
  return found ? { ok: true, value: found } : { ok: false, message: MESSAGES.period(raw) };
}

/** A decoded secret of a length we can use: RFC 4226 §4 R6 wants at least 128 bits. */
export function checkSecretLength(secret: Uint8Array): FieldResult<Uint8Array> {
  return secret.length >= TOTP_MIN_SECRET_BYTES && secret.length <= TOTP_MAX_SECRET_BYTES
    ? { ok: true, value: secret }
    : { ok: false, message: MESSAGES.secretLength(secret.length) };
}
