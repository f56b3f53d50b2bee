/**
 * Every error the IdP shows: a stable `code` callers can switch on, an HTTP `status`, and a
 * message key for the page. `expose` says whether `detail` may be shown; internal detail and
 * `cause` go to the log only. Thrown by handlers, rendered in one place (`error-handler.ts`).
 */
export type ErrorCode =
  | 'not_found'
  | 'invalid_request'
  | 'payload_too_large'
  | 'csrf_failed'
  | 'interaction_expired'
  | 'login_cancelled'
  | 'saml_request_refused'
  | 'saml_logout_refused'
  | 'service_unavailable'
  | 'server_error'
  // The device API's codes (shared contract of step 4), stable for the clients that switch on them.
  | 'invalid_signature'
  | 'replayed'
  | 'stale_timestamp'
  | 'unknown_device'
  | 'device_locked'
  | 'device_revoked'
  | 'invalid_pairing_code'
  | 'pin_rejected'
  | 'wrong_pin'
  | 'wrong_number'
  | 'challenge_expired'
  | 'challenge_closed'
  | 'too_many_requests';

/**
 * Seconds a client is asked to wait before trying again after a 503 (`Retry-After`, RFC 9110
 * §10.2.3): about as long as a node takes to notice Redis or Postgres is back.
 */
export const RETRY_AFTER_SECONDS = 5;

const STATUS: Readonly<Record<ErrorCode, number>> = {
  not_found: 404,
  invalid_request: 400,
  payload_too_large: 413,
  csrf_failed: 403,
  interaction_expired: 400,
  login_cancelled: 400,
  saml_request_refused: 400,
  saml_logout_refused: 400,
  service_unavailable: 503,
  server_error: 500,
  invalid_signature: 401,
  replayed: 401,
  stale_timestamp: 401,
  unknown_device: 401,
  device_locked: 423,
  device_revoked: 401,
  invalid_pairing_code: 400,
  pin_rejected: 400,
  wrong_pin: 403,
  wrong_number: 403,
  challenge_expired: 409,
  challenge_closed: 409,
  too_many_requests: 429,
};

/**
 * What a JSON error says to a person when the thrower adds nothing (API clients show it; they
 * switch on the code). Pages use the i18n keys `error.<code>` instead.
 */
export const API_MESSAGES: Readonly<Record<ErrorCode, string>> = {
  not_found: 'There is nothing here.',
  invalid_request: 'The request is invalid.',
  payload_too_large: 'The request is larger than the server accepts.',
  csrf_failed: 'The form has expired or did not come from this page.',
  interaction_expired: 'The login has expired.',
  login_cancelled: 'The login was cancelled or failed.',
  saml_request_refused: 'The SAML request was refused.',
  saml_logout_refused: 'The SAML logout request was refused.',
  service_unavailable: 'The service is temporarily unavailable. Try again shortly.',
  server_error: 'An unexpected error occurred.',
  invalid_signature: 'The request signature is missing or does not verify with this device\'s key.',
  replayed: 'This request was already received once.',
  stale_timestamp: 'The request\'s timestamp is too far from the server\'s clock. Check the device\'s clock.',
  unknown_device: 'This device is not registered, or not paired yet.',
  device_locked: 'The device is locked after too many wrong PINs.',
  device_revoked: 'This device has been removed. Register it again with a new pairing code.',
  invalid_pairing_code: 'The pairing code is wrong, used or expired. Ask for a new one.',
  pin_rejected: 'The PIN is not allowed.',
  wrong_pin: 'The PIN is wrong.',
  wrong_number: 'The number is wrong.',
  challenge_expired: 'The request has expired.',
  challenge_closed: 'The request has already been answered.',
  too_many_requests: 'Too many attempts. Wait a minute and try again.',
};

/** Public members of a JSON error beside `error` and `message` (the contract's `triesLeft`, `lockedUntil`). */
export type ErrorFields = Readonly<Record<string, string | number>>;

export class IdpError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  /** Internal detail for the log. */
  readonly detail: string | undefined;
  /** A sentence for the person, shown in a JSON error instead of the code's default (e.g. which schema path failed). */
  readonly explanation: string | undefined;
  /** Public fields of a JSON error (`triesLeft`, `lockedUntil`). */
  readonly fields: ErrorFields;

  constructor(code: ErrorCode, options: { detail?: string; cause?: unknown; explanation?: string; fields?: ErrorFields } = {}) {
    super(options.detail ?? code, { cause: options.cause });
    this.name = 'IdpError';
    this.code = code;
    this.status = STATUS[code];
    this.expose = this.status < 500;
    this.detail = options.detail;
    this.explanation = this.expose ? options.explanation : undefined;
    this.fields = this.expose ? (options.fields ?? {}) : {};
  }
}
