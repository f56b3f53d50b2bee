/**
 * Why a run failed, as one line for stderr. `main` turns any of these into exit status 1, and a
 * {@link UsageError} into 2; anything else that escapes is a bug and is reported the same way.
 */
export class ClientError extends Error {
  /** A stable word for `--json` output: the server's error code, or one of the client's own. */
  readonly code: string;

  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ClientError';
    this.code = code;
  }
}

/** The command line is wrong: `main` prints the usage and exits with 2. */
export class UsageError extends ClientError {
  constructor(message: string) {
    super('usage', message);
    this.name = 'UsageError';
  }
}

/**
 * The server refused a call: its `{ error, message }` body, with `triesLeft` (wrong PIN or number)
 * and `lockedUntil` (device locked) when it sent them, so the line on stderr says what to do next.
 */
export class ApiError extends ClientError {
  readonly status: number;
  readonly serverMessage: string;
  readonly triesLeft: number | undefined;
  readonly lockedUntil: string | undefined;

  constructor(status: number, body: { error: string; message: string; triesLeft?: number; lockedUntil?: string }) {
    const details = [body.error];
    if (body.triesLeft !== undefined) details.push(`${body.triesLeft} ${body.triesLeft === 1 ? 'try' : 'tries'} left`);
    if (body.lockedUntil !== undefined) details.push(`locked until ${body.lockedUntil}`);
    super(body.error, `${body.message} (${details.join(', ')})`);
    this.name = 'ApiError';
    this.status = status;
    this.serverMessage = body.message;
    this.triesLeft = body.triesLeft;
    this.lockedUntil = body.lockedUntil;
  }
}
