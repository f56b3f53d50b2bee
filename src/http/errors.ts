/**
 * Every error the IdP shows: a stable `code` callers can switch on, an HTTP `status`, and a
 * message key for the page. `expose` says whether `detail` may be shown; internal detail and
 * `cause` go to the log only. Thrown by handlers, rendered in one place (`error-handler.ts`).
 */
export type ErrorCode =
  | 'not_found'
  | 'invalid_request'
  | 'csrf_failed'
  | 'interaction_expired'
  | 'login_cancelled'
  | 'service_unavailable'
  | 'server_error';

const STATUS: Readonly<Record<ErrorCode, number>> = {
  not_found: 404,
  invalid_request: 400,
  csrf_failed: 403,
  interaction_expired: 400,
  login_cancelled: 400,
  service_unavailable: 503,
  server_error: 500,
};

export class IdpError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  /** Internal detail for the log. */
  readonly detail: string | undefined;

  constructor(code: ErrorCode, options: { detail?: string; cause?: unknown } = {}) {
    super(options.detail ?? code, { cause: options.cause });
    this.name = 'IdpError';
    this.code = code;
    this.status = STATUS[code];
    this.expose = this.status < 500;
    this.detail = options.detail;
  }
}
