import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import knex, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';

/** Where the durable data lives: a Postgres server, or embedded PGlite (a directory, or memory). */
export type DatabaseTarget = { url: string } | { pgliteDir: string } | { pgliteMemory: true };

/**
 * Opens a knex instance on Postgres or PGlite. Both speak the same SQL, so every repository and
 * migration runs unchanged on either.
 */
export function openDatabase(target: DatabaseTarget, options: { onWarning?: (message: string) => void } = {}): Knex {
  // knex writes warnings (a failed connection, with its stack) to stdout unless told where.
  const warn = options.onWarning ?? (() => {});
  const log = { warn, deprecate: warn, debug: () => {}, error: warn };
  if ('url' in target) {
    return knex({ client: 'pg', connection: target.url, pool: { min: 0, max: 10 }, log });
  }
  if ('pgliteDir' in target) {
    const dir = resolve(target.pgliteDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return knex({ client: ClientPgLite, dialect: 'postgres', connection: { filename: join(dir, 'pg') }, log });
  }
  return knex({ client: ClientPgLite, dialect: 'postgres', connection: {}, log });
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
