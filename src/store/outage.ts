/**
 * Whether an error means that Postgres or Redis is out (down, restarting, unreachable, full or
 * too slow), as opposed to a fault in the request or in our code. Recognised in this one place,
 * from the shapes ioredis, pg and knex give such errors, so that every face answers an outage
 * the same way: "temporarily unavailable, try again" with 503 and `Retry-After` (issue 10).
 */

/** An outage as recognised: which store, when the error tells, and why, in words safe to log. */
export interface StorageOutage {
  /** `postgres` or `redis`; undefined for a socket error, which either client may report. */
  store: 'postgres' | 'redis' | undefined;
  /** A short code: `ECONNREFUSED`, `OOM`, `pg 57P01`, `MaxRetriesPerRequestError`, `Command timed out`. */
  reason: string;
}

/** Node's socket errors: the server is not there, or went away mid-request. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Postgres SQLSTATEs (PostgreSQL Appendix A) of a server that cannot serve now: class 08
 * (connection exception), class 53 (insufficient resources: disk full, out of memory, too many
 * connections), 57P01–57P05 (shut down by the administrator, crashed, starting up, gone,
 * idle session timeout), 57014 (our `statement_timeout` cancelled a statement that waited too
 * long) and 25006 (a read-only server, as a standby is during a failover).
 */
const POSTGRES_STATE = /^(08[0-9A-Z]{3}|53[0-9A-Z]{3}|57P0[1-5]|57014|25006)$/;

/**
 * Redis error replies of a server that cannot serve now: full under `noeviction` (OOM), a
 * replica or one still loading after a restart, a cluster or a master down, a script hogging it.
 */
const REDIS_REPLY = /^(OOM|READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS)\b/;

/**
 * What the clients say, in messages only, of a connection that is gone or a server that does
 * not answer in time. knex puts the statement in front (`ROLLBACK - Client has …`).
 */
const CLIENT_MESSAGES: ReadonlyArray<[RegExp, StorageOutage['store']]> = [
  // ioredis: the connection closed, a command waited past `commandTimeout`, no offline queue.
  [/^Connection is closed\.?$/, 'redis'],
  [/^Command timed out$/, 'redis'],
  [/^Stream isn't writeable/, 'redis'],
  // pg: the server ended the connection, or never answered within `connectionTimeoutMillis`.
  [/(?:^| - )(Connection terminated(?: unexpectedly| due to connection timeout)?)$/, 'postgres'],
  [/(?:^| - )(Client has encountered a connection error and is not queryable)$/, 'postgres'],
  [/(?:^| - )(Client was closed and is not queryable)$/, 'postgres'],
];

/** Error names: ioredis gave up reconnecting for a command; knex's pool had no connection in time. */
const CLIENT_NAMES: Readonly<Record<string, StorageOutage['store']>> = { MaxRetriesPerRequestError: 'redis', KnexTimeoutError: 'postgres' };

/**
 * The outage `error` stands for, or undefined when it is none. Looks through `cause` chains, an
 * AggregateError's errors (a host with several addresses) and the errors that aborted a Redis
 * transaction (`EXECABORT`). The reason is never a message that could carry data: knex writes a
 * failed statement, with its values unless told otherwise, into the message.
 */
export function storageOutage(error: unknown): StorageOutage | undefined {
  return outageOf(error, 0);
}

function outageOf(error: unknown, depth: number): StorageOutage | undefined {
  // A bound on the depth, as a cause chain may loop.
  if (depth > 5 || typeof error !== 'object' || error === null) return undefined;
  const { code, name, message, cause, errors, previousErrors } = error as {
    code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown; previousErrors?: unknown;
  };
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return { store: undefined, reason: code };
  if (typeof code === 'string' && POSTGRES_STATE.test(code)) return { store: 'postgres', reason: `pg ${code}` };
  if (typeof name === 'string' && Object.hasOwn(CLIENT_NAMES, name)) return { store: CLIENT_NAMES[name], reason: name };
  if (typeof message === 'string') {
    const reply = REDIS_REPLY.exec(message);
    if (reply && name === 'ReplyError') return { store: 'redis', reason: reply[1] as string };
    for (const [pattern, store] of CLIENT_MESSAGES) {
      const match = pattern.exec(message);
      if (match) return { store, reason: match[1] ?? match[0] };
    }
  }
  for (const inner of [...(Array.isArray(errors) ? errors : []), ...(Array.isArray(previousErrors) ? previousErrors : []), cause]) {
    const outage = outageOf(inner, depth + 1);
    if (outage) return outage;
  }
  return undefined;
}
