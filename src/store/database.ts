import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

import knex, { type Knex } from 'knex';
import type ClientPgLite from 'knex-pglite';

/**
 * knex's PGlite client, loaded when a PGlite target is opened: it and the PGlite it loads are
 * heap a node on a Postgres server never uses (issue 10's memory goal at rest).
 */
const pgliteClient = () => createRequire(import.meta.url)('knex-pglite') as typeof ClientPgLite;

/**
 * A PGlite instance opened by its owner and lent to knex (the embedded server's, which takes
 * turns with the `stepup` commands it serves). knex never closes it: its owner does.
 */
export interface LentPglite {
  waitReady: Promise<void>;
  query(sql: string, params?: unknown[], options?: object): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Where the durable data lives: a Postgres server (by URL, or by the path of its Unix socket),
 * embedded PGlite (a directory, or memory), or a PGlite instance opened elsewhere.
 */
export type DatabaseTarget = { url: string } | { socket: string } | { pgliteDir: string } | { pgliteMemory: true } | { pglite: LentPglite };

/**
 * How long anything waits for a Postgres server, so that during an outage a request gets an
 * answer ("temporarily unavailable") instead of hanging (issue 10).
 */
export const POSTGRES_TIMEOUTS = {
  /** A new connection not accepted within this long fails (pg's `connectionTimeoutMillis`; pg's default waits for ever). */
  connectMs: 2_000,
  /** A query that finds no free connection in the pool within this long fails (knex's `acquireConnectionTimeout`; its default is 60 s). */
  acquireMs: 5_000,
  /**
   * The server cancels a statement running longer (`statement_timeout`, SQLSTATE 57014): a lock
   * that is not released, a server that crawls. Only the IdP's requests are bounded so
   * (`openDatabase`'s `statementTimeoutMs`): migrations and the `stepup` command are not requests.
   */
  statementMs: 5_000,
} as const;

/**
 * Opens a knex instance on Postgres or PGlite. Both speak the same SQL, so every repository and
 * migration runs unchanged on either.
 */
export function openDatabase(target: DatabaseTarget, options: {
  onWarning?: (message: string) => void;
  /** Postgres cancels a statement of this instance's running longer (a server only). Defaults to none. */
  statementTimeoutMs?: number;
} = {}): Knex {
  // knex writes warnings (a failed connection, with its stack) to stdout unless told where.
  const warn = options.onWarning ?? (() => {});
  const log = { warn, deprecate: warn, debug: () => {}, error: warn };
  if ('url' in target) {
    return knex({
      client: 'pg',
      connection: {
        connectionString: target.url,
        connectionTimeoutMillis: POSTGRES_TIMEOUTS.connectMs,
        ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
        // The OS notices a server that vanished without closing the connection (a host gone).
        keepAlive: true,
      },
      pool: { min: 0, max: 10 },
      acquireConnectionTimeout: POSTGRES_TIMEOUTS.acquireMs,
      // A failed statement's message names the statement but not its values, which may be a
      // password hash or a sealed secret, so an error logged is safe to log.
      compileSqlOnError: false,
      log,
    });
  }
  if ('socket' in target) {
    // libpq's convention, which pg follows: the host is the socket's directory, the file is
    // `.s.PGSQL.<port>` in it.
    const match = /^(.*)\/\.s\.PGSQL\.(\d+)$/.exec(target.socket);
    if (!match) throw new Error(`not a Postgres socket path: ${target.socket}`);
    return knex({ client: 'pg', connection: { host: match[1] as string, port: Number(match[2]), user: 'postgres', database: 'postgres' },
      // One connection, as PGlite is one session: a query made beside an open transaction then
      // waits for knex's acquire timeout and fails, where a second connection would wait for
      // the transaction's turn forever, and hold up the server with it.
      pool: { min: 0, max: 1 }, log });
  }
  if ('pgliteDir' in target) {
    const dir = resolve(target.pgliteDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return knex({ client: pgliteClient(), dialect: 'postgres', connection: { filename: join(dir, 'pg') }, log });
  }
  if ('pglite' in target) {
    // knex-pglite takes an instance given as `connection.pglite` (its `_driver`).
    return knex({ client: pgliteClient(), dialect: 'postgres', connection: { pglite: target.pglite } as Knex.StaticConnectionConfig, log });
  }
  return knex({ client: pgliteClient(), dialect: 'postgres', connection: {}, log });
}

/** Whether the database answers; for readiness. */
export async function databaseReachable(db: Knex): Promise<boolean> {
  try {
    await db.raw('select 1');
    return true;
  } catch {
    return false;
  }
}
