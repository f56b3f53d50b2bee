/**
 * TOTP rules for code viewers and authenticator apps (RFC 6238): pure functions, no I/O, the
 * clock passed in. Values are computed by otplib.
 */
export {
  TOTP_ALGORITHMS,
  TOTP_DEFAULTS,
  TOTP_DIGITS,
  TOTP_MAX_SECRET_BYTES,
  TOTP_MIN_SECRET_BYTES,
  TOTP_PERIODS,
  type TotpAlgorithm,
  type TotpDigits,
  type TotpPeriod,
} from './defaults.ts';
export { timeStepAt, type TotpFailureReason, type TotpToken } from './steps.ts';
export { verifyTotp, type VerifyTotpOptions, type VerifyTotpResult } from './verify.ts';
export { bindTotp, type BindTotpOptions, type BindTotpResult } from './bind.ts';
export { resyncTotp, type ResyncTotpOptions, type ResyncTotpResult } from './resync.ts';
