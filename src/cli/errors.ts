import { ConfigError } from '../config/index.ts';
import { storageOutage } from '../store/outage.ts';
import { UsernameTakenError } from '../store/users.ts';

/**
 * Why a command failed. Stable, so scripts reading `--json` output can switch on it.
 * - `usage`: the command line itself is wrong (exit 2).
 * - `invalid_input`: a value is wrong (a username, a redirect URI, a level).
 * - `not_found`: the user or client named does not exist.
 * - `conflict`: the username or client_id is taken.
 * - `config`: an environment variable is wrong.
 * - `no_schema`: the database has no tables yet (`stepup migrate`).
 * - `unavailable`: Postgres or Redis does not answer.
 * - `database`: the database refused the statement.
 * - `internal`: anything else.
 */
export type CliErrorCode =
  | 'usage'
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'config'
  | 'no_schema'
  | 'unavailable'
  | 'database'
  | 'internal';

/** A failure with a message for the operator: one line, no stack, no secret. */
export class CliError extends Error {
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
  }
}

/** The command line is wrong: main prints the usage text and exits with 2. */
export class UsageError extends CliError {
  /** The command (or command group) whose usage applies, or undefined for the top-level usage. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super('usage', message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/**
 * Turns whatever a command threw into a {@link CliError} with a message fit for one line.
 * Database messages are cut down to the server's own words: knex prefixes them with the SQL and
 * its bindings, which may hold a password hash or a sealed secret.
 */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof ConfigError) return new CliError('config', error.message, { cause: error });
  if (error instanceof UsernameTakenError) return new CliError('conflict', error.message, { cause: error });
  const { code } = (error ?? {}) as { code?: unknown };
  if (code === '42P01') {
    return new CliError('no_schema', 'the database has no schema yet: run `stepup migrate`', { cause: error });
  }
  // Unreachable, restarting, full or too slow: the one recogniser the server's pages use too.
  const outage = storageOutage(error);
  if (outage) {
    return new CliError('unavailable', `cannot reach ${outage.store === 'redis' ? 'Redis (REDIS_URL)' : 'the database'}: ${serverMessage(error) || outage.reason}`, { cause: error });
  }
  if (code === '28P01' || code === '3D000' || code === '28000') {
    return new CliError('unavailable', `cannot use the database: ${serverMessage(error)}`, { cause: error });
  }
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return new CliError('database', `database error ${code}: ${serverMessage(error)}`, { cause: error });
  }
  return new CliError('internal', firstMessage(error) || 'unexpected failure', { cause: error });
}

/** The server's message without knex's `<sql with bindings> - ` prefix. */
function serverMessage(error: unknown): string {
  const message = firstMessage(error);
  const cut = message.lastIndexOf(' - ');
  return cut === -1 ? message : message.slice(cut + 3);
}

/** The first line of an error's message (an AggregateError's first inner error's, if it has none). */
function firstMessage(error: unknown): string {
  if (error instanceof AggregateError && !error.message && error.errors.length) return firstMessage(error.errors[0]);
  const message = error instanceof Error ? error.message : String(error ?? '');
  return message.split('\n')[0]?.trim() ?? '';
}
